//! When each key was last used: noted in memory on every admitted request
//! (no store write on the request path), written to the store in batches
//! by the sweeper and at shutdown, one entry per key
//! (`lifecycle/last-used/<id>`, unix seconds as text). A write keeps the
//! later of the stored time and this gateway's (compare-and-swap), so
//! several gateways sharing the store never move a key's time backwards.
//! A reading adds what this gateway has not written yet, so its own uses
//! show at once; another gateway's show after its next flush.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::store::{Store, StoreError};

/// Compare-and-swap attempts per key and flush.
const CAS_ATTEMPTS: usize = 8;

/// The store entry of `id`'s last use.
pub fn entry(id: &str) -> String {
    format!("lifecycle/last-used/{id}")
}

fn parse(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

/// Uses noted since the last flush.
#[derive(Debug, Default)]
pub struct LastUsed {
    pending: Mutex<HashMap<String, u64>>,
}

impl LastUsed {
    /// Notes that `key_id` was used at `now`.
    pub fn note(&self, key_id: &str, now: u64) {
        if let Ok(mut pending) = self.pending.lock() {
            // The id is copied only the first time a key is used in a batch.
            match pending.get_mut(key_id) {
                Some(at) => *at = (*at).max(now),
                None => {
                    pending.insert(key_id.to_owned(), now);
                }
            }
        }
    }

    fn pending(&self, key_id: &str) -> Option<u64> {
        self.pending.lock().ok()?.get(key_id).copied()
    }

    /// When `key_id` was last used: the stored time or this gateway's
    /// unwritten one, whichever is later.
    ///
    /// # Errors
    /// The store.
    pub async fn read(&self, store: &dyn Store, key_id: &str, now: u64) -> Result<Option<u64>, StoreError> {
        let stored = store.entry(&entry(key_id), now).await?.as_deref().and_then(parse);
        Ok(stored.max(self.pending(key_id)))
    }

    /// Writes the noted uses; answers how many keys were written. A use
    /// that cannot be written is noted again for the next flush.
    ///
    /// # Errors
    /// The store (the unwritten uses stay noted).
    pub async fn flush(&self, store: &dyn Store, now: u64) -> Result<usize, StoreError> {
        let batch: Vec<(String, u64)> = match self.pending.lock() {
            Ok(mut pending) => pending.drain().collect(),
            Err(_) => return Ok(0),
        };
        let mut written = 0;
        let mut failed = None;
        for (key_id, at) in batch {
            if failed.is_some() {
                self.note(&key_id, at);
                continue;
            }
            match Self::write(store, &key_id, at, now).await {
                Ok(()) => written += 1,
                Err(error) => {
                    self.note(&key_id, at);
                    failed = Some(error);
                }
            }
        }
        failed.map_or(Ok(written), Err)
    }

    async fn write(store: &dyn Store, key_id: &str, at: u64, now: u64) -> Result<(), StoreError> {
        let name = entry(key_id);
        for _ in 0..CAS_ATTEMPTS {
            let current = store.entry(&name, now).await?;
            if current.as_deref().and_then(parse).is_some_and(|stored| stored >= at) {
                return Ok(());
            }
            if store.swap_entry(&name, current.as_deref(), Some(at.to_string().as_bytes()), None, now).await? {
                return Ok(());
            }
        }
        // Every lost race was another gateway writing a use: a time is there.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::store::RedbStore;

    #[tokio::test]
    async fn uses_are_batched_and_never_move_backwards() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(RedbStore::open(&dir.path().join("s.redb")).unwrap());
        let (one, other) = (LastUsed::default(), LastUsed::default());
        one.note("key_a", 100);
        one.note("key_a", 90);
        assert_eq!(one.read(store.as_ref(), "key_a", 100).await.unwrap(), Some(100), "its own unwritten use shows at once");
        assert_eq!(other.read(store.as_ref(), "key_a", 100).await.unwrap(), None, "another gateway's only after a flush");
        assert!(store.entry(&entry("key_a"), 100).await.unwrap().is_none(), "nothing is written per request");
        assert_eq!(one.flush(store.as_ref(), 100).await.unwrap(), 1);
        assert_eq!(other.read(store.as_ref(), "key_a", 100).await.unwrap(), Some(100));
        other.note("key_a", 50);
        other.flush(store.as_ref(), 100).await.unwrap();
        assert_eq!(one.read(store.as_ref(), "key_a", 100).await.unwrap(), Some(100), "an older use does not move the time back");
        other.note("key_a", 150);
        other.flush(store.as_ref(), 150).await.unwrap();
        assert_eq!(one.read(store.as_ref(), "key_a", 150).await.unwrap(), Some(150));
        assert_eq!(one.flush(store.as_ref(), 150).await.unwrap(), 0, "the batch was emptied");
    }
}
