//! Idempotency records in proxy-wasm shared data, claimed with
//! compare-and-swap.
//!
//! Envoy's shared data is one key → value map per `vm_id`, shared by every
//! worker thread's VM of one Envoy process; `set` with the `cas` a `get`
//! returned fails if anyone wrote the key since. It has no atomic
//! "create if absent" (a `set` of a missing key always succeeds) and no
//! delete. So records do not live under their own keys: they live in
//! [`BUCKETS`] fixed bucket entries (`payseal.idem.<n>`), created when a VM
//! starts, before it serves, each a JSON map `storage_key → IdempotencyRecord`.
//! A claim is a CAS on the record's bucket, so two workers can never both
//! claim one key; expired records are dropped whenever their bucket is
//! written, so memory follows the live records.
//!
//! The decision (execute, replay, which 409) and the completion (store,
//! release, or keep as outcome unknown) are the core's [`decide`] and
//! [`finish`]; this module only reads and writes what they return.
//!
//! The replay marks of signed requests (the core's [`ReplayGuard`]) are
//! records of the same buckets, claimed with the same compare-and-swap
//! ([`claim_mark`]); whether a mark already held lets a request through is
//! the guard's [`ReplayGuard::judge`].

use std::collections::BTreeMap;

use payseal_core::Refusal;
use payseal_core::gate::ReplayGuard;
use payseal_core::idempotency::{
    Completion, Decision, IdempotencyRecord, IdempotentRequest, StoredResponse, UpstreamOutcome, decide, finish,
};

/// Number of bucket entries: fixed, so every plugin sharing a `vm_id` finds a
/// key in the same bucket.
pub const BUCKETS: u32 = 8192;

/// How often a claim or completion re-reads its bucket after a CAS mismatch
/// before giving up.
pub const MAX_ATTEMPTS: usize = 32;

/// A write that lost a race, or a store that failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// Someone wrote the entry since it was read.
    CasMismatch,
    /// Any other failure of the host.
    Failed,
}

/// The proxy-wasm shared-data calls, as the store needs them.
pub trait SharedStore {
    /// The value and its CAS token; `None` when the key does not exist.
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)>;

    /// Writes `value`; with `cas`, only if the entry is still at that token.
    ///
    /// # Errors
    /// [`StoreError::CasMismatch`] when the entry changed since `cas`.
    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), StoreError>;
}

/// The shared-data key of the bucket holding `storage_key`.
pub fn bucket_key(storage_key: &str) -> String {
    // FNV-1a: the storage key already ends in a SHA-256; this only spreads it.
    let hash = storage_key.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    format!("payseal.idem.{}", hash % BUCKETS)
}

/// Creates every bucket that does not exist yet; returns how many it made.
///
/// Called when a VM starts. The first VM of a `vm_id` is Envoy's
/// configuration canary on the main thread, which runs before any worker VM
/// serves; later VMs find the buckets and write nothing, so this never
/// overwrites a claim.
pub fn prepare(store: &impl SharedStore) -> u32 {
    let mut created = 0;
    for n in 0..BUCKETS {
        let key = format!("payseal.idem.{n}");
        if store.get(&key).is_none() && store.set(&key, b"{}", None).is_ok() {
            created += 1;
        }
    }
    created
}

type Bucket = BTreeMap<String, IdempotencyRecord>;

/// Reads a bucket: its records and CAS token, creating it if a VM start
/// did not (it then holds no claim to lose).
fn read(store: &impl SharedStore, key: &str) -> Result<(Bucket, u32), Refusal> {
    for _ in 0..2 {
        match store.get(key) {
            Some((bytes, cas)) => {
                let bucket = serde_json::from_slice(&bytes).map_err(|_| Refusal::IDEMPOTENCY_UNAVAILABLE)?;
                return Ok((bucket, cas));
            }
            None => store.set(key, b"{}", None).map_err(|_| Refusal::IDEMPOTENCY_UNAVAILABLE)?,
        }
    }
    Err(Refusal::IDEMPOTENCY_UNAVAILABLE)
}

fn write(store: &impl SharedStore, key: &str, bucket: &Bucket, cas: u32) -> Result<(), StoreError> {
    let bytes = serde_json::to_vec(bucket).map_err(|_| StoreError::Failed)?;
    store.set(key, &bytes, Some(cas))
}

/// A claim this request holds: what [`complete`] needs once the upstream answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ticket {
    storage_key: String,
    claim: IdempotencyRecord,
}

/// The answer to a request carrying an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Claim {
    /// The key is claimed for this request: forward it, then [`complete`].
    Execute(Ticket),
    /// Send the stored response again; do not forward.
    Replay(StoredResponse),
    /// A 409 of the core, or the store could not take the claim.
    Refuse(Refusal),
}

/// Claims `request`'s key at `now`, or says why not.
pub fn claim(store: &impl SharedStore, request: &IdempotentRequest<'_>, now: u64, ttl: u64) -> Claim {
    let storage_key = request.storage_key();
    let key = bucket_key(&storage_key);
    for _ in 0..MAX_ATTEMPTS {
        let (mut bucket, cas) = match read(store, &key) {
            Ok(read) => read,
            Err(refusal) => return Claim::Refuse(refusal),
        };
        match decide(bucket.get(&storage_key), request, now, ttl) {
            Decision::Replay(response) => return Claim::Replay(response),
            Decision::Conflict(conflict) => return Claim::Refuse(conflict.into()),
            Decision::Execute(claim) => {
                bucket.retain(|_, record| record.is_live(now));
                bucket.insert(storage_key.clone(), claim.clone());
                match write(store, &key, &bucket, cas) {
                    Ok(()) => return Claim::Execute(Ticket { storage_key, claim }),
                    Err(StoreError::CasMismatch) => {}
                    Err(StoreError::Failed) => return Claim::Refuse(Refusal::IDEMPOTENCY_UNAVAILABLE),
                }
            }
        }
    }
    Claim::Refuse(Refusal::IDEMPOTENCY_UNAVAILABLE)
}

/// The answer to a claim of a signature's replay mark.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum MarkClaim {
    /// The mark is this request's: the signature was not used before.
    Claimed,
    /// A live mark was already there: [`ReplayGuard::judge`] it.
    Held(IdempotencyRecord),
    /// The bucket could not be read or written (past [`MAX_ATTEMPTS`]): the
    /// request must not be forwarded unguarded.
    Failed,
}

/// Claims `guard`'s mark at `now` if no live mark is held under its storage
/// key: the claim-if-absent of [`claim`], on the same buckets. An expired
/// mark counts as absent and is replaced.
pub fn claim_mark(store: &impl SharedStore, guard: &ReplayGuard, now: u64) -> MarkClaim {
    let key = bucket_key(&guard.storage_key);
    for _ in 0..MAX_ATTEMPTS {
        let Ok((mut bucket, cas)) = read(store, &key) else { return MarkClaim::Failed };
        if let Some(held) = bucket.get(&guard.storage_key).filter(|record| record.is_live(now)) {
            return MarkClaim::Held(held.clone());
        }
        bucket.retain(|_, record| record.is_live(now));
        bucket.insert(guard.storage_key.clone(), guard.mark.clone());
        match write(store, &key, &bucket, cas) {
            Ok(()) => return MarkClaim::Claimed,
            Err(StoreError::CasMismatch) => {}
            Err(StoreError::Failed) => return MarkClaim::Failed,
        }
    }
    MarkClaim::Failed
}

/// What became of a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum Completed {
    /// The answer is stored for replay.
    Stored,
    /// The request was sent and not answered: its key is held as outcome
    /// unknown (retries get the core's 409 `IDEMPOTENCY_OUTCOME_UNKNOWN`)
    /// until the record expires.
    KeptUnknown,
    /// The claim is gone: a retry may execute.
    Released,
    /// The claim had expired and is no longer this request's; nothing written.
    Expired,
    /// The bucket could not be written; the claim stays until it expires, so
    /// the request is never executed twice.
    Failed,
}

/// Completes `ticket` with what happened to the forwarded request, as the
/// core's [`finish`] says.
pub fn complete(store: &impl SharedStore, ticket: &Ticket, outcome: UpstreamOutcome, now: u64) -> Completed {
    let key = bucket_key(&ticket.storage_key);
    let completion = finish(ticket.claim.clone(), outcome);
    for _ in 0..MAX_ATTEMPTS {
        let Ok((mut bucket, cas)) = read(store, &key) else { return Completed::Failed };
        if bucket.get(&ticket.storage_key) != Some(&ticket.claim) {
            return Completed::Expired;
        }
        let done = match &completion {
            Completion::Store(record) => {
                bucket.insert(ticket.storage_key.clone(), record.clone());
                Completed::Stored
            }
            Completion::KeepUnknown(record) => {
                bucket.insert(ticket.storage_key.clone(), record.clone());
                Completed::KeptUnknown
            }
            Completion::Release => {
                bucket.remove(&ticket.storage_key);
                Completed::Released
            }
        };
        bucket.retain(|_, record| record.is_live(now));
        match write(store, &key, &bucket, cas) {
            Ok(()) => return done,
            Err(StoreError::CasMismatch) => {}
            Err(StoreError::Failed) => return Completed::Failed,
        }
    }
    Completed::Failed
}

/// An in-memory [`SharedStore`] with Envoy's semantics, for tests.
#[cfg(test)]
pub(crate) mod memory {
    use std::cell::{Cell, RefCell};
    use std::collections::HashMap;

    use super::{SharedStore, StoreError};

    type Hook = Box<dyn FnMut(&Memory)>;

    #[derive(Default)]
    pub(crate) struct Memory {
        pub(crate) entries: RefCell<HashMap<String, (Vec<u8>, u32)>>,
        next: Cell<u32>,
        /// Runs before each `set`: a concurrent writer's turn.
        pub(crate) before_set: RefCell<Option<Hook>>,
    }

    impl SharedStore for Memory {
        fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
            self.entries.borrow().get(key).cloned()
        }

        fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), StoreError> {
            let hook = self.before_set.borrow_mut().take();
            if let Some(mut hook) = hook {
                hook(self);
            }
            let mut entries = self.entries.borrow_mut();
            if let (Some((_, current)), Some(cas)) = (entries.get(key), cas)
                && *current != cas
            {
                return Err(StoreError::CasMismatch);
            }
            self.next.set(self.next.get() + 1);
            entries.insert(key.to_owned(), (value.to_vec(), self.next.get()));
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use payseal_core::Environment;
    use payseal_core::idempotency::DEFAULT_TTL;

    use super::memory::Memory;
    use super::*;

    fn req<'a>(key: &'a str, path: &'a str, body: &'a [u8]) -> IdempotentRequest<'a> {
        IdempotentRequest { key, method: "POST", path, body, environment: Environment::Live, key_id: "k" }
    }

    fn ready() -> Memory {
        let store = Memory::default();
        assert_eq!(prepare(&store), BUCKETS);
        assert_eq!(prepare(&store), 0, "a second VM writes nothing");
        store
    }

    fn response(status: u16) -> StoredResponse {
        StoredResponse { status, headers: vec![("content-type".into(), "application/json".into())], body: b"{}".to_vec() }
    }

    #[test]
    fn claim_replay_conflicts() {
        let store = ready();
        let a = req("K", "/pay", b"1");
        let Claim::Execute(ticket) = claim(&store, &a, 0, DEFAULT_TTL) else { panic!() };
        let Claim::Refuse(r) = claim(&store, &a, 1, DEFAULT_TTL) else { panic!() };
        assert_eq!(r.reason, "idempotency_in_progress");
        assert_eq!(complete(&store, &ticket, answered(201), 2), Completed::Stored);
        assert_eq!(claim(&store, &a, 3, DEFAULT_TTL), Claim::Replay(response(201)));
        let Claim::Refuse(r) = claim(&store, &req("K", "/pay", b"2"), 3, DEFAULT_TTL) else { panic!() };
        assert_eq!(r.reason, "idempotency_body_mismatch");
        let Claim::Refuse(r) = claim(&store, &req("K", "/refund", b"1"), 3, DEFAULT_TTL) else { panic!() };
        assert_eq!(r.reason, "idempotency_endpoint_mismatch");
    }

    fn answered(status: u16) -> UpstreamOutcome {
        UpstreamOutcome::Answered(response(status))
    }

    #[test]
    fn server_errors_and_requests_never_sent_release() {
        let store = ready();
        let a = req("K", "/pay", b"1");
        let Claim::Execute(ticket) = claim(&store, &a, 0, DEFAULT_TTL) else { panic!() };
        assert_eq!(complete(&store, &ticket, answered(502), 1), Completed::Released);
        let Claim::Execute(ticket) = claim(&store, &a, 2, DEFAULT_TTL) else { panic!() };
        assert_eq!(complete(&store, &ticket, UpstreamOutcome::NotSent, 3), Completed::Released);
        assert!(matches!(claim(&store, &a, 4, DEFAULT_TTL), Claim::Execute(_)));
    }

    #[test]
    fn a_request_sent_and_never_answered_keeps_its_key() {
        let store = ready();
        let a = req("K", "/pay", b"1");
        let Claim::Execute(ticket) = claim(&store, &a, 0, 10) else { panic!() };
        assert_eq!(complete(&store, &ticket, UpstreamOutcome::NoAnswer, 1), Completed::KeptUnknown);
        let Claim::Refuse(r) = claim(&store, &a, 2, 10) else { panic!("executed twice") };
        assert_eq!((r.status, r.code, r.reason), (409, "IDEMPOTENCY_OUTCOME_UNKNOWN", "idempotency_outcome_unknown"));
        let Claim::Refuse(r) = claim(&store, &req("K", "/pay", b"2"), 2, 10) else { panic!() };
        assert_eq!(r.reason, "idempotency_body_mismatch");
        // A late completion of the same ticket finds the record no longer its claim.
        assert_eq!(complete(&store, &ticket, answered(200), 3), Completed::Expired);
        assert!(matches!(claim(&store, &a, 10, 10), Claim::Execute(_)), "until the record expires");
    }

    #[test]
    fn a_racing_claim_loses_to_the_first_writer() {
        let store = ready();
        let a = req("K", "/pay", b"1");
        // Between this request's read and its write, another worker claims the same key.
        *store.before_set.borrow_mut() = Some(Box::new(|s: &Memory| {
            assert!(matches!(claim(s, &req("K", "/pay", b"1"), 0, DEFAULT_TTL), Claim::Execute(_)));
        }));
        let Claim::Refuse(r) = claim(&store, &a, 0, DEFAULT_TTL) else { panic!("both executed") };
        assert_eq!(r.reason, "idempotency_in_progress");
    }

    #[test]
    fn an_unrelated_write_to_the_bucket_is_retried() {
        let store = ready();
        let a = req("K", "/pay", b"1");
        *store.before_set.borrow_mut() = Some(Box::new(|s: &Memory| {
            let key = bucket_key(&req("K", "/pay", b"1").storage_key());
            let (bytes, _) = s.get(&key).unwrap();
            s.set(&key, &bytes, None).unwrap();
        }));
        assert!(matches!(claim(&store, &a, 0, DEFAULT_TTL), Claim::Execute(_)));
    }

    #[test]
    fn expired_records_are_dropped_and_stale_tickets_do_nothing() {
        let store = ready();
        let a = req("K", "/pay", b"1");
        let Claim::Execute(old) = claim(&store, &a, 0, 10) else { panic!() };
        // The claim expired; a retry claims again, and the old completion must not touch it.
        let Claim::Execute(new) = claim(&store, &a, 10, 10) else { panic!() };
        assert_eq!(complete(&store, &old, answered(200), 11), Completed::Expired);
        assert_eq!(complete(&store, &new, answered(200), 11), Completed::Stored);
        let key = bucket_key(&a.storage_key());
        assert_eq!(read(&store, &key).unwrap().0.len(), 1);
        let _ = claim(&store, &req("K2", "/pay", b"1"), 100, 10);
        // Another key in the same bucket, written later, drops K's expired record.
        let other = (0..100 * BUCKETS)
            .map(|i| format!("other-{i}"))
            .find(|other| bucket_key(&req(other, "/pay", b"1").storage_key()) == key)
            .unwrap();
        assert!(matches!(claim(&store, &req(&other, "/pay", b"1"), 100, 10), Claim::Execute(_)));
        assert!(!read(&store, &key).unwrap().0.contains_key(&a.storage_key()));
    }

    #[test]
    fn a_corrupt_bucket_refuses() {
        let store = ready();
        let a = req("K", "/pay", b"1");
        store.set(&bucket_key(&a.storage_key()), b"not json", None).unwrap();
        assert_eq!(claim(&store, &a, 0, 10), Claim::Refuse(Refusal::IDEMPOTENCY_UNAVAILABLE));
    }

    #[test]
    fn a_missing_bucket_is_created() {
        let store = Memory::default();
        assert!(matches!(claim(&store, &req("K", "/pay", b"1"), 0, 10), Claim::Execute(_)));
    }

    fn guard(idempotency_key: &str) -> ReplayGuard {
        // Signed at 100, accepted within 300 s: the mark counts until 401.
        ReplayGuard::new("k", b"mac", Some(idempotency_key), 100, 300)
    }

    #[test]
    fn a_mark_is_claimed_once_and_answered_while_live() {
        let store = ready();
        let first = guard("r-1");
        assert_eq!(claim_mark(&store, &first, 100), MarkClaim::Claimed);
        // The same request again: the held mark, which its guard lets through.
        let MarkClaim::Held(held) = claim_mark(&store, &guard("r-1"), 200) else { panic!("claimed twice") };
        assert_eq!(held, first.mark);
        assert_eq!(guard("r-1").judge(&held), Ok(()));
        // The signature under a fresh idempotency key: the first mark still holds, and it is a replay.
        let MarkClaim::Held(held) = claim_mark(&store, &guard("r-2"), 400) else { panic!("claimed twice") };
        assert_eq!(held, first.mark, "a losing claim writes nothing");
        assert_eq!(guard("r-2").judge(&held), Err(Refusal::REPLAYED_SIGNATURE));
    }

    #[test]
    fn an_expired_mark_is_replaced() {
        let store = ready();
        assert_eq!(claim_mark(&store, &guard("r-1"), 100), MarkClaim::Claimed);
        let later = guard("r-2");
        assert_eq!(claim_mark(&store, &later, 401), MarkClaim::Claimed, "the mark counts until its expiry");
        let (bucket, _) = read(&store, &bucket_key(&later.storage_key)).unwrap();
        assert_eq!(bucket.get(&later.storage_key), Some(&later.mark));
    }

    #[test]
    fn a_racing_mark_claim_loses_to_the_first_writer() {
        let store = ready();
        // Between this request's read and its write, another worker claims the same signature.
        *store.before_set.borrow_mut() = Some(Box::new(|s: &Memory| {
            assert_eq!(claim_mark(s, &guard("r-2"), 100), MarkClaim::Claimed);
        }));
        assert_eq!(claim_mark(&store, &guard("r-1"), 100), MarkClaim::Held(guard("r-2").mark));
    }

    #[test]
    fn marks_and_idempotency_records_share_buckets_without_touching() {
        let store = ready();
        let mark = guard("r-1");
        // An idempotency key that falls into the mark's bucket.
        let key = bucket_key(&mark.storage_key);
        let other = (0..100 * BUCKETS)
            .map(|i| format!("other-{i}"))
            .find(|other| bucket_key(&req(other, "/pay", b"1").storage_key()) == key)
            .unwrap();
        let a = req(&other, "/pay", b"1");
        assert_eq!(claim_mark(&store, &mark, 100), MarkClaim::Claimed);
        let Claim::Execute(ticket) = claim(&store, &a, 100, DEFAULT_TTL) else { panic!() };
        assert_eq!(complete(&store, &ticket, answered(201), 101), Completed::Stored);
        assert!(matches!(claim_mark(&store, &mark, 102), MarkClaim::Held(_)));
        assert_eq!(claim(&store, &a, 103, DEFAULT_TTL), Claim::Replay(response(201)));
    }

    /// A concurrent writer of `guard("r-1")`'s bucket before every `set`.
    fn contend(s: &Memory) {
        let key = bucket_key(&guard("r-1").storage_key);
        let (bytes, _) = s.get(&key).unwrap();
        s.set(&key, &bytes, None).unwrap();
        *s.before_set.borrow_mut() = Some(Box::new(contend));
    }

    #[test]
    fn a_mark_claim_that_cannot_be_written_fails() {
        let store = ready();
        let mark = guard("r-1");
        store.set(&bucket_key(&mark.storage_key), b"not json", None).unwrap();
        assert_eq!(claim_mark(&store, &mark, 100), MarkClaim::Failed);
        // Every write loses its CAS: past the retry bound, the claim fails.
        let store = ready();
        *store.before_set.borrow_mut() = Some(Box::new(contend));
        assert_eq!(claim_mark(&store, &mark, 100), MarkClaim::Failed);
    }
}
