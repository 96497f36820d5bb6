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
