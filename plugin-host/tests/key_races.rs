//! Lifecycle changes that lose a race to another gateway, made to happen
//! every time: a gateway in this process on a store that lets "another
//! gateway" write a key record between this gateway's read and its
//! compare-and-swap. Each change must read again and decide again, never
//! write back the copy it read (the multi-process version of these races,
//! on Redis, is in `tests/redis.rs`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::too_many_lines)]

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, Version};
use common::{Upstream, base_config, record, toml_of};
use payseal_core::idempotency::IdempotencyRecord;
use payseal_core::keys::{KeyRecord, KeyStatus};
use payseal_gateway::lifecycle::LifecycleError;
use payseal_gateway::lifecycle::service::{Actor, Service};
use payseal_gateway::store::KeySwap;
use payseal_gateway::{Claim, RedbStore, Running, Store, StoreError};
use serde_json::json;

const STORE_KEY: &str = "8f1c1d0e5b6a79e2c4d3b2a1908f7e6d5c4b3a29180f1e2d3c4b5a6978e0d1c2";
const FILE_KEY: &str = "sk_live_RaceFileKey0000000000000000000";

/// What "another gateway" writes right before this gateway's next swaps.
enum Interference {
    None,
    /// Put this record before the next swap, once.
    Once(KeyRecord),
    /// Before every swap, change this record's scopes again.
    Always(String),
}

/// The redb store, with another writer's changes injected before swaps.
struct RacingStore {
    inner: RedbStore,
    interference: Mutex<Interference>,
    swaps: AtomicUsize,
}

impl RacingStore {
    fn interfere(&self, interference: Interference) {
        *self.interference.lock().unwrap() = interference;
    }

    async fn stored(&self, id: &str) -> Option<KeyRecord> {
        self.inner.key_records().await.unwrap().into_iter().find(|r| r.id == id)
    }
}

#[async_trait::async_trait]
impl Store for RacingStore {
    fn name(&self) -> &'static str {
        "racing"
    }
    async fn get(&self, k: &str) -> Result<Option<IdempotencyRecord>, StoreError> {
        self.inner.get(k).await
    }
    async fn claim(&self, k: &str, c: &IdempotencyRecord, now: u64) -> Result<Claim, StoreError> {
        self.inner.claim(k, c, now).await
    }
    async fn complete(&self, k: &str, c: &IdempotencyRecord, r: &IdempotencyRecord) -> Result<bool, StoreError> {
        self.inner.complete(k, c, r).await
    }
    async fn release(&self, k: &str, c: &IdempotencyRecord) -> Result<bool, StoreError> {
        self.inner.release(k, c).await
    }
    async fn sweep(&self, now: u64, limit: usize) -> Result<usize, StoreError> {
        self.inner.sweep(now, limit).await
    }
    async fn key_records(&self) -> Result<Vec<KeyRecord>, StoreError> {
        self.inner.key_records().await
    }
    async fn put_key_record(&self, r: &KeyRecord) -> Result<Option<KeyRecord>, StoreError> {
        self.inner.put_key_record(r).await
    }
    async fn delete_key_record(&self, id: &str) -> Result<Option<KeyRecord>, StoreError> {
        self.inner.delete_key_record(id).await
    }
    async fn swap_key_records(&self, swaps: &[KeySwap]) -> Result<bool, StoreError> {
        self.swaps.fetch_add(1, Ordering::SeqCst);
        let interference = {
            let mut current = self.interference.lock().unwrap();
            match &*current {
                Interference::Always(id) => Interference::Always(id.clone()),
                _ => std::mem::replace(&mut *current, Interference::None),
            }
        };
        let other = match interference {
            Interference::None => None,
            Interference::Once(record) => Some(record),
            Interference::Always(id) => {
                let mut stored = self.stored(&id).await.unwrap();
                stored.scopes.push(format!("s{}", stored.scopes.len()));
                Some(stored)
            }
        };
        if let Some(other) = other {
            self.inner.put_key_record(&other).await?;
        }
        self.inner.swap_key_records(swaps).await
    }
    async fn entry(&self, key: &str, now: u64) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.entry(key, now).await
    }
    async fn swap_entry(&self, key: &str, expected: Option<&[u8]>, new: Option<&[u8]>, expires_at: Option<u64>, now: u64) -> Result<bool, StoreError> {
        self.inner.swap_entry(key, expected, new, expires_at, now).await
    }
    async fn append_audit(&self, event: &str) -> Result<u64, StoreError> {
        self.inner.append_audit(event).await
    }
    async fn trim_audit(&self, keep: u64) -> Result<u64, StoreError> {
        self.inner.trim_audit(keep).await
    }
    async fn audit_events(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, StoreError> {
        self.inner.audit_events(after, limit).await
    }
}

fn phc(password: &str) -> String {
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(1024, 1, 1, None).unwrap());
    argon2.hash_password_with_salt(password.as_bytes(), b"payseal-test-salt").unwrap().to_string()
}

async fn start(upstream: &Upstream, dir: &std::path::Path) -> (Running, Arc<RacingStore>) {
    let mut text = base_config(upstream.addr, dir, "");
    text.push_str(&toml_of(&json!({
        "keys": { "policy": { "accepted_formats": ["prefixed"] }, "records": [record("k_file", FILE_KEY, "live")] },
        "lifecycle": {
            "store_key_env": "PAYSEAL_TEST_STORE_KEY",
            "grace_seconds": 600,
            "accounts": [{
                "code_url": "RCV001", "operation_account_code": "ACC_001", "password_argon2": phc("pw"),
                "environment": "live", "active": true, "secret_lifetime_seconds": 3600, "min_interval_seconds": 0, "grace_seconds": 120,
            }],
        },
    })));
    let source = payseal_gateway::ConfigSource::Text { text, dir: dir.to_owned() };
    let file = source.load().unwrap();
    let store = Arc::new(RacingStore {
        inner: RedbStore::open(&dir.join("racing.redb")).unwrap(),
        interference: Mutex::new(Interference::None),
        swaps: AtomicUsize::new(0),
    });
    let env = Arc::new(|name: &str| (name == "PAYSEAL_TEST_STORE_KEY").then(|| STORE_KEY.to_owned()));
    let running = payseal_gateway::start_with_store(source, env, file, Arc::clone(&store) as Arc<dyn Store>).await.unwrap();
    (running, store)
}

fn request<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> T {
    serde_json::from_value(value.clone()).unwrap()
}

fn revoked(record: &KeyRecord) -> KeyRecord {
    KeyRecord { status: KeyStatus::Revoked, ..record.clone() }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_that_lose_a_race_read_again_and_never_write_back_their_copy() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (running, store) = start(&upstream, dir.path()).await;
    let shared = Arc::clone(&running.shared);
    let service = Service::new(&shared);
    let operator = Actor::new("operator", "admin-api");
    let create = json!({ "environment": "live" });

    // An edit planned on a copy another gateway revoked meanwhile: 409
    // key_revoked, and the revocation stays.
    let edited = service.create(&operator, request(&create)).await.unwrap().key_id;
    let before = store.stored(&edited).await.unwrap();
    store.interfere(Interference::Once(revoked(&before)));
    let swaps = store.swaps.load(Ordering::SeqCst);
    let answer = service.edit(&operator, &edited, request(&json!({ "allowedIps": ["10.0.0.0/8"] }))).await;
    assert_eq!(answer.unwrap_err(), LifecycleError::Revoked(edited.clone()));
    assert_eq!(store.swaps.load(Ordering::SeqCst) - swaps, 1, "the edit swapped again after reading the revocation");
    assert_eq!(store.stored(&edited).await, Some(revoked(&before)), "the edit wrote back its copy");

    // A regeneration racing a revocation: refused, the revocation stays, no
    // new key is left behind.
    let regenerated = service.create(&operator, request(&create)).await.unwrap().key_id;
    let before = store.stored(&regenerated).await.unwrap();
    let count = store.key_records().await.unwrap().len();
    store.interfere(Interference::Once(revoked(&before)));
    let answer = service.regenerate(&operator, &regenerated, request(&json!({}))).await;
    assert_eq!(answer.unwrap_err(), LifecycleError::Revoked(regenerated.clone()));
    assert_eq!(store.stored(&regenerated).await, Some(revoked(&before)));
    assert_eq!(store.key_records().await.unwrap().len(), count, "a refused regeneration left a key");

    // A merchant renewal racing an operator's regeneration of the account's
    // current key: the renewal installs its key and leaves the operator's
    // supersession (time and grace) as the operator wrote it.
    let account = shared.runtime.load().lifecycle.config.accounts[0].clone();
    let first = service.renew(&account).await.unwrap().key_id;
    let current = store.stored(&first).await.unwrap();
    let mut by_operator = current.clone();
    by_operator.supersede(shared.clock.now().saturating_sub(30), 5);
    store.interfere(Interference::Once(by_operator.clone()));
    let second = service.renew(&account).await.unwrap();
    assert_eq!(second.replaces.as_ref().map(|(id, _)| id.as_str()), Some(first.as_str()));
    assert_eq!(store.stored(&first).await, Some(by_operator), "the renewal wrote its own supersession over the operator's");
    assert_eq!(store.stored(&second.key_id).await.map(|r| r.status), Some(KeyStatus::Active));

    // A renewal racing a revocation of the account's current key: the
    // revoked key stays revoked (not merely superseded, with a grace).
    let current = store.stored(&second.key_id).await.unwrap();
    store.interfere(Interference::Once(revoked(&current)));
    let third = service.renew(&account).await.unwrap().key_id;
    assert_eq!(store.stored(&second.key_id).await, Some(revoked(&current)), "the renewal undid a revocation");
    assert_eq!(store.stored(&third).await.map(|r| r.superseded_at), Some(None));

    // A change that loses every race gives up after a bounded number of
    // tries: 409 concurrent_change, and the other writer's change stays.
    let contested = service.create(&operator, request(&create)).await.unwrap().key_id;
    store.interfere(Interference::Always(contested.clone()));
    let swaps = store.swaps.load(Ordering::SeqCst);
    let answer = service.edit(&operator, &contested, request(&json!({ "scopes": ["mine"] }))).await;
    store.interfere(Interference::None);
    assert_eq!(answer.unwrap_err(), LifecycleError::Conflict);
    let tries = store.swaps.load(Ordering::SeqCst) - swaps;
    assert_eq!(tries, 16, "tries before giving up");
    assert!(!store.stored(&contested).await.unwrap().scopes.contains(&"mine".to_owned()));

    // The restore after a plugin rejection is a swap: a record the plugin
    // rejects (its digest is another id's) is put back, unless another
    // writer changed it meanwhile.
    let duplicate = KeyRecord::new("k_duplicate", FILE_KEY, payseal_core::Environment::Live);
    assert!(shared.put_key_record(&duplicate).await.is_err(), "the plugin accepted a duplicate digest");
    assert_eq!(store.stored("k_duplicate").await, None, "a rejected record was kept");
    let other = KeyRecord::new("k_duplicate", "sk_live_RaceOtherKey000000000000000000", payseal_core::Environment::Live);
    store.interfere(Interference::Once(other.clone()));
    assert!(shared.put_key_record(&duplicate).await.is_err());
    assert_eq!(store.stored("k_duplicate").await, Some(other), "the restore overwrote another writer's record");
    running.shutdown().await;
}
