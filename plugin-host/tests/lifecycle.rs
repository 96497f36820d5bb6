//! The key lifecycle end to end on the real `payseal` binary: `payseal keys`
//! (a client of the admin API) and the admin API itself, create → use →
//! regenerate (grace, then `rotated_out`) → revoke (`revoked_key`), edits
//! that take effect without a restart, listings and audit events that never
//! hold key material, grace capped by expiry, the merchant renewal endpoint
//! with its refusals, a concurrent burst of 20 renewals, and delivery of a
//! renewed secret to a reception URL that fails twice first.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::too_many_lines)]

mod common;

use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, Version};
use bytes::Bytes;
use common::{Answer, Gateway, Upstream, base_config, send, toml_of};
use http_body_util::{BodyExt as _, Full};
use hyper::service::service_fn;
use payseal_core::Secret;
use payseal_core::signing::dvpay;
use payseal_core::time::format_rfc3339;
use serde_json::{Value, json};

const NOW: u64 = 1_719_500_100;
const STORE_KEY: &str = "8f1c1d0e5b6a79e2c4d3b2a1908f7e6d5c4b3a29180f1e2d3c4b5a6978e0d1c2";
const PAY: &str = "/external/v1/payment/session";
const PASSWORD: &str = "merchant pass&word=1";

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// An Argon2id PHC string with small parameters (the tests run unoptimized).
fn phc(password: &str) -> String {
    let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(1024, 1, 1, None).unwrap());
    argon2.hash_password_with_salt(password.as_bytes(), b"payseal-test-salt").unwrap().to_string()
}

/// The base config plus a lifecycle section; `accounts` are `[[lifecycle.accounts]]` tables.
fn config(upstream: &Upstream, dir: &std::path::Path, store_key: bool, accounts: &[Value], delivery: Option<Value>) -> String {
    let mut text = base_config(upstream.addr, dir, "");
    let mut lifecycle = json!({ "grace_seconds": 600, "accounts": accounts });
    if store_key {
        lifecycle["store_key_env"] = json!("PAYSEAL_TEST_STORE_KEY");
    }
    if let Some(delivery) = delivery {
        lifecycle["delivery"] = delivery;
    }
    text.push_str(&toml_of(&json!({
        "keys": {
            "policy": { "accepted_formats": ["prefixed", "hex64", "base64-secret"], "scope_routes": { "external_api_live": ["/external/v1/"] } },
        },
        "routes": [ { "prefix": "/external/v1/refund", "methods": ["POST"], "signed": true } ],
        "lifecycle": lifecycle,
    })));
    text
}

fn start(dir: &std::path::Path, config: &str) -> Gateway {
    Gateway::start(dir, config, &[("PAYSEAL_TEST_STORE_KEY", STORE_KEY)])
}

/// Runs `payseal keys ARGS --admin … --json`: (success, stdout, stderr).
fn cli(gateway: &Gateway, args: &[&str]) -> (bool, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_payseal"))
        .arg("keys")
        .args(args)
        .arg("--admin")
        .arg(gateway.admin_url(""))
        .arg("--json")
        .env("PAYSEAL_ADMIN_TOKEN", common::ADMIN_TOKEN)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

fn cli_json(gateway: &Gateway, args: &[&str]) -> Value {
    let (ok, stdout, stderr) = cli(gateway, args);
    assert!(ok, "payseal keys {args:?} failed: {stderr}");
    serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

async fn call(gateway: &Gateway, key: &str, path: &str) -> Answer {
    send(&gateway.url(path), "POST", &[("x-api-key", key)], br#"{"amount":1}"#).await
}

/// Asserts `key` is refused on `path` with `reason` (401/403 and the metric).
async fn assert_refused(gateway: &Gateway, key: &str, path: &str, status: u16, reason: &str) {
    let before = gateway.requests("refused", reason).await;
    let answer = call(gateway, key, path).await;
    assert_eq!(answer.status, status, "{}", answer.text());
    assert_eq!(gateway.requests("refused", reason).await, before + 1, "not refused with {reason}: {}", answer.text());
}

async fn admin(gateway: &Gateway, method: &str, path: &str, body: &Value) -> Answer {
    let bytes = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    gateway.admin_send(method, path, &[("content-type", "application/json")], &bytes).await
}

fn actions(audit: &Value) -> Vec<String> {
    audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

fn count(list: &[String], action: &str) -> usize {
    list.iter().filter(|a| *a == action).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_use_regenerate_revoke_through_the_cli() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let gateway = start(dir.path(), &config(&upstream, dir.path(), true, &[], None));
    gateway.set_clock(NOW).await;

    let created = cli_json(&gateway, &["create", "--environment", "live", "--all-routes", "--expires-in", "86400"]);
    let id = created["keyId"].as_str().unwrap().to_owned();
    let key = created["key"].as_str().unwrap().to_owned();
    let client_secret = created["clientSecret"].as_str().expect("the first live key shows the client secret").to_owned();
    assert!(id.starts_with("key_") && key.starts_with("sk_live_") && key.len() == 51, "{created}");
    assert_eq!(created["status"], "ACTIVE");
    assert_eq!(created["environment"], "live");
    assert_eq!(created["createdAt"], format_rfc3339(NOW));
    assert_eq!(created["expirationDate"], format_rfc3339(NOW + 86_400));
    let second = cli_json(&gateway, &["create", "--environment", "live", "--all-routes", "--format", "hex64"]);
    assert!(second.get("clientSecret").is_none(), "a second live key shows no client secret: {second}");
    assert_eq!(second["expirationDate"], Value::Null);
    let test_key = cli_json(&gateway, &["create", "--environment", "test", "--all-routes"]);
    assert!(test_key["clientSecret"].is_string(), "the first test key creates the test client secret");
    assert!(test_key["key"].as_str().unwrap().starts_with("sk_test_"));

    // Use: the key works at once, and the upstream learns its id.
    let answer = call(&gateway, &key, PAY).await;
    assert_eq!((answer.status, answer.json()["key_id"].as_str()), (201, Some(id.as_str())), "{}", answer.text());
    let answer = call(&gateway, second["key"].as_str().unwrap(), PAY).await;
    assert_eq!(answer.status, 201, "a hex64 key works: {}", answer.text());

    // List: every key, never material.
    let (ok, listed_text, _) = cli(&gateway, &["list"]);
    assert!(ok);
    let listed: Value = serde_json::from_str(&listed_text).unwrap();
    assert_eq!(listed.as_array().unwrap().iter().filter(|k| k["source"] == "store").count(), 3, "{listed}");
    let mine = listed.as_array().unwrap().iter().find(|k| k["keyId"] == id.as_str()).unwrap();
    assert_eq!((mine["status"].as_str(), mine["format"].as_str(), mine["createdBy"].as_str()), (Some("ACTIVE"), Some("prefixed"), Some("token:harness")));

    // Regenerate: a new key; the old one works during its grace only.
    let regenerated = cli_json(&gateway, &["regenerate", &id, "--grace", "300"]);
    let new_id = regenerated["keyId"].as_str().unwrap().to_owned();
    let new_key = regenerated["key"].as_str().unwrap().to_owned();
    assert_ne!(new_key, key);
    assert_eq!(regenerated["replaces"], id.as_str());
    assert_eq!(regenerated["replacedKeyUsableUntil"], format_rfc3339(NOW + 300));
    assert_eq!(regenerated["expirationDate"], format_rfc3339(NOW + 86_400), "the old key's lifetime is kept");
    assert_eq!(call(&gateway, &new_key, PAY).await.json()["key_id"], new_id.as_str());
    gateway.set_clock(NOW + 299).await;
    assert_eq!(call(&gateway, &key, PAY).await.status, 201, "the old key works during its grace");
    gateway.set_clock(NOW + 300).await;
    assert_refused(&gateway, &key, PAY, 401, "rotated_out").await;
    assert_eq!(call(&gateway, &new_key, PAY).await.status, 201);
    let (ok, _, stderr) = cli(&gateway, &["regenerate", &id]);
    assert!(!ok && stderr.contains("key_superseded"), "{stderr}");

    // Revoke: permanent, at once.
    let revoked = cli_json(&gateway, &["revoke", &new_id]);
    assert_eq!(revoked["status"], "REVOKED");
    assert_refused(&gateway, &new_key, PAY, 401, "revoked_key").await;
    let (ok, _, stderr) = cli(&gateway, &["revoke", &new_id]);
    assert!(!ok && stderr.contains("key_revoked"), "{stderr}");
    let (ok, _, stderr) = cli(&gateway, &["edit", &new_id, "--allow-ip", "10.0.0.1"]);
    assert!(!ok && stderr.contains("key_revoked"), "{stderr}");
    let (ok, _, stderr) = cli(&gateway, &["revoke", "key_unknown"]);
    assert!(!ok && stderr.contains("key_not_found"), "{stderr}");

    // Rotate the live client secret: shown once, different.
    let rotated = cli_json(&gateway, &["rotate-client-secret", "live"]);
    let rotated_secret = rotated["clientSecret"].as_str().unwrap().to_owned();
    assert_ne!(rotated_secret, client_secret);

    // The audit log: every event, by the CLI, without material.
    let (ok, audit_text, _) = cli(&gateway, &["audit"]);
    assert!(ok);
    let audit: Value = serde_json::from_str(&audit_text).unwrap();
    let actions = actions(&audit);
    assert_eq!(count(&actions, "key_created"), 4, "{actions:?}");
    assert_eq!(count(&actions, "client_secret_created"), 2, "{actions:?}");
    assert_eq!(count(&actions, "key_regenerated"), 1);
    assert_eq!(count(&actions, "key_revoked"), 1);
    assert_eq!(count(&actions, "client_secret_rotated"), 1);
    assert!(audit.as_array().unwrap().iter().all(|e| e["actor"] == "token:harness" && e["sequence"].as_u64().unwrap() > 0));
    let (_, listed_after, _) = cli(&gateway, &["list"]);
    let (_, one, _) = cli(&gateway, &["get", &id]);
    assert_eq!(serde_json::from_str::<Value>(&one).unwrap()["status"], "ROTATED_OUT");
    let materials: [&str; 7] = [&key, &new_key, &client_secret, &rotated_secret, second["key"].as_str().unwrap(), test_key["key"].as_str().unwrap(), test_key["clientSecret"].as_str().unwrap()];
    for text in [&listed_text, &listed_after, &one, &audit_text, &gateway.log()] {
        for material in materials {
            assert!(!text.contains(material), "key material in a listing, the audit log or the log");
        }
        assert!(!text.contains("key_sha256") && !text.contains(&hex_digest(&key)), "a digest was listed");
    }
}

fn hex_digest(key: &str) -> String {
    serde_json::to_value(payseal_core::keys::KeyRecord::new("x", key, payseal_core::Environment::Live)).unwrap()["key_sha256"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edits_take_effect_without_restart_and_grace_never_outlives_expiry() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let gateway = start(dir.path(), &config(&upstream, dir.path(), true, &[], None));
    gateway.set_clock(NOW).await;
    let created = admin(&gateway, "POST", "/lifecycle/keys", &json!({ "environment": "live", "allowedIps": ["127.0.0.1"], "webcode": "SHOP01" })).await;
    assert_eq!(created.status, 201, "{}", created.text());
    assert_eq!(created.headers.get("cache-control").unwrap(), "no-store");
    let created = created.json();
    let (id, key) = (created["keyId"].as_str().unwrap(), created["key"].as_str().unwrap());
    assert_eq!(call(&gateway, key, PAY).await.status, 201, "allowed from 127.0.0.1");

    let edited = admin(&gateway, "PATCH", &format!("/lifecycle/keys/{id}"), &json!({ "allowedIps": ["198.51.100.0/24"] })).await;
    assert_eq!(edited.status, 200, "{}", edited.text());
    assert_eq!(edited.json()["allowedIps"], json!(["198.51.100.0/24"]));
    assert_refused(&gateway, key, PAY, 403, "ip_not_allowed").await;
    let edited = admin(&gateway, "PATCH", &format!("/lifecycle/keys/{id}"), &json!({ "allowedIps": [], "scopes": ["external_api_live"] })).await;
    assert_eq!(edited.status, 200, "{}", edited.text());
    assert_eq!(call(&gateway, key, PAY).await.status, 201, "the allow-list is lifted");
    assert_refused(&gateway, key, "/external/v10/payment", 403, "scope_denied").await;
    let bad = admin(&gateway, "PATCH", &format!("/lifecycle/keys/{id}"), &json!({ "allowedIps": ["300.1.1.1"] })).await;
    assert_eq!((bad.status, bad.json()["code"].as_str()), (400, Some("invalid_request")), "{}", bad.text());
    let bad = admin(&gateway, "POST", "/lifecycle/keys", &json!({ "environment": "staging" })).await;
    assert_eq!(bad.status, 400, "{}", bad.text());
    assert!(!bad.text().contains("staging"), "errors do not echo values");

    // Grace capped by expiry: a 1000 s grace on a key expiring in 100 s.
    let short = admin(&gateway, "POST", "/lifecycle/keys", &json!({ "environment": "live", "expiresInSeconds": 100 })).await.json();
    let (short_id, short_key) = (short["keyId"].as_str().unwrap(), short["key"].as_str().unwrap());
    let next = admin(&gateway, "POST", &format!("/lifecycle/keys/{short_id}/regenerate"), &json!({ "graceSeconds": 1000, "expiresInSeconds": 5000 })).await;
    assert_eq!(next.status, 201, "{}", next.text());
    let next = next.json();
    assert_eq!(next["replacedKeyUsableUntil"], format_rfc3339(NOW + 100));
    gateway.set_clock(NOW + 99).await;
    assert_eq!(call(&gateway, short_key, PAY).await.status, 201);
    gateway.set_clock(NOW + 100).await;
    assert_refused(&gateway, short_key, PAY, 401, "expired_key").await;
    assert_eq!(call(&gateway, next["key"].as_str().unwrap(), PAY).await.status, 201);
    let listed = admin(&gateway, "GET", "/lifecycle/keys", &Value::Null).await;
    let old = listed.json().as_array().unwrap().iter().find(|k| k["keyId"] == short_id).unwrap().clone();
    assert_eq!((old["status"].as_str(), old["usableUntil"].as_str()), (Some("EXPIRED"), Some(format_rfc3339(NOW + 100).as_str())));

    // A base64-secret key: its secret is stored sealed, never in the clear.
    let shared = admin(&gateway, "POST", "/lifecycle/keys", &json!({ "environment": "live", "format": "base64-secret" })).await.json();
    let secret = shared["key"].as_str().unwrap();
    assert_eq!(secret.len(), 44, "{shared}");
    assert_eq!(call(&gateway, secret, PAY).await.status, 201);
    // … and verifies DVPay signed routes without a restart; a key without a
    // stored secret fails closed there.
    let refund = r#"{"orderId":1,"refundAmount":2}"#;
    let sign = |key: &str, secret: &str| {
        let signed = dvpay::Signer::new(key, &Secret::from_text(secret)).sign(refund.as_bytes(), NOW + 100, "refund-1").unwrap();
        signed.headers.into_iter().filter(|(_, v)| !v.is_empty()).map(|(n, v)| (n.to_owned(), v)).collect::<Vec<_>>()
    };
    let headers = sign(secret, secret);
    let refs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let answer = send(&gateway.url("/external/v1/refund"), "POST", &refs, refund.as_bytes()).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let next_key = next["key"].as_str().unwrap();
    let headers = sign(next_key, secret);
    let refs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    let answer = send(&gateway.url("/external/v1/refund"), "POST", &refs, refund.as_bytes()).await;
    assert_eq!((answer.status, answer.json()["code"].as_str()), (500, Some("CONFIGURATION_ERROR")), "{}", answer.text());
    let audit = admin(&gateway, "GET", "/lifecycle/audit", &Value::Null).await.json();
    assert!(actions(&audit).contains(&"key_edited".to_owned()));
    assert!(audit.as_array().unwrap().iter().all(|e| e["actor"] == "token:harness"));
    drop(gateway);
    let store = std::fs::read(dir.path().join("store.redb")).unwrap();
    for material in [key, short_key, secret] {
        assert!(!store.windows(material.len()).any(|w| w == material.as_bytes()), "key material in the store file");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creating_needs_a_store_key() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let gateway = start(dir.path(), &config(&upstream, dir.path(), false, &[], None));
    let answer = admin(&gateway, "POST", "/lifecycle/keys", &json!({ "environment": "live" })).await;
    assert_eq!((answer.status, answer.json()["code"].as_str()), (500, Some("store_key_missing")), "{}", answer.text());
    assert!(answer.json()["message"].as_str().unwrap().contains("lifecycle.store_key_env"));
    assert_eq!(admin(&gateway, "GET", "/lifecycle/keys", &Value::Null).await.json(), json!([]), "nothing was kept");
    assert_eq!(admin(&gateway, "GET", "/lifecycle/audit", &Value::Null).await.json(), json!([]));
    let (ok, _, stderr) = cli(&gateway, &["rotate-client-secret", "live"]);
    assert!(!ok && stderr.contains("store_key_missing"), "{stderr}");
    // A store key named but not set: the gateway does not start.
    let path = dir.path().join("named.toml");
    std::fs::write(&path, config(&upstream, dir.path(), true, &[], None).replace("store.redb", "named.redb")).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_payseal")).arg("check-config").arg("--config").arg(&path).env_remove("PAYSEAL_TEST_STORE_KEY").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("PAYSEAL_TEST_STORE_KEY is not set"), "{stderr}");
    let output = Command::new(env!("CARGO_BIN_EXE_payseal")).arg("check-config").arg("--config").arg(&path).env("PAYSEAL_TEST_STORE_KEY", "short").output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success() && stderr.contains("must hold 32 bytes") && !stderr.contains("short"), "{stderr}");
}

fn account(code_url: &str, code: &str, active: bool, extra: &Value) -> Value {
    let mut account = json!({
        "code_url": code_url,
        "operation_account_code": code,
        "password_argon2": phc(PASSWORD),
        "environment": "live",
        "active": active,
        "secret_lifetime_seconds": 3600,
        "min_interval_seconds": 60,
        "grace_seconds": 120,
    });
    for (name, value) in extra.as_object().unwrap() {
        account[name] = value.clone();
    }
    account
}

fn form(code: &str, password: &str) -> String {
    let encode = |s: &str| s.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect::<String>();
    format!("accountOperationCode={}&password={}", encode(code), encode(password))
}

async fn renew(gateway: &Gateway, code_url: &str, body: &str) -> Answer {
    send(&gateway.url(&format!("/{code_url}/renew-secret")), "POST", &[("content-type", "application/x-www-form-urlencoded")], body.as_bytes()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn renewal_endpoint_refusals_rate_limit_and_grace() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let accounts = [account("RCV001", "ACC_PROD_001", true, &json!({})), account("RCV002", "ACC_OFF_002", false, &json!({}))];
    let gateway = start(dir.path(), &config(&upstream, dir.path(), true, &accounts, None));
    gateway.set_clock(NOW).await;
    let good = form("ACC_PROD_001", PASSWORD);
    let refused = |answer: &Answer, status: u16, code: &str| {
        assert_eq!((answer.status, answer.json()["code"].as_str()), (status, Some(code)), "{}", answer.text());
        assert_eq!(answer.json()["status"], status);
    };
    refused(&renew(&gateway, "NOPE", &good).await, 400, "INVALID_SECRET_KEY_RECEPTION_URL_CODE");
    refused(&renew(&gateway, "RCV001", "accountOperationCode=ACC_PROD_001").await, 400, "INVALID_REQUEST");
    refused(&renew(&gateway, "RCV001", &form("ACC_PROD_001", "wrong")).await, 401, "AUTHENTICATION_FAILED");
    refused(&renew(&gateway, "RCV001", &form("ACC_OTHER", PASSWORD)).await, 401, "AUTHENTICATION_FAILED");
    refused(&renew(&gateway, "RCV002", &form("ACC_OFF_002", PASSWORD)).await, 403, "SECRET_KEY_RECEPTION_URL_NOT_ACTIVE");
    refused(&renew(&gateway, "RCV002", &form("ACC_OFF_002", "wrong")).await, 401, "AUTHENTICATION_FAILED");

    let first = renew(&gateway, "RCV001", &good).await;
    assert_eq!(first.status, 200, "{}", first.text());
    let first = first.json();
    assert_eq!((first["operation_account_code"].as_str(), first["expires_in"].as_u64()), (Some("ACC_PROD_001"), Some(3600)));
    let secret1 = first["secret"].as_str().unwrap().to_owned();
    assert!(secret1.starts_with("sk_live_"));
    assert_eq!(call(&gateway, &secret1, PAY).await.status, 201, "the renewed secret works at once");

    let limited = renew(&gateway, "RCV001", &good).await;
    refused(&limited, 429, "TOO_MANY_REQUESTS");
    assert_eq!(limited.headers.get("retry-after").unwrap(), "60");
    gateway.set_clock(NOW + 45).await;
    assert_eq!(renew(&gateway, "RCV001", &good).await.headers.get("retry-after").unwrap(), "15");

    gateway.set_clock(NOW + 60).await;
    let second = renew(&gateway, "RCV001", &good).await;
    assert_eq!(second.status, 200, "{}", second.text());
    let secret2 = second.json()["secret"].as_str().unwrap().to_owned();
    assert_ne!(secret1, secret2);
    gateway.set_clock(NOW + 60 + 119).await;
    assert_eq!(call(&gateway, &secret1, PAY).await.status, 201, "the earlier secret works during its grace");
    gateway.set_clock(NOW + 60 + 120).await;
    assert_refused(&gateway, &secret1, PAY, 401, "rotated_out").await;
    assert_eq!(call(&gateway, &secret2, PAY).await.status, 201);
    // An operator regenerates the account's current key: the regenerated
    // key becomes the account's, and the next renewal supersedes it.
    let current = admin(&gateway, "GET", "/lifecycle/keys", &Value::Null).await.json();
    let current_id = current.as_array().unwrap().iter().find(|k| k["status"] == "ACTIVE").unwrap()["keyId"].as_str().unwrap().to_owned();
    let regenerated = admin(&gateway, "POST", &format!("/lifecycle/keys/{current_id}/regenerate"), &json!({ "graceSeconds": 0 })).await;
    assert_eq!(regenerated.status, 201, "{}", regenerated.text());
    let regenerated = regenerated.json();
    assert_eq!(regenerated["expirationDate"], format_rfc3339(NOW + 180 + 3600), "the renewed lifetime is kept");
    let operator_key = regenerated["key"].as_str().unwrap().to_owned();
    assert_refused(&gateway, &secret2, PAY, 401, "rotated_out").await;
    gateway.set_clock(NOW + 240).await;
    let third = renew(&gateway, "RCV001", &good).await;
    assert_eq!(third.status, 200, "{}", third.text());
    let secret3 = third.json()["secret"].as_str().unwrap().to_owned();
    gateway.set_clock(NOW + 240 + 120).await;
    assert_refused(&gateway, &operator_key, PAY, 401, "rotated_out").await;
    assert_eq!(call(&gateway, &secret3, PAY).await.status, 201);
    gateway.set_clock(NOW + 240 + 3600).await;
    assert_refused(&gateway, &secret3, PAY, 401, "expired_key").await;

    let listed = admin(&gateway, "GET", "/lifecycle/keys", &Value::Null).await;
    let audit = admin(&gateway, "GET", "/lifecycle/audit", &Value::Null).await;
    let keys = listed.json();
    assert_eq!(keys.as_array().unwrap().len(), 4);
    assert!(keys.as_array().unwrap().iter().all(|k| k["account"] == "ACC_PROD_001"));
    let audit_actions = actions(&audit.json());
    assert_eq!(count(&audit_actions, "secret_renewed"), 3, "{audit_actions:?}");
    let details: Vec<String> = audit.json().as_array().unwrap().iter().filter_map(|e| e["detail"].as_str().map(str::to_owned)).collect();
    for reason in ["reception_url_not_active", "renewal_rate_limited"] {
        assert!(details.iter().any(|d| d == reason), "{reason} not audited: {details:?}");
    }
    // A wrong password is counted by the throttle, which audits lock-outs,
    // not each failure (the log stays bounded under a guessing attack).
    assert!(!details.iter().any(|d| d == "authentication_failed"), "a failed password was audited: {details:?}");
    for text in [listed.text(), audit.text(), gateway.log()] {
        for material in [&secret1, &secret2, &secret3, &operator_key, &PASSWORD.to_owned()] {
            assert!(!text.contains(material.as_str()), "key material or a password in a listing, the audit log or the log");
        }
    }
}

/// An unknown `codeUrl` does the Argon2id work of a wrong password (against
/// a dummy hash) but keeps its documented answer; a known one with a wrong
/// password or account code keeps its 401. Timing is measured by
/// `scripts/bench-renewal-timing.sh`, not asserted here.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_code_url_and_a_wrong_password_keep_their_documented_answers() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let accounts = [account("RCV001", "ACC_PROD_001", true, &json!({}))];
    let gateway = start(dir.path(), &config(&upstream, dir.path(), true, &accounts, None));
    gateway.set_clock(NOW).await;
    let refused = |answer: &Answer, status: u16, code: &str| {
        assert_eq!((answer.status, answer.json()["code"].as_str()), (status, Some(code)), "{}", answer.text());
        assert_eq!(answer.json()["status"], status);
        assert!(answer.headers.get("retry-after").is_none());
        assert!(!answer.text().contains("RCV001") && !answer.text().contains("ACC_PROD_001"), "{}", answer.text());
    };
    // Unknown code URL: with the right, a wrong or no password, and with a malformed form.
    for body in [form("ACC_PROD_001", PASSWORD), form("ACC_PROD_001", "wrong"), form("ACC_UNKNOWN", "wrong"), "accountOperationCode=ACC_PROD_001".to_owned(), String::new()] {
        refused(&renew(&gateway, "RCV999", &body).await, 400, "INVALID_SECRET_KEY_RECEPTION_URL_CODE");
    }
    // Known code URL: a wrong password and an unknown account answer alike.
    refused(&renew(&gateway, "RCV001", &form("ACC_PROD_001", "wrong")).await, 401, "AUTHENTICATION_FAILED");
    refused(&renew(&gateway, "RCV001", &form("ACC_UNKNOWN", PASSWORD)).await, 401, "AUTHENTICATION_FAILED");
    // The dummy verification never renews anything; the account still can.
    let renewed = renew(&gateway, "RCV001", &form("ACC_PROD_001", PASSWORD)).await;
    assert_eq!(renewed.status, 200, "{}", renewed.text());
    let audit = admin(&gateway, "GET", "/lifecycle/audit", &Value::Null).await;
    let audit_actions = actions(&audit.json());
    assert_eq!(count(&audit_actions, "secret_renewed"), 1, "{audit_actions:?}");
    for text in [audit.text(), gateway.log()] {
        assert!(!text.contains(PASSWORD), "a password in the audit log or the log");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_20_renewals_has_one_winner() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let gateway = Arc::new(start(dir.path(), &config(&upstream, dir.path(), true, &[account("RCV001", "ACC_PROD_001", true, &json!({}))], None)));
    gateway.set_clock(NOW).await;
    let good = form("ACC_PROD_001", PASSWORD);
    let before = renew(&gateway, "RCV001", &good).await;
    assert_eq!(before.status, 200, "{}", before.text());
    let previous = before.json()["secret"].as_str().unwrap().to_owned();
    gateway.set_clock(NOW + 600).await;

    let burst: Vec<_> = (0..20)
        .map(|_| {
            let gateway = Arc::clone(&gateway);
            let good = good.clone();
            tokio::spawn(async move { renew(&gateway, "RCV001", &good).await })
        })
        .collect();
    let mut answers = Vec::new();
    for task in burst {
        answers.push(task.await.unwrap());
    }
    let winners: Vec<&Answer> = answers.iter().filter(|a| a.status == 200).collect();
    assert_eq!(winners.len(), 1, "statuses: {:?}", answers.iter().map(|a| a.status).collect::<Vec<_>>());
    assert_eq!(answers.iter().filter(|a| a.status == 429 && a.headers.get("retry-after").is_some_and(|v| v == "60")).count(), 19);
    let winner = winners[0].json()["secret"].as_str().unwrap().to_owned();

    // Consistent state: one current key for the account, the previous one in its grace.
    let keys = admin(&gateway, "GET", "/lifecycle/keys", &Value::Null).await.json();
    let statuses: Vec<&str> = keys.as_array().unwrap().iter().map(|k| k["status"].as_str().unwrap()).collect();
    assert_eq!(keys.as_array().unwrap().len(), 2, "{keys}");
    assert_eq!((statuses.iter().filter(|s| **s == "ACTIVE").count(), statuses.iter().filter(|s| **s == "SUPERSEDED").count()), (1, 1), "{statuses:?}");
    assert_eq!(call(&gateway, &winner, PAY).await.status, 201);
    assert_eq!(call(&gateway, &previous, PAY).await.status, 201, "the previous secret is in its grace");
    gateway.set_clock(NOW + 600 + 120).await;
    assert_refused(&gateway, &previous, PAY, 401, "rotated_out").await;
    let audit = actions(&admin(&gateway, "GET", "/lifecycle/audit", &Value::Null).await.json());
    assert_eq!((count(&audit, "secret_renewed"), count(&audit, "renewal_refused")), (2, 19), "{audit:?}");
}

/// A reception URL that answers 500 to its first two requests, then 200.
/// An HTTPS reception URL (`cert`, `key`) that answers 500 twice, then 200.
async fn flaky_receiver(cert: &std::path::Path, key: &std::path::Path) -> (std::net::SocketAddr, Arc<Mutex<Vec<Bytes>>>) {
    let tls = common::tls::listener(cert, key);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received: Arc<Mutex<Vec<Bytes>>> = Arc::default();
    let seen = Arc::clone(&received);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let (seen, acceptor) = (Arc::clone(&seen), tls.acceptor());
            tokio::spawn(async move {
                let Ok(stream) = acceptor.accept(stream).await else { return };
                let service = service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let seen = Arc::clone(&seen);
                    async move {
                        let body = request.into_body().collect().await.map(http_body_util::Collected::to_bytes).unwrap_or_default();
                        let n = {
                            let mut seen = seen.lock().unwrap();
                            seen.push(body);
                            seen.len()
                        };
                        let mut response = hyper::Response::new(Full::new(Bytes::from_static(b"{}")));
                        *response.status_mut() = if n <= 2 { hyper::StatusCode::INTERNAL_SERVER_ERROR } else { hyper::StatusCode::OK };
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
                let builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
                let _ = builder.serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
            });
        }
    });
    (addr, received)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_renewed_secret_is_delivered_until_the_reception_url_answers_200() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    // The merchant's HTTPS receiver, its certificate from a CA the test makes.
    let pki = common::tls::Pki::new(dir.path(), "merchant");
    let (cert, key) = pki.server("receiver");
    let (reception, received) = flaky_receiver(&cert, &key).await;
    let url = format!("https://localhost:{}/secret", reception.port());
    let accounts = [account("RCV001", "ACC_PROD_001", true, &json!({ "reception_url": url, "format": "base64-secret" }))];
    let delivery = json!({ "attempts": 5, "initial_backoff_ms": 50, "max_backoff_ms": 200, "tls": { "ca_file": pki.ca(), "only_ca_file": true } });
    let gateway = start(dir.path(), &config(&upstream, dir.path(), true, &accounts, Some(delivery)));
    gateway.set_clock(NOW).await;
    let answer = renew(&gateway, "RCV001", &form("ACC_PROD_001", PASSWORD)).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    let secret = answer.json()["secret"].as_str().unwrap().to_owned();
    assert_eq!(secret.len(), 44);
    let mut delivered = None;
    for _ in 0..200 {
        let audit = admin(&gateway, "GET", "/lifecycle/audit", &Value::Null).await.json();
        if let Some(event) = audit.as_array().unwrap().iter().find(|e| e["action"] == "secret_delivered") {
            delivered = Some(event.clone());
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let delivered = delivered.unwrap_or_else(|| panic!("the secret was not delivered within 10 s; the log:\n{}", gateway.log()));
    assert_eq!(delivered["detail"], "attempts=3");
    let bodies = received.lock().unwrap().clone();
    assert_eq!(bodies.len(), 3, "two failures, then 200, then no more attempts");
    for body in &bodies {
        let json: Value = serde_json::from_slice(body).unwrap();
        assert_eq!((json["operation_account_code"].as_str(), json["secret"].as_str(), json["expires_in"].as_u64()), (Some("ACC_PROD_001"), Some(secret.as_str()), Some(3600)));
    }
    let audit = admin(&gateway, "GET", "/lifecycle/audit", &Value::Null).await.text();
    assert!(!audit.contains(&secret) && !gateway.log().contains(&secret), "the secret in the audit log or the log");
    // An http:// reception URL is refused unless the configuration says it
    // is a test.
    let plain = [account("RCV001", "ACC_PROD_001", true, &json!({ "reception_url": "http://127.0.0.1:9/secret" }))];
    let error = payseal_gateway::config::FileConfig::parse(&config(&upstream, dir.path(), true, &plain, None)).unwrap_err().to_string();
    assert!(error.contains("reception_url: must be https://"), "{error}");
    let allowed = json!({ "allow_insecure_delivery": true });
    assert!(payseal_gateway::config::FileConfig::parse(&config(&upstream, dir.path(), true, &plain, Some(allowed))).is_ok());
}

#[test]
fn hash_password_prints_an_argon2id_phc_string() {
    use std::io::Write as _;
    let mut child = Command::new(env!("CARGO_BIN_EXE_payseal"))
        .args(["keys", "hash-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"correct horse\n").unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let phc = String::from_utf8(output.stdout).unwrap();
    let parsed = argon2::PasswordHash::new(phc.trim()).unwrap();
    assert_eq!(parsed.algorithm, argon2::ARGON2ID_IDENT);
    assert!(!phc.contains("correct horse"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_rate_limit_duplicate_renewals_leave_the_last_key_current() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let accounts = [account("RCV001", "ACC_PROD_001", true, &json!({ "min_interval_seconds": 0 }))];
    let gateway = Arc::new(start(dir.path(), &config(&upstream, dir.path(), true, &accounts, None)));
    gateway.set_clock(NOW).await;
    let good = form("ACC_PROD_001", PASSWORD);
    let tasks: Vec<_> = (0..5)
        .map(|_| {
            let gateway = Arc::clone(&gateway);
            let good = good.clone();
            tokio::spawn(async move { renew(&gateway, "RCV001", &good).await })
        })
        .collect();
    let mut secrets = Vec::new();
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer.status, 200, "{}", answer.text());
        secrets.push(answer.json()["secret"].as_str().unwrap().to_owned());
    }
    let keys = admin(&gateway, "GET", "/lifecycle/keys", &Value::Null).await.json();
    let keys = keys.as_array().unwrap();
    assert_eq!(keys.len(), 5);
    let active: Vec<&Value> = keys.iter().filter(|k| k["status"] == "ACTIVE").collect();
    assert_eq!(active.len(), 1, "exactly one current key: {keys:?}");
    for secret in &secrets {
        assert_eq!(call(&gateway, secret, PAY).await.status, 201, "every earlier secret keeps its grace");
    }
    gateway.set_clock(NOW + 120).await;
    let mut working = Vec::new();
    for secret in &secrets {
        let answer = call(&gateway, secret, PAY).await;
        if answer.status == 201 {
            working.push(answer.json()["key_id"].as_str().unwrap().to_owned());
        }
    }
    assert_eq!(working, [active[0]["keyId"].as_str().unwrap()], "after the grace only the last key works");
}

/// Twenty wrong passwords lock the `codeUrl` out (429 `TOO_MANY_REQUESTS`
/// with `Retry-After`) while another account still renews from the same
/// address; the right password gets 429 too while locked out; after the
/// back-off it works; the next lock-out is twice as long. One audit event
/// per lock-out, none per failure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_lock_the_account_out_while_another_renews() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let accounts = [account("RCV001", "ACC_PROD_001", true, &json!({})), account("RCV003", "ACC_PROD_003", true, &json!({}))];
    let gateway = start(dir.path(), &config(&upstream, dir.path(), true, &accounts, None));
    gateway.set_clock(NOW).await;
    let retry_after = |answer: &Answer| answer.headers.get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let wrong = form("ACC_PROD_001", "a guess");
    let mut statuses = Vec::new();
    let mut last = None;
    for _ in 0..20 {
        let answer = renew(&gateway, "RCV001", &wrong).await;
        statuses.push(answer.status);
        last = Some(answer);
    }
    assert_eq!(statuses, [[401; 9].as_slice(), &[429; 11]].concat(), "the tenth failure locks the account");
    let locked_out = last.take().unwrap();
    assert_eq!((locked_out.json()["code"].as_str(), retry_after(&locked_out)), (Some("TOO_MANY_REQUESTS"), Some(60)), "{}", locked_out.text());
    let good = form("ACC_PROD_001", PASSWORD);
    let locked = renew(&gateway, "RCV001", &good).await;
    assert_eq!(locked.status, 429, "a locked-out client learns nothing of its guess: {}", locked.text());
    let other = renew(&gateway, "RCV003", &form("ACC_PROD_003", PASSWORD)).await;
    assert_eq!(other.status, 200, "another account is not locked out: {}", other.text());
    gateway.set_clock(NOW + 61).await;
    let after = renew(&gateway, "RCV001", &good).await;
    assert_eq!(after.status, 200, "after the back-off: {}", after.text());
    // A second lock-out doubles.
    for _ in 0..10 {
        last = Some(renew(&gateway, "RCV001", &wrong).await);
    }
    assert_eq!(retry_after(last.as_ref().unwrap()), Some(120));
    assert_eq!(gateway.metric("payseal_auth_failures_total{surface=\"renewal\"}").await, 20);
    assert_eq!(gateway.metric("payseal_throttled_total{surface=\"renewal\"}").await, 13);
    let audit = admin(&gateway, "GET", "/lifecycle/audit", &Value::Null).await.json();
    let actions = actions(&audit);
    assert_eq!(count(&actions, "locked_out"), 2, "{actions:?}");
    assert_eq!(count(&actions, "renewal_refused"), 0, "a failed password was audited: {actions:?}");
    let subjects: Vec<&str> = audit.as_array().unwrap().iter().filter(|e| e["action"] == "locked_out").filter_map(|e| e["subject"].as_str()).collect();
    assert_eq!(subjects, ["throttle:renewal:RCV001"; 2]);
}
