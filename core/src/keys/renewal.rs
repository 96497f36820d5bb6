//! Merchant-side renewal: when to ask for a new secret, and installing it.

use alloc::string::String;
use alloc::vec::Vec;

use serde::Deserialize;

use super::KeyRecord;
use super::schedule::{Margin, due_at};
use crate::{Environment, Secret};

/// How eagerly to renew.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RenewalPolicy {
    /// Renew when this share of the lifetime is left, in percent (default 10).
    pub margin_percent: u8,
    /// Never renew twice within this many seconds (the provider rate-limits).
    pub min_interval: u64,
}

impl Default for RenewalPolicy {
    fn default() -> Self {
        Self { margin_percent: 10, min_interval: 60 }
    }
}

/// What the merchant knows about its current secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SecretLifetime {
    /// When the current secret was issued, unix seconds.
    pub issued_at: u64,
    /// Its lifetime, seconds (`expires_in` of the renewal answer).
    pub expires_in: u64,
    /// When the last renewal was asked for, if ever.
    pub last_renewal_at: Option<u64>,
}

/// Whether to renew now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum RenewalDecision {
    /// Ask for a new secret now.
    RenewNow,
    /// Nothing to do before this unix time.
    WaitUntil(u64),
    /// A renewal is due but the last one was too recent; retry at this time.
    RateLimited {
        /// Earliest unix time of the next renewal.
        retry_at: u64,
    },
}

/// Decides whether to renew at `now`. `authentication_failed` is true after
/// the provider answered `401 AUTHENTICATION_FAILED`: the secret is then
/// renewed at once, within the rate limit.
pub fn should_renew(
    lifetime: &SecretLifetime,
    policy: &RenewalPolicy,
    now: u64,
    authentication_failed: bool,
) -> RenewalDecision {
    let margin = Margin::Percent(policy.margin_percent).seconds(lifetime.expires_in);
    let due_at = due_at(lifetime.issued_at, lifetime.expires_in, margin);
    if !authentication_failed && now < due_at {
        return RenewalDecision::WaitUntil(due_at);
    }
    rate_limit(lifetime.last_renewal_at, policy.min_interval, now)
}

/// A renewal that is due: now, unless the last one was less than
/// `min_interval` seconds ago.
pub(super) fn rate_limit(last_renewal_at: Option<u64>, min_interval: u64, now: u64) -> RenewalDecision {
    match last_renewal_at.map(|last| last.saturating_add(min_interval)) {
        Some(retry_at) if now < retry_at => RenewalDecision::RateLimited { retry_at },
        _ => RenewalDecision::RenewNow,
    }
}

/// A provider's answer to a renewal (MyPVit-style).
#[derive(Deserialize)]
pub struct RenewalResponse {
    /// The account the secret belongs to.
    pub operation_account_code: String,
    /// The new secret.
    #[serde(deserialize_with = "secret_from_str")]
    pub secret: Secret,
    /// Lifetime of the new secret, seconds.
    pub expires_in: u64,
}

impl core::fmt::Debug for RenewalResponse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RenewalResponse")
            .field("operation_account_code", &self.operation_account_code)
            .field("secret", &self.secret)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

fn secret_from_str<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Secret, D::Error> {
    let text = zeroize::Zeroizing::new(String::deserialize(d)?);
    Ok(Secret::from_text(&text))
}

/// Installs a renewal: the new key becomes the active record (expiring after
/// `expires_in`), and every earlier record not yet superseded is superseded
/// now with `grace_seconds`. With duplicate renewals the last one applied wins
/// and each earlier key keeps its own grace. The new record copies scopes,
/// allow-list and webcode from the newest earlier record.
///
/// Returns the index of the new record. `id` comes from the caller (no RNG here).
pub fn apply_renewal(
    records: &mut Vec<KeyRecord>,
    id: impl Into<String>,
    response: &RenewalResponse,
    environment: Environment,
    grace_seconds: u64,
    now: u64,
) -> usize {
    let text = response.secret.expose_text().unwrap_or_default();
    let mut record = KeyRecord::new(id, text, environment);
    record.expires_at = Some(now.saturating_add(response.expires_in));
    if let Some(previous) = records.last() {
        record.scopes.clone_from(&previous.scopes);
        record.allowed_ips.clone_from(&previous.allowed_ips);
        record.webcode.clone_from(&previous.webcode);
    }
    for old in records.iter_mut() {
        old.supersede(now, grace_seconds);
    }
    records.push(record);
    records.len() - 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::{KeyRejection, KeySet, Policy, Request};

    #[test]
    fn renews_inside_margin_and_after_401() {
        let l = SecretLifetime { issued_at: 0, expires_in: 3_600, last_renewal_at: None };
        let p = RenewalPolicy::default();
        assert_eq!(should_renew(&l, &p, 100, false), RenewalDecision::WaitUntil(3_240));
        assert_eq!(should_renew(&l, &p, 3_240, false), RenewalDecision::RenewNow);
        assert_eq!(should_renew(&l, &p, 100, true), RenewalDecision::RenewNow);
        let recent = SecretLifetime { last_renewal_at: Some(90), ..l };
        assert_eq!(should_renew(&recent, &p, 100, true), RenewalDecision::RateLimited { retry_at: 150 });
    }

    #[test]
    fn duplicate_renewals_last_wins_each_keeps_grace() {
        let parse = |s: &str| serde_json::from_str::<RenewalResponse>(s).unwrap();
        let first = parse(r#"{"operation_account_code":"ACC","secret":"sk_live_AAAAAAAAAAAAAAAAAAAAAAAA01","expires_in":3600}"#);
        let second = parse(r#"{"operation_account_code":"ACC","secret":"sk_live_AAAAAAAAAAAAAAAAAAAAAAAA02","expires_in":3600}"#);
        let mut records = alloc::vec![KeyRecord::new("k0", "sk_live_AAAAAAAAAAAAAAAAAAAAAAAA00", Environment::Live)];
        apply_renewal(&mut records, "k1", &first, Environment::Live, 60, 1_000);
        apply_renewal(&mut records, "k2", &second, Environment::Live, 60, 1_010);
        let keys = KeySet::new(records).unwrap();
        let policy = Policy::default();
        let check = |key: &str, now| {
            let r = Request { api_key: Some(key), method: "GET", path: "/v1/x", client_ip: None, webcode: None };
            keys.check(&r, &policy, now).map(|a| a.key_id)
        };
        assert_eq!(check("sk_live_AAAAAAAAAAAAAAAAAAAAAAAA02", 1_100), Ok("k2".into()));
        assert_eq!(check("sk_live_AAAAAAAAAAAAAAAAAAAAAAAA01", 1_069), Ok("k1".into()));
        assert_eq!(check("sk_live_AAAAAAAAAAAAAAAAAAAAAAAA01", 1_070), Err(KeyRejection::RotatedOut));
        assert_eq!(check("sk_live_AAAAAAAAAAAAAAAAAAAAAAAA00", 1_060), Err(KeyRejection::RotatedOut));
        assert_eq!(check("sk_live_AAAAAAAAAAAAAAAAAAAAAAAA02", 4_610), Err(KeyRejection::ExpiredKey));
    }

    #[test]
    fn response_debug_hides_secret() {
        let r: RenewalResponse = serde_json::from_str(r#"{"operation_account_code":"A","secret":"sk_live_canary","expires_in":1}"#).unwrap();
        assert!(!alloc::format!("{r:?}").contains("canary"));
    }
}
