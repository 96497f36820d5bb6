//! The embedded store: one redb file.
//!
//! Why redb: it is pure Rust (no C toolchain, builds wherever the gateway
//! builds), and its write transactions are ACID and crash-safe: pages are
//! copy-on-write and a commit flips to the new root only once the new pages
//! are durable, so a process killed at any instant reopens at the last
//! committed transaction with no repair step and no torn record. A claim is
//! one write transaction that reads the key and inserts only if the key is
//! vacant or its record expired, which is the atomic "insert if free" that
//! idempotency needs.
//!
//! Writes go through one writer thread that commits every write queued
//! meanwhile in one transaction (group commit): redb runs one write
//! transaction at a time anyway, and one `fsync` then covers a whole batch
//! of concurrent claims. Each operation still sees the ones before it in the
//! batch, so the batch is equivalent to committing them one by one. Reads
//! are MVCC snapshots and never wait for the writer. Claims in flight live
//! in a table of their own, appended in claim order ([`inflight`]), so an
//! idempotent request writes one random page, not two. A key record swap is
//! one such operation: it compares every expected record with the stored
//! one (decoded) and writes all of them or none, so of concurrent swaps from
//! one expected record the first applied wins and the others see its write.

mod inflight;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc;

use async_trait::async_trait;
use payseal_core::idempotency::IdempotencyRecord;
use payseal_core::keys::KeyRecord;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, Table, TableDefinition};
use tokio::sync::oneshot;

use self::inflight::{INFLIGHT, InFlight, Published};
use super::{Claim, KeySwap, Store, StoreError, check_distinct_ids};

/// storage key → JSON of the core's `IdempotencyRecord`.
const IDEMPOTENCY: TableDefinition<&str, &[u8]> = TableDefinition::new("idempotency");
/// (`expires_at`, storage key): the sweeper's index.
const EXPIRY: TableDefinition<(u64, &str), ()> = TableDefinition::new("idempotency_expiry");
/// key id → JSON of the core's `KeyRecord` (a digest, never a key).
const KEY_RECORDS: TableDefinition<&str, &[u8]> = TableDefinition::new("key_records");

/// lifecycle entry key → `expires_at` (8 bytes, big-endian; `u64::MAX`:
/// never) followed by the entry's bytes.
const ENTRIES: TableDefinition<&str, &[u8]> = TableDefinition::new("entries");
/// (`expires_at`, entry key) of entries that expire: the sweeper's index.
const ENTRY_EXPIRY: TableDefinition<(u64, &str), ()> = TableDefinition::new("entry_expiry");
/// sequence number → one audit event.
const AUDIT: TableDefinition<u64, &str> = TableDefinition::new("audit");

const NEVER: u64 = u64::MAX;

/// Most operations committed in one transaction.
const MAX_BATCH: usize = 512;

fn storage(e: impl Into<redb::Error>) -> StoreError {
    StoreError::unavailable(e.into().to_string())
}

fn decode<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|_| StoreError::corrupt(format!("a stored {what} cannot be decoded")))
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // The core's records are plain data: serializing them cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

enum Op {
    Claim { key: String, claim: IdempotencyRecord, now: u64 },
    Complete { key: String, claim: IdempotencyRecord, record: IdempotencyRecord },
    Release { key: String, claim: IdempotencyRecord },
    Sweep { now: u64, limit: usize },
    PutKey { record: KeyRecord },
    DeleteKey { id: String },
    SwapKeys { swaps: Vec<KeySwap> },
    SwapEntry { key: String, expected: Option<Vec<u8>>, new: Option<Vec<u8>>, expires_at: Option<u64>, now: u64 },
    Audit { event: String },
    TrimAudit { keep: u64 },
}

enum Answer {
    Claim(Claim),
    Done(bool),
    Swept(usize),
    Previous(Option<KeyRecord>),
    Sequence(u64),
}

struct Job {
    op: Op,
    reply: oneshot::Sender<Result<Answer, StoreError>>,
}

/// The redb-backed [`Store`].
pub struct RedbStore {
    db: Arc<Database>,
    writer: mpsc::Sender<Job>,
    /// The claims in flight, as of the last commit.
    inflight: Published,
    path: PathBuf,
}

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore").field("path", &self.path).finish_non_exhaustive()
    }
}

/// What [`RedbStore::verify`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreReport {
    /// Idempotency records (every one decodes and is indexed).
    pub idempotency_records: usize,
    /// Key records.
    pub key_records: usize,
}

impl RedbStore {
    /// Opens (or creates) the store at `path`, its tables, and its writer thread.
    ///
    /// # Errors
    /// The file cannot be opened (another process holds it, or it is not a redb file).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::unavailable(format!("cannot create {}: {e}", dir.display())))?;
        }
        let db = Database::create(path).map_err(storage)?;
        let mut txn = db.begin_write().map_err(storage)?;
        txn.set_durability(Durability::Immediate).map_err(|e| StoreError::unavailable(e.to_string()))?;
        {
            let mut tables = Tables::open(&txn).map_err(storage)?;
            // Claims a stopped process left in flight become the in-flight
            // records they were.
            let Some(left) = inflight::take_left_rows(&mut tables.inflight).map_err(storage)? else {
                return Err(StoreError::corrupt("a stored in-flight claim cannot be decoded"));
            };
            for row in &left {
                let old = current(&tables, &row.key).map_err(storage)?.and_then(Result::ok);
                put_record(&mut tables, &row.key, old.as_ref(), &row.claim).map_err(storage)?;
            }
            if !left.is_empty() {
                tracing::warn!(claims = left.len(), "the store holds claims a stopped process left in flight; retries of their keys get 409 until they expire");
            }
        }
        txn.commit().map_err(storage)?;
        let db = Arc::new(db);
        let (writer, jobs) = mpsc::channel();
        let thread_db = Arc::clone(&db);
        let published = Published::default();
        let thread_inflight = InFlight::new(published.clone());
        std::thread::Builder::new()
            .name("payseal-store-writer".into())
            .spawn(move || write_loop(&thread_db, thread_inflight, &jobs))
            .map_err(|e| StoreError::unavailable(format!("cannot start the writer thread: {e}")))?;
        Ok(Self { db, writer, inflight: published, path: path.to_owned() })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Checks a store that no process has open: redb's integrity check, then
    /// every record decodes and every idempotency record is indexed for the sweeper.
    ///
    /// # Errors
    /// The file cannot be opened, fails the check, or holds a bad record.
    pub fn verify(path: &Path) -> Result<StoreReport, StoreError> {
        let mut db = Database::open(path).map_err(storage)?;
        if !db.check_integrity().map_err(storage)? {
            return Err(StoreError::corrupt("the integrity check repaired the file"));
        }
        let txn = db.begin_read().map_err(storage)?;
        let records = txn.open_table(IDEMPOTENCY).map_err(storage)?;
        let expiry = txn.open_table(EXPIRY).map_err(storage)?;
        let mut idempotency_records = 0;
        for entry in records.iter().map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            let record: IdempotencyRecord = decode(value.value(), "idempotency record")?;
            if expiry.get((record.expires_at, key.value())).map_err(storage)?.is_none() {
                return Err(StoreError::corrupt("an idempotency record is missing from the expiry index"));
            }
            idempotency_records += 1;
        }
        // Claims a stopped process left in flight (moved at the next open);
        // a store last opened by a version without the table has none.
        match txn.open_table(INFLIGHT) {
            Ok(table) => {
                for entry in table.iter().map_err(storage)? {
                    let (_, value) = entry.map_err(storage)?;
                    let _: inflight::Row = decode(value.value(), "in-flight claim")?;
                    idempotency_records += 1;
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(storage(e)),
        }
        let keys = txn.open_table(KEY_RECORDS).map_err(storage)?;
        let mut key_records = 0;
        for entry in keys.iter().map_err(storage)? {
            let (_, value) = entry.map_err(storage)?;
            let _: KeyRecord = decode(value.value(), "key record")?;
            key_records += 1;
        }
        Ok(StoreReport { idempotency_records, key_records })
    }

    async fn submit(&self, op: Op) -> Result<Answer, StoreError> {
        let (reply, answer) = oneshot::channel();
        self.writer.send(Job { op, reply }).map_err(|_| StoreError::unavailable("the writer thread stopped"))?;
        answer.await.map_err(|_| StoreError::unavailable("the writer thread stopped"))?
    }
}

fn unexpected() -> StoreError {
    StoreError::unavailable("the writer answered another operation")
}

#[async_trait]
impl Store for RedbStore {
    fn name(&self) -> &'static str {
        "redb"
    }

    async fn get(&self, storage_key: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        // A claim in flight supersedes whatever expired record the table
        // still holds under its key.
        if let Some(claim) = self.inflight.get(storage_key) {
            return Ok(Some(claim));
        }
        // A read is a snapshot of the last commit: microseconds, no waiting
        // on the writer.
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(IDEMPOTENCY).map_err(storage)?;
        let value = table.get(storage_key).map_err(storage)?;
        value.map(|v| decode(v.value(), "idempotency record")).transpose()
    }

    async fn claim(&self, storage_key: &str, claim: &IdempotencyRecord, now: u64) -> Result<Claim, StoreError> {
        match self.submit(Op::Claim { key: storage_key.to_owned(), claim: claim.clone(), now }).await? {
            Answer::Claim(claim) => Ok(claim),
            _ => Err(unexpected()),
        }
    }

    async fn complete(&self, storage_key: &str, claim: &IdempotencyRecord, record: &IdempotencyRecord) -> Result<bool, StoreError> {
        let op = Op::Complete { key: storage_key.to_owned(), claim: claim.clone(), record: record.clone() };
        match self.submit(op).await? {
            Answer::Done(done) => Ok(done),
            _ => Err(unexpected()),
        }
    }

    async fn release(&self, storage_key: &str, claim: &IdempotencyRecord) -> Result<bool, StoreError> {
        match self.submit(Op::Release { key: storage_key.to_owned(), claim: claim.clone() }).await? {
            Answer::Done(done) => Ok(done),
            _ => Err(unexpected()),
        }
    }

    async fn sweep(&self, now: u64, limit: usize) -> Result<usize, StoreError> {
        match self.submit(Op::Sweep { now, limit }).await? {
            Answer::Swept(n) => Ok(n),
            _ => Err(unexpected()),
        }
    }

    async fn key_records(&self) -> Result<Vec<KeyRecord>, StoreError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(KEY_RECORDS).map_err(storage)?;
        let mut records = Vec::new();
        for entry in table.iter().map_err(storage)? {
            let (_, value) = entry.map_err(storage)?;
            records.push(decode(value.value(), "key record")?);
        }
        Ok(records)
    }

    async fn put_key_record(&self, record: &KeyRecord) -> Result<Option<KeyRecord>, StoreError> {
        match self.submit(Op::PutKey { record: record.clone() }).await? {
            Answer::Previous(previous) => Ok(previous),
            _ => Err(unexpected()),
        }
    }

    async fn delete_key_record(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        match self.submit(Op::DeleteKey { id: id.to_owned() }).await? {
            Answer::Previous(previous) => Ok(previous),
            _ => Err(unexpected()),
        }
    }

    async fn swap_key_records(&self, swaps: &[KeySwap]) -> Result<bool, StoreError> {
        check_distinct_ids(swaps)?;
        if swaps.is_empty() {
            return Ok(true);
        }
        match self.submit(Op::SwapKeys { swaps: swaps.to_vec() }).await? {
            Answer::Done(done) => Ok(done),
            _ => Err(unexpected()),
        }
    }

    async fn entry(&self, key: &str, now: u64) -> Result<Option<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(ENTRIES).map_err(storage)?;
        let value = table.get(key).map_err(storage)?;
        Ok(value.and_then(|v| live_entry(v.value(), now).map(<[u8]>::to_vec)))
    }

    async fn swap_entry(&self, key: &str, expected: Option<&[u8]>, new: Option<&[u8]>, expires_at: Option<u64>, now: u64) -> Result<bool, StoreError> {
        let op = Op::SwapEntry { key: key.to_owned(), expected: expected.map(<[u8]>::to_vec), new: new.map(<[u8]>::to_vec), expires_at, now };
        match self.submit(op).await? {
            Answer::Done(done) => Ok(done),
            _ => Err(unexpected()),
        }
    }

    async fn append_audit(&self, event: &str) -> Result<u64, StoreError> {
        match self.submit(Op::Audit { event: event.to_owned() }).await? {
            Answer::Sequence(sequence) => Ok(sequence),
            _ => Err(unexpected()),
        }
    }

    async fn trim_audit(&self, keep: u64) -> Result<u64, StoreError> {
        if keep == 0 {
            return Err(StoreError::invalid("an audit trim must keep at least one event"));
        }
        match self.submit(Op::TrimAudit { keep }).await? {
            Answer::Sequence(removed) => Ok(removed),
            _ => Err(unexpected()),
        }
    }

    async fn audit_events(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = txn.open_table(AUDIT).map_err(storage)?;
        let mut events = Vec::new();
        for entry in table.range(after.saturating_add(1)..).map_err(storage)?.take(limit) {
            let (sequence, event) = entry.map_err(storage)?;
            events.push((sequence.value(), event.value().to_owned()));
        }
        Ok(events)
    }
}

/// The bytes of a stored entry that is live at `now`.
fn live_entry(stored: &[u8], now: u64) -> Option<&[u8]> {
    let (expiry, value) = stored.split_at_checked(8)?;
    let expires_at = u64::from_be_bytes(expiry.try_into().ok()?);
    (expires_at > now).then_some(value)
}

fn entry_expiry(stored: &[u8]) -> Option<u64> {
    stored.get(..8).and_then(|b| b.try_into().ok()).map(u64::from_be_bytes)
}

/// The writer thread: takes every queued job, applies them in order in one
/// write transaction, commits (durably), then answers each. A storage error
/// aborts the batch and every job in it fails; nothing of it is kept.
fn write_loop(db: &Database, mut inflight: InFlight, jobs: &mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let applied = apply_batch(db, &mut inflight, &batch);
        // Readers see the batch's claims only once they are durable.
        if applied.is_ok() {
            inflight.committed();
        } else {
            inflight.rolled_back();
        }
        match applied {
            Ok(answers) => {
                for (job, answer) in batch.into_iter().zip(answers) {
                    let _ = job.reply.send(answer);
                }
            }
            Err(e) => {
                for job in batch {
                    let _ = job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

struct Tables<'t> {
    records: Table<'t, &'static str, &'static [u8]>,
    inflight: Table<'t, u64, &'static [u8]>,
    expiry: Table<'t, (u64, &'static str), ()>,
    keys: Table<'t, &'static str, &'static [u8]>,
    entries: Table<'t, &'static str, &'static [u8]>,
    entry_expiry: Table<'t, (u64, &'static str), ()>,
    audit: Table<'t, u64, &'static str>,
}

impl<'t> Tables<'t> {
    fn open(txn: &'t redb::WriteTransaction) -> Result<Self, redb::TableError> {
        Ok(Self {
            records: txn.open_table(IDEMPOTENCY)?,
            inflight: txn.open_table(INFLIGHT)?,
            expiry: txn.open_table(EXPIRY)?,
            keys: txn.open_table(KEY_RECORDS)?,
            entries: txn.open_table(ENTRIES)?,
            entry_expiry: txn.open_table(ENTRY_EXPIRY)?,
            audit: txn.open_table(AUDIT)?,
        })
    }
}

fn apply_batch(db: &Database, inflight: &mut InFlight, batch: &[Job]) -> Result<Vec<Result<Answer, StoreError>>, StoreError> {
    let mut txn = db.begin_write().map_err(storage)?;
    txn.set_durability(Durability::Immediate).map_err(|e| StoreError::unavailable(e.to_string()))?;
    let mut answers = Vec::with_capacity(batch.len());
    {
        let mut tables = Tables::open(&txn).map_err(storage)?;
        for job in batch {
            // The outer error is redb's: the transaction is unusable.
            answers.push(apply(&mut tables, inflight, &job.op).map_err(storage)?);
        }
    }
    txn.commit().map_err(storage)?;
    Ok(answers)
}

/// The stored record of `key`, decoded; `Err` inside when it cannot be.
fn current(tables: &Tables<'_>, key: &str) -> Result<Option<Result<IdempotencyRecord, StoreError>>, redb::StorageError> {
    Ok(tables.records.get(key)?.map(|v| decode(v.value(), "idempotency record")))
}

fn put_record(tables: &mut Tables<'_>, key: &str, old: Option<&IdempotencyRecord>, record: &IdempotencyRecord) -> Result<(), redb::StorageError> {
    tables.records.insert(key, encode(record).as_slice())?;
    // A record replacing one with the same expiry (a claim stored here,
    // finished) keeps its index entry as it is: two B-tree writes fewer.
    if old.is_some_and(|old| old.expires_at == record.expires_at) {
        return Ok(());
    }
    if let Some(old) = old {
        tables.expiry.remove((old.expires_at, key))?;
    }
    tables.expiry.insert((record.expires_at, key), ())?;
    Ok(())
}

fn apply(tables: &mut Tables<'_>, inflight: &mut InFlight, op: &Op) -> Result<Result<Answer, StoreError>, redb::StorageError> {
    Ok(match op {
        Op::Claim { key, claim, now } => {
            // A claim in flight under the key, even expired, is newer than
            // any record the table holds there.
            let held = match inflight.held(key) {
                Some(claimed) => Some(Ok(claimed.clone())),
                None => current(tables, key)?,
            };
            match held {
                Some(Ok(held)) if held.is_live(*now) => Ok(Answer::Claim(Claim::Held(held))),
                Some(Err(e)) => Err(e),
                _expired_or_vacant => {
                    inflight.claim(&mut tables.inflight, key, claim)?;
                    Ok(Answer::Claim(Claim::Claimed))
                }
            }
        }
        Op::Complete { key, claim, record } => match inflight.end(&mut tables.inflight, key, claim)? {
            Some(true) => {
                // The record lands in the table once; an expired one it
                // replaces leaves the expiry index.
                let old = current(tables, key)?.and_then(Result::ok);
                put_record(tables, key, old.as_ref(), record)?;
                Ok(Answer::Done(true))
            }
            Some(false) => Ok(Answer::Done(false)),
            // A claim stored in the table (left in flight by a stopped process).
            None => complete_stored(tables, key, claim, record)?,
        },
        Op::Release { key, claim } => match inflight.end(&mut tables.inflight, key, claim)? {
            Some(done) => Ok(Answer::Done(done)),
            None => release_stored(tables, key, claim)?,
        },
        Op::Sweep { now, limit } => sweep(tables, inflight, *now, *limit)?,
        Op::PutKey { record } => {
            let previous = tables.keys.insert(record.id.as_str(), encode(record).as_slice())?;
            previous.map(|v| decode(v.value(), "key record")).transpose().map(Answer::Previous)
        }
        Op::DeleteKey { id } => {
            let previous = tables.keys.remove(id.as_str())?;
            previous.map(|v| decode(v.value(), "key record")).transpose().map(Answer::Previous)
        }
        Op::SwapKeys { swaps } => swap_keys(tables, swaps)?,
        Op::SwapEntry { key, expected, new, expires_at, now } => {
            let stored = tables.entries.get(key.as_str())?.map(|v| v.value().to_vec());
            let live = stored.as_deref().and_then(|s| live_entry(s, *now));
            if live != expected.as_deref() {
                return Ok(Ok(Answer::Done(false)));
            }
            if let Some(old_expiry) = stored.as_deref().and_then(entry_expiry).filter(|e| *e != NEVER) {
                tables.entry_expiry.remove((old_expiry, key.as_str()))?;
            }
            match new {
                Some(value) => {
                    let expires_at = expires_at.unwrap_or(NEVER);
                    let mut bytes = Vec::with_capacity(8 + value.len());
                    bytes.extend_from_slice(&expires_at.to_be_bytes());
                    bytes.extend_from_slice(value);
                    tables.entries.insert(key.as_str(), bytes.as_slice())?;
                    if expires_at != NEVER {
                        tables.entry_expiry.insert((expires_at, key.as_str()), ())?;
                    }
                }
                None => {
                    tables.entries.remove(key.as_str())?;
                }
            }
            Ok(Answer::Done(true))
        }
        Op::Audit { event } => {
            let last = tables.audit.last()?.map_or(0, |(sequence, _)| sequence.value());
            tables.audit.insert(last + 1, event.as_str())?;
            Ok(Answer::Sequence(last + 1))
        }
        Op::TrimAudit { keep } => Ok(Answer::Sequence(trim_audit(tables, *keep)?)),
    })
}

/// Completes a claim stored in the `idempotency` table.
fn complete_stored(tables: &mut Tables<'_>, key: &str, claim: &IdempotencyRecord, record: &IdempotencyRecord) -> Result<Result<Answer, StoreError>, redb::StorageError> {
    Ok(match current(tables, key)? {
        Some(Ok(stored)) if stored == *claim => {
            put_record(tables, key, Some(&stored), record)?;
            Ok(Answer::Done(true))
        }
        Some(Err(e)) => Err(e),
        _ => Ok(Answer::Done(false)),
    })
}

/// Releases a claim stored in the `idempotency` table.
fn release_stored(tables: &mut Tables<'_>, key: &str, claim: &IdempotencyRecord) -> Result<Result<Answer, StoreError>, redb::StorageError> {
    Ok(match current(tables, key)? {
        Some(Ok(stored)) if stored == *claim => {
            tables.records.remove(key)?;
            tables.expiry.remove((stored.expires_at, key))?;
            Ok(Answer::Done(true))
        }
        Some(Err(e)) => Err(e),
        _ => Ok(Answer::Done(false)),
    })
}

/// Deletes up to `limit` records, claims in flight and lifecycle entries
/// expired at `now`.
fn sweep(tables: &mut Tables<'_>, inflight: &mut InFlight, now: u64, limit: usize) -> Result<Result<Answer, StoreError>, redb::StorageError> {
    // Index entries with `expires_at <= now`, oldest first.
    let mut due = Vec::new();
    for entry in tables.expiry.range(..(now.saturating_add(1), ""))? {
        let (index, _) = entry?;
        let (expires_at, key) = index.value();
        due.push((expires_at, key.to_owned()));
        if due.len() >= limit {
            break;
        }
    }
    let mut swept = 0;
    for (expires_at, key) in due {
        tables.expiry.remove((expires_at, key.as_str()))?;
        let expired = match current(tables, &key)? {
            Some(Ok(record)) => record.expires_at == expires_at && !record.is_live(now),
            // Undecodable records stay for an operator to look at.
            Some(Err(_)) | None => false,
        };
        if expired {
            tables.records.remove(key.as_str())?;
            swept += 1;
        }
    }
    swept += inflight.sweep(&mut tables.inflight, now, limit.saturating_sub(swept))?;
    swept += sweep_entries(tables, now, limit.saturating_sub(swept))?;
    Ok(Ok(Answer::Swept(swept)))
}

/// Deletes the oldest audit events beyond `keep`; answers how many went.
/// The newest event always stays, so the next sequence number still
/// follows it.
fn trim_audit(tables: &mut Tables<'_>, keep: u64) -> Result<u64, redb::StorageError> {
    let last = tables.audit.last()?.map_or(0, |(sequence, _)| sequence.value());
    let first = tables.audit.first()?.map_or(0, |(sequence, _)| sequence.value());
    let below = last.saturating_sub(keep).saturating_add(1);
    if first != 0 && first < below {
        tables.audit.retain_in(first..below, |_, _| false)?;
    }
    Ok(below.saturating_sub(first.max(1)))
}

/// Compares every swap's expected record with the stored one before any
/// write: all or nothing, inside the one write transaction, so no other
/// write sees half of it.
fn swap_keys(tables: &mut Tables<'_>, swaps: &[KeySwap]) -> Result<Result<Answer, StoreError>, redb::StorageError> {
    for swap in swaps {
        let stored = tables.keys.get(swap.id())?.map(|v| decode::<KeyRecord>(v.value(), "key record"));
        match stored.transpose() {
            Ok(stored) if stored.as_ref() == swap.expected() => {}
            Ok(_) => return Ok(Ok(Answer::Done(false))),
            Err(e) => return Ok(Err(e)),
        }
    }
    for swap in swaps {
        match swap.new_record() {
            Some(record) => tables.keys.insert(swap.id(), encode(record).as_slice())?,
            None => tables.keys.remove(swap.id())?,
        };
    }
    Ok(Ok(Answer::Done(true)))
}

/// Deletes up to `limit` lifecycle entries expired at `now`.
fn sweep_entries(tables: &mut Tables<'_>, now: u64, limit: usize) -> Result<usize, redb::StorageError> {
    let mut due = Vec::new();
    for entry in tables.entry_expiry.range(..(now.saturating_add(1), ""))?.take(limit) {
        let (index, _) = entry?;
        let (expires_at, key) = index.value();
        due.push((expires_at, key.to_owned()));
    }
    let mut swept = 0;
    for (expires_at, key) in due {
        tables.entry_expiry.remove((expires_at, key.as_str()))?;
        let current = tables.entries.get(key.as_str())?.and_then(|v| entry_expiry(v.value()));
        if current == Some(expires_at) {
            tables.entries.remove(key.as_str())?;
            swept += 1;
        }
    }
    Ok(swept)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::RedbStore;
    use crate::store::Store;

    fn store() -> (tempfile::TempDir, Arc<dyn Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(&dir.path().join("store.redb")).unwrap();
        (dir, Arc::new(store))
    }

    crate::store_test_suite!(store());

    #[tokio::test]
    async fn a_reopened_store_keeps_its_records_and_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.redb");
        let claim = crate::store::suite::record("POST /p", 2_000_000_000);
        {
            let store = RedbStore::open(&path).unwrap();
            assert_eq!(store.claim("k", &claim, 1).await.unwrap(), crate::store::Claim::Claimed);
        }
        // The writer thread holds the database until its channel closes.
        let mut report = None;
        for _ in 0..100 {
            if let Ok(r) = RedbStore::verify(&path) {
                report = Some(r);
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert_eq!(report.unwrap().idempotency_records, 1, "the claim left in flight is counted");
        let store = RedbStore::open(&path).unwrap();
        // Left in flight by the stopped process: an in-flight record now,
        // held against a new claim, and finished by its own claim only.
        assert_eq!(store.get("k").await.unwrap().as_ref(), Some(&claim));
        let other = crate::store::suite::record("POST /p", 2_000_000_001);
        assert_eq!(store.claim("k", &other, 2).await.unwrap(), crate::store::Claim::Held(claim.clone()));
        assert!(!store.complete("k", &other, &crate::store::suite::finished(&other, 201, b"{}")).await.unwrap());
        let done = crate::store::suite::finished(&claim, 201, b"{}");
        assert!(store.complete("k", &claim, &done).await.unwrap());
        assert_eq!(store.get("k").await.unwrap(), Some(done));
    }

    #[tokio::test]
    async fn a_store_from_before_the_inflight_table_verifies_and_opens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("old.redb");
        {
            // The tables of a store written by the version before this one.
            let db = redb::Database::create(&path).unwrap();
            let txn = db.begin_write().unwrap();
            for table in [super::IDEMPOTENCY, super::KEY_RECORDS, super::ENTRIES] {
                txn.open_table(table).unwrap();
            }
            txn.open_table(super::EXPIRY).unwrap();
            txn.open_table(super::ENTRY_EXPIRY).unwrap();
            txn.open_table(super::AUDIT).unwrap();
            txn.commit().unwrap();
        }
        assert_eq!(RedbStore::verify(&path).unwrap().idempotency_records, 0);
        let store = RedbStore::open(&path).unwrap();
        let claim = crate::store::suite::record("POST /p", 2_000_000_000);
        assert_eq!(store.claim("k", &claim, 1).await.unwrap(), crate::store::Claim::Claimed);
    }

    #[tokio::test]
    async fn claims_in_flight_are_appended_apart_and_their_finish_lands_once() {
        let (_dir, store) = store();
        let claim = crate::store::suite::record("POST /p", 2_000_000_000);
        assert_eq!(store.claim("a", &claim, 1).await.unwrap(), crate::store::Claim::Claimed);
        assert_eq!(store.claim("b", &claim, 1).await.unwrap(), crate::store::Claim::Claimed);
        // Seen by readers, held against a second claim.
        assert_eq!(store.get("a").await.unwrap().as_ref(), Some(&claim));
        assert_eq!(store.claim("a", &claim, 1).await.unwrap(), crate::store::Claim::Held(claim.clone()));
        let done = crate::store::suite::finished(&claim, 201, b"{}");
        assert!(store.complete("a", &claim, &done).await.unwrap());
        assert!(!store.complete("a", &claim, &done).await.unwrap(), "a claim ends once");
        assert!(store.release("b", &claim).await.unwrap());
        assert_eq!(store.get("a").await.unwrap(), Some(done));
        assert_eq!(store.get("b").await.unwrap(), None);
        // A released key is free again.
        assert_eq!(store.claim("b", &claim, 1).await.unwrap(), crate::store::Claim::Claimed);
    }
}
