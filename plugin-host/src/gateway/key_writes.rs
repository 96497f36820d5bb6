//! Key record writes that take effect: a compare-and-swap in the store,
//! then a reload of the plugin pool, undone by the reverse swap when the
//! plugin rejects the result.
//!
//! Every write is a [`Store::swap_key_records`](crate::store::Store::swap_key_records)
//! from the records the writer read, so a write planned on a copy that
//! another gateway changed meanwhile loses ([`Swapped::Lost`]) instead of
//! overwriting that change; the caller reads again and decides again. The
//! undo after a rejection is a swap too: if another writer changed a record
//! since, its change stays and the undo is skipped (and logged).

use std::fmt;

use payseal_core::keys::KeyRecord;

use super::Shared;
use crate::store::KeySwap;

/// What a key record swap did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub enum Swapped {
    /// Stored, and the pool of this reload generation serves it.
    Stored(u64),
    /// A stored record was not the expected one: nothing changed.
    Lost,
}

/// Why a key record write failed; nothing of it is kept.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyWriteError {
    /// The store failed.
    Store(String),
    /// The reload failed (e.g. the plugin rejected a digest already used by
    /// another id); the records were put back.
    Rejected(String),
}

impl fmt::Display for KeyWriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store(e) | Self::Rejected(e) => f.write_str(e),
        }
    }
}

impl std::error::Error for KeyWriteError {}

impl Shared {
    /// Swaps key records (all or nothing) and reloads once, so a
    /// regeneration's new key and superseded old one take effect together.
    /// When the reload fails, the reverse swap puts every record back,
    /// unless another writer changed one since.
    ///
    /// # Errors
    /// The store fails, or the reload fails (nothing is then kept).
    pub async fn swap_key_records(&self, swaps: &[KeySwap]) -> Result<Swapped, KeyWriteError> {
        let _guard = self.reload_lock.lock().await;
        if !self.store.swap_key_records(swaps).await.map_err(|e| KeyWriteError::Store(e.to_string()))? {
            return Ok(Swapped::Lost);
        }
        let result = self.reload_locked().await;
        self.metrics.reload(result.is_ok());
        match result {
            Ok(generation) => Ok(Swapped::Stored(generation)),
            Err(error) => {
                tracing::warn!(%error, "key records rejected; restoring the previous ones");
                let undo: Vec<KeySwap> = swaps.iter().map(KeySwap::reversed).collect();
                self.undo(&undo).await;
                Err(KeyWriteError::Rejected(error))
            }
        }
    }

    /// Puts records back after a rejected change, only where they are still
    /// what the change stored.
    pub(super) async fn undo(&self, undo: &[KeySwap]) {
        match self.store.swap_key_records(undo).await {
            Ok(true) => {}
            Ok(false) => {
                let ids: Vec<&str> = undo.iter().map(KeySwap::id).collect();
                tracing::error!(?ids, "a rejected key record changed again before it was restored; the newer change stays");
            }
            Err(error) => tracing::error!(%error, "cannot restore the key records"),
        }
    }

    /// The undo of an unconditional put of `record` that replaced `previous`.
    pub(super) async fn undo_put(&self, record: &KeyRecord, previous: Option<KeyRecord>) {
        match KeySwap::new(Some(record.clone()), previous) {
            Ok(swap) => self.undo(&[swap]).await,
            Err(error) => tracing::error!(%error, key_id = %record.id, "cannot restore the key record"),
        }
    }
}
