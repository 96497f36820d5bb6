//! The gateway end to end: the real `payseal` binary, a real upstream on
//! loopback, requests over HTTP. Every `keys.md` row, every
//! `idempotency.md` row, the public `keys` and `idempotency` vectors (read
//! from `tests/vectors/` at run time), 64 concurrent requests with one
//! idempotency key, byte-for-byte replay, limits and timeouts, fail-closed
//! plugin failures, trusted proxies, hot reload, and a SIGKILL crash test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::too_many_lines, clippy::type_complexity, clippy::similar_names)]

mod common;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use common::{Answer, Gateway, Upstream, base_config, record, send, toml_of};
use payseal_core::Secret;
use payseal_core::signing::dvpay;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const NOW: u64 = 1_719_500_100;
const LIVE_KEY: &str = "sk_live_GatewayLiveKey000000000000000";
const TEST_KEY: &str = "sk_test_GatewayTestKey000000000000000";
const SECRET: &str = "gateway-test-dvpay-secret";

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn signed_headers(key: &str, body: &str, now: u64, idempotency_key: Option<&str>) -> Vec<(String, String)> {
    let signer = dvpay::Signer::new(key, &Secret::from_text(SECRET));
    let signed = signer.sign(body.as_bytes(), now, idempotency_key.unwrap_or("")).unwrap();
    signed.headers.into_iter().filter(|(_, v)| !v.is_empty()).map(|(n, v)| (n.to_owned(), v)).collect()
}

fn refs(headers: &[(String, String)]) -> Vec<(&str, &str)> {
    headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect()
}

/// The gateway of most tests: a live and a test key, a signed refund route.
fn standard_config(upstream: &Upstream, dir: &std::path::Path, server_extra: &str) -> String {
    let mut config = base_config(upstream.addr, dir, server_extra);
    config.push_str(&toml_of(&json!({
        "keys": {
            "webcode_header": "x-webcode",
            "policy": { "accepted_formats": ["prefixed"], "scope_routes": { "external_api_live": ["/external/v1/"] } },
            "records": [
                record("k_live", LIVE_KEY, "live"),
                record("k_test", TEST_KEY, "test"),
            ],
        },
        "routes": [ { "prefix": "/external/v1/refund", "methods": ["POST"], "signed": true } ],
        "signed_requests": { "keys": [ { "key_id": "k_live", "secret_env": "PAYSEAL_TEST_SECRET" } ] },
    })));
    config
}

fn start_standard(upstream: &Upstream, dir: &std::path::Path, server_extra: &str) -> Gateway {
    Gateway::start(dir, &standard_config(upstream, dir, server_extra), &[("PAYSEAL_TEST_SECRET", SECRET)])
}

// ---------------------------------------------------------------------------
// keys.md, row by row

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_keys_md_row_over_http() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let mut config = base_config(upstream.addr, dir.path(), "");
    let mut rotated = payseal_core::keys::KeyRecord::new("k_old", "sk_live_Rotated00000000000000000000", payseal_core::Environment::Live);
    rotated.superseded_at = Some(NOW - 1000);
    rotated.grace_seconds = 300;
    let mut revoked = record("k_revoked", "sk_live_Revoked00000000000000000000", "live");
    revoked["status"] = json!("revoked");
    let mut expired = record("k_expired", "sk_live_Expired00000000000000000000", "live");
    expired["expires_at"] = json!(NOW);
    let mut future = record("k_future", "sk_live_Future000000000000000000000", "live");
    future["not_before"] = json!(NOW + 100);
    let mut ip = record("k_ip", "sk_live_IpBound00000000000000000000", "live");
    ip["allowed_ips"] = json!(["198.51.100.0/24"]);
    let mut live = record("k_live", LIVE_KEY, "live");
    live["scopes"] = json!(["external_api_live"]);
    live["webcode"] = json!("SHOP01");
    config.push_str(&toml_of(&json!({
        "keys": {
            "webcode_header": "x-webcode",
            "policy": { "accepted_formats": ["prefixed"], "scope_routes": { "external_api_live": ["/external/v1/"] } },
            "records": [live, record("k_test", TEST_KEY, "test"), revoked, expired, future, serde_json::to_value(&rotated).unwrap(), ip,
                        record("k_nosecret", "sk_live_NoSecret0000000000000000000", "live")],
        },
        "routes": [ { "prefix": "/external/v1/refund", "methods": ["POST"], "signed": true } ],
        "signed_requests": { "keys": [ { "key_id": "k_live", "secret_env": "PAYSEAL_TEST_SECRET" } ] },
    })));
    let gateway = Gateway::start(dir.path(), &config, &[("PAYSEAL_TEST_SECRET", SECRET)]);
    gateway.set_clock(NOW).await;
    let pay = "/external/v1/payment/session";
    let body = r#"{"amount":1}"#;
    let refund_body = r#"{"orderId":1,"refundAmount":2}"#;
    let with_key = |key: &str| vec![("x-api-key".to_owned(), key.to_owned())];
    // (row, path, headers, body, status, code, reason)
    let mut rows: Vec<(&str, &str, Vec<(String, String)>, &str, u16, &str, &str)> = vec![
        ("1 key header present", pay, vec![], body, 401, "AUTHENTICATION_FAILED", "missing_key"),
        ("2 key matches its format", pay, with_key(&format!("Bearer {LIVE_KEY}")), body, 401, "AUTHENTICATION_FAILED", "malformed_key"),
        ("3 digest is known", pay, with_key("sk_live_Unknown00000000000000000000"), body, 401, "AUTHENTICATION_FAILED", "unknown_key"),
        ("4 status is active", pay, with_key("sk_live_Revoked00000000000000000000"), body, 401, "AUTHENTICATION_FAILED", "revoked_key"),
        ("5 not_before <= now", pay, with_key("sk_live_Future000000000000000000000"), body, 401, "AUTHENTICATION_FAILED", "not_yet_valid"),
        ("5 now < expires_at", pay, with_key("sk_live_Expired00000000000000000000"), body, 401, "AUTHENTICATION_FAILED", "expired_key"),
        ("6 not superseded past its grace", pay, with_key("sk_live_Rotated00000000000000000000"), body, 401, "AUTHENTICATION_FAILED", "rotated_out"),
        ("7 route environment", "/external/v1/test/payment", with_key(LIVE_KEY), body, 403, "SCOPE_DENIED", "environment_mismatch"),
        ("7 a test key never reaches a live route", pay, with_key(TEST_KEY), body, 403, "SCOPE_DENIED", "environment_mismatch"),
        ("7 nor a signed live route", "/external/v1/refund", with_key(TEST_KEY), refund_body, 403, "SCOPE_DENIED", "environment_mismatch"),
        ("8 route in the key's scopes", "/external/v10/payment", with_key(LIVE_KEY), body, 403, "SCOPE_DENIED", "scope_denied"),
        ("9 client IP allowed", pay, with_key("sk_live_IpBound00000000000000000000"), body, 403, "IP_NOT_ALLOWED", "ip_not_allowed"),
    ];
    let mut webcode = with_key(LIVE_KEY);
    webcode.push(("x-webcode".into(), "SHOP02".into()));
    rows.push(("10 webcode", pay, webcode, body, 403, "WEBCODE_MISMATCH", "webcode_mismatch"));
    let refund = "/external/v1/refund";
    let mut unsigned = with_key(LIVE_KEY);
    unsigned.push(("x-idempotent-key".into(), "r-0".into()));
    rows.push(("signed: missing signature", refund, unsigned, refund_body, 401, "AUTHENTICATION_FAILED", "missing_signature"));
    rows.push(("signed: stale timestamp", refund, signed_headers(LIVE_KEY, refund_body, NOW - 1000, Some("r-1")), refund_body, 401, "AUTHENTICATION_FAILED", "stale_timestamp"));
    rows.push(("signed: wrong signature", refund, signed_headers(LIVE_KEY, r#"{"orderId":1,"refundAmount":999}"#, NOW, Some("r-2")), refund_body, 401, "AUTHENTICATION_FAILED", "bad_signature"));
    rows.push(("signed: missing idempotency key", refund, signed_headers(LIVE_KEY, refund_body, NOW, None), refund_body, 400, "INVALID_REQUEST", "missing_idempotency_key"));
    let mut nosecret = signed_headers("sk_live_NoSecret0000000000000000000", refund_body, NOW, Some("r-3"));
    nosecret.retain(|(n, _)| n != "X-Api-Key");
    nosecret.push(("x-api-key".into(), "sk_live_NoSecret0000000000000000000".into()));
    rows.push(("signed: no secret configured for the key", refund, nosecret, refund_body, 500, "CONFIGURATION_ERROR", "invalid_secret"));

    let mut failures = Vec::new();
    for (row, path, headers, body, status, code, reason) in &rows {
        let before = gateway.requests("refused", reason).await;
        let executions = upstream.executions();
        let answer = send(&gateway.url(path), "POST", &refs(headers), body.as_bytes()).await;
        let after = gateway.requests("refused", reason).await;
        let json = answer.json();
        let ok = answer.status == *status
            && json["status"] == json!(status)
            && json["code"] == *code
            && answer.text().starts_with(&format!("{{\"status\":{status},\"code\":\"{code}\",\"message\":"))
            && after == before + 1
            && upstream.executions() == executions;
        if !ok {
            failures.push(format!("{row}: {} {} (reason count {before} -> {after})", answer.status, answer.text()));
        }
    }
    // Allowed, plain and signed; the upstream learns the key id, not the key.
    let mut allowed = with_key(LIVE_KEY);
    allowed.push(("x-webcode".into(), "SHOP01".into()));
    let answer = send(&gateway.url(pay), "POST", &refs(&allowed), body.as_bytes()).await;
    assert_eq!((answer.status, answer.json()["key_id"].as_str()), (201, Some("k_live")), "{}", answer.text());
    let seen = upstream.last_headers();
    assert!(seen.get("x-api-key").is_none(), "the API key reached the upstream");
    assert_eq!(seen.get("x-payseal-key-id").unwrap(), "k_live");
    let answer = send(&gateway.url(refund), "POST", &refs(&signed_headers(LIVE_KEY, refund_body, NOW, Some("r-ok"))), refund_body.as_bytes()).await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    // A client cannot claim a key id.
    let mut spoof = with_key(LIVE_KEY);
    spoof.push(("x-payseal-key-id".into(), "k_admin".into()));
    let answer = send(&gateway.url(pay), "GET", &refs(&spoof), b"").await;
    assert_eq!(answer.json()["key_id"], "k_live");
    assert!(failures.is_empty(), "{} of {} rows failed:\n{}", failures.len(), rows.len(), failures.join("\n"));
    assert_eq!(upstream.executions(), 3, "a refused request reached the upstream");
    let log = gateway.log();
    for key in [LIVE_KEY, TEST_KEY, SECRET] {
        assert!(!log.contains(key), "the log holds a key or secret");
    }
    assert!(log.contains("\"key_id\":\"k_live\""), "the log does not name key ids");
}

// ---------------------------------------------------------------------------
// RFC 9421 signed routes

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc9421_signed_routes_over_http() {
    use payseal_core::rfc9421::{ParamValue, SignRequest, Signer};
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let secret = "oTi/maBUu4/4XtTo5JrJgHJkglvkb0tIgG/sgAVFGQY=";
    let mut config = base_config(upstream.addr, dir.path(), "public_origin = \"https://api.example.test\"");
    config.push_str(&toml_of(&json!({
        "keys": { "records": [record("k_live", LIVE_KEY, "live"), record("k_other", "sk_live_OtherMerchant00000000000000", "live")] },
        "routes": [
            { "prefix": "/external/v1/payouts", "methods": ["POST"], "rfc9421": { "required": ["@method", "@path", "content-digest"] } },
            { "prefix": "/external/v1/transfers", "methods": ["POST"], "rfc9421": { "required": ["@method", "@path"], "require_nonce": true } },
        ],
        "signed_requests": { "rfc9421": [
            { "key_id": "k_live", "keyid": "psk-live-1", "secret_env": "PAYSEAL_TEST_RFC9421" },
            { "key_id": "k_other", "keyid": "psk-other-1", "secret_env": "PAYSEAL_TEST_RFC9421" },
        ] },
    })));
    let gateway = Gateway::start(dir.path(), &config, &[("PAYSEAL_TEST_RFC9421", secret)]);
    gateway.set_clock(NOW).await;
    let path = "/external/v1/payouts";
    let body = r#"{"payout":1}"#;
    let sign_at = |path: &str, components: &[&str], keyid: &str, nonce: Option<&str>| {
        let mut params = vec![("created", ParamValue::Integer(i64::try_from(NOW).unwrap())), ("keyid", ParamValue::from(keyid))];
        params.extend(nonce.map(|n| ("nonce", ParamValue::from(n))));
        Signer::new(&Secret::from_text(secret))
            .sign(&SignRequest {
                method: "POST",
                url: &format!("https://api.example.test{path}"),
                headers: &[("content-type", "application/json")],
                body: body.as_bytes(),
                label: "sig1",
                components,
                params: &params,
            })
            .unwrap()
    };
    let sign = |components: &[&str], keyid: &str| sign_at(path, components, keyid, None);
    let full = sign(&["@method", "@path", "content-digest"], "psk-live-1");
    let digest = full.content_digest.clone().unwrap();
    let headers = |fields: &payseal_core::rfc9421::SignedFields, key: &'static str, idem: &'static str| {
        vec![
            ("x-api-key".to_owned(), key.to_owned()),
            ("idempotency-key".to_owned(), idem.to_owned()),
            ("signature-input".to_owned(), fields.signature_input.clone()),
            ("signature".to_owned(), fields.signature.clone()),
            ("content-digest".to_owned(), digest.clone()),
        ]
    };
    let url = gateway.url(path);
    let ok = send(&url, "POST", &refs(&headers(&full, LIVE_KEY, "p-1")), body.as_bytes()).await;
    assert_eq!((ok.status, ok.json()["key_id"].as_str()), (201, Some("k_live")), "{}", ok.text());
    // Changed body, too little coverage, another merchant's signing key, no signature.
    let changed = send(&url, "POST", &refs(&headers(&full, LIVE_KEY, "p-2")), br#"{"payout":9}"#).await;
    let partial = sign(&["@method"], "psk-live-1");
    let too_little = send(&url, "POST", &refs(&headers(&partial, LIVE_KEY, "p-3")), body.as_bytes()).await;
    let borrowed = send(&url, "POST", &refs(&headers(&full, "sk_live_OtherMerchant00000000000000", "p-4")), body.as_bytes()).await;
    let unsigned = send(&url, "POST", &[("x-api-key", LIVE_KEY), ("idempotency-key", "p-5")], body.as_bytes()).await;
    for (what, answer, reason) in [("changed body", &changed, "bad_digest"), ("coverage", &too_little, "insufficient_coverage"), ("another merchant's key", &borrowed, "unknown_key"), ("unsigned", &unsigned, "missing_signature")] {
        assert_eq!(answer.status, 401, "{what}: {}", answer.text());
        assert!(gateway.requests("refused", reason).await >= 1, "{what}: not refused as {reason}");
    }
    assert_eq!(upstream.executions(), 1);
    // A route that requires a nonce: refused without one, accepted with the
    // caller's.
    let transfers = "/external/v1/transfers";
    let signed_headers = |fields: &payseal_core::rfc9421::SignedFields, idem: &str| {
        vec![
            ("x-api-key".to_owned(), LIVE_KEY.to_owned()),
            ("idempotency-key".to_owned(), idem.to_owned()),
            ("signature-input".to_owned(), fields.signature_input.clone()),
            ("signature".to_owned(), fields.signature.clone()),
        ]
    };
    let components = ["@method", "@path"];
    let no_nonce = sign_at(transfers, &components, "psk-live-1", None);
    let refused = send(&gateway.url(transfers), "POST", &refs(&signed_headers(&no_nonce, "t-1")), body.as_bytes()).await;
    assert_eq!((refused.status, refused.json()["message"].as_str()), (401, Some("The signature does not cover every required component.")), "{}", refused.text());
    let with_nonce = sign_at(transfers, &components, "psk-live-1", Some("n-4f1a9c"));
    let accepted = send(&gateway.url(transfers), "POST", &refs(&signed_headers(&with_nonce, "t-2")), body.as_bytes()).await;
    assert_eq!(accepted.status, 201, "{}", accepted.text());
    assert_eq!(upstream.executions(), 2);
}

// ---------------------------------------------------------------------------
// The public vectors, through the gateway over HTTP

fn expect_fields(expected: &Value, known: &[&str]) -> Result<(), String> {
    let fields = expected.as_object().ok_or("expected is not an object")?;
    match fields.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(format!("the runner does not understand expected field {unknown:?}")),
        None => Ok(()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_keys_vectors_over_http() {
    let file: Value = serde_json::from_str(&std::fs::read_to_string(common::vectors_dir().join("keys.json")).unwrap()).unwrap();
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let known_file_fields = ["scheme", "spec", "generated_by", "set", "cases", "policy", "records"];
    if let Some(unknown) = file.as_object().unwrap().keys().find(|k| !known_file_fields.contains(&k.as_str())) {
        panic!("keys.json: the runner does not understand file field {unknown:?}");
    }
    // The vectors' client addresses arrive as a trusted proxy says them.
    let mut config = base_config(upstream.addr, dir.path(), "trusted_proxies = [\"127.0.0.1\"]");
    config.push_str(&toml_of(&json!({ "keys": { "webcode_header": "x-webcode", "policy": file["policy"], "records": file["records"] } })));
    let gateway = Gateway::start(dir.path(), &config, &[]);
    let cases = file["cases"].as_array().unwrap();
    let mut failures = Vec::new();
    let mut not_expressible = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap_or("?");
        // A field value that HTTP cannot carry as given: reported by name,
        // never counted as passed or failed (`vectors.md`).
        let carried = |field: &str| case["request"][field].as_str().is_none_or(travels_in_a_header);
        let webcode_as_given = case["request"]["webcode"].as_str().is_none_or(|w| w == w.trim_matches([' ', '\t']));
        if !carried("api_key") || !carried("webcode") || !webcode_as_given {
            not_expressible.push(name.to_owned());
            continue;
        }
        // RFC 9110 section 5.5: whitespace around a field value is not part
        // of it, so every HTTP parser drops it and such a key cannot reach
        // a gateway. The case is reported, never counted as passed; the
        // gateway must then see the bare key, as HTTP delivers it.
        if let Some(key) = case["request"]["api_key"].as_str()
            && key != key.trim_matches([' ', '\t'])
        {
            let answer = send(&gateway.url("/external/v1/payment/session"), "GET", &[("x-api-key", key), ("x-forwarded-for", "203.0.113.45"), ("x-webcode", "SHOP01")], b"").await;
            let bare = send(&gateway.url("/external/v1/payment/session"), "GET", &[("x-api-key", key.trim_matches([' ', '\t'])), ("x-forwarded-for", "203.0.113.45"), ("x-webcode", "SHOP01")], b"").await;
            assert_eq!(answer.status, bare.status, "{name}: HTTP did not deliver the bare key");
            not_expressible.push(name.to_owned());
            continue;
        }
        let result = async {
            if case["op"] != "check" {
                return Err(format!("unknown op {}", case["op"]));
            }
            if let Some(unknown) = case.as_object().unwrap().keys().find(|k| !["name", "op", "request", "expected", "note"].contains(&k.as_str())) {
                return Err(format!("the runner does not understand field {unknown:?}"));
            }
            let request = &case["request"];
            if let Some(unknown) = request.as_object().unwrap().keys().find(|k| !["api_key", "method", "path", "client_ip", "webcode", "now"].contains(&k.as_str())) {
                return Err(format!("the runner does not understand request field {unknown:?}"));
            }
            let expected = &case["expected"];
            expect_fields(expected, &["ok", "key_id", "reason", "status", "code"])?;
            gateway.set_clock(request["now"].as_u64().ok_or("now")?).await;
            let mut headers = Vec::new();
            if let Some(key) = request["api_key"].as_str() {
                headers.push(("x-api-key", key));
            }
            headers.push(("x-forwarded-for", request["client_ip"].as_str().unwrap_or("unknown")));
            if let Some(webcode) = request["webcode"].as_str() {
                headers.push(("x-webcode", webcode));
            }
            let method = request["method"].as_str().ok_or("method")?;
            let path = request["path"].as_str().ok_or("path")?;
            let reason = expected["reason"].as_str().unwrap_or("");
            let before = gateway.requests("refused", reason).await;
            let executions = upstream.executions();
            let answer = send(&gateway.url(path), method, &headers, b"{}").await;
            if expected["ok"] == true {
                let key_id = answer.json()["key_id"].clone();
                if answer.status >= 300 || key_id != expected["key_id"] || upstream.executions() != executions + 1 {
                    return Err(format!("expected to reach the upstream as {}, got {} {}", expected["key_id"], answer.status, answer.text()));
                }
            } else {
                let after = gateway.requests("refused", reason).await;
                let json = answer.json();
                if json!(answer.status) != expected["status"] || json["code"] != expected["code"] || after != before + 1 || upstream.executions() != executions {
                    return Err(format!("expected {} {} {reason}, got {} {} (reason count {before} -> {after})", expected["status"], expected["code"], answer.status, answer.text()));
                }
            }
            Ok(())
        }
        .await;
        if let Err(why) = result {
            failures.push(format!("{name}: {why}"));
        }
    }
    let passed = cases.len() - failures.len() - not_expressible.len();
    println!("payseal-vectors: gateway keys {passed} passed, {} failed", failures.len());
    println!("payseal-vectors: not expressible over HTTP (a field value HTTP cannot carry as given): {not_expressible:?}");
    assert!(passed > 0 && failures.is_empty(), "{}", failures.join("\n"));
}

/// Whether a header can carry `value` as given: no control byte but a tab
/// inside (RFC 9110 section 5.5 forbids CR, LF and NUL, and HTTP/1.1
/// parsers refuse other controls). Whitespace around the value is checked
/// apart: it travels, but is not part of the value on arrival.
fn travels_in_a_header(value: &str) -> bool {
    value.bytes().all(|b| b == b'\t' || (b >= 0x20 && b != 0x7f))
}

/// An API key for a (key id, environment) pair of the idempotency vectors.
fn vector_key(key_id: &str, environment: &str) -> String {
    let mut tail: String = key_id.chars().filter(char::is_ascii_alphanumeric).collect();
    while tail.len() < 32 {
        tail.push('0');
    }
    format!("sk_{environment}_{tail}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn public_idempotency_vectors_over_http() {
    let file: Value = serde_json::from_str(&std::fs::read_to_string(common::vectors_dir().join("idempotency.json")).unwrap()).unwrap();
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let mut config = base_config(upstream.addr, dir.path(), "");
    config.push_str("[keys.policy]\naccepted_formats = [\"prefixed\"]\n");
    // Key records come from the store: a step names its key id and
    // environment, and one id can move between environments (a reload).
    let gateway = Gateway::start(dir.path(), &config, &[]);
    let cases = file["cases"].as_array().unwrap();
    let mut current: HashMap<String, String> = HashMap::new();
    let mut failures = Vec::new();
    for case in cases {
        let name = case["name"].as_str().unwrap_or("?");
        let mut stored: HashMap<String, Answer> = HashMap::new();
        // Steps without `finish` stay in flight: the upstream holds their
        // answers until the case's later steps ran (`vectors.md`).
        let mut in_flight: Vec<tokio::task::JoinHandle<Answer>> = Vec::new();
        let mut result = Ok(());
        if case["op"] != "idempotency" {
            result = Err(format!("unknown op {}", case["op"]));
        }
        if let Some(unknown) = case.as_object().unwrap().keys().find(|k| !["name", "op", "steps", "note"].contains(&k.as_str())) {
            result = Err(format!("the runner does not understand field {unknown:?}"));
        }
        for (i, step) in case["steps"].as_array().map(Vec::as_slice).unwrap_or_default().iter().enumerate() {
            if result.is_err() {
                break;
            }
            result = async {
                let known = ["key", "method", "path", "body", "environment", "key_id", "expected", "finish"];
                if let Some(unknown) = step.as_object().unwrap().keys().find(|k| !known.contains(&k.as_str())) {
                    return Err(format!("step {i}: the runner does not understand field {unknown:?}"));
                }
                let text = |f: &str| step[f].as_str().ok_or_else(|| format!("step {i}: {f} is not a string"));
                let (key, method, path, body, environment, key_id) = (text("key")?, text("method")?, text("path")?, text("body")?, text("environment")?, text("key_id")?);
                let expected = &step["expected"];
                expect_fields(expected, &["outcome", "status", "message"])?;
                let finish_status = match &step["finish"] {
                    Value::Null => None,
                    finish => {
                        if finish.as_object().is_some_and(|f| f.len() != 1) {
                            return Err(format!("step {i}: the runner understands only finish.status"));
                        }
                        Some(finish["status"].as_u64().ok_or("finish.status")?)
                    }
                };
                if current.get(key_id).map(String::as_str) != Some(environment) {
                    let answer = gateway.put_key(&record(key_id, &vector_key(key_id, environment), environment)).await;
                    if answer.status != 200 {
                        return Err(format!("step {i}: the key record was refused: {}", answer.text()));
                    }
                    current.insert(key_id.to_owned(), environment.to_owned());
                }
                gateway.set_clock(1_719_500_000 + i as u64).await;
                let api_key = vector_key(key_id, environment);
                let status_text = finish_status.unwrap_or(201).to_string();
                let headers = [("x-api-key", api_key.as_str()), ("idempotency-key", key), ("x-test-status", status_text.as_str())];
                let before = upstream.executions_of(key);
                if finish_status.is_none() && expected["outcome"] == "execute" {
                    upstream.holding.store(true, std::sync::atomic::Ordering::SeqCst);
                    let url = gateway.url(path);
                    let (method, body) = (method.to_owned(), body.as_bytes().to_vec());
                    let headers: Vec<(String, String)> = headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).chain([("x-test-hold".to_owned(), "1".to_owned())]).collect();
                    in_flight.push(tokio::spawn(async move { send(&url, &method, &refs(&headers), &body).await }));
                    for _ in 0..2000 {
                        if upstream.executions_of(key) > before {
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(10)).await;
                    }
                    let executed = upstream.executions_of(key) - before;
                    return if executed == 1 { Ok(()) } else { Err(format!("step {i}: expected one execution in flight, got {executed}")) };
                }
                let answer = send(&gateway.url(path), method, &headers, body.as_bytes()).await;
                let executed = upstream.executions_of(key) - before;
                match expected["outcome"].as_str() {
                    Some("execute") => {
                        if executed != 1 || u64::from(answer.status) != finish_status.unwrap_or(201) {
                            return Err(format!("step {i}: expected one execution, got {executed} and {} {}", answer.status, answer.text()));
                        }
                        if answer.status < 500 {
                            stored.insert(key.to_owned(), answer);
                        }
                    }
                    Some("replay") => {
                        let original = stored.get(key).ok_or(format!("step {i}: nothing to replay"))?;
                        if executed != 0 || json!(answer.status) != expected["status"] || answer.body != original.body {
                            return Err(format!("step {i}: expected a replay of {}, got {executed} executions and {} {}", original.text(), answer.status, answer.text()));
                        }
                    }
                    Some("conflict") => {
                        let json = answer.json();
                        if executed != 0 || json!(answer.status) != expected["status"] || (!expected["message"].is_null() && json["message"] != expected["message"]) {
                            return Err(format!("step {i}: expected {} {}, got {} {}", expected["status"], expected["message"], answer.status, answer.text()));
                        }
                    }
                    other => return Err(format!("step {i}: unknown outcome {other:?}")),
                }
                Ok(())
            }
            .await;
        }
        upstream.holding.store(false, std::sync::atomic::Ordering::SeqCst);
        for held in in_flight {
            let answer = held.await.unwrap();
            if result.is_ok() && answer.status >= 300 {
                result = Err(format!("a step held in flight was answered {} {}", answer.status, answer.text()));
            }
        }
        if let Err(why) = result {
            failures.push(format!("{name}: {why}"));
        }
    }
    println!("payseal-vectors: gateway idempotency {} passed, {} failed", cases.len() - failures.len(), failures.len());
    assert!(!cases.is_empty() && failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------
// idempotency.md, row by row

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_idempotency_md_row_over_http() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let gateway = start_standard(&upstream, dir.path(), "");
    gateway.set_clock(NOW).await;
    let pay = "/external/v1/payments";
    let post = |key: &'static str, path: &'static str, body: &'static str, extra: Vec<(&'static str, &'static str)>| {
        let url = gateway.url(path);
        async move {
            let mut headers = vec![("x-api-key", LIVE_KEY), ("idempotency-key", key)];
            headers.extend(extra);
            send(&url, "POST", &headers, body.as_bytes()).await
        }
    };
    // none → claim, execute, store.
    let first = post("row-1", pay, "{\"a\":1}", vec![("x-test-binary", "1")]).await;
    assert_eq!((first.status, upstream.executions_of("row-1")), (201, 1));
    // Same endpoint, same fingerprint, finished → replay status, headers and body byte for byte.
    let replayed = post("row-1", pay, "{\"a\":1}", vec![("x-test-binary", "1")]).await;
    assert_eq!((replayed.status, upstream.executions_of("row-1")), (201, 1));
    assert_eq!(replayed.body, first.body, "the replay differs from the stored body");
    assert_eq!(replayed.headers.get_all("x-repeated").iter().collect::<Vec<_>>(), ["one", "two"]);
    assert_eq!(replayed.headers.get("x-execution"), first.headers.get("x-execution"));
    // Same endpoint, other fingerprint → 409.
    let other = post("row-1", pay, "{\"a\":2}", vec![]).await;
    assert_eq!((other.status, other.json()["message"].as_str()), (409, Some("Idempotency key reused with a different request body.")));
    // Other endpoint → 409.
    let elsewhere = post("row-1", "/external/v1/orders", "{\"a\":1}", vec![]).await;
    assert_eq!((elsewhere.status, elsewhere.json()["message"].as_str()), (409, Some("Idempotency key already used for a different endpoint.")));
    // Claimed but not finished → 409.
    let slow = tokio::spawn(post("row-2", pay, "{}", vec![("x-test-delay-ms", "800")]));
    upstream.wait_for("row-2", 1).await;
    let busy = post("row-2", pay, "{}", vec![]).await;
    assert_eq!((busy.status, busy.json()["message"].as_str()), (409, Some("Idempotency key is already being processed.")));
    assert_eq!(slow.await.unwrap().status, 201);
    assert_eq!(upstream.executions_of("row-2"), 1);
    // A 5xx releases the claim; a retry executes.
    assert_eq!(post("row-3", pay, "{}", vec![("x-test-status", "503")]).await.status, 503);
    assert_eq!(post("row-3", pay, "{}", vec![]).await.status, 201);
    assert_eq!(upstream.executions_of("row-3"), 2);
    // Sent and never answered (the upstream hung up): the charge may have
    // run, so the key stays taken as outcome unknown until an operator
    // releases it (audited); then a retry executes.
    assert_eq!(post("row-4", pay, "{}", vec![("x-test-close", "1")]).await.status, 502);
    let unknown = post("row-4", pay, "{}", vec![]).await;
    assert_eq!((unknown.status, unknown.json()["code"].as_str()), (409, Some("IDEMPOTENCY_OUTCOME_UNKNOWN")), "{}", unknown.text());
    assert_eq!(upstream.executions_of("row-4"), 1);
    let release = "/idempotency/live/k_live/row-4/release";
    // The actor is the credential's name: a header claiming another is ignored.
    let released = gateway.admin_send("POST", release, &[("x-payseal-actor", "ops-alice")], b"").await;
    assert_eq!(released.status, 200, "{}", released.text());
    assert_eq!(gateway.admin_send("POST", release, &[], b"").await.status, 404, "released once");
    assert_eq!(post("row-4", pay, "{}", vec![]).await.status, 201);
    assert_eq!(upstream.executions_of("row-4"), 2);
    let audit = gateway.admin_send("GET", "/lifecycle/audit", &[], b"").await;
    assert!(audit.text().contains("idempotency_released") && audit.text().contains("token:harness") && !audit.text().contains("ops-alice"), "{}", audit.text());
    // A 4xx is stored and replayed like a success.
    let rejected = post("row-5", pay, "{}", vec![("x-test-status", "422")]).await;
    let again = post("row-5", pay, "{}", vec![]).await;
    assert_eq!((rejected.status, again.status, upstream.executions_of("row-5")), (422, 422, 1));
    assert_eq!(rejected.body, again.body);
    // Records live 24 h: after that the key executes again.
    gateway.set_clock(NOW + 86_400).await;
    assert_eq!(post("row-5", pay, "{}", vec![]).await.status, 201);
    assert_eq!(upstream.executions_of("row-5"), 2);
    // Test and live namespaces never collide (same idempotency key, a test key on a test route).
    let test_route = send(&gateway.url("/external/v1/test/payments"), "POST", &[("x-api-key", TEST_KEY), ("idempotency-key", "row-1")], b"{\"a\":1}").await;
    assert_eq!((test_route.status, upstream.executions_of("row-1")), (201, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_four_concurrent_requests_with_one_key_execute_once() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let gateway = start_standard(&upstream, dir.path(), "");
    let url = gateway.url("/external/v1/payments");
    let body = vec![b'x'; 1024];
    let mut tasks = Vec::new();
    for _ in 0..64 {
        let (url, body) = (url.clone(), body.clone());
        tasks.push(tokio::spawn(async move {
            send(&url, "POST", &[("x-api-key", LIVE_KEY), ("idempotency-key", "race-1"), ("x-test-delay-ms", "300")], &body).await
        }));
    }
    let mut answers = Vec::new();
    for task in tasks {
        answers.push(task.await.unwrap());
    }
    assert_eq!(upstream.executions_of("race-1"), 1, "the upstream executed more than once");
    let executed: Vec<&Answer> = answers.iter().filter(|a| a.status == 201).collect();
    assert!(!executed.is_empty(), "nobody got the upstream's answer");
    assert!(executed.iter().all(|a| a.body == executed[0].body), "answers differ");
    for answer in &answers {
        assert!(answer.status == 201 || (answer.status == 409 && answer.json()["code"] == "IDEMPOTENCY_KEY_IN_PROGRESS"), "{} {}", answer.status, answer.text());
    }
    let replay = send(&url, "POST", &[("x-api-key", LIVE_KEY), ("idempotency-key", "race-1")], &body).await;
    assert_eq!((replay.status, &replay.body), (201, &executed[0].body));
    assert_eq!(upstream.executions(), 1);
}

// ---------------------------------------------------------------------------
// Limits, timeouts, failing closed

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn large_bodies_are_413_before_the_plugin_runs() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let gateway = start_standard(&upstream, dir.path(), "max_body_bytes = 1024");
    let calls = gateway.metric("payseal_plugin_call_seconds_count{function=\"check_request\"}").await;
    let big = vec![b'a'; 2048];
    let answer = send(&gateway.url("/external/v1/payments"), "POST", &[("x-api-key", LIVE_KEY)], &big).await;
    assert_eq!((answer.status, answer.json()["code"].as_str()), (413, Some("PAYLOAD_TOO_LARGE")));
    assert_eq!(gateway.metric("payseal_plugin_call_seconds_count{function=\"check_request\"}").await, calls, "the plugin ran");
    // Without Content-Length (chunked), counted while read, after the head
    // was checked (one plugin call, on the head only).
    let mut stream = tokio::net::TcpStream::connect(gateway.proxy).await.unwrap();
    let mut request = format!("POST /external/v1/payments HTTP/1.1\r\nhost: x\r\nx-api-key: {LIVE_KEY}\r\ntransfer-encoding: chunked\r\n\r\n").into_bytes();
    for _ in 0..4 {
        request.extend_from_slice(b"400\r\n");
        request.extend_from_slice(&[b'b'; 1024]);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    stream.write_all(&request).await.unwrap();
    let mut head = vec![0; 64];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut head)).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&head[..n]).starts_with("HTTP/1.1 413"), "{}", String::from_utf8_lossy(&head[..n]));
    assert_eq!(gateway.metric("payseal_plugin_call_seconds_count{function=\"check_request\"}").await, calls + 1, "the body was checked");
    assert_eq!(upstream.executions(), 0);
    assert_eq!(gateway.requests("too_large", "body_too_large").await, 2);
    let fits = send(&gateway.url("/external/v1/payments"), "POST", &[("x-api-key", LIVE_KEY)], &big[..1024]).await;
    assert_eq!(fits.status, 201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_time_out() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let gateway = start_standard(&upstream, dir.path(), "body_timeout_ms = 300\nheader_timeout_ms = 300");
    // A body that stops arriving: 408.
    let mut stream = tokio::net::TcpStream::connect(gateway.proxy).await.unwrap();
    let head = format!("POST /external/v1/payments HTTP/1.1\r\nhost: x\r\nx-api-key: {LIVE_KEY}\r\ncontent-length: 100\r\n\r\n0123456789");
    stream.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut buffer = vec![0; 256];
    let n = tokio::time::timeout(Duration::from_secs(10), stream.read(&mut buffer)).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 408"), "{}", String::from_utf8_lossy(&buffer[..n]));
    assert!(started.elapsed() < Duration::from_secs(5));
    // A head that never ends: the connection is closed.
    let mut stream = tokio::net::TcpStream::connect(gateway.proxy).await.unwrap();
    stream.write_all(b"POST /external/v1/payments HTTP/1.1\r\nhost: x\r\n").await.unwrap();
    let started = Instant::now();
    let read = tokio::time::timeout(Duration::from_secs(10), async {
        let mut total = 0;
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return total,
                Ok(n) => total += n,
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the gateway kept a slow head open");
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(upstream.executions(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugin_failures_fail_closed() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    // Enough fuel to load the configuration and check a small request, not
    // to fingerprint a large body: the call runs out of fuel (a trap).
    let mut config = standard_config(&upstream, dir.path(), "");
    config = config.replace("instances = 2", "instances = 2\nfuel = 20000000");
    let gateway = Gateway::start(dir.path(), &config, &[("PAYSEAL_TEST_SECRET", SECRET)]);
    let small = send(&gateway.url("/external/v1/payments"), "POST", &[("x-api-key", LIVE_KEY)], b"{}").await;
    assert_eq!(small.status, 201, "{}", small.text());
    let big = vec![b'{'; 900 * 1024];
    for _ in 0..3 {
        let answer = send(&gateway.url("/external/v1/payments"), "POST", &[("x-api-key", LIVE_KEY), ("idempotency-key", "fuel-1")], &big).await;
        assert_eq!((answer.status, answer.json()["code"].as_str()), (503, Some("GATEWAY_UNAVAILABLE")), "{}", answer.text());
    }
    assert_eq!(upstream.executions(), 1, "an unchecked request was forwarded");
    // The trapped instances were replaced: small requests still pass.
    for _ in 0..4 {
        assert_eq!(send(&gateway.url("/external/v1/payments"), "POST", &[("x-api-key", LIVE_KEY)], b"{}").await.status, 201);
    }
    assert_eq!(gateway.requests("plugin_error", "failed").await, 3);
    assert!(gateway.log().contains("fuel_exhausted"), "the failure is not logged by kind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paths_not_in_normal_form_are_refused() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let gateway = start_standard(&upstream, dir.path(), "");
    // A test key on a path that looks like a test route but is not one.
    for path in ["/external/v1/test/../payments", "/external/v1/test/%2e%2e/payments", "/external/v1//payments"] {
        let answer = send(&gateway.url(path), "POST", &[("x-api-key", TEST_KEY)], b"{}").await;
        assert_eq!(answer.status, 400, "{path}");
    }
    assert_eq!(upstream.executions(), 0);
}

// ---------------------------------------------------------------------------
// Client addresses

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_addresses_count_only_from_trusted_proxies() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let write = |trusted: &str, header: &str| {
        let mut config = base_config(upstream.addr, dir.path(), &format!("trusted_proxies = [{trusted}]\nclient_ip_header = \"{header}\""));
        let mut bound = record("k_ip", LIVE_KEY, "live");
        bound["allowed_ips"] = json!(["203.0.113.0/24"]);
        config.push_str(&toml_of(&json!({ "keys": { "records": [bound] } })));
        config
    };
    let gateway = Gateway::start(dir.path(), &write("", "x-forwarded-for"), &[]);
    let url = gateway.url("/external/v1/payments");
    let xff = [("x-api-key", LIVE_KEY), ("x-forwarded-for", "203.0.113.5")];
    let forwarded = [("x-api-key", LIVE_KEY), ("forwarded", "for=203.0.113.5")];
    // Not trusted: the socket address decides; a client cannot pick its own.
    assert_eq!(send(&url, "GET", &xff, b"").await.status, 403);
    std::fs::write(&gateway.config_path, write("\"127.0.0.1\"", "x-forwarded-for")).unwrap();
    assert_eq!(gateway.admin_send("POST", "/reload", &[], b"").await.status, 200);
    assert_eq!(send(&url, "GET", &xff, b"").await.status, 200);
    assert_eq!(send(&url, "GET", &forwarded, b"").await.status, 403, "only the configured header counts");
    // The upstream gets the resolved client, written by the gateway.
    assert_eq!(upstream.last_headers().get("x-forwarded-for").unwrap(), "203.0.113.5");
    assert_eq!(upstream.last_headers().get("forwarded").unwrap(), "for=203.0.113.5");
    std::fs::write(&gateway.config_path, write("\"127.0.0.1\"", "forwarded")).unwrap();
    assert_eq!(gateway.admin_send("POST", "/reload", &[], b"").await.status, 200);
    assert_eq!(send(&url, "GET", &forwarded, b"").await.status, 200);
    assert_eq!(send(&url, "GET", &xff, b"").await.status, 403);
}

// ---------------------------------------------------------------------------
// Hot reload

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delete_the_running_gateway_cannot_apply_is_undone() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let gateway = start_standard(&upstream, dir.path(), "");
    let stored_key = "sk_live_StoredKeyToDelete00000000000";
    assert_eq!(gateway.put_key(&record("k_stored", stored_key, "live")).await.status, 200);
    let url = gateway.url("/external/v1/payments");
    assert_eq!(send(&url, "GET", &[("x-api-key", stored_key)], b"").await.status, 200);
    // The file no longer parses: no reload can take the delete in.
    std::fs::write(&gateway.config_path, "[upstream\n").unwrap();
    let deleted = gateway.admin_send("DELETE", "/keys/k_stored", &[], b"").await;
    assert_eq!(deleted.status, 500, "{}", deleted.text());
    // Never "deleted in the store, still accepted here": both still hold it.
    let listed = gateway.admin_send("GET", "/keys", &[], b"").await;
    assert!(listed.text().contains("\"k_stored\""), "{}", listed.text());
    assert_eq!(send(&url, "GET", &[("x-api-key", stored_key)], b"").await.status, 200);
    assert!(gateway.log().contains("restoring the record"), "the undo is not logged");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_keep_requests_in_flight() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let gateway = start_standard(&upstream, dir.path(), "");
    let url = gateway.url("/external/v1/payments");
    let new_key = "sk_live_AddedLater000000000000000000";
    assert_eq!(send(&url, "POST", &[("x-api-key", new_key)], b"{}").await.status, 401);
    // A slow request in flight across three reloads.
    let slow_url = url.clone();
    let slow = tokio::spawn(async move {
        send(&slow_url, "POST", &[("x-api-key", LIVE_KEY), ("idempotency-key", "slow-1"), ("x-test-delay-ms", "2500")], b"{}").await
    });
    upstream.wait_for("slow-1", 1).await;
    // 1. A key record through the admin listener.
    let answer = gateway.put_key(&record("k_added", new_key, "live")).await;
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert_eq!(send(&url, "POST", &[("x-api-key", new_key)], b"{}").await.status, 201);
    // 2. A record the plugin rejects (a digest already in use) is not kept.
    let answer = gateway.put_key(&record("k_dup", LIVE_KEY, "live")).await;
    assert_eq!(answer.status, 422, "{}", answer.text());
    let keys = gateway.admin_send("GET", "/keys", &[], b"").await.json();
    assert_eq!(keys.as_array().unwrap().len(), 1, "{keys}");
    assert!(!keys.to_string().contains("key_sha256"));
    // 3. SIGHUP after the file changed: the test key goes.
    let text = std::fs::read_to_string(&gateway.config_path).unwrap();
    let without_test_key = text.replace(&record("k_test", TEST_KEY, "test")["key_sha256"].as_str().unwrap().to_owned(), &"0".repeat(64));
    std::fs::write(&gateway.config_path, without_test_key).unwrap();
    let generation = gateway.admin_send("GET", "/readyz", &[], b"").await.json()["generation"].as_u64().unwrap();
    gateway.signal("HUP");
    let mut reloaded = false;
    for _ in 0..100 {
        if gateway.admin_send("GET", "/readyz", &[], b"").await.json()["generation"].as_u64().unwrap() > generation {
            reloaded = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(reloaded, "SIGHUP did not reload");
    assert_eq!(send(&gateway.url("/external/v1/test/payments"), "POST", &[("x-api-key", TEST_KEY)], b"{}").await.status, 401);
    // 4. A broken file is refused; the running configuration stays.
    std::fs::write(&gateway.config_path, "[upstream]\nurl = 7\n").unwrap();
    assert_eq!(gateway.admin_send("POST", "/reload", &[], b"").await.status, 500);
    assert_eq!(send(&url, "POST", &[("x-api-key", new_key)], b"{}").await.status, 201);
    // The request in flight finished normally, and was stored.
    let slow = slow.await.unwrap();
    assert_eq!(slow.status, 201, "{}", slow.text());
    let replay = send(&url, "POST", &[("x-api-key", LIVE_KEY), ("idempotency-key", "slow-1")], b"{}").await;
    assert_eq!((replay.status, replay.body), (201, slow.body));
    assert_eq!(upstream.executions_of("slow-1"), 1);
    assert!(gateway.metric("payseal_reloads_total{result=\"ok\"}").await >= 2);
}

// ---------------------------------------------------------------------------
// Crash

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_under_load_executes_no_key_twice_and_corrupts_nothing() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let mut gateway = start_standard(&upstream, dir.path(), "");
    let keys: Vec<String> = (0..300).map(|i| format!("crash-{i}")).collect();
    let url = gateway.url("/external/v1/payments");
    let answered = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let load = {
        let (keys, url, answered) = (keys.clone(), url.clone(), std::sync::Arc::clone(&answered));
        tokio::spawn(async move {
            let mut tasks = tokio::task::JoinSet::new();
            for (i, key) in keys.into_iter().enumerate() {
                let (url, answered) = (url.clone(), std::sync::Arc::clone(&answered));
                tasks.spawn(async move {
                    let delay = (i % 7 * 5).to_string();
                    let status = send(&url, "POST", &[("x-api-key", LIVE_KEY), ("idempotency-key", &key), ("x-test-delay-ms", &delay)], key.as_bytes()).await.status;
                    if status == 201 {
                        answered.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    status
                });
                if i % 16 == 15 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            let mut statuses = Vec::new();
            while let Some(status) = tasks.join_next().await {
                statuses.push(status.unwrap());
            }
            statuses
        })
    };
    // Killed while requests are in every stage: some answered, some at the
    // upstream, some being checked or claimed, some not yet sent.
    for _ in 0..2000 {
        if answered.load(std::sync::atomic::Ordering::SeqCst) >= 20 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    gateway.kill();
    let before_kill = load.await.unwrap();
    assert!(before_kill.contains(&201), "the load had not started when the gateway was killed");
    assert!(before_kill.contains(&0), "the gateway finished the whole load before it was killed");
    // Restart on the same store; every key again.
    let config_path = gateway.config_path.clone();
    drop(gateway);
    let mut gateway = Gateway::start_existing(dir.path(), &config_path, &[("PAYSEAL_TEST_SECRET", SECRET)]);
    let url = gateway.url("/external/v1/payments");
    let mut outcomes: HashMap<u16, usize> = HashMap::new();
    for key in &keys {
        let answer = send(&url, "POST", &[("x-api-key", LIVE_KEY), ("idempotency-key", key)], key.as_bytes()).await;
        // 201: executed now or replayed; 409: a claim the crash left in flight.
        assert!(answer.status == 201 || answer.status == 409, "{key}: {} {}", answer.status, answer.text());
        *outcomes.entry(answer.status).or_default() += 1;
    }
    for key in &keys {
        let n = upstream.executions_of(key);
        assert!(n <= 1, "{key} executed {n} times");
    }
    gateway.stop();
    let report = payseal_gateway::RedbStore::verify(&dir.path().join("store.redb")).unwrap();
    assert!(report.idempotency_records >= keys.len() - outcomes.get(&409).copied().unwrap_or(0), "{report:?}");
    println!("crash test: answers after restart {outcomes:?}, store {report:?}");
}

// ---------------------------------------------------------------------------
// Modes, admin, demo

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pure_proxy_mode_and_the_admin_listener() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let mut gateway = start_standard(&upstream, dir.path(), "checks = false");
    let answer = send(&gateway.url("/anything?x=1"), "POST", &[], b"{}").await;
    assert_eq!((answer.status, answer.json()["path"].as_str()), (201, Some("/anything?x=1")));
    assert_eq!(gateway.requests("proxied", "").await, 1);
    assert_eq!(gateway.admin_send("GET", "/healthz", &[], b"").await.status, 200);
    assert_eq!(gateway.admin_send("GET", "/readyz", &[], b"").await.status, 200);
    assert_eq!(gateway.admin_send("GET", "/nope", &[], b"").await.status, 404);
    gateway.stop();
    // Checks on: the config view hides secrets and digests.
    let dir = tempdir();
    let gateway = start_standard(&upstream, dir.path(), "");
    assert_eq!(send(&gateway.url("/external/v1/payments"), "POST", &[("x-api-key", LIVE_KEY), ("idempotency-key", "m-1")], b"{}").await.status, 201);
    let view = gateway.admin_send("GET", "/config", &[], b"").await.text();
    assert!(view.contains("[redacted]") && !view.contains(SECRET) && !view.contains("key_sha256"), "{view}");
    let metrics = gateway.admin_send("GET", "/metrics", &[], b"").await.text();
    assert!(metrics.contains("payseal_plugin_call_seconds") && metrics.contains("payseal_store_op_seconds"), "{metrics}");
}

#[test]
fn the_demo_runs_and_every_answer_is_the_expected_one() {
    common::wasm_path();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_payseal")).arg("demo").output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));
    for shown in ["allowed", "replayed", "conflicting", "refused", "< 201", "< 409", "< 401", "< 403", "every answer was the expected one"] {
        assert!(stdout.contains(shown), "the demo does not show {shown:?}:\n{stdout}");
    }
}
