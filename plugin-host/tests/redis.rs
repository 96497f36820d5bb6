//! Several gateways on one Redis, end to end: real `payseal` processes, a
//! real `redis-server`, a real upstream (idempotency, revocations within the
//! bound, lifecycle changes racing through two gateways, outages). Every test needs Redis, so each is
//! `#[ignore]`d in the plain `cargo test` and run by `scripts/test-redis.sh`,
//! which starts a server and sets `PAYSEAL_REDIS_URL`, then runs them again
//! on a 3-master Redis Cluster (`PAYSEAL_REDIS_CLUSTER`). Tests share that
//! Redis under prefixes of their own; the outage test stops and restarts
//! a server it starts itself (`redis-server` on `PATH`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::too_many_lines, clippy::missing_panics_doc)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Answer, Gateway, Upstream, base_config, record, send, toml_of};
use serde_json::json;

const LIVE_KEY: &str = "sk_live_RedisGatewayKey0000000000000";
/// The `[server]` line of every gateway here: polling revoked keys is not guessing.
const UNTHROTTLED: &str = "throttle = { address_failures = 1000000 }";
/// `store.key_stale_after_ms` of every gateway here: the README's bound.
const BOUND: Duration = Duration::from_secs(2);
const PAY: &str = "/external/v1/payments";

/// The `[store]` line naming the Redis of `scripts/test-redis.sh`: the
/// seeds of a Redis Cluster (`PAYSEAL_REDIS_CLUSTER`, comma-separated; the
/// script's 3-master cluster), else one server (`PAYSEAL_REDIS_URL`).
fn redis_store() -> String {
    if let Ok(seeds) = std::env::var("PAYSEAL_REDIS_CLUSTER") {
        let seeds: Vec<String> = seeds.split(',').map(|seed| format!("\"{seed}\"")).collect();
        return format!("cluster = [{}]", seeds.join(", "));
    }
    server_store(&std::env::var("PAYSEAL_REDIS_URL").expect("PAYSEAL_REDIS_URL is not set: run scripts/test-redis.sh"))
}

/// Runs `pipeline` on the Redis of [`redis_store`] with a client of the
/// test's own, behind the gateways' backs (on a cluster, its keys share a slot).
async fn behind_the_gateways(pipeline: &redis::Pipeline) {
    if let Ok(seeds) = std::env::var("PAYSEAL_REDIS_CLUSTER") {
        let client = redis::cluster::ClusterClient::new(seeds.split(',').collect::<Vec<_>>()).unwrap();
        let () = pipeline.query_async(&mut client.get_async_connection().await.unwrap()).await.unwrap();
    } else {
        let client = redis::Client::open(std::env::var("PAYSEAL_REDIS_URL").unwrap()).unwrap();
        let () = pipeline.query_async(&mut client.get_multiplexed_async_connection().await.unwrap()).await.unwrap();
    }
}

/// The `[store]` line of one Redis server.
fn server_store(url: &str) -> String {
    format!("url = \"{url}\"")
}

/// A prefix no other test (or earlier run) uses.
fn prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("it-{test}-{}-{nanos}", std::process::id())
}

/// A gateway config on the Redis of `store` (a [`redis_store`] line) under
/// `prefix`, with one live key.
fn redis_config(upstream: &Upstream, dir: &Path, store: &str, prefix: &str) -> String {
    // These tests poll revoked keys from one address far past the throttle's
    // address budget (tested with its own budget below).
    let config = base_config(upstream.addr, dir, UNTHROTTLED);
    let redb = format!("path = \"{}\"", dir.join("store.redb").display());
    assert!(config.contains(&redb), "the harness's store section changed");
    let mut config = config.replace(&redb, &format!("{store}\nprefix = \"{prefix}\"\nkey_stale_after_ms = {}", BOUND.as_millis()));
    config.push_str(&toml_of(&json!({
        "keys": {
            "policy": { "accepted_formats": ["prefixed"] },
            "records": [record("k_file", LIVE_KEY, "live")],
        },
    })));
    config
}

async fn readyz(gateway: &Gateway) -> Answer {
    gateway.admin_send("GET", "/readyz", &[], b"").await
}

/// Polls `probe` every 10 ms until it holds; answers the time it took.
async fn until(what: &str, limit: Duration, mut probe: impl AsyncFnMut() -> bool) -> Duration {
    let started = Instant::now();
    while started.elapsed() < limit {
        if probe().await {
            return started.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: not within {limit:?}");
}

// ---------------------------------------------------------------------------
// Two gateways, one key

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis: scripts/test-redis.sh"]
async fn two_gateways_execute_one_idempotency_key_once() {
    let store = redis_store();
    let upstream = Upstream::start().await;
    let prefix = prefix("race");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Gateway::start(dir_a.path(), &redis_config(&upstream, dir_a.path(), &store, &prefix), &[]);
    let b = Gateway::start(dir_b.path(), &redis_config(&upstream, dir_b.path(), &store, &prefix), &[]);
    let body = vec![b'x'; 1024];
    let mut tasks = Vec::new();
    for i in 0..64 {
        let target = if i % 2 == 0 { a.url(PAY) } else { b.url(PAY) };
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            send(&target, "POST", &[("x-api-key", LIVE_KEY), ("idempotency-key", "race-shared"), ("x-test-delay-ms", "300")], &body).await
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    assert_eq!(upstream.executions_of("race-shared"), 1, "the upstream executed more than once");
    let executed: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    assert!(!executed.is_empty(), "nobody got the upstream's answer");
    assert!(executed.iter().all(|a| a.body == executed[0].body), "answers differ");
    for answer in &answers {
        assert!(answer.status == 201 || (answer.status == 409 && answer.json()["code"] == "IDEMPOTENCY_KEY_IN_PROGRESS"), "{} {}", answer.status, answer.text());
    }
    // Both gateways replay the one stored answer, byte for byte.
    for gateway in [&a, &b] {
        let replay = send(&gateway.url(PAY), "POST", &[("x-api-key", LIVE_KEY), ("idempotency-key", "race-shared")], &body).await;
        assert_eq!((replay.status, &replay.body), (201, &executed[0].body));
    }
    assert_eq!(upstream.executions(), 1);
    let conflicts = answers.iter().filter(|a| a.status == 409).count();
    println!("64 requests over two gateways: 1 execution, {} answers of it, {conflicts} in-progress 409s", executed.len());
}

// ---------------------------------------------------------------------------
// A request signature is accepted once across gateways

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis: scripts/test-redis.sh"]
async fn a_signature_accepted_by_one_gateway_is_a_replay_at_the_other() {
    use payseal_core::Secret;
    use payseal_core::signing::dvpay;
    const NOW: u64 = 1_719_500_000;
    const REFUND: &str = "/external/v1/refund";
    let store = redis_store();
    let upstream = Upstream::start().await;
    let prefix = prefix("replay");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let signed_config = |dir: &Path| {
        let mut config = redis_config(&upstream, dir, &store, &prefix);
        config.push_str(&toml_of(&json!({
            "routes": [ { "prefix": REFUND, "methods": ["POST"], "signed": true } ],
            "signed_requests": { "keys": [ { "key_id": "k_file", "secret_env": "PAYSEAL_TEST_SECRET" } ] },
        })));
        config
    };
    let env = [("PAYSEAL_TEST_SECRET", "redis-replay-dvpay-secret")];
    let a = Gateway::start(dir_a.path(), &signed_config(dir_a.path()), &env);
    let b = Gateway::start(dir_b.path(), &signed_config(dir_b.path()), &env);
    a.set_clock(NOW).await;
    b.set_clock(NOW).await;
    let body = br#"{"orderId":9,"refundAmount":5}"#;
    let made = dvpay::Signer::new(LIVE_KEY, &Secret::from_text("redis-replay-dvpay-secret")).sign(body, NOW, "refund-1").unwrap();
    let headers = |idempotency_key: &'static str| -> Vec<(&'static str, String)> {
        made.headers.iter().map(|(n, v)| if n.eq_ignore_ascii_case("x-idempotent-key") { (*n, idempotency_key.to_owned()) } else { (*n, v.clone()) }).collect()
    };
    let send_to = |gateway: &Gateway, idempotency_key: &'static str| {
        let target = gateway.url(REFUND);
        let h = headers(idempotency_key);
        async move {
            let pairs: Vec<(&str, &str)> = h.iter().map(|(n, v)| (*n, v.as_str())).collect();
            send(&target, "POST", &pairs, body).await
        }
    };
    let first = send_to(&a, "refund-1").await;
    assert_eq!(first.status, 201, "{}", first.text());
    // The same request retried through the other gateway: the stored answer.
    let retried = send_to(&b, "refund-1").await;
    assert_eq!((retried.status, &retried.body), (201, &first.body));
    // The captured signature under a fresh idempotency key, at the other gateway.
    let replayed = send_to(&b, "refund-2").await;
    assert_eq!((replayed.status, replayed.json()["message"].as_str()), (401, Some("The request signature was already used.")), "{}", replayed.text());
    assert_eq!(upstream.executions(), 1, "the refund ran more than once");
}

/// Failed authentication is counted in Redis: guesses spread over two
/// gateways spend one budget, and the gateway that did not see the lock-out
/// learns it at the client's next failure there (the store answers
/// "locked"), then refuses even a valid key from that address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis: scripts/test-redis.sh"]
async fn failures_through_two_gateways_spend_one_budget() {
    const NOW: u64 = 1_719_500_000;
    let store = redis_store();
    let upstream = Upstream::start().await;
    let prefix = prefix("throttle");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let throttled_config = |dir: &Path| redis_config(&upstream, dir, &store, &prefix).replacen(UNTHROTTLED, "throttle = { address_failures = 6 }", 1);
    let a = Gateway::start(dir_a.path(), &throttled_config(dir_a.path()), &[]);
    let b = Gateway::start(dir_b.path(), &throttled_config(dir_b.path()), &[]);
    a.set_clock(NOW).await;
    b.set_clock(NOW).await;
    let guess = |gateway: &Gateway, i: usize| {
        let target = gateway.url(PAY);
        async move { send(&target, "POST", &[("x-api-key", format!("sk_live_Guess{i:022}").as_str())], b"{}").await.status }
    };
    let mut statuses = Vec::new();
    for i in 0..3 {
        statuses.push(guess(&a, i).await);
    }
    for i in 3..6 {
        statuses.push(guess(&b, i).await);
    }
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429], "the sixth failure, at the other gateway, spends the shared budget");
    assert_eq!(send(&b.url(PAY), "POST", &[("x-api-key", LIVE_KEY)], b"{}").await.status, 429, "b knows the lock-out");
    assert_eq!(guess(&a, 6).await, 429, "a learns it from the store at the next failure");
    assert_eq!(send(&a.url(PAY), "POST", &[("x-api-key", LIVE_KEY)], b"{}").await.status, 429, "then refuses a valid key too");
    a.set_clock(NOW + 61).await;
    b.set_clock(NOW + 61).await;
    assert_eq!(send(&a.url(PAY), "POST", &[("x-api-key", LIVE_KEY)], b"{}").await.status, 201, "after the back-off");
}

// ---------------------------------------------------------------------------
// Revocations reach every gateway within the bound

/// Sends to `gateway` with `key` until it is refused (401, or 503 while it
/// cannot confirm its key set); answers the delay from `since` (just before
/// the change was asked for). An allowed answer to a request sent more than
/// [`BOUND`] after `acked` (the change acknowledged) fails the test.
async fn refused_after(gateway: &Gateway, key: &str, since: Instant, acked: Instant) -> Duration {
    loop {
        let sent = Instant::now();
        let answer = send(&gateway.url(PAY), "GET", &[("x-api-key", key)], b"").await;
        match answer.status {
            401 | 503 => return sent.duration_since(since),
            200 => {
                let late = sent.saturating_duration_since(acked);
                assert!(late <= BOUND, "a revoked key passed {late:?} after the revocation was acknowledged (bound {BOUND:?})");
            }
            other => panic!("unexpected answer {other} {}", answer.text()),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis: scripts/test-redis.sh"]
async fn a_key_revoked_through_one_gateway_is_refused_by_the_other_within_the_bound() {
    let store = redis_store();
    let upstream = Upstream::start().await;
    let prefix = prefix("revoke");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Gateway::start(dir_a.path(), &redis_config(&upstream, dir_a.path(), &store, &prefix), &[]);
    let b = Gateway::start(dir_b.path(), &redis_config(&upstream, dir_b.path(), &store, &prefix), &[]);
    let keys = ["sk_live_RevokedByStatus000000000000", "sk_live_RevokedByDelete000000000000", "sk_live_RevokedSilently000000000000"];
    let ids = ["k_status", "k_delete", "k_silent"];
    // Added through A: B learns of them too.
    let added = Instant::now();
    for (id, key) in ids.iter().zip(keys) {
        let answer = a.put_key(&record(id, key, "live")).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }
    for key in keys {
        until("B accepts a key added through A", Duration::from_secs(10), async || {
            send(&b.url(PAY), "GET", &[("x-api-key", key)], b"").await.status == 200
        })
        .await;
    }
    let addition = added.elapsed();

    // Revoked by a PUT with status revoked, through A.
    let mut revoked = record(ids[0], keys[0], "live");
    revoked["status"] = json!("revoked");
    let since = Instant::now();
    assert_eq!(a.put_key(&revoked).await.status, 200);
    let by_status = refused_after(&b, keys[0], since, Instant::now()).await;
    until("B answers revoked_key", Duration::from_secs(10), async || {
        send(&b.url(PAY), "GET", &[("x-api-key", keys[0])], b"").await.json()["status"] == 401
    })
    .await;

    // Deleted through A's admin.
    let since = Instant::now();
    let answer = a.admin_send("DELETE", &format!("/keys/{}", ids[1]), &[], b"").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let by_delete = refused_after(&b, keys[1], since, Instant::now()).await;

    // Changed in Redis with no message (a lost pub/sub message): B's
    // version poll still finds it within the bound.
    let mut silent = record(ids[2], keys[2], "live");
    silent["status"] = json!("revoked");
    let since = Instant::now();
    let mut change = redis::pipe();
    change
        .atomic()
        .set(format!("{{{prefix}:keys}}:record:live:{}", ids[2]), silent.to_string())
        .ignore()
        .incr(format!("{{{prefix}:keys}}:version"), 1)
        .ignore();
    behind_the_gateways(&change).await;
    let acked = Instant::now();
    let by_poll = refused_after(&b, keys[2], since, acked).await;
    // A, which made no change, polls the same way.
    let by_poll_a = refused_after(&a, keys[2], since, acked).await;

    // The key of the file, untouched, still passes on both.
    for gateway in [&a, &b] {
        assert_eq!(send(&gateway.url(PAY), "GET", &[("x-api-key", LIVE_KEY)], b"").await.status, 200);
    }
    println!(
        "revocation through A refused by B after: status revoked {by_status:?}, deleted {by_delete:?}, no pub/sub message {by_poll:?} (A: {by_poll_a:?}) \
         (bound {BOUND:?}); 3 additions seen by B after {addition:?}"
    );
}

/// `payseal_reloads_total{result="ok"}` of a gateway.
async fn reloads(gateway: &Gateway) -> u64 {
    let text = gateway.admin_send("GET", "/metrics", &[], b"").await.text();
    text.lines()
        .find(|line| line.starts_with("payseal_reloads_total{") && line.contains("result=\"ok\""))
        .and_then(|line| line.rsplit(' ').next())
        .map_or(0, |count| count.parse().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis: scripts/test-redis.sh"]
async fn a_key_change_reloads_each_gateway_once() {
    let store = redis_store();
    let upstream = Upstream::start().await;
    let prefix = prefix("reload-once");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Gateway::start(dir_a.path(), &redis_config(&upstream, dir_a.path(), &store, &prefix), &[]);
    let b = Gateway::start(dir_b.path(), &redis_config(&upstream, dir_b.path(), &store, &prefix), &[]);
    let key = "sk_live_ReloadedOnce0000000000000000";
    let before = (reloads(&a).await, reloads(&b).await);
    assert_eq!(a.put_key(&record("k_once", key, "live")).await.status, 200);
    until("B accepts the key added through A", Duration::from_secs(10), async || {
        send(&b.url(PAY), "GET", &[("x-api-key", key)], b"").await.status == 200
    })
    .await;
    // Several version polls later, neither gateway has reloaded again: A's
    // own reload counted the version it was built from.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let after = (reloads(&a).await, reloads(&b).await);
    assert_eq!((after.0 - before.0, after.1 - before.1), (1, 1), "reloads of A and B for one change");
}

// ---------------------------------------------------------------------------
// Redis stopped, slow and restarted under load

/// A `redis-server` of the test's own (append-only file, fsync on every
/// write: a restart loses nothing it acknowledged), on a free loopback port.
struct OwnRedis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
}

impl OwnRedis {
    fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let mut redis = Self { child: None, port, dir: tempfile::tempdir().unwrap() };
        redis.spawn();
        redis
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    fn spawn(&mut self) {
        let dir: PathBuf = self.dir.path().to_owned();
        let child = Command::new("redis-server")
            .args(["--bind", "127.0.0.1", "--port", &self.port.to_string(), "--save", "", "--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(&dir)
            .arg("--logfile")
            .arg(dir.join("redis.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server is not installed: run scripts/test-redis.sh");
        self.child = Some(child);
        for _ in 0..500 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("redis-server did not listen on {}", self.port);
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        assert!(Command::new("kill").arg(format!("-{signal}")).arg(pid).status().unwrap().success());
    }

    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnRedis {
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            // A stopped process must be woken to die cleanly.
            let _ = Command::new("kill").arg("-CONT").arg(child.id().to_string()).status();
        }
        self.kill();
    }
}

/// One answer of the load: its key and what came back.
struct Sent {
    key: String,
    status: u16,
    code: String,
}

/// `workers` loops of idempotent POSTs, each with a fresh key, until `stop`.
fn load(gateway: &Gateway, workers: usize, stop: &Arc<AtomicBool>) -> Vec<tokio::task::JoinHandle<Vec<Sent>>> {
    (0..workers)
        .map(|w| {
            let (url, stop) = (gateway.url(PAY), Arc::clone(stop));
            tokio::spawn(async move {
                let mut sent = Vec::new();
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let key = format!("load-{w}-{i}");
                    let answer = send(&url, "POST", &[("x-api-key", LIVE_KEY), ("idempotency-key", &key)], key.as_bytes()).await;
                    let code = answer.json()["code"].as_str().unwrap_or_default().to_owned();
                    sent.push(Sent { key, status: answer.status, code });
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
                sent
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Redis: scripts/test-redis.sh"]
async fn redis_stopped_slow_and_restarted_under_load_fails_closed_and_recovers() {
    // The shared server's presence says the suite runs where Redis is installed.
    let _ = redis_store();
    let mut redis = OwnRedis::start();
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = Gateway::start(dir.path(), &redis_config(&upstream, dir.path(), &server_store(&redis.url()), &prefix("outage")), &[]);
    assert_eq!(readyz(&gateway).await.status, 200);
    let stop = Arc::new(AtomicBool::new(false));
    let workers = load(&gateway, 6, &stop);
    tokio::time::sleep(Duration::from_millis(800)).await;

    // Slow: the server stops answering (SIGSTOP) without closing anything.
    redis.signal("STOP");
    let not_ready_slow = until("readyz 503 while Redis hangs", Duration::from_secs(10), async || readyz(&gateway).await.status == 503).await;
    tokio::time::sleep(BOUND + Duration::from_millis(500)).await;
    // Past the bound even a request that needs no store write is refused.
    let plain = send(&gateway.url(PAY), "GET", &[("x-api-key", LIVE_KEY)], b"").await;
    assert_eq!((plain.status, plain.json()["code"].as_str()), (503, Some("STORE_UNAVAILABLE")), "{}", plain.text());
    let metrics = gateway.admin_send("GET", "/metrics", &[], b"").await.text();
    assert!(metrics.contains("payseal_store_ready 0\n") && metrics.contains("payseal_key_set_fresh 0\n"), "{metrics}");
    redis.signal("CONT");
    let ready_after_slow = until("readyz 200 once Redis answers again", Duration::from_secs(20), async || readyz(&gateway).await.status == 200).await;
    tokio::time::sleep(Duration::from_millis(500)).await;

    // Down: killed, then restarted on the same port (its append-only file
    // brings back every acknowledged record).
    redis.kill();
    let not_ready_down = until("readyz 503 while Redis is down", Duration::from_secs(10), async || {
        let answer = readyz(&gateway).await;
        answer.status == 503 && answer.json()["status"] == "store_unavailable"
    })
    .await;
    tokio::time::sleep(BOUND + Duration::from_millis(500)).await;
    redis.spawn();
    let ready_after_down = until("readyz 200 once Redis is back", Duration::from_secs(20), async || readyz(&gateway).await.status == 200).await;
    let metrics = gateway.admin_send("GET", "/metrics", &[], b"").await.text();
    assert!(metrics.contains("payseal_store_ready 1\n") && metrics.contains("payseal_key_set_fresh 1\n"), "{metrics}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    stop.store(true, Ordering::SeqCst);
    let mut sent = Vec::new();
    for worker in workers {
        sent.extend(worker.await.unwrap());
    }

    // Nothing forwarded unchecked, nothing twice, every refusal a 503 JSON.
    let mut counts: HashMap<(u16, String), usize> = HashMap::new();
    for s in &sent {
        *counts.entry((s.status, s.code.clone())).or_default() += 1;
        let executions = upstream.executions_of(&s.key);
        match (s.status, s.code.as_str()) {
            (201, _) => assert_eq!(executions, 1, "{}: answered 201 but executed {executions} times", s.key),
            (503, "STORE_UNAVAILABLE") => assert_eq!(executions, 0, "{}: refused with 503 but reached the upstream", s.key),
            (status, code) => panic!("{}: unexpected answer {status} {code}", s.key),
        }
    }
    let refused = counts.iter().filter(|((s, _), _)| *s == 503).map(|(_, n)| n).sum::<usize>();
    assert!(refused > 0, "the outage refused nothing: {counts:?}");
    let last = sent.iter().rev().take(6).filter(|s| s.status == 201).count();
    assert!(last > 0, "the gateway did not serve again after Redis came back");

    // Every key again: a refused one executes now and an executed one
    // replays, except a claim left in flight, which answers 409 until it
    // expires: Redis died between an executed request's claim and its
    // record, or applied a claim the gateway had given up on (sent to the
    // hung server, refused with 503, never forwarded). None executes twice.
    let mut again: HashMap<(u16, u16), usize> = HashMap::new();
    for s in &sent {
        let answer = send(&gateway.url(PAY), "POST", &[("x-api-key", LIVE_KEY), ("idempotency-key", &s.key)], s.key.as_bytes()).await;
        let executions = upstream.executions_of(&s.key);
        match answer.status {
            201 => assert_eq!(executions, 1, "{}", s.key),
            409 => {
                assert_eq!(answer.json()["code"], "IDEMPOTENCY_KEY_IN_PROGRESS", "{}", s.key);
                assert_eq!(executions, u64::from(s.status == 201), "{}", s.key);
            }
            _ => panic!("{}: {} {}", s.key, answer.status, answer.text()),
        }
        *again.entry((s.status, answer.status)).or_default() += 1;
    }
    println!(
        "outage under load: {} requests {counts:?}; readyz 503 after {not_ready_slow:?} (SIGSTOP) and {not_ready_down:?} (killed), \
         200 again after {ready_after_slow:?} and {ready_after_down:?}; every key again (first, second answer): {again:?}",
        sent.len()
    );
}

// ---------------------------------------------------------------------------
// Lifecycle writes through two gateways never undo each other

const STORE_KEY: &str = "8f1c1d0e5b6a79e2c4d3b2a1908f7e6d5c4b3a29180f1e2d3c4b5a6978e0d1c2";

async fn lifecycle(gateway: &Gateway, method: &str, path: &str, body: &serde_json::Value) -> Answer {
    let bytes = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    gateway.admin_send(method, path, &[("content-type", "application/json")], &bytes).await
}

/// Polls `gateway` with `key` until it answers 401; an allowed answer to a
/// request sent more than [`BOUND`] after `acked` fails the test.
async fn revoked_on(gateway: &Gateway, name: &str, key: &str, acked: Instant) {
    loop {
        let sent = Instant::now();
        let answer = send(&gateway.url(PAY), "GET", &[("x-api-key", key)], b"").await;
        match answer.status {
            401 => return,
            200 | 503 => {
                let late = sent.saturating_duration_since(acked);
                assert!(late <= BOUND, "{name}: the revoked key answered {} {late:?} after the revocation was acknowledged", answer.status);
            }
            other => panic!("{name}: unexpected answer {other} {}", answer.text()),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// An operator revokes a key through B while A edits its allow-list, 20
/// times over: every key ends revoked in the store and refused by both
/// gateways within the bound. Without a compare-and-swap of key records, A
/// writes back its pre-revocation copy and the revocation is undone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[ignore = "needs Redis: scripts/test-redis.sh"]
async fn revokes_and_edits_racing_through_two_gateways_never_undo_the_revocation() {
    let store = redis_store();
    let upstream = Upstream::start().await;
    let prefix = prefix("cas");
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let with_lifecycle = |dir: &Path| {
        let mut config = redis_config(&upstream, dir, &store, &prefix);
        config.push_str(&toml_of(&json!({ "lifecycle": { "store_key_env": "PAYSEAL_TEST_STORE_KEY" } })));
        config
    };
    let env = [("PAYSEAL_TEST_STORE_KEY", STORE_KEY)];
    let a = Arc::new(Gateway::start(dir_a.path(), &with_lifecycle(dir_a.path()), &env));
    let b = Arc::new(Gateway::start(dir_b.path(), &with_lifecycle(dir_b.path()), &env));
    let (mut edits_applied, mut edits_refused) = (0, 0);
    for round in 0..20u32 {
        let created = lifecycle(&a, "POST", "/lifecycle/keys", &json!({ "environment": "live", "allowedIps": ["127.0.0.1/32"] })).await;
        assert_eq!(created.status, 201, "{}", created.text());
        let id = created.json()["keyId"].as_str().unwrap().to_owned();
        let key = created.json()["key"].as_str().unwrap().to_owned();
        until("B accepts a key created through A", Duration::from_secs(10), async || {
            send(&b.url(PAY), "GET", &[("x-api-key", &key)], b"").await.status == 200
        })
        .await;
        let editor = {
            let (a, id) = (Arc::clone(&a), id.clone());
            tokio::spawn(async move {
                let mut answers = Vec::new();
                for n in 0..6u32 {
                    let ips = json!({ "allowedIps": ["127.0.0.1/32", format!("10.{round}.{n}.0/24")] });
                    let answer = lifecycle(&a, "PATCH", &format!("/lifecycle/keys/{id}"), &ips).await;
                    let revoked = answer.status == 409;
                    answers.push((answer.status, answer.json()["code"].as_str().unwrap_or_default().to_owned()));
                    if revoked {
                        break;
                    }
                }
                answers
            })
        };
        let revoke = {
            let (b, id) = (Arc::clone(&b), id.clone());
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(u64::from(round % 5) * 15)).await;
                let answer = lifecycle(&b, "POST", &format!("/lifecycle/keys/{id}/revoke"), &serde_json::Value::Null).await;
                (answer, Instant::now())
            })
        };
        let (revocation, acked) = revoke.await.unwrap();
        assert_eq!((revocation.status, revocation.json()["status"].as_str()), (200, Some("REVOKED")), "round {round}: {}", revocation.text());
        for (status, code) in editor.await.unwrap() {
            match (status, code.as_str()) {
                (200, _) => edits_applied += 1,
                (409, "key_revoked") => edits_refused += 1,
                other => panic!("round {round}: an edit answered {other:?}"),
            }
        }
        // Every write of the round is done: the store keeps the revocation.
        for (name, gateway) in [("A", &a), ("B", &b)] {
            let stored = lifecycle(gateway, "GET", &format!("/lifecycle/keys/{id}"), &serde_json::Value::Null).await;
            assert_eq!(stored.json()["status"], "REVOKED", "round {round}: the revocation was undone (read through {name}): {}", stored.text());
        }
        revoked_on(&a, "A", &key, acked).await;
        revoked_on(&b, "B", &key, acked).await;
    }
    println!("20 rounds of a revoke through B racing edits through A: every key stays revoked; {edits_applied} edits applied before, {edits_refused} refused after");
}
