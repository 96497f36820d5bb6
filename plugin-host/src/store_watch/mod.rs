//! Keeping one gateway's view of a shared store honest.
//!
//! Each gateway builds its plugin pool from the key records it read. When
//! several gateways share a store (Redis), another one may revoke or edit a
//! key at any time, so a background task here:
//!
//! - probes the store (`ping`, under the store's command timeout) every
//!   `store.key_sync_interval_ms`: while it fails, `/readyz` answers 503
//!   `{"status":"store_unavailable"}`;
//! - reads the key records' version on every probe and whenever the store
//!   pushes a change (Redis pub/sub), and reloads when it moved;
//! - marks the key set *confirmed* at the instant a read that found it
//!   current *started*.
//!
//! A checked request is served only while the last confirmation is at most
//! `store.key_stale_after_ms` old ([`StoreWatch::key_set_fresh`]);
//! otherwise it fails closed (503), since a key revoked elsewhere meanwhile
//! could still pass here. So a key record change made through any gateway
//! takes effect on every gateway within that bound (typically one pub/sub
//! message and one reload): either the gateway confirmed a version read
//! after the change, or it refuses. It recovers by itself once the store
//! answers again. A store whose records are this process's alone (redb)
//! is always confirmed.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};


use crate::store::Store;

/// How long a failed reload waits before the next try (a reload rebuilds
/// the plugin pool: not something to repeat every poll).
pub mod task;

const RELOAD_RETRY: Duration = Duration::from_secs(1);

/// What the gateway knows about its store's health and its key set's freshness.
#[derive(Debug)]
pub struct StoreWatch {
    base: Instant,
    interval: Duration,
    stale_after: Duration,
    reachable: AtomicBool,
    /// The store has a records version (it is shared with other gateways).
    shared_records: AtomicBool,
    /// The version the running pool was built from.
    applied: AtomicU64,
    /// Milliseconds from `base` to the start of the last confirming read.
    confirmed_ms: AtomicU64,
}

impl StoreWatch {
    /// A watch polling every `interval`, trusting a confirmation for `stale_after`.
    pub fn new(interval: Duration, stale_after: Duration) -> Self {
        Self {
            base: Instant::now(),
            interval,
            stale_after,
            reachable: AtomicBool::new(true),
            shared_records: AtomicBool::new(false),
            applied: AtomicU64::new(0),
            confirmed_ms: AtomicU64::new(0),
        }
    }

    fn millis(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_millis()).unwrap_or(u64::MAX)
    }

    fn confirm(&self, read_started: Instant) {
        self.confirmed_ms.fetch_max(self.millis(read_started), Ordering::SeqCst);
    }

    /// Reads the version the first pool will be built from; call it before
    /// the first read of the key records.
    ///
    /// # Errors
    /// The store cannot be read.
    pub async fn init(&self, store: &dyn Store) -> Result<(), String> {
        let started = Instant::now();
        let version = store.key_records_version().await.map_err(|e| format!("cannot read the key records' version: {e}"))?;
        self.shared_records.store(version.is_some(), Ordering::SeqCst);
        self.applied.store(version.unwrap_or(0), Ordering::SeqCst);
        self.confirm(started);
        Ok(())
    }

    /// Notes a pool built from key records read after the records' version
    /// was `version` (read at `read_started`): the pool holds at least that
    /// version's changes, so the watch neither reloads for it again nor
    /// counts the key set stale before the bound.
    pub fn built_from(&self, version: u64, read_started: Instant) {
        self.applied.fetch_max(version, Ordering::SeqCst);
        self.confirm(read_started);
    }

    /// The running pool holds the key records of `version` (versions only
    /// grow: a pool built from a later version holds this one).
    pub fn holds(&self, version: u64) -> bool {
        version <= self.applied.load(Ordering::SeqCst)
    }

    /// The last probe reached the store, and the key set is fresh.
    pub fn ready(&self) -> bool {
        self.reachable.load(Ordering::SeqCst) && self.key_set_fresh()
    }

    /// The key set was confirmed current at most `stale_after` ago (always,
    /// for a store no other gateway changes).
    pub fn key_set_fresh(&self) -> bool {
        if !self.shared_records.load(Ordering::SeqCst) {
            return true;
        }
        let age = self.millis(Instant::now()).saturating_sub(self.confirmed_ms.load(Ordering::SeqCst));
        u128::from(age) <= self.stale_after.as_millis()
    }

    fn set_reachable(&self, reachable: bool, error: Option<&crate::store::StoreError>) {
        let was = self.reachable.swap(reachable, Ordering::SeqCst);
        match (was, reachable, error) {
            (true, false, Some(error)) => tracing::error!(%error, "the store does not answer; requests that need it fail closed"),
            (false, true, _) => tracing::info!("the store answers again"),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use async_trait::async_trait;
    use payseal_core::idempotency::IdempotencyRecord;
    use payseal_core::keys::KeyRecord;

    use super::StoreWatch;
    use crate::store::{Claim, Store, StoreError};

    /// A store with a records version and nothing else.
    struct Versioned;

    #[async_trait]
    impl Store for Versioned {
        fn name(&self) -> &'static str {
            "versioned"
        }
        async fn get(&self, _: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
            Ok(None)
        }
        async fn claim(&self, _: &str, _: &IdempotencyRecord, _: u64) -> Result<Claim, StoreError> {
            Ok(Claim::Claimed)
        }
        async fn complete(&self, _: &str, _: &IdempotencyRecord, _: &IdempotencyRecord) -> Result<bool, StoreError> {
            Ok(true)
        }
        async fn release(&self, _: &str, _: &IdempotencyRecord) -> Result<bool, StoreError> {
            Ok(true)
        }
        async fn sweep(&self, _: u64, _: usize) -> Result<usize, StoreError> {
            Ok(0)
        }
        async fn key_records(&self) -> Result<Vec<KeyRecord>, StoreError> {
            Ok(Vec::new())
        }
        async fn put_key_record(&self, _: &KeyRecord) -> Result<Option<KeyRecord>, StoreError> {
            Ok(None)
        }
        async fn delete_key_record(&self, _: &str) -> Result<Option<KeyRecord>, StoreError> {
            Ok(None)
        }
        async fn swap_key_records(&self, _: &[crate::store::KeySwap]) -> Result<bool, StoreError> {
            Ok(true)
        }
        async fn entry(&self, _: &str, _: u64) -> Result<Option<Vec<u8>>, StoreError> {
            Ok(None)
        }
        async fn swap_entry(&self, _: &str, _: Option<&[u8]>, _: Option<&[u8]>, _: Option<u64>, _: u64) -> Result<bool, StoreError> {
            Ok(true)
        }
        async fn append_audit(&self, _: &str) -> Result<u64, StoreError> {
            Ok(1)
        }
        async fn trim_audit(&self, _: u64) -> Result<u64, StoreError> {
            Ok(0)
        }
        async fn audit_events(&self, _: u64, _: usize) -> Result<Vec<(u64, String)>, StoreError> {
            Ok(Vec::new())
        }
        async fn key_records_version(&self) -> Result<Option<u64>, StoreError> {
            Ok(Some(7))
        }
    }

    #[tokio::test]
    async fn a_shared_key_set_goes_stale_without_confirmation_and_a_private_one_never() {
        let watch = StoreWatch::new(Duration::from_millis(10), Duration::from_millis(50));
        watch.init(&Versioned).await.unwrap();
        assert!(watch.key_set_fresh() && watch.ready());
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(!watch.key_set_fresh() && !watch.ready(), "an unconfirmed shared key set stayed fresh");
        watch.confirm(std::time::Instant::now());
        assert!(watch.key_set_fresh());
        watch.set_reachable(false, Some(&StoreError::unavailable("down")));
        assert!(!watch.ready() && watch.key_set_fresh());

        let private = StoreWatch::new(Duration::from_millis(10), Duration::from_millis(50));
        let dir = tempfile::tempdir().unwrap();
        let redb: Arc<dyn Store> = Arc::new(crate::store::RedbStore::open(&dir.path().join("s.redb")).unwrap());
        private.init(redb.as_ref()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(private.key_set_fresh() && private.ready());
    }
}
