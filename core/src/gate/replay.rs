//! The replay guard of signed requests (`signing.md`): a request signature
//! (DVPay, RFC 9421) is accepted once. The runtime remembers each accepted
//! signature, with the key id and the idempotency key it came with, until
//! its timestamp leaves the tolerance window; a second use is
//! `replayed_signature` (401). The same request retried with the same
//! idempotency key is not a replay: it goes on to the idempotency answer.
//!
//! The mark is stored as an [`IdempotencyRecord`] under its own namespace,
//! so every store claims it with the claim-if-absent it already has for
//! idempotency keys (atomic across gateways sharing a store, expired marks
//! treated as absent and swept).

use alloc::string::String;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::idempotency::{IdempotencyRecord, RecordState};
use crate::refusal::Refusal;

/// The endpoint field of every mark: no idempotency record has it (those
/// are `METHOD /path`).
pub const MARK_ENDPOINT: &str = "signature";

/// What a runtime claims for an accepted request signature.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[must_use]
pub struct ReplayGuard {
    /// Where the mark lives: `replay:{<hash>}`, the hash of the key id and
    /// the signature's bytes; the `{…}` hash tag keeps it on one Redis
    /// Cluster slot.
    pub storage_key: String,
    /// The mark: which idempotency key the signature came with, and until
    /// when it counts.
    pub mark: IdempotencyRecord,
}

impl ReplayGuard {
    /// The guard of a signature of `key_id` whose bytes are `signature`,
    /// made at `signed_at` (its timestamp) and accepted within `tolerance`
    /// seconds, sent with `idempotency_key`.
    pub fn new(key_id: &str, signature: &[u8], idempotency_key: Option<&str>, signed_at: u64, tolerance: u64) -> Self {
        let mut h = Sha256::new();
        for part in [key_id.as_bytes(), signature] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        let storage_key = alloc::format!("replay:{{{}}}", hex::encode(h.finalize()));
        let mark = IdempotencyRecord {
            endpoint: String::from(MARK_ENDPOINT),
            fingerprint: fingerprint(idempotency_key),
            state: RecordState::InFlight,
            // Past this, the timestamp is stale and the signature refused anyway.
            expires_at: signed_at.saturating_add(tolerance).saturating_add(1),
        };
        Self { storage_key, mark }
    }

    /// Judges a claim that found `held` already stored: the same request
    /// retried with the same idempotency key goes on; anything else is a
    /// replay.
    ///
    /// # Errors
    /// [`Refusal::REPLAYED_SIGNATURE`].
    pub fn judge(&self, held: &IdempotencyRecord) -> Result<(), Refusal> {
        let retried = held.endpoint == MARK_ENDPOINT
            && held.fingerprint == self.mark.fingerprint
            && self.mark.fingerprint != fingerprint(None);
        if retried { Ok(()) } else { Err(Refusal::REPLAYED_SIGNATURE) }
    }
}

/// The idempotency key a signature came with, hashed (the mark holds no
/// key of the client's); `None` hashes to the empty key.
fn fingerprint(idempotency_key: Option<&str>) -> String {
    hex::encode(Sha256::digest(idempotency_key.unwrap_or_default().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_is_accepted_once_but_retried_with_its_idempotency_key() {
        let first = ReplayGuard::new("k", b"mac", Some("r-1"), 100, 300);
        assert!(first.storage_key.starts_with("replay:{") && first.storage_key.ends_with('}'));
        assert_eq!(first.mark.expires_at, 401);
        // The same request retried with the same key: the idempotency answer decides.
        assert_eq!(ReplayGuard::new("k", b"mac", Some("r-1"), 100, 300).judge(&first.mark), Ok(()));
        // Captured and sent again under a fresh idempotency key, or none: a replay.
        assert_eq!(ReplayGuard::new("k", b"mac", Some("r-2"), 100, 300).judge(&first.mark), Err(Refusal::REPLAYED_SIGNATURE));
        let unkeyed = ReplayGuard::new("k", b"mac", None, 100, 300);
        assert_eq!(unkeyed.judge(&unkeyed.mark), Err(Refusal::REPLAYED_SIGNATURE), "without a key, every second use is a replay");
    }

    #[test]
    fn marks_are_namespaced_by_key_and_signature() {
        let a = ReplayGuard::new("k", b"mac", None, 0, 1).storage_key;
        assert_ne!(a, ReplayGuard::new("k2", b"mac", None, 0, 1).storage_key);
        assert_ne!(a, ReplayGuard::new("k", b"mac2", None, 0, 1).storage_key);
        assert_ne!(ReplayGuard::new("km", b"ac", None, 0, 1).storage_key, a, "no shifting between the parts");
    }

    #[test]
    fn an_idempotency_record_is_never_taken_for_a_mark() {
        let guard = ReplayGuard::new("k", b"mac", Some("r-1"), 100, 300);
        let record = IdempotencyRecord { endpoint: String::from("POST /pay"), ..guard.mark.clone() };
        assert_eq!(guard.judge(&record), Err(Refusal::REPLAYED_SIGNATURE));
    }
}
