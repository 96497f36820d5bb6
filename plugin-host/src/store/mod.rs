//! Where the gateway keeps key records and idempotency records.
//!
//! [`Store`] is what the request path needs: read a record, claim a key
//! atomically, replace or release one's own claim, sweep expired records,
//! and manage key records (digests only, never keys). The embedded
//! [`RedbStore`] is the default; a networked store (Redis: `SET NX PX` for
//! the claim) implements the same trait and must pass the same
//! [`suite`] (`payseal_gateway::store_test_suite!`); [`RedisStore`] is that
//! networked store, shared by several gateways.
//!
//! Key records change by compare-and-swap ([`Store::swap_key_records`]):
//! several gateways may plan changes of one record at once, and a change
//! planned on a copy that another one changed meanwhile must change nothing
//! rather than write the other change away (an edit undoing a revocation).
//! A swap names whole records, not versions: the lifecycle holds the record
//! it read anyway, and the stored layout stays one value per record. It takes
//! several records, all or nothing, because a regeneration installs a new
//! key and supersedes the old one in one step.
//!
//! Besides records, the key lifecycle keeps small entries (rate-limit leases,
//! token families, sealed client secrets) with a compare-and-swap and an
//! optional expiry, and an append-only audit log; both are opaque bytes to
//! the store.
//!
//! A store decides nothing about idempotency: it only persists what the
//! plugin's `check_request` (a claim) and `finish_request` (a finished record
//! or a release) return. "Expired" is the core's
//! [`IdempotencyRecord::is_live`].

mod embedded;
pub mod redis;
pub mod suite;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use payseal_core::idempotency::IdempotencyRecord;
use payseal_core::keys::KeyRecord;

pub use embedded::{RedbStore, StoreReport};
pub use redis::{ClusterSeeds, RedisOptions, RedisStore, RedisTarget, RedisUrl};

/// A store operation that failed; the request it served fails closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError {
    /// What kind of failure, for the caller to act on.
    pub kind: StoreErrorKind,
    /// What failed, without any stored value, key or password.
    pub detail: String,
}

/// The kinds of [`StoreError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// The store did not answer (down, timed out, the writer stopped): a
    /// retry may work; requests fail closed meanwhile.
    Unavailable,
    /// The store answered with data that cannot be read.
    Corrupt,
    /// A write lost to another writer past its retries, or its key is taken.
    Conflict,
    /// The operation itself was malformed (a caller's mistake).
    Invalid,
}

impl StoreError {
    /// The store did not answer.
    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self { kind: StoreErrorKind::Unavailable, detail: detail.into() }
    }

    /// The store holds data that cannot be read.
    pub fn corrupt(detail: impl Into<String>) -> Self {
        Self { kind: StoreErrorKind::Corrupt, detail: detail.into() }
    }

    /// A write lost to another writer, or its key is taken.
    pub fn conflict(detail: impl Into<String>) -> Self {
        Self { kind: StoreErrorKind::Conflict, detail: detail.into() }
    }

    /// The operation was malformed.
    pub fn invalid(detail: impl Into<String>) -> Self {
        Self { kind: StoreErrorKind::Invalid, detail: detail.into() }
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "store: {}", self.detail)
    }
}

impl std::error::Error for StoreError {}

/// The answer to a claim.
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub enum Claim {
    /// The claim is stored: this request, and only this one, may execute.
    Claimed,
    /// Another live record holds the key; the plugin decides with it.
    Held(IdempotencyRecord),
}

/// One record's part of [`Store::swap_key_records`]: the record stored
/// under [`id`](KeySwap::id) must be [`expected`](KeySwap::expected) and
/// becomes [`new_record`](KeySwap::new_record). Both name the same id (checked when made).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySwap {
    id: String,
    expected: Option<KeyRecord>,
    new: Option<KeyRecord>,
}

impl KeySwap {
    /// `expected` (`None`: no record) becomes `new` (`None`: deleted).
    ///
    /// # Errors
    /// Both are `None`, or they name different ids.
    pub fn new(expected: Option<KeyRecord>, new: Option<KeyRecord>) -> Result<Self, StoreError> {
        let id = match (&expected, &new) {
            (Some(a), Some(b)) if a.id != b.id => return Err(StoreError::invalid("a key record swap names two ids")),
            (Some(r), _) | (None, Some(r)) => r.id.clone(),
            (None, None) => return Err(StoreError::invalid("a key record swap names no record")),
        };
        Ok(Self { id, expected, new })
    }

    /// Stores `new` where no record has its id yet.
    pub fn create(new: KeyRecord) -> Self {
        Self { id: new.id.clone(), expected: None, new: Some(new) }
    }

    /// The record's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// What must be stored for the swap to happen (`None`: nothing).
    pub fn expected(&self) -> Option<&KeyRecord> {
        self.expected.as_ref()
    }

    /// What is stored after it (`None`: nothing).
    pub fn new_record(&self) -> Option<&KeyRecord> {
        self.new.as_ref()
    }

    /// The swap that undoes this one, if nothing changed the record since.
    #[must_use]
    pub fn reversed(&self) -> Self {
        Self { id: self.id.clone(), expected: self.new.clone(), new: self.expected.clone() }
    }
}

/// Refuses a swap list naming one id twice (its outcome would depend on
/// the order of the swaps).
///
/// # Errors
/// The id that repeats is not named; the message says what is wrong.
pub fn check_distinct_ids(swaps: &[KeySwap]) -> Result<(), StoreError> {
    let mut ids: Vec<&str> = swaps.iter().map(KeySwap::id).collect();
    ids.sort_unstable();
    if ids.windows(2).any(|w| w[0] == w[1]) {
        return Err(StoreError::invalid("a key record swap names one id twice"));
    }
    Ok(())
}

/// Persistence of key and idempotency records. Every method is atomic.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A short name for logs and metrics (`redb`, `redis`).
    fn name(&self) -> &'static str;

    /// The record stored under `storage_key`, expired or not (the plugin
    /// treats an expired record as absent).
    ///
    /// # Errors
    /// The store cannot be read, or the record cannot be decoded.
    async fn get(&self, storage_key: &str) -> Result<Option<IdempotencyRecord>, StoreError>;

    /// Stores `claim` under `storage_key` if the key is vacant or its record
    /// expired at `now`; otherwise answers the live record. Concurrent claims
    /// of one key have exactly one winner, across every gateway sharing the store.
    ///
    /// # Errors
    /// The store cannot be written.
    async fn claim(&self, storage_key: &str, claim: &IdempotencyRecord, now: u64) -> Result<Claim, StoreError>;

    /// Replaces `claim` with `record` if `claim` is still what is stored
    /// (`false`: it is not, e.g. it expired and another request claimed the key).
    ///
    /// # Errors
    /// The store cannot be written.
    async fn complete(&self, storage_key: &str, claim: &IdempotencyRecord, record: &IdempotencyRecord) -> Result<bool, StoreError>;

    /// Deletes `claim` if it is still what is stored, so a retry can execute.
    ///
    /// # Errors
    /// The store cannot be written.
    async fn release(&self, storage_key: &str, claim: &IdempotencyRecord) -> Result<bool, StoreError>;

    /// Deletes up to `limit` records expired at `now`; answers how many.
    ///
    /// # Errors
    /// The store cannot be written.
    async fn sweep(&self, now: u64, limit: usize) -> Result<usize, StoreError>;

    /// Every stored key record, by id.
    ///
    /// # Errors
    /// The store cannot be read, or a record cannot be decoded.
    async fn key_records(&self) -> Result<Vec<KeyRecord>, StoreError>;

    /// Stores `record` under its id; answers the record it replaced.
    ///
    /// # Errors
    /// The store cannot be written.
    async fn put_key_record(&self, record: &KeyRecord) -> Result<Option<KeyRecord>, StoreError>;

    /// Deletes the key record `id`; answers it.
    ///
    /// # Errors
    /// The store cannot be written.
    async fn delete_key_record(&self, id: &str) -> Result<Option<KeyRecord>, StoreError>;

    /// Compare-and-swap of key records, all or nothing: if the record
    /// stored under every swap's id is exactly its
    /// [`expected`](KeySwap::expected) (`None`: there is none), stores every
    /// [`new_record`](KeySwap::new_record) (`None`: deletes the record), bumps the key
    /// records' version once and answers `true`; otherwise changes nothing
    /// and answers `false`. Concurrent swaps from the same expected records
    /// have exactly one winner, across every gateway sharing the store. An
    /// empty list changes nothing and answers `true`.
    ///
    /// # Errors
    /// Two swaps name one id, the store cannot be written, or a stored
    /// record cannot be decoded.
    async fn swap_key_records(&self, swaps: &[KeySwap]) -> Result<bool, StoreError>;

    /// The entry under `key`; `None` when there is none or it expired at
    /// `now` (`expires_at <= now`).
    ///
    /// # Errors
    /// The store cannot be read.
    async fn entry(&self, key: &str, now: u64) -> Result<Option<Vec<u8>>, StoreError>;

    /// Compare-and-swap of one entry: if the entry live at `now` under `key`
    /// is `expected` (`None`: there is no live entry), stores `new` (`None`:
    /// deletes it) to expire at `expires_at` (`None`: never) and answers
    /// `true`; otherwise changes nothing and answers `false`. Concurrent swaps
    /// from the same `expected` have exactly one winner, across every gateway
    /// sharing the store.
    ///
    /// # Errors
    /// The store cannot be written.
    async fn swap_entry(&self, key: &str, expected: Option<&[u8]>, new: Option<&[u8]>, expires_at: Option<u64>, now: u64) -> Result<bool, StoreError>;

    /// Appends `event` to the audit log; answers its sequence number, which
    /// grows by one from 1. Events are never changed; the oldest are
    /// deleted only by [`Store::trim_audit`].
    ///
    /// # Errors
    /// The store cannot be written.
    async fn append_audit(&self, event: &str) -> Result<u64, StoreError>;

    /// Deletes the oldest audit events until at most `keep` (at least 1)
    /// remain; answers how many went. Sequence numbers do not change: the
    /// next event still gets the last one plus 1.
    ///
    /// # Errors
    /// `keep` is 0, or the store cannot be written.
    async fn trim_audit(&self, keep: u64) -> Result<u64, StoreError>;

    /// Up to `limit` audit events with a sequence number above `after`, in
    /// order (events trimmed away are skipped).
    ///
    /// # Errors
    /// The store cannot be read.
    async fn audit_events(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError>;

    /// Checks the store answers: the readiness probe. The embedded store
    /// always does.
    ///
    /// # Errors
    /// The store cannot be reached.
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// The version of the key records when other gateways share them: it
    /// changes with every key record change made through any of them.
    /// `None` (the default): the records are this process's alone, and its
    /// own changes reload it.
    ///
    /// # Errors
    /// The store cannot be read.
    async fn key_records_version(&self) -> Result<Option<u64>, StoreError> {
        Ok(None)
    }

    /// Tells the other gateways sharing the store that a stored part of
    /// their configuration other than key records changed (the token
    /// clients and renewal accounts created through the admin API): bumps
    /// [`Store::key_records_version`] as a key record change does, so their
    /// store watch reloads. The default does nothing: a store of this
    /// process alone has no other gateway to tell.
    ///
    /// # Errors
    /// The store cannot be written.
    async fn announce_change(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// Woken when another gateway may have changed key records (a push,
    /// e.g. Redis pub/sub); `None` (the default): no push, only polling of
    /// [`Store::key_records_version`].
    fn key_record_changes(&self) -> Option<Arc<tokio::sync::Notify>> {
        None
    }
}
