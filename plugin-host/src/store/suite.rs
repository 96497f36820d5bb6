//! The store test suite: what every [`Store`] must do, as functions any
//! implementation can run. [`store_test_suite!`](crate::store_test_suite)
//! makes one `#[tokio::test]` per case:
//!
//! ```ignore
//! payseal_gateway::store_test_suite!(make_store());   // make_store() -> (guard, Arc<dyn Store>)
//! ```
//!
//! Cases use their own keys, so they may share one store; each returns a
//! message naming what went wrong.

use std::sync::Arc;

use payseal_core::Environment;
use payseal_core::idempotency::{IdempotencyRecord, RecordState, StoredResponse};
use payseal_core::keys::KeyRecord;

use payseal_core::keys::KeyStatus;

use super::{Claim, KeySwap, Store};

/// The `now` of every case.
pub const NOW: u64 = 1_800_000_000;

/// A result of one case.
pub type CaseResult = Result<(), String>;

/// An in-flight claim for `endpoint` expiring at `expires_at`.
pub fn record(endpoint: &str, expires_at: u64) -> IdempotencyRecord {
    IdempotencyRecord {
        endpoint: endpoint.to_owned(),
        fingerprint: "ab".repeat(32),
        state: RecordState::InFlight,
        expires_at,
    }
}

/// `claim`, finished with `status` and `body`.
pub fn finished(claim: &IdempotencyRecord, status: u16, body: &[u8]) -> IdempotencyRecord {
    IdempotencyRecord {
        state: RecordState::Finished(StoredResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into()), ("x-dup".into(), "a".into()), ("x-dup".into(), "b".into())],
            body: body.to_vec(),
        }),
        ..claim.clone()
    }
}

fn check(condition: bool, what: &str) -> CaseResult {
    if condition { Ok(()) } else { Err(what.to_owned()) }
}

fn err(e: impl std::fmt::Display) -> String {
    e.to_string()
}

/// Nothing stored: `get` answers `None`.
///
/// # Errors
/// What the store did wrong.
pub async fn absent_key_reads_none(store: Arc<dyn Store>) -> CaseResult {
    check(store.get("suite:absent").await.map_err(err)?.is_none(), "get of an absent key answered a record")
}

/// A vacant key is claimed once; a second claim sees the first.
///
/// # Errors
/// What the store did wrong.
pub async fn vacant_key_is_claimed_once(store: Arc<dyn Store>) -> CaseResult {
    let first = record("POST /a", NOW + 100);
    let second = IdempotencyRecord { fingerprint: "cd".repeat(32), ..first.clone() };
    check(store.claim("suite:once", &first, NOW).await.map_err(err)? == Claim::Claimed, "a vacant key was not claimed")?;
    let again = store.claim("suite:once", &second, NOW).await.map_err(err)?;
    check(again == Claim::Held(first.clone()), "a held key was claimed again, or answered another record")?;
    check(store.get("suite:once").await.map_err(err)? == Some(first), "get does not answer the claim")
}

/// An expired record does not hold its key.
///
/// # Errors
/// What the store did wrong.
pub async fn expired_record_is_claimable(store: Arc<dyn Store>) -> CaseResult {
    let old = finished(&record("POST /b", NOW), 201, b"old");
    check(store.claim("suite:expired", &record("POST /b", NOW), NOW - 10).await.map_err(err)? == Claim::Claimed, "first claim")?;
    check(store.complete("suite:expired", &record("POST /b", NOW), &old).await.map_err(err)?, "complete")?;
    // `expires_at == now` is expired (the core's `is_live`).
    let new = record("POST /b2", NOW + 100);
    check(store.claim("suite:expired", &new, NOW).await.map_err(err)? == Claim::Claimed, "an expired record held its key")?;
    check(store.get("suite:expired").await.map_err(err)? == Some(new), "the new claim is not stored")
}

/// `complete` replaces only the claim it is given, and keeps the response byte for byte.
///
/// # Errors
/// What the store did wrong.
pub async fn complete_replaces_only_its_own_claim(store: Arc<dyn Store>) -> CaseResult {
    let claim = record("POST /c", NOW + 100);
    let stranger = IdempotencyRecord { fingerprint: "ef".repeat(32), ..claim.clone() };
    check(store.claim("suite:complete", &claim, NOW).await.map_err(err)? == Claim::Claimed, "claim")?;
    let body: Vec<u8> = (0..=255u8).chain(*b"{\"id\":1}").collect();
    let done = finished(&claim, 201, &body);
    check(!store.complete("suite:complete", &stranger, &finished(&stranger, 200, b"x")).await.map_err(err)?, "completed a claim it did not hold")?;
    check(store.complete("suite:complete", &claim, &done).await.map_err(err)?, "did not complete its own claim")?;
    check(store.get("suite:complete").await.map_err(err)? == Some(done.clone()), "the finished record differs from what was stored")?;
    check(!store.complete("suite:complete", &claim, &done).await.map_err(err)?, "completed a claim twice")?;
    check(!store.complete("suite:complete-absent", &claim, &done).await.map_err(err)?, "completed an absent claim")
}

/// `release` deletes only the claim it is given.
///
/// # Errors
/// What the store did wrong.
pub async fn release_deletes_only_its_own_claim(store: Arc<dyn Store>) -> CaseResult {
    let claim = record("POST /d", NOW + 100);
    let stranger = IdempotencyRecord { fingerprint: "01".repeat(32), ..claim.clone() };
    check(store.claim("suite:release", &claim, NOW).await.map_err(err)? == Claim::Claimed, "claim")?;
    check(!store.release("suite:release", &stranger).await.map_err(err)?, "released a claim it did not hold")?;
    check(store.get("suite:release").await.map_err(err)?.is_some(), "a foreign release deleted the claim")?;
    check(store.release("suite:release", &claim).await.map_err(err)?, "did not release its own claim")?;
    check(store.get("suite:release").await.map_err(err)?.is_none(), "the released claim is still there")?;
    check(store.claim("suite:release", &stranger, NOW).await.map_err(err)? == Claim::Claimed, "a released key cannot be claimed")
}

/// 64 concurrent claims of one key: exactly one wins, the others see it.
///
/// # Errors
/// What the store did wrong.
pub async fn concurrent_claims_have_one_winner(store: Arc<dyn Store>) -> CaseResult {
    let mut tasks = Vec::new();
    for i in 0..64u32 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let claim = IdempotencyRecord { fingerprint: format!("{i:064x}"), ..record("POST /e", NOW + 100) };
            store.claim("suite:race", &claim, NOW).await.map(|c| (claim, c))
        }));
    }
    let mut winners = Vec::new();
    let mut held = Vec::new();
    for task in tasks {
        match task.await.map_err(err)?.map_err(err)? {
            (claim, Claim::Claimed) => winners.push(claim),
            (_, Claim::Held(record)) => held.push(record),
        }
    }
    check(winners.len() == 1, &format!("{} claims won", winners.len()))?;
    check(held.iter().all(|r| Some(r) == winners.first()), "a loser saw another record than the winner's")?;
    check(store.get("suite:race").await.map_err(err)?.as_ref() == winners.first(), "the stored record is not the winner's")
}

/// The sweeper deletes expired records and keeps live ones.
///
/// # Errors
/// What the store did wrong.
pub async fn sweep_deletes_expired_records_only(store: Arc<dyn Store>) -> CaseResult {
    let expired = record("POST /f", NOW - 1);
    let live = record("POST /f", NOW + 1);
    check(store.claim("suite:sweep-old", &expired, NOW - 100).await.map_err(err)? == Claim::Claimed, "claim old")?;
    check(store.claim("suite:sweep-new", &live, NOW - 100).await.map_err(err)? == Claim::Claimed, "claim new")?;
    let swept = store.sweep(NOW, 10_000).await.map_err(err)?;
    check(swept >= 1, "nothing swept")?;
    check(store.get("suite:sweep-old").await.map_err(err)?.is_none(), "an expired record survived the sweep")?;
    check(store.get("suite:sweep-new").await.map_err(err)? == Some(live), "a live record was swept")
}

/// A finished record expires when its claim would have, and the sweeper
/// finds it then (a store that indexes expiry must keep the finished record
/// indexed, not just the claim it replaced).
///
/// # Errors
/// What the store did wrong.
pub async fn finished_records_are_swept_at_their_expiry(store: Arc<dyn Store>) -> CaseResult {
    let claim = record("POST /f", NOW - 1);
    let done = finished(&claim, 201, b"{}");
    check(store.claim("suite:sweep-done", &claim, NOW - 100).await.map_err(err)? == Claim::Claimed, "claim")?;
    check(store.complete("suite:sweep-done", &claim, &done).await.map_err(err)?, "complete")?;
    check(store.get("suite:sweep-done").await.map_err(err)? == Some(done), "the finished record is not stored")?;
    check(store.sweep(NOW, 10_000).await.map_err(err)? >= 1, "nothing swept")?;
    check(store.get("suite:sweep-done").await.map_err(err)?.is_none(), "an expired finished record survived the sweep")
}

/// A sweep reaches every expired record wherever it is stored (on a Redis
/// Cluster, 24 keys of no common hash tag spread over every master: a
/// sweep that scanned one node would leave some) and stops at its limit.
///
/// # Errors
/// What the store did wrong.
pub async fn sweep_reaches_every_record_and_stops_at_its_limit(store: Arc<dyn Store>) -> CaseResult {
    let expired = record("POST /f", NOW - 1);
    let keys: Vec<String> = (0..24).map(|i| format!("suite:sweep-many-{i}")).collect();
    for key in &keys {
        check(store.claim(key, &expired, NOW - 100).await.map_err(err)? == Claim::Claimed, "claim")?;
    }
    let first = store.sweep(NOW, 10).await.map_err(err)?;
    check(first == 10, &format!("a sweep limited to 10 deleted {first}"))?;
    let rest = store.sweep(NOW, 10_000).await.map_err(err)?;
    check(rest == 14, &format!("the second sweep deleted {rest}, not the 14 left"))?;
    for key in &keys {
        check(store.get(key).await.map_err(err)?.is_none(), &format!("{key} survived the sweeps"))?;
    }
    Ok(())
}

/// Key records: put answers the replaced record, list shows them, delete removes.
///
/// # Errors
/// What the store did wrong.
pub async fn key_records_round_trip(store: Arc<dyn Store>) -> CaseResult {
    let mut record = KeyRecord::new("suite_key", "sk_live_SuiteKey00000000000000000000", Environment::Live);
    check(store.put_key_record(&record).await.map_err(err)?.is_none(), "a new id replaced a record")?;
    record.scopes = vec!["external_api_live".into()];
    check(store.put_key_record(&record).await.map_err(err)?.is_some_and(|r| r.scopes.is_empty()), "put did not answer the replaced record")?;
    let listed = store.key_records().await.map_err(err)?;
    check(listed.iter().filter(|r| r.id == "suite_key").eq([&record]), "the listed record differs")?;
    check(store.delete_key_record("suite_key").await.map_err(err)? == Some(record), "delete did not answer the record")?;
    check(store.delete_key_record("suite_key").await.map_err(err)?.is_none(), "deleted twice")?;
    check(!store.key_records().await.map_err(err)?.iter().any(|r| r.id == "suite_key"), "a deleted record is listed")
}

fn stored_key(listed: &[KeyRecord], id: &str) -> Option<KeyRecord> {
    listed.iter().find(|r| r.id == id).cloned()
}

/// Key records: a swap from a wrong expected record (another, or none where
/// one is stored, or one where none is) changes nothing; from the stored
/// one it stores the new one, moves it between environments and deletes.
///
/// # Errors
/// What the store did wrong.
pub async fn key_swaps_from_a_wrong_expected_record_change_nothing(store: Arc<dyn Store>) -> CaseResult {
    let active = KeyRecord::new("suite_swap", "sk_live_SuiteSwap0000000000000000000", Environment::Live);
    store.put_key_record(&active).await.map_err(err)?;
    let revoked = KeyRecord { status: KeyStatus::Revoked, ..active.clone() };
    let mut edited = active.clone();
    edited.scopes = vec!["edited".into()];
    let stale = KeyRecord { scopes: vec!["stale".into()], ..active.clone() };
    let swap = |expected: Option<&KeyRecord>, new: Option<&KeyRecord>| KeySwap::new(expected.cloned(), new.cloned());
    check(!store.swap_key_records(&[swap(Some(&stale), Some(&edited)).map_err(err)?]).await.map_err(err)?, "swapped from a record that was not stored")?;
    check(!store.swap_key_records(&[KeySwap::create(edited.clone())]).await.map_err(err)?, "swapped from no record where one is stored")?;
    check(stored_key(&store.key_records().await.map_err(err)?, "suite_swap").as_ref() == Some(&active), "a refused swap changed the record")?;
    check(store.swap_key_records(&[swap(Some(&active), Some(&revoked)).map_err(err)?]).await.map_err(err)?, "did not swap from the stored record")?;
    // The loser's copy is the record before: its swap changes nothing.
    check(!store.swap_key_records(&[swap(Some(&active), Some(&edited)).map_err(err)?]).await.map_err(err)?, "a stale copy undid a swap")?;
    check(stored_key(&store.key_records().await.map_err(err)?, "suite_swap").as_ref() == Some(&revoked), "the swapped record differs")?;
    // Moving environments replaces the record; deleting removes it.
    let moved = KeyRecord { environment: Environment::Test, ..revoked.clone() };
    check(store.swap_key_records(&[swap(Some(&revoked), Some(&moved)).map_err(err)?]).await.map_err(err)?, "did not move the record")?;
    let listed = store.key_records().await.map_err(err)?;
    check(listed.iter().filter(|r| r.id == "suite_swap").eq([&moved]), "a moved record is listed twice or differs")?;
    check(!store.swap_key_records(&[swap(Some(&revoked), None).map_err(err)?]).await.map_err(err)?, "deleted from a stale record")?;
    check(store.swap_key_records(&[swap(Some(&moved), None).map_err(err)?]).await.map_err(err)?, "did not delete")?;
    check(stored_key(&store.key_records().await.map_err(err)?, "suite_swap").is_none(), "a deleted record is listed")?;
    check(KeySwap::new(Some(active.clone()), Some(KeyRecord { id: "other".into(), ..active.clone() })).is_err(), "a swap of two ids was made")?;
    let twice = [KeySwap::create(active.clone()), KeySwap::create(active.clone())];
    check(store.swap_key_records(&twice).await.is_err(), "a swap list naming one id twice was accepted")?;
    check(store.swap_key_records(&[]).await.map_err(err)?, "an empty swap list failed")
}

/// A configuration change announced through a shared store moves the
/// version other gateways watch; a store of one process has none to move.
///
/// # Errors
/// What the store did wrong.
pub async fn announced_changes_move_the_shared_version(store: Arc<dyn Store>) -> CaseResult {
    let before = store.key_records_version().await.map_err(err)?;
    store.announce_change().await.map_err(err)?;
    let after = store.key_records_version().await.map_err(err)?;
    match (before, after) {
        (Some(before), Some(after)) => check(after > before, "an announced change left the version where it was"),
        (None, None) => Ok(()),
        _ => Err("the store has a shared version only sometimes".into()),
    }
}

/// Key records: a swap expecting no record creates only when there is none.
///
/// # Errors
/// What the store did wrong.
pub async fn key_swaps_expecting_none_create_only_when_absent(store: Arc<dyn Store>) -> CaseResult {
    let first = KeyRecord::new("suite_create", "sk_live_SuiteCreateA000000000000000", Environment::Live);
    let second = KeyRecord::new("suite_create", "sk_live_SuiteCreateB000000000000000", Environment::Test);
    check(store.swap_key_records(&[KeySwap::create(first.clone())]).await.map_err(err)?, "did not create an absent record")?;
    check(!store.swap_key_records(&[KeySwap::create(second.clone())]).await.map_err(err)?, "created over a stored record (of another environment)")?;
    check(stored_key(&store.key_records().await.map_err(err)?, "suite_create") == Some(first), "the created record was replaced")
}

/// Key records: several swaps are all or nothing (a regeneration: the new
/// key and the superseded old one), and bump the version once.
///
/// # Errors
/// What the store did wrong.
pub async fn key_swaps_of_several_records_are_all_or_nothing(store: Arc<dyn Store>) -> CaseResult {
    let old = KeyRecord::new("suite_old", "sk_live_SuiteOld00000000000000000000", Environment::Live);
    store.put_key_record(&old).await.map_err(err)?;
    let version = store.key_records_version().await.map_err(err)?;
    let new = old.successor("suite_new", "sk_live_SuiteNew00000000000000000000");
    let mut superseded = old.clone();
    superseded.supersede(NOW, 60);
    let stale = KeyRecord { scopes: vec!["stale".into()], ..old.clone() };
    let losing = [KeySwap::create(new.clone()), KeySwap::new(Some(stale), Some(superseded.clone())).map_err(err)?];
    check(!store.swap_key_records(&losing).await.map_err(err)?, "swapped with one expected record wrong")?;
    check(stored_key(&store.key_records().await.map_err(err)?, "suite_new").is_none(), "half of a refused swap was kept")?;
    check(store.key_records_version().await.map_err(err)? == version, "a refused swap bumped the version")?;
    let winning = [KeySwap::create(new.clone()), KeySwap::new(Some(old), Some(superseded.clone())).map_err(err)?];
    check(store.swap_key_records(&winning).await.map_err(err)?, "did not swap two records")?;
    let listed = store.key_records().await.map_err(err)?;
    check(stored_key(&listed, "suite_new") == Some(new) && stored_key(&listed, "suite_old") == Some(superseded), "the swapped records differ")?;
    check(store.key_records_version().await.map_err(err)? == version.map(|v| v + 1), "a swap did not bump the version exactly once")
}

/// 64 concurrent swaps from the same key record: exactly one wins.
///
/// # Errors
/// What the store did wrong.
pub async fn concurrent_key_swaps_have_one_winner(store: Arc<dyn Store>) -> CaseResult {
    let seed = KeyRecord::new("suite_key_race", "sk_live_SuiteRace0000000000000000000", Environment::Live);
    check(store.swap_key_records(&[KeySwap::create(seed.clone())]).await.map_err(err)?, "seed")?;
    let mut tasks = Vec::new();
    for i in 0..64u32 {
        let (store, seed) = (Arc::clone(&store), seed.clone());
        tasks.push(tokio::spawn(async move {
            let new = KeyRecord { scopes: vec![format!("scope-{i}")], ..seed.clone() };
            let swap = KeySwap::new(Some(seed), Some(new.clone())).map_err(err)?;
            store.swap_key_records(&[swap]).await.map(|won| (new, won)).map_err(err)
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (new, won) = task.await.map_err(err)??;
        if won {
            winners.push(new);
        }
    }
    check(winners.len() == 1, &format!("{} swaps won", winners.len()))?;
    check(stored_key(&store.key_records().await.map_err(err)?, "suite_key_race").as_ref() == winners.first(), "the stored record is not the winner's")
}

/// Entries: a swap stores only from the expected value, and deletes.
///
/// # Errors
/// What the store did wrong.
pub async fn entries_swap_from_the_expected_value_only(store: Arc<dyn Store>) -> CaseResult {
    let key = "suite:entry";
    check(store.entry(key, NOW).await.map_err(err)?.is_none(), "an absent entry read as present")?;
    check(!store.swap_entry(key, Some(b"x"), Some(b"a"), None, NOW).await.map_err(err)?, "swapped from a value that was not stored")?;
    check(store.swap_entry(key, None, Some(b"a"), None, NOW).await.map_err(err)?, "did not create a vacant entry")?;
    check(!store.swap_entry(key, None, Some(b"b"), None, NOW).await.map_err(err)?, "created an entry over a live one")?;
    check(store.swap_entry(key, Some(b"a"), Some(b"b\x00\xff"), None, NOW).await.map_err(err)?, "did not swap from the stored value")?;
    check(store.entry(key, u64::MAX - 1).await.map_err(err)?.as_deref() == Some(b"b\x00\xff".as_slice()), "the entry differs, or a never-expiring one expired")?;
    check(store.swap_entry(key, Some(b"b\x00\xff"), None, None, NOW).await.map_err(err)?, "did not delete")?;
    check(store.entry(key, NOW).await.map_err(err)?.is_none(), "a deleted entry is still there")
}

/// An entry expires at its `expires_at`: it reads as absent, a swap from
/// `None` takes its place, and the sweeper deletes it.
///
/// # Errors
/// What the store did wrong.
pub async fn expired_entries_are_absent_and_swept(store: Arc<dyn Store>) -> CaseResult {
    check(store.swap_entry("suite:lease", None, Some(b"1"), Some(NOW + 5), NOW).await.map_err(err)?, "lease")?;
    check(store.entry("suite:lease", NOW + 4).await.map_err(err)?.is_some(), "a live entry read as absent")?;
    check(!store.swap_entry("suite:lease", None, Some(b"2"), Some(NOW + 10), NOW + 4).await.map_err(err)?, "a live lease was taken")?;
    check(store.entry("suite:lease", NOW + 5).await.map_err(err)?.is_none(), "an entry outlived its expiry")?;
    check(store.swap_entry("suite:lease", None, Some(b"2"), Some(NOW + 10), NOW + 5).await.map_err(err)?, "an expired lease held its key")?;
    check(store.swap_entry("suite:sweep-entry", None, Some(b"old"), Some(NOW - 1), NOW - 10).await.map_err(err)?, "entry")?;
    store.sweep(NOW, 10_000).await.map_err(err)?;
    check(store.entry("suite:sweep-entry", 0).await.map_err(err)?.is_none(), "an expired entry survived the sweep")?;
    check(store.entry("suite:lease", NOW + 9).await.map_err(err)?.as_deref() == Some(b"2".as_slice()), "a live entry was swept")
}

/// 64 concurrent swaps from the same value: exactly one wins.
///
/// # Errors
/// What the store did wrong.
pub async fn concurrent_entry_swaps_have_one_winner(store: Arc<dyn Store>) -> CaseResult {
    check(store.swap_entry("suite:cas", None, Some(b"gen0"), None, NOW).await.map_err(err)?, "seed")?;
    let mut tasks = Vec::new();
    for i in 0..64u32 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let new = format!("gen1-{i}");
            store.swap_entry("suite:cas", Some(b"gen0"), Some(new.as_bytes()), None, NOW).await.map(|won| (new, won))
        }));
    }
    let mut winners = Vec::new();
    for task in tasks {
        let (new, won) = task.await.map_err(err)?.map_err(err)?;
        if won {
            winners.push(new);
        }
    }
    check(winners.len() == 1, &format!("{} swaps won", winners.len()))?;
    let stored = store.entry("suite:cas", NOW).await.map_err(err)?;
    check(stored.as_deref() == winners.first().map(String::as_bytes), "the stored entry is not the winner's")
}

/// The audit log: sequence numbers grow by one, reads page in order.
///
/// # Errors
/// What the store did wrong.
pub async fn audit_log_appends_in_order(store: Arc<dyn Store>) -> CaseResult {
    let start = store.audit_events(0, usize::MAX).await.map_err(err)?.last().map_or(0, |(n, _)| *n);
    let mut numbers = Vec::new();
    for i in 0..5 {
        numbers.push(store.append_audit(&format!("{{\"event\":\"suite\",\"n\":{i}}}")).await.map_err(err)?);
    }
    check(numbers == (start + 1..=start + 5).collect::<Vec<_>>(), &format!("sequence numbers {numbers:?} after {start}"))?;
    let page = store.audit_events(start + 1, 3).await.map_err(err)?;
    check(page.iter().map(|(n, _)| *n).eq(start + 2..=start + 4), "a page is not the next events in order")?;
    check(page.first().is_some_and(|(_, e)| e == "{\"event\":\"suite\",\"n\":1}"), "an event differs from what was appended")
}

/// A trim keeps the newest events under their numbers, and the next event
/// still follows the last one.
///
/// # Errors
/// What the store did wrong.
pub async fn audit_trim_keeps_the_newest_and_the_numbering(store: Arc<dyn Store>) -> CaseResult {
    check(store.trim_audit(0).await.is_err(), "a trim keeping nothing was accepted")?;
    for i in 0..6 {
        store.append_audit(&format!("{{\"n\":{i}}}")).await.map_err(err)?;
    }
    let all = store.audit_events(0, usize::MAX).await.map_err(err)?;
    let last = all.last().map_or(0, |(n, _)| *n);
    let removed = store.trim_audit(2).await.map_err(err)?;
    check(removed == u64::try_from(all.len() - 2).unwrap_or(0), &format!("{removed} trimmed of {}", all.len()))?;
    check(store.trim_audit(2).await.map_err(err)? == 0, "a second trim removed more")?;
    let kept = store.audit_events(0, usize::MAX).await.map_err(err)?;
    check(kept == all[all.len() - 2..], &format!("kept {kept:?}"))?;
    check(store.audit_events(last - 1, 1).await.map_err(err)? == all[all.len() - 1..], "a page after a trim is off")?;
    let next = store.append_audit("{\"n\":6}").await.map_err(err)?;
    check(next == last + 1, &format!("the event after a trim got {next}, not {}", last + 1))
}

/// One `#[tokio::test]` per case of the suite, each on a store made by
/// `$make` (an expression answering `(guard, Arc<dyn Store>)`, evaluated in
/// the case's async body, so it may `.await`; the guard, e.g. a temporary
/// directory, lives as long as the case). With `, ignore = "why"` every case
/// is `#[ignore]`d (a store that needs a server the plain test run lacks).
#[macro_export]
macro_rules! store_test_suite {
    ($make:expr) => {
        $crate::store_test_suite!(@cases [] $make);
    };
    ($make:expr, ignore = $why:literal) => {
        $crate::store_test_suite!(@cases [#[ignore = $why]] $make);
    };
    (@cases $attrs:tt $make:expr) => {
        $crate::store_test_suite!(@each $attrs $make;
            absent_key_reads_none, vacant_key_is_claimed_once, expired_record_is_claimable,
            complete_replaces_only_its_own_claim, release_deletes_only_its_own_claim,
            concurrent_claims_have_one_winner, sweep_deletes_expired_records_only, finished_records_are_swept_at_their_expiry, sweep_reaches_every_record_and_stops_at_its_limit,
            key_records_round_trip,
            entries_swap_from_the_expected_value_only, expired_entries_are_absent_and_swept,
            concurrent_entry_swaps_have_one_winner, audit_log_appends_in_order, audit_trim_keeps_the_newest_and_the_numbering,
            key_swaps_from_a_wrong_expected_record_change_nothing, key_swaps_expecting_none_create_only_when_absent,
            key_swaps_of_several_records_are_all_or_nothing, concurrent_key_swaps_have_one_winner,
            announced_changes_move_the_shared_version);
    };
    (@each $attrs:tt $make:expr; $($case:ident),*) => {
        $( $crate::store_test_suite!(@case $attrs $make; $case); )*
    };
    (@case [$($attr:tt)*] $make:expr; $case:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
        $($attr)*
        async fn $case() {
            let (_guard, store) = $make;
            if let Err(why) = $crate::store::suite::$case(store).await {
                panic!("{}: {why}", stringify!($case));
            }
        }
    };
}
