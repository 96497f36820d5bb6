//! Idempotency claims in flight, kept apart from the finished records.
//!
//! Why: an idempotent request writes its key twice, the claim before the
//! request is forwarded and the finished record after. Both were inserts
//! into the `idempotency` table, keyed by storage key, so each landed on a
//! random leaf page and every commit wrote about two random pages per
//! request; on a disk that writes ~40 000 random pages a second that, not
//! the fsync, bounded the idempotent path. A claim is now a row of the
//! `idempotency_inflight` table keyed by a sequence number: the claims of a
//! batch are appended side by side and share their pages, and the finish
//! removes that row (recent rows, so shared pages again) and writes the
//! finished record to its random leaf once. The claim is still in the same
//! durable group commit before the request is forwarded; nothing about
//! durability changes.
//!
//! The writer thread keeps the claims in flight in memory, by storage key,
//! so a claim's "is the key free" and a finish's "is it still my claim" need
//! no lookup by key in the table. Readers ([`Published`]) see a copy updated
//! only after a commit, so a lookup never shows a claim that may still be
//! rolled back. A process that stops with claims in flight leaves their
//! rows: opening the store moves them into the `idempotency` table as the
//! in-flight records they are (a retry meets 409 `IDEMPOTENCY_KEY_IN_PROGRESS`
//! until they expire), exactly as a claim stored there directly would have
//! stayed.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use payseal_core::idempotency::IdempotencyRecord;
use redb::{ReadableTable, Table, TableDefinition};
use serde::{Deserialize, Serialize};

/// sequence number → JSON of [`Row`]: the claims in flight.
pub const INFLIGHT: TableDefinition<u64, &[u8]> = TableDefinition::new("idempotency_inflight");

/// One row of [`INFLIGHT`].
#[derive(Serialize, Deserialize)]
pub struct Row {
    /// The storage key claimed.
    pub key: String,
    /// The in-flight record.
    pub claim: IdempotencyRecord,
}

/// The claims in flight as readers see them: the last commit's.
#[derive(Clone, Default)]
pub struct Published(Arc<Mutex<HashMap<String, IdempotencyRecord>>>);

impl Published {
    /// The claim in flight under `key`, if any.
    pub fn get(&self, key: &str) -> Option<IdempotencyRecord> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).get(key).cloned()
    }
}

/// The writer thread's claims in flight, with the changes of the batch
/// being applied (undone if its commit fails).
pub struct InFlight {
    claims: HashMap<String, (u64, IdempotencyRecord)>,
    next_sequence: u64,
    /// Each change of the current batch: the key and what it held before.
    undo: Vec<(String, Option<(u64, IdempotencyRecord)>)>,
    batch_start_sequence: u64,
    published: Published,
}

impl InFlight {
    /// Empty: the table holds no row once [`recover`] ran.
    pub fn new(published: Published) -> Self {
        Self { claims: HashMap::new(), next_sequence: 1, undo: Vec::new(), batch_start_sequence: 1, published }
    }

    /// The claim in flight under `key`, live or not.
    pub fn held(&self, key: &str) -> Option<&IdempotencyRecord> {
        self.claims.get(key).map(|(_, claim)| claim)
    }

    /// Records `claim` under `key` (the caller checked the key is free),
    /// replacing an expired claim in flight there.
    pub fn claim(&mut self, table: &mut Table<'_, u64, &[u8]>, key: &str, claim: &IdempotencyRecord) -> Result<(), redb::StorageError> {
        if let Some((stale, _)) = self.claims.get(key) {
            table.remove(*stale)?;
        }
        let sequence = self.next_sequence;
        let row = Row { key: key.to_owned(), claim: claim.clone() };
        table.insert(sequence, serde_json::to_vec(&row).unwrap_or_default().as_slice())?;
        self.next_sequence += 1;
        self.change(key, Some((sequence, row.claim)));
        Ok(())
    }

    /// Ends the claim in flight under `key` when it is `claim`: its row goes.
    /// `None` when no claim is in flight under `key` (a record stored in the
    /// `idempotency` table, or nothing); `Some(false)` when another is.
    pub fn end(&mut self, table: &mut Table<'_, u64, &[u8]>, key: &str, claim: &IdempotencyRecord) -> Result<Option<bool>, redb::StorageError> {
        let Some((sequence, held)) = self.claims.get(key) else { return Ok(None) };
        if held != claim {
            return Ok(Some(false));
        }
        table.remove(*sequence)?;
        self.change(key, None);
        Ok(Some(true))
    }

    /// Drops up to `limit` claims in flight that expired at `now` (a request
    /// stuck past the key's lifetime): the key is free again.
    pub fn sweep(&mut self, table: &mut Table<'_, u64, &[u8]>, now: u64, limit: usize) -> Result<usize, redb::StorageError> {
        let expired: Vec<(String, u64)> =
            self.claims.iter().filter(|(_, (_, claim))| !claim.is_live(now)).take(limit).map(|(key, (sequence, _))| (key.clone(), *sequence)).collect();
        for (key, sequence) in &expired {
            table.remove(*sequence)?;
            self.change(key, None);
        }
        Ok(expired.len())
    }

    fn change(&mut self, key: &str, new: Option<(u64, IdempotencyRecord)>) {
        let old = match new {
            Some(value) => self.claims.insert(key.to_owned(), value),
            None => self.claims.remove(key),
        };
        self.undo.push((key.to_owned(), old));
    }

    /// The batch committed: readers see its changes.
    pub fn committed(&mut self) {
        if self.undo.is_empty() {
            return;
        }
        let mut published = self.published.0.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, _) in self.undo.drain(..) {
            match self.claims.get(&key) {
                Some((_, claim)) => published.insert(key, claim.clone()),
                None => published.remove(&key),
            };
        }
        self.batch_start_sequence = self.next_sequence;
    }

    /// The batch did not commit: its changes are undone, last first.
    pub fn rolled_back(&mut self) {
        while let Some((key, old)) = self.undo.pop() {
            match old {
                Some(value) => self.claims.insert(key, value),
                None => self.claims.remove(&key),
            };
        }
        self.next_sequence = self.batch_start_sequence;
    }
}

/// Takes every row a stopped process left, emptying the table; the caller
/// stores them in the `idempotency` table (with the expiry index) in the
/// same transaction. `None`, nothing taken, when a row does not decode: the
/// store then does not open, and `payseal verify-store` names the problem.
///
/// # Errors
/// redb's.
pub fn take_left_rows(table: &mut Table<'_, u64, &[u8]>) -> Result<Option<Vec<Row>>, redb::StorageError> {
    let mut rows = Vec::new();
    let mut sequences = Vec::new();
    for entry in table.iter()? {
        let (sequence, value) = entry?;
        let Ok(row) = serde_json::from_slice::<Row>(value.value()) else { return Ok(None) };
        sequences.push(sequence.value());
        rows.push(row);
    }
    for sequence in sequences {
        table.remove(sequence)?;
    }
    Ok(Some(rows))
}
