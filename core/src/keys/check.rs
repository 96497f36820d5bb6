//! The ordered key check of `keys.md`.

use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;
use core::net::IpAddr;

use subtle::{ConditionallySelectable, ConstantTimeEq};

use super::{KeyDigest, KeyRecord, KeyRejection, Policy, format::classify};
use crate::Environment;

/// What the gateway knows about an incoming request.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The key header's value; `None` when absent.
    pub api_key: Option<&'a str>,
    /// HTTP method.
    pub method: &'a str,
    /// Request path (and query), already normalized by the gateway.
    pub path: &'a str,
    /// The client's address as the gateway determined it (socket or trusted proxy).
    pub client_ip: Option<IpAddr>,
    /// The merchant the request names, when it names one.
    pub webcode: Option<&'a str>,
}

// The key must never reach logs through `{:?}` of a request.
impl fmt::Display for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.method, self.path)
    }
}

/// An allowed request: which key it used.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Allowed {
    /// The record id, for logs and idempotency namespacing.
    pub key_id: String,
    /// The key's environment.
    pub environment: Environment,
}

/// A configuration error in a set of key records.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeySetError {
    /// Two records share an id.
    DuplicateId(String),
    /// Two records share a digest (the same key twice); names both ids.
    DuplicateDigest(String, String),
}

impl fmt::Display for KeySetError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::DuplicateId(id) => write!(f, "records: id {id:?} appears twice"),
            Self::DuplicateDigest(a, b) => write!(f, "records: {a:?} and {b:?} have the same key_sha256"),
        }
    }
}

impl core::error::Error for KeySetError {}

/// Key records prepared for lookup; ids and digests are unique.
///
/// Records are bucketed by the first byte of their digest. Which bucket a
/// lookup scans depends only on `SHA-256(presented key)`, which the presenter
/// already knows; within the bucket every digest is compared in constant time
/// and the scan never stops early. So timing reveals nothing about the stored
/// keys beyond how many digests share a first byte with one the caller
/// computed, and a lookup costs about `n / 256` comparisons, not `n`.
#[derive(Clone, Debug)]
pub struct KeySet {
    records: Vec<KeyRecord>,
    buckets: Vec<Vec<usize>>,
}

impl Default for KeySet {
    fn default() -> Self {
        Self { records: Vec::new(), buckets: alloc::vec![Vec::new(); 256] }
    }
}

impl KeySet {
    /// Validates and takes the records.
    ///
    /// # Errors
    /// A duplicate id or digest: which key would win is then undefined.
    pub fn new(records: Vec<KeyRecord>) -> Result<Self, KeySetError> {
        let mut ids = BTreeSet::new();
        for (i, record) in records.iter().enumerate() {
            if !ids.insert(record.id.as_str()) {
                return Err(KeySetError::DuplicateId(record.id.clone()));
            }
            if let Some(other) = records[..i].iter().find(|r| r.key_sha256 == record.key_sha256) {
                return Err(KeySetError::DuplicateDigest(other.id.clone(), record.id.clone()));
            }
        }
        let mut buckets = alloc::vec![Vec::new(); 256];
        for (i, record) in records.iter().enumerate() {
            buckets[usize::from(record.key_sha256.0[0])].push(i);
        }
        Ok(Self { records, buckets })
    }

    /// The records, in configuration order.
    pub fn records(&self) -> &[KeyRecord] {
        &self.records
    }

    /// Finds the record with `digest`: every candidate of its bucket is
    /// compared in constant time, so the timing says nothing about near misses.
    fn lookup(&self, digest: &KeyDigest) -> Option<&KeyRecord> {
        let mut found = subtle::Choice::from(0);
        let mut index = 0u64;
        for &i in &self.buckets[usize::from(digest.0[0])] {
            let hit = self.records[i].key_sha256.0.ct_eq(&digest.0);
            index.conditional_assign(&(i as u64), hit);
            found |= hit;
        }
        bool::from(found).then(|| usize::try_from(index).ok().and_then(|i| self.records.get(i))).flatten()
    }

    /// Runs the checks of `keys.md` in order; the first failure decides.
    ///
    /// # Errors
    /// The [`KeyRejection`] of the first failing check.
    pub fn check(&self, request: &Request<'_>, policy: &Policy, now: u64) -> Result<Allowed, KeyRejection> {
        let prefix_environment = classify(request.api_key, &policy.accepted_formats)?;
        let key = request.api_key.unwrap_or_default();
        let record = self.lookup(&KeyDigest::of(key)).ok_or(KeyRejection::UnknownKey)?;
        record.validity(now, policy.clock_skew)?;
        let route = policy.route_environment(request.path);
        // A prefixed key names its environment; a record that disagrees is
        // misconfigured, and the key is then good for neither.
        if record.environment != route || prefix_environment.is_some_and(|e| e != route) {
            return Err(KeyRejection::EnvironmentMismatch);
        }
        if !policy.scopes_allow(&record.scopes, request.path) {
            return Err(KeyRejection::ScopeDenied);
        }
        if !record.allowed_ips.is_empty()
            && !request.client_ip.is_some_and(|ip| record.allowed_ips.iter().any(|net| net.contains(ip)))
        {
            return Err(KeyRejection::IpNotAllowed);
        }
        if let (Some(wanted), Some(bound)) = (request.webcode, record.webcode.as_deref())
            && wanted != bound
        {
            return Err(KeyRejection::WebcodeMismatch);
        }
        Ok(Allowed { key_id: record.id.clone(), environment: record.environment })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = "sk_live_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5Yg0Jk2";

    fn set(mut edit: impl FnMut(&mut KeyRecord)) -> KeySet {
        let mut r = KeyRecord::new("k", LIVE, Environment::Live);
        edit(&mut r);
        KeySet::new(alloc::vec![r]).unwrap()
    }

    fn req(path: &str) -> Request<'_> {
        Request { api_key: Some(LIVE), method: "POST", path, client_ip: None, webcode: None }
    }

    #[test]
    fn grace_never_outlives_expiry() {
        let keys = set(|r| {
            r.expires_at = Some(1_000);
            r.supersede(900, 500);
        });
        let policy = Policy::default();
        assert!(keys.check(&req("/x"), &policy, 999).is_ok());
        assert_eq!(keys.check(&req("/x"), &policy, 1_000), Err(KeyRejection::ExpiredKey));
    }

    #[test]
    fn prefix_environment_must_agree_with_record() {
        let keys = set(|r| r.environment = Environment::Test);
        let policy = Policy::default();
        assert_eq!(keys.check(&req("/external/v1/test/x"), &policy, 0), Err(KeyRejection::EnvironmentMismatch));
        assert_eq!(keys.check(&req("/external/v1/x"), &policy, 0), Err(KeyRejection::EnvironmentMismatch));
    }

    #[test]
    fn allow_list_without_client_ip_refuses() {
        let keys = set(|r| r.allowed_ips = alloc::vec!["10.0.0.0/8".parse().unwrap()]);
        assert_eq!(keys.check(&req("/x"), &Policy::default(), 0), Err(KeyRejection::IpNotAllowed));
    }

    #[test]
    fn duplicates_are_configuration_errors() {
        let a = KeyRecord::new("a", LIVE, Environment::Live);
        let b = KeyRecord::new("b", LIVE, Environment::Live);
        assert_eq!(
            KeySet::new(alloc::vec![a.clone(), b]).unwrap_err(),
            KeySetError::DuplicateDigest("a".into(), "b".into())
        );
        assert_eq!(KeySet::new(alloc::vec![a.clone(), a]).unwrap_err(), KeySetError::DuplicateId("a".into()));
    }

    #[test]
    fn every_record_of_a_large_set_is_found() {
        let key = |i: usize| alloc::format!("sk_live_{i:0>32}");
        let records = (0..2_000).map(|i| KeyRecord::new(alloc::format!("k{i}"), &key(i), Environment::Live)).collect();
        let keys = KeySet::new(records).unwrap();
        for i in (0..2_000).step_by(7) {
            let presented = key(i);
            let r = Request { api_key: Some(&presented), method: "GET", path: "/v1", client_ip: None, webcode: None };
            assert_eq!(keys.check(&r, &Policy::default(), 0).map(|a| a.key_id), Ok(alloc::format!("k{i}")));
        }
        let near_miss = alloc::format!("sk_live_{:0>32}", 2_000);
        let r = Request { api_key: Some(&near_miss), method: "GET", path: "/v1", client_ip: None, webcode: None };
        assert_eq!(keys.check(&r, &Policy::default(), 0), Err(KeyRejection::UnknownKey));
    }

    #[test]
    fn query_does_not_change_the_route() {
        let mut policy = Policy::default();
        policy.scope_routes.insert("s".into(), alloc::vec!["/api/".into()]);
        let keys = set(|r| r.scopes = alloc::vec!["s".into()]);
        assert!(keys.check(&req("/api/x?y=/external/v1/test/"), &policy, 0).is_ok());
        assert_eq!(keys.check(&req("/other?/api/"), &policy, 0), Err(KeyRejection::ScopeDenied));
    }
}
