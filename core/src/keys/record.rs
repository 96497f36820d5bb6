//! Key records: what a gateway stores about a key (its digest, never the key).

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::IpNet;
use crate::Environment;

/// Whether a key may be used at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// In use.
    #[default]
    Active,
    /// Permanently refused.
    Revoked,
}

/// SHA-256 of a key's UTF-8 bytes; serialized as lowercase hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KeyDigest(pub(super) [u8; 32]);

impl KeyDigest {
    /// The digest of a presented or newly issued key.
    pub fn of(key: &str) -> Self {
        Self(Sha256::digest(key.as_bytes()).into())
    }
}

// Digests are not keys, but printing them helps nobody and invites pasting
// them into tickets; like keys, they stay out of Debug.
impl core::fmt::Debug for KeyDigest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("KeyDigest(..)")
    }
}

impl Serialize for KeyDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(self.0))
    }
}

impl<'de> Deserialize<'de> for KeyDigest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        crate::encoding::decode_hex_array::<32>(&text)
            .map(Self)
            .ok_or_else(|| serde::de::Error::custom("key_sha256 must be 64 hex characters"))
    }
}

/// Where a key stands at a given time, for listings (`ACTIVE`, …).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyState {
    /// Usable, not superseded.
    Active,
    /// Superseded by a newer key and still inside its grace period.
    Superseded,
    /// Superseded and past its grace period.
    RotatedOut,
    /// Revoked.
    Revoked,
    /// Past its expiry.
    Expired,
    /// Before its `not_before`.
    NotYetValid,
}

impl KeyState {
    /// The upper-case name lifecycle answers use (`ACTIVE`, `REVOKED`, …).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Superseded => "SUPERSEDED",
            Self::RotatedOut => "ROTATED_OUT",
            Self::Revoked => "REVOKED",
            Self::Expired => "EXPIRED",
            Self::NotYetValid => "NOT_YET_VALID",
        }
    }
}

/// A key as the gateway knows it (`keys.md`, "Key records").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRecord {
    /// Stable identifier, shown in logs instead of the key.
    pub id: String,
    /// SHA-256 of the key.
    pub key_sha256: KeyDigest,
    /// Environment the key belongs to.
    pub environment: Environment,
    /// Scope names; empty covers every route of the environment.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Allowed client addresses; empty allows any.
    #[serde(default)]
    pub allowed_ips: Vec<IpNet>,
    /// Merchant (business) the key is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webcode: Option<String>,
    /// Active or revoked.
    #[serde(default)]
    pub status: KeyStatus,
    /// Not valid before this unix time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<u64>,
    /// Not valid from this unix time on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// When a newer key replaced this one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub superseded_at: Option<u64>,
    /// How long after `superseded_at` this key keeps working.
    #[serde(default)]
    pub grace_seconds: u64,
}

impl KeyRecord {
    /// A new active record for `key`, which is hashed here and not kept.
    pub fn new(id: impl Into<String>, key: &str, environment: Environment) -> Self {
        Self {
            id: id.into(),
            key_sha256: KeyDigest::of(key),
            environment,
            scopes: Vec::new(),
            allowed_ips: Vec::new(),
            webcode: None,
            status: KeyStatus::Active,
            not_before: None,
            expires_at: None,
            superseded_at: None,
            grace_seconds: 0,
        }
    }

    /// Marks the key replaced at `now`; it keeps working for `grace_seconds`,
    /// but never past its own expiry (the check enforces both).
    pub fn supersede(&mut self, now: u64, grace_seconds: u64) {
        if self.superseded_at.is_none() {
            self.superseded_at = Some(now);
            self.grace_seconds = grace_seconds;
        }
    }

    /// A new active record for `key` with this record's configuration
    /// (environment, scopes, allow-list, webcode) and no validity window:
    /// what regenerating a key or renewing a secret installs.
    #[must_use]
    pub fn successor(&self, id: impl Into<String>, key: &str) -> Self {
        let mut next = Self::new(id, key, self.environment);
        next.scopes.clone_from(&self.scopes);
        next.allowed_ips.clone_from(&self.allowed_ips);
        next.webcode.clone_from(&self.webcode);
        next
    }

    /// The first time the key is refused for its age: its expiry or the end
    /// of its grace, whichever comes first (a grace never outlives the key).
    pub fn usable_until(&self) -> Option<u64> {
        let grace_end = self.superseded_at.map(|at| at.saturating_add(self.grace_seconds));
        match (self.expires_at, grace_end) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The key's state at `now` (no clock skew).
    pub fn state_at(&self, now: u64) -> KeyState {
        use super::KeyRejection as R;
        match self.validity(now, 0) {
            Ok(()) if self.superseded_at.is_some() => KeyState::Superseded,
            Ok(()) => KeyState::Active,
            Err(R::RevokedKey) => KeyState::Revoked,
            Err(R::NotYetValid) => KeyState::NotYetValid,
            Err(R::RotatedOut) => KeyState::RotatedOut,
            Err(_) => KeyState::Expired,
        }
    }

    /// Whether the key is usable at `now` (checks 4 to 6), with `skew` seconds of clock skew.
    pub(super) fn validity(&self, now: u64, skew: u64) -> Result<(), super::KeyRejection> {
        use super::KeyRejection as R;
        if self.status == KeyStatus::Revoked {
            return Err(R::RevokedKey);
        }
        if self.not_before.is_some_and(|nb| now.saturating_add(skew) < nb) {
            return Err(R::NotYetValid);
        }
        if self.expires_at.is_some_and(|exp| now >= exp.saturating_add(skew)) {
            return Err(R::ExpiredKey);
        }
        if self.superseded_at.is_some_and(|at| now >= at.saturating_add(self.grace_seconds)) {
            return Err(R::RotatedOut);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grace_is_capped_by_the_keys_own_expiry() {
        let mut record = KeyRecord::new("k", "sk_live_x", Environment::Live);
        record.expires_at = Some(1_000);
        record.supersede(900, 500);
        assert_eq!(record.usable_until(), Some(1_000));
        assert_eq!(record.state_at(999), KeyState::Superseded);
        assert_eq!(record.state_at(1_000), KeyState::Expired);
        record.supersede(950, 10);
        assert_eq!(record.superseded_at, Some(900), "a second supersede keeps the first grace");
        let mut short = KeyRecord::new("s", "sk_live_y", Environment::Live);
        short.expires_at = Some(1_000);
        short.supersede(900, 50);
        assert_eq!(short.usable_until(), Some(950));
        assert_eq!(short.state_at(950), KeyState::RotatedOut);
    }

    #[test]
    fn successor_copies_configuration_not_validity() {
        let mut record = KeyRecord::new("k", "sk_live_x", Environment::Test);
        record.scopes = alloc::vec!["s".into()];
        record.allowed_ips = alloc::vec!["10.0.0.0/8".parse().unwrap()];
        record.webcode = Some("W".into());
        record.expires_at = Some(5);
        record.status = KeyStatus::Revoked;
        let next = record.successor("n", "sk_test_y");
        assert_eq!((next.environment, &next.scopes, &next.allowed_ips, &next.webcode), (Environment::Test, &record.scopes, &record.allowed_ips, &record.webcode));
        assert_eq!((next.status, next.expires_at, next.superseded_at), (KeyStatus::Active, None, None));
        assert_eq!(next.key_sha256, KeyDigest::of("sk_test_y"));
        assert_eq!(KeyRecord::new("a", "b", Environment::Live).state_at(0).as_str(), "ACTIVE");
    }
}
