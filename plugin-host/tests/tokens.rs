//! The token endpoint and the `ACCESS-TOKEN` routes end to end: the real
//! `payseal` binary, a real upstream, requests over HTTP, the clock fixed
//! through the admin listener, and the audit log read back from the store.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::too_many_lines)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use common::{Answer, Gateway, Upstream, base_config, record, send, toml_of};
use payseal_core::tokens::TokenDigest;
use payseal_gateway::audit::{AuditAction, AuditEvent};
use serde_json::{Value, json};

const NOW: u64 = 1_719_500_100;
const API_KEY: &str = "sk_live_TokenGatewayKey00000000000000";
const CLIENT_SECRET: &str = "cs_9n2hT4kQ7xVbLw0ZpRfYdG3sJ8uA1eMcQ";
const TOKEN_PATH: &str = "/api/v1/auth/token";
const PAYMENTS: &str = "/api/v1/payments";
/// Another merchant's key, which the client's tokens do not work with.
const OTHER_KEY: &str = "sk_live_OtherMerchantTokenKey0000000";

fn config(upstream: &Upstream, dir: &std::path::Path, tokens_extra: &Value) -> String {
    let mut tokens = json!({
        "clients": [ { "id": "shop", "secret_sha256": TokenDigest::of(CLIENT_SECRET.as_bytes()).to_hex(), "key_ids": ["k_live"] } ],
        "routes": [ { "prefix": PAYMENTS, "methods": ["POST"] } ],
    });
    for (name, value) in tokens_extra.as_object().unwrap() {
        tokens[name] = value.clone();
    }
    let mut config = base_config(upstream.addr, dir, "");
    config.push_str(&toml_of(&json!({
        "keys": { "policy": { "accepted_formats": ["prefixed"] }, "records": [ record("k_live", API_KEY, "live"), record("k_other", OTHER_KEY, "live") ] },
        "tokens": tokens,
    })));
    config
}

fn start(upstream: &Upstream, dir: &std::path::Path, tokens_extra: &Value) -> Gateway {
    Gateway::start(dir, &config(upstream, dir, tokens_extra), &[])
}

async fn token_json(gateway: &Gateway, body: &Value) -> Answer {
    send(&gateway.url(TOKEN_PATH), "POST", &[("content-type", "application/json")], body.to_string().as_bytes()).await
}

async fn issue(gateway: &Gateway) -> (String, String) {
    let answer = token_json(gateway, &json!({ "grant_type": "client_credentials", "client_id": "shop", "client_secret": CLIENT_SECRET })).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    pair(&answer)
}

/// A refresh with a form body, as RFC 6749 writes it.
async fn refresh(gateway: &Gateway, refresh_token: &str) -> Answer {
    let body: String = form_urlencoded::Serializer::new(String::new()).append_pair("grant_type", "refresh_token").append_pair("refresh_token", refresh_token).finish();
    send(&gateway.url(TOKEN_PATH), "POST", &[("content-type", "application/x-www-form-urlencoded")], body.as_bytes()).await
}

fn pair(answer: &Answer) -> (String, String) {
    let body = answer.json();
    assert_eq!(answer.headers.get("cache-control").unwrap(), "no-store");
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3600);
    let access = body["access_token"].as_str().unwrap().to_owned();
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();
    assert!(access.starts_with("at_") && refresh.starts_with("rt_"), "{body}");
    (access, refresh)
}

async fn pay(gateway: &Gateway, api_key: Option<&str>, access_token: Option<&str>) -> Answer {
    let mut headers = vec![("content-type", "application/json")];
    if let Some(key) = api_key {
        headers.push(("x-api-key", key));
    }
    if let Some(token) = access_token {
        headers.push(("access-token", token));
    }
    send(&gateway.url(PAYMENTS), "POST", &headers, br#"{"amount":1}"#).await
}

fn assert_refused(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "{}", answer.text());
    assert_eq!(answer.json()["code"], code, "{}", answer.text());
}

fn assert_grant_error(answer: &Answer, status: u16, error: &str) {
    assert_eq!(answer.status, status, "{}", answer.text());
    assert_eq!(answer.json()["error"], error, "{}", answer.text());
    assert_eq!(answer.headers.get("cache-control").unwrap(), "no-store");
}

async fn audit(dir: &std::path::Path) -> Vec<(String, AuditEvent)> {
    let store = payseal_gateway::RedbStore::open(&dir.join("store.redb")).unwrap();
    let lines = payseal_gateway::Store::audit_events(&store, 0, 1000).await.unwrap();
    lines.into_iter().map(|(_, line)| (line.clone(), serde_json::from_str(&line).unwrap())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut gateway = start(&upstream, dir.path(), &json!({}));
    gateway.set_clock(NOW).await;

    let (access_1, refresh_1) = issue(&gateway).await;
    let answer = pay(&gateway, Some(API_KEY), Some(&access_1)).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let forwarded = upstream.last_headers();
    assert!(forwarded.get("access-token").is_none() && forwarded.get("x-api-key").is_none(), "{forwarded:?}");
    assert_eq!(forwarded.get("x-payseal-key-id").unwrap(), "k_live");

    // A refresh answers a new pair; the old access token lives to its expiry.
    let answer = refresh(&gateway, &refresh_1).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let (access_2, refresh_2) = pair(&answer);
    assert!(access_2 != access_1 && refresh_2 != refresh_1);
    assert_eq!(pay(&gateway, Some(API_KEY), Some(&access_2)).await.status, 201);
    assert_eq!(pay(&gateway, Some(API_KEY), Some(&access_1)).await.status, 201);

    // The old refresh token again: refused, and the family is revoked.
    let executions = upstream.executions();
    let answer = refresh(&gateway, &refresh_1).await;
    assert_grant_error(&answer, 400, "invalid_grant");
    assert_eq!(answer.json()["error_description"], "The refresh token has been revoked.");
    // Its current refresh token and every access token of the family go with it.
    assert_grant_error(&refresh(&gateway, &refresh_2).await, 400, "invalid_grant");
    for access in [&access_1, &access_2] {
        let answer = pay(&gateway, Some(API_KEY), Some(access)).await;
        assert_refused(&answer, 401, "INVALID_ACCESS_TOKEN");
        assert_eq!(answer.json()["message"], "The access token has been revoked.");
    }
    assert_eq!(upstream.executions(), executions, "nothing refused reached the upstream");
    // Another family of the same client is unaffected.
    let (access_3, _) = issue(&gateway).await;
    assert_eq!(pay(&gateway, Some(API_KEY), Some(&access_3)).await.status, 201);
    assert_eq!(gateway.requests("refused", "access_token_revoked").await, 2);
    assert_eq!(gateway.requests("token_refused", "refresh_token_reused").await, 1);

    gateway.stop();
    let events = audit(dir.path()).await;
    let actions: Vec<(AuditAction, Option<&str>)> = events.iter().map(|(_, e)| (e.action, e.detail.as_deref())).collect();
    assert_eq!(
        actions,
        [
            (AuditAction::TokenIssued, Some("generation=0")),
            (AuditAction::TokenRefreshed, Some("generation=1")),
            (AuditAction::TokenFamilyRevoked, Some("refresh_token_reused")),
            (AuditAction::TokenIssued, Some("generation=0")),
        ]
    );
    let family = &events[0].1.subject;
    assert!(events[..3].iter().all(|(_, e)| &e.subject == family && e.actor == "client:shop" && e.at == NOW));
    assert_ne!(&events[3].1.subject, family);
    // No token, no part of one, and no client secret in the audit log, the
    // gateway's log or the store file.
    let log = gateway.log();
    // Lossy text keeps every ASCII run of the file, tokens included, and searches fast.
    let store_text = String::from_utf8_lossy(&std::fs::read(dir.path().join("store.redb")).unwrap()).into_owned();
    assert!(store_text.contains(family.as_str()), "the scan sees the store's text");
    for secret in [&access_1, &access_2, &access_3, &refresh_1, &refresh_2, &CLIENT_SECRET.to_owned()] {
        let body = &secret[3..];
        assert!(events.iter().all(|(line, _)| !line.contains(body)), "a token in the audit log");
        assert!(!log.contains(body), "a token in the gateway's log");
        assert!(!store_text.contains(body), "a token in the store");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_tokens_expire_by_the_injected_clock() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&upstream, dir.path(), &json!({ "refresh_ttl_seconds": 7200 }));
    gateway.set_clock(NOW).await;
    let (access, refresh_token) = issue(&gateway).await;
    let (_, idle_refresh) = issue(&gateway).await;

    gateway.set_clock(NOW + 3599).await;
    assert_eq!(pay(&gateway, Some(API_KEY), Some(&access)).await.status, 201);
    gateway.set_clock(NOW + 3600).await;
    let answer = pay(&gateway, Some(API_KEY), Some(&access)).await;
    assert_refused(&answer, 401, "ACCESS_TOKEN_EXPIRED");
    assert_eq!(answer.json(), json!({ "status": 401, "code": "ACCESS_TOKEN_EXPIRED", "message": "The access token has expired." }));

    // The refresh answers an access token that lives an hour from now.
    let answer = refresh(&gateway, &refresh_token).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let (fresh, _) = pair(&answer);
    gateway.set_clock(NOW + 3600 + 3599).await;
    assert_eq!(pay(&gateway, Some(API_KEY), Some(&fresh)).await.status, 201);
    gateway.set_clock(NOW + 3600 + 3600).await;
    assert_refused(&pay(&gateway, Some(API_KEY), Some(&fresh)).await, 401, "ACCESS_TOKEN_EXPIRED");

    // A refresh token not used within its lifetime is refused.
    gateway.set_clock(NOW + 7199).await;
    let answer = refresh(&gateway, &idle_refresh).await;
    assert_eq!(answer.status, 200, "just inside its lifetime: {}", answer.text());
    let (_, idle_refresh) = pair(&answer);
    gateway.set_clock(NOW + 7199 + 7200).await;
    let answer = refresh(&gateway, &idle_refresh).await;
    assert_grant_error(&answer, 400, "invalid_grant");
    assert_eq!(answer.json()["error_description"], "The refresh token has expired.");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_require_both_headers_and_the_endpoint_answers_rfc_6749_errors() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&upstream, dir.path(), &json!({}));
    gateway.set_clock(NOW).await;
    let (access, refresh_token) = issue(&gateway).await;

    // The API key is checked first (`gate.md`, "Order").
    assert_refused(&pay(&gateway, None, None).await, 401, "AUTHENTICATION_FAILED");
    let answer = pay(&gateway, Some(API_KEY), None).await;
    assert_refused(&answer, 401, "INVALID_ACCESS_TOKEN");
    assert_eq!(answer.json()["message"], "This endpoint requires an access token.");
    assert_refused(&pay(&gateway, None, Some(&access)).await, 401, "AUTHENTICATION_FAILED");
    assert_refused(&pay(&gateway, Some("sk_live_Unknown000000000000000000000"), Some(&access)).await, 401, "AUTHENTICATION_FAILED");
    assert_refused(&pay(&gateway, Some(API_KEY), Some(&refresh_token)).await, 401, "INVALID_ACCESS_TOKEN");
    assert_refused(&pay(&gateway, Some(API_KEY), Some(&format!("{}A", &access[..access.len() - 1]))).await, 401, "INVALID_ACCESS_TOKEN");
    let two = send(&gateway.url(PAYMENTS), "POST", &[("x-api-key", API_KEY), ("access-token", &access), ("access-token", &access)], b"{}").await;
    assert_refused(&two, 400, "INVALID_REQUEST");
    assert_eq!(two.json()["message"], "A header that must appear once was sent more than once.");
    // A token works only with the API key its client names: not with
    // another merchant's key.
    let borrowed = pay(&gateway, Some(OTHER_KEY), Some(&access)).await;
    assert_refused(&borrowed, 401, "INVALID_ACCESS_TOKEN");
    // Every spelling of a token route is the token route.
    for spelling in ["/api/v1/%70ayments", "/API/V1/PAYMENTS", "/api/v1/payments/"] {
        assert_refused(&send(&gateway.url(spelling), "POST", &[("x-api-key", API_KEY)], b"{}").await, 401, "INVALID_ACCESS_TOKEN");
    }
    assert_eq!(upstream.executions(), 0);
    assert_eq!(pay(&gateway, Some(API_KEY), Some(&access)).await.status, 201);
    // Routes not listed need the API key only.
    let answer = send(&gateway.url(PAYMENTS), "GET", &[("x-api-key", API_KEY)], b"").await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let answer = send(&gateway.url("/api/v1/refunds"), "POST", &[("x-api-key", API_KEY)], b"{}").await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    assert_eq!(upstream.executions(), 3);

    // The endpoint's errors (RFC 6749 §5.2), none forwarded.
    let cc = |secret: &str| json!({ "grant_type": "client_credentials", "client_id": "shop", "client_secret": secret });
    let answer = token_json(&gateway, &cc("cs_wrong")).await;
    assert_grant_error(&answer, 401, "invalid_client");
    assert!(!answer.text().contains("cs_wrong"));
    assert_grant_error(&token_json(&gateway, &json!({ "grant_type": "client_credentials", "client_id": "nobody", "client_secret": CLIENT_SECRET })).await, 401, "invalid_client");
    assert_grant_error(&token_json(&gateway, &json!({ "grant_type": "password", "username": "u" })).await, 400, "unsupported_grant_type");
    assert_grant_error(&token_json(&gateway, &json!({ "client_id": "shop" })).await, 400, "invalid_request");
    assert_grant_error(&token_json(&gateway, &json!({ "grant_type": "refresh_token" })).await, 400, "invalid_request");
    assert_grant_error(&token_json(&gateway, &json!({ "grant_type": "refresh_token", "refresh_token": "rt_nope" })).await, 400, "invalid_grant");
    assert_grant_error(&refresh(&gateway, &access).await, 400, "invalid_grant");
    let text = send(&gateway.url(TOKEN_PATH), "POST", &[("content-type", "text/plain")], b"grant_type=client_credentials").await;
    assert_grant_error(&text, 400, "invalid_request");
    let twice = format!("grant_type=refresh_token&refresh_token={refresh_token}&refresh_token={refresh_token}");
    let twice = send(&gateway.url(TOKEN_PATH), "POST", &[("content-type", "application/x-www-form-urlencoded")], twice.as_bytes()).await;
    assert_grant_error(&twice, 400, "invalid_request");
    let get = send(&gateway.url(TOKEN_PATH), "GET", &[], b"").await;
    assert_eq!((get.status, get.headers.get("allow").unwrap().to_str().unwrap()), (405, "POST"));
    // Form bodies issue too, and refresh with matching client credentials.
    let form = format!("grant_type=client_credentials&client_id=shop&client_secret={CLIENT_SECRET}");
    let answer = send(&gateway.url(TOKEN_PATH), "POST", &[("content-type", "application/x-www-form-urlencoded; charset=utf-8")], form.as_bytes()).await;
    let (_, form_refresh) = pair(&answer);
    let with_client = json!({ "grant_type": "refresh_token", "refresh_token": form_refresh, "client_id": "shop", "client_secret": CLIENT_SECRET });
    assert_eq!(token_json(&gateway, &with_client).await.status, 200);
    assert_eq!(upstream.executions(), 3, "the token endpoint is never forwarded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshes_with_one_token_have_one_winner_then_revoke() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&upstream, dir.path(), &json!({}));
    gateway.set_clock(NOW).await;
    let (_, refresh_token) = issue(&gateway).await;
    let gateway = std::sync::Arc::new(gateway);
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let gateway = std::sync::Arc::clone(&gateway);
            let token = refresh_token.clone();
            tokio::spawn(async move { refresh(&gateway, &token).await })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        let answer = task.await.unwrap();
        match answer.status {
            200 => winners.push(pair(&answer)),
            400 => assert_eq!(answer.json()["error"], "invalid_grant"),
            other => panic!("unexpected {other}: {}", answer.text()),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one refresh rotates the family");
    // The others presented a token that was old by then: the family is revoked.
    let (access, refresh_token) = &winners[0];
    assert_grant_error(&refresh(&gateway, refresh_token).await, 400, "invalid_grant");
    assert_refused(&pay(&gateway, Some(API_KEY), Some(access)).await, 401, "INVALID_ACCESS_TOKEN");
}

// ---------------------------------------------------------------------------
// Store failures: a gateway in this process on a store that fails on demand.

/// The redb store, failing reads of entries or audit appends when told,
/// and remembering which entries were written.
struct FaultyStore {
    inner: payseal_gateway::RedbStore,
    fail_entry: AtomicBool,
    fail_audit: AtomicBool,
    written: Mutex<Vec<String>>,
}

fn failed() -> payseal_gateway::StoreError {
    payseal_gateway::StoreError::unavailable("injected failure")
}

#[async_trait::async_trait]
impl payseal_gateway::Store for FaultyStore {
    fn name(&self) -> &'static str {
        "faulty"
    }
    async fn get(&self, k: &str) -> Result<Option<payseal_core::idempotency::IdempotencyRecord>, payseal_gateway::StoreError> {
        self.inner.get(k).await
    }
    async fn claim(&self, k: &str, c: &payseal_core::idempotency::IdempotencyRecord, now: u64) -> Result<payseal_gateway::Claim, payseal_gateway::StoreError> {
        self.inner.claim(k, c, now).await
    }
    async fn complete(&self, k: &str, c: &payseal_core::idempotency::IdempotencyRecord, r: &payseal_core::idempotency::IdempotencyRecord) -> Result<bool, payseal_gateway::StoreError> {
        self.inner.complete(k, c, r).await
    }
    async fn release(&self, k: &str, c: &payseal_core::idempotency::IdempotencyRecord) -> Result<bool, payseal_gateway::StoreError> {
        self.inner.release(k, c).await
    }
    async fn sweep(&self, now: u64, limit: usize) -> Result<usize, payseal_gateway::StoreError> {
        self.inner.sweep(now, limit).await
    }
    async fn key_records(&self) -> Result<Vec<payseal_core::keys::KeyRecord>, payseal_gateway::StoreError> {
        self.inner.key_records().await
    }
    async fn put_key_record(&self, r: &payseal_core::keys::KeyRecord) -> Result<Option<payseal_core::keys::KeyRecord>, payseal_gateway::StoreError> {
        self.inner.put_key_record(r).await
    }
    async fn delete_key_record(&self, id: &str) -> Result<Option<payseal_core::keys::KeyRecord>, payseal_gateway::StoreError> {
        self.inner.delete_key_record(id).await
    }
    async fn swap_key_records(&self, swaps: &[payseal_gateway::store::KeySwap]) -> Result<bool, payseal_gateway::StoreError> {
        self.inner.swap_key_records(swaps).await
    }
    async fn entry(&self, key: &str, now: u64) -> Result<Option<Vec<u8>>, payseal_gateway::StoreError> {
        if self.fail_entry.load(Ordering::SeqCst) {
            return Err(failed());
        }
        self.inner.entry(key, now).await
    }
    async fn swap_entry(&self, key: &str, expected: Option<&[u8]>, new: Option<&[u8]>, expires_at: Option<u64>, now: u64) -> Result<bool, payseal_gateway::StoreError> {
        self.written.lock().unwrap().push(key.to_owned());
        self.inner.swap_entry(key, expected, new, expires_at, now).await
    }
    async fn append_audit(&self, event: &str) -> Result<u64, payseal_gateway::StoreError> {
        if self.fail_audit.load(Ordering::SeqCst) {
            return Err(failed());
        }
        self.inner.append_audit(event).await
    }
    async fn trim_audit(&self, keep: u64) -> Result<u64, payseal_gateway::StoreError> {
        self.inner.trim_audit(keep).await
    }
    async fn audit_events(&self, after: u64, limit: usize) -> Result<Vec<(u64, String)>, payseal_gateway::StoreError> {
        self.inner.audit_events(after, limit).await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_failures_fail_closed_and_unlogged_tokens_are_unusable() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let source = payseal_gateway::ConfigSource::Text { text: config(&upstream, dir.path(), &json!({})), dir: dir.path().to_owned() };
    let file = source.load().unwrap();
    let store = Arc::new(FaultyStore {
        inner: payseal_gateway::RedbStore::open(&dir.path().join("faulty.redb")).unwrap(),
        fail_entry: AtomicBool::new(false),
        fail_audit: AtomicBool::new(false),
        written: Mutex::new(Vec::new()),
    });
    let running = payseal_gateway::start_with_store(source, Arc::new(|_: &str| None), file, Arc::clone(&store) as Arc<dyn payseal_gateway::Store>).await.unwrap();
    running.shared.clock.set(Some(NOW));
    let url = |path: &str| format!("http://{}{path}", running.proxy_addr);
    let cc = json!({ "grant_type": "client_credentials", "client_id": "shop", "client_secret": CLIENT_SECRET }).to_string();
    let token = |body: String| {
        let url = url(TOKEN_PATH);
        async move { send(&url, "POST", &[("content-type", "application/json")], body.as_bytes()).await }
    };
    let pay = |access: String| {
        let url = url(PAYMENTS);
        async move { send(&url, "POST", &[("x-api-key", API_KEY), ("access-token", &access)], b"{}").await }
    };
    let answer = token(cc.clone()).await;
    let (access, refresh_token) = pair(&answer);
    assert_eq!(pay(access.clone()).await.status, 201);

    // An issue whose audit event cannot be written hands out nothing, and
    // the family it stored is revoked.
    store.fail_audit.store(true, Ordering::SeqCst);
    store.written.lock().unwrap().clear();
    let answer = token(cc.clone()).await;
    assert_grant_error(&answer, 503, "temporarily_unavailable");
    assert!(answer.json().get("access_token").is_none());
    let family_key = store.written.lock().unwrap().iter().find(|k| k.ends_with(":family")).unwrap().clone();
    let family: Value = serde_json::from_slice(&payseal_gateway::Store::entry(store.as_ref(), &family_key, NOW).await.unwrap().unwrap()).unwrap();
    assert_eq!(family["revoked_at"], NOW, "{family}");
    // So does a refresh: the rotation is revoked, and with it the family.
    let refresh_body = json!({ "grant_type": "refresh_token", "refresh_token": refresh_token }).to_string();
    assert_grant_error(&token(refresh_body.clone()).await, 503, "temporarily_unavailable");
    store.fail_audit.store(false, Ordering::SeqCst);
    assert_grant_error(&token(refresh_body.clone()).await, 400, "invalid_grant");
    assert_refused(&pay(access).await, 401, "INVALID_ACCESS_TOKEN");
    let events = payseal_gateway::audit::AuditEvent::read(store.as_ref(), 0, 100).await.unwrap();
    let actions: Vec<AuditAction> = events.iter().map(|(_, e)| e.action).collect();
    assert_eq!(actions, [AuditAction::TokenIssued], "only what was handed out is logged");

    // A store that cannot be read: 503, nothing forwarded, nothing issued.
    let (access, refresh_token) = pair(&token(cc.clone()).await);
    let executions = upstream.executions();
    store.fail_entry.store(true, Ordering::SeqCst);
    let answer = pay(access.clone()).await;
    assert_refused(&answer, 503, "STORE_UNAVAILABLE");
    assert_eq!(upstream.executions(), executions);
    let refresh_body = json!({ "grant_type": "refresh_token", "refresh_token": refresh_token }).to_string();
    assert_grant_error(&token(refresh_body.clone()).await, 503, "temporarily_unavailable");
    store.fail_entry.store(false, Ordering::SeqCst);
    assert_eq!(pay(access).await.status, 201);
    assert_eq!(token(refresh_body).await.status, 200, "a failed read changed nothing");
    running.shutdown().await;
}

/// Ten wrong client secrets lock the client id out: 429 `slow_down` with
/// `Retry-After`, the right secret included, until the back-off ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_client_secrets_lock_the_client_out_until_the_back_off_ends() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&upstream, dir.path(), &json!({}));
    gateway.set_clock(NOW).await;
    let wrong = json!({ "grant_type": "client_credentials", "client_id": "shop", "client_secret": "cs_a_guess" });
    let mut statuses = Vec::new();
    for _ in 0..10 {
        statuses.push(token_json(&gateway, &wrong).await.status);
    }
    assert_eq!(statuses, [[401; 9].as_slice(), &[429]].concat());
    let right = json!({ "grant_type": "client_credentials", "client_id": "shop", "client_secret": CLIENT_SECRET });
    let locked = token_json(&gateway, &right).await;
    assert_grant_error(&locked, 429, "slow_down");
    assert_eq!(locked.headers.get("retry-after").unwrap(), "60");
    assert_eq!(gateway.metric("payseal_auth_failures_total{surface=\"token\"}").await, 10);
    gateway.set_clock(NOW + 61).await;
    assert_eq!(token_json(&gateway, &right).await.status, 200);
}
