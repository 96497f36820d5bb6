//! The request gate's edges over HTTP against the real binary (`gate.md`):
//! every spelling of a guarded route is the guarded route, a target with no
//! canonical form is refused, single-valued fields are single, the client
//! cannot speak for the gateway, and an idempotent request whose outcome is
//! unknown never executes twice. Each case asserts what the upstream
//! received: nothing, or exactly the canonical request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::too_many_lines)]

mod common;

use std::time::Duration;

use common::{Answer, Gateway, Upstream, base_config, record, send, send_raw, toml_of};
use serde_json::json;

const LIVE_KEY: &str = "sk_live_GateEdgeLiveKey00000000000000";
const TEST_KEY: &str = "sk_test_GateEdgeTestKey00000000000000";
/// A live key stored at run time by the throttle test.
const OTHER_KEY: &str = "sk_live_GateEdgeOtherKey0000000000000";
const REFUND: &str = "/api/v1/payment-gateway/order/refund";

fn config(upstream: std::net::SocketAddr, dir: &std::path::Path, server_extra: &str) -> String {
    let mut live = record("k_live", LIVE_KEY, "live");
    live["webcode"] = json!("SHOP01");
    let mut config = base_config(upstream, dir, server_extra);
    config.push_str(&toml_of(&json!({
        "keys": {
            "webcode_header": "x-webcode",
            "policy": { "accepted_formats": ["prefixed"] },
            "records": [live, record("k_test", TEST_KEY, "test")],
        },
        "routes": [
            { "prefix": REFUND, "methods": ["POST"], "signed": true },
            { "prefix": "/api/v1/payments", "methods": ["POST"], "idempotency": "required" },
        ],
        "signed_requests": { "keys": [ { "key_id": "k_live", "secret_env": "PAYSEAL_TEST_SECRET" } ] },
    })));
    config
}

fn start(upstream: &Upstream, dir: &std::path::Path, server_extra: &str) -> Gateway {
    Gateway::start(dir, &config(upstream.addr, dir, server_extra), &[("PAYSEAL_TEST_SECRET", "gate-edge-dvpay-secret")])
}

fn code_and_reason(answer: &Answer) -> (u16, String) {
    (answer.status, answer.json()["code"].as_str().unwrap_or("").to_owned())
}

/// `path` with the letter at byte `i` percent-encoded (`upper` hex or lower).
fn encode_at(path: &str, i: usize, upper: bool) -> String {
    let byte = path.as_bytes()[i];
    let encoded = if upper { format!("%{byte:02X}") } else { format!("%{byte:02x}") };
    format!("{}{encoded}{}", &path[..i], &path[i + 1..])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_spelling_of_a_signed_route_is_the_signed_route() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    // Some forty 401s for one key in a row: the throttle would lock it out
    // after ten (tests/throttle.rs); here every answer must be the route's.
    let gateway = start(&upstream, dir.path(), "throttle = { enabled = false }");
    let mut spellings: Vec<String> = Vec::new();
    for (i, c) in REFUND.char_indices() {
        if c.is_ascii_alphabetic() {
            spellings.push(encode_at(REFUND, i, true));
            spellings.push(encode_at(REFUND, i, false));
        }
    }
    spellings.extend([REFUND.to_uppercase(), REFUND.replace("refund", "Refund"), format!("{REFUND}/"), format!("{REFUND}/1?x=%2f")]);
    let mut failures = Vec::new();
    for path in &spellings {
        let answer = send(&gateway.url(path), "POST", &[("x-api-key", LIVE_KEY)], br#"{"orderId":1}"#).await;
        if answer.status != 401 || gateway.requests("refused", "missing_signature").await == 0 {
            failures.push(format!("{path}: {} {}", answer.status, answer.text()));
        }
    }
    assert!(failures.is_empty(), "{} of {} spellings were not the signed route:\n{}", failures.len(), spellings.len(), failures.join("\n"));
    assert_eq!(upstream.executions(), 0, "an unsigned refund reached the upstream");
    // Whole segments: a longer last segment is another route.
    let other = send(&gateway.url(&format!("{REFUND}x")), "POST", &[("x-api-key", LIVE_KEY)], b"{}").await;
    assert_eq!(other.status, 201, "{}", other.text());
    assert_eq!(upstream.last_target().as_deref(), Some(&*format!("{REFUND}x")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_without_a_canonical_form_never_reach_the_upstream() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&upstream, dir.path(), "");
    let targets = [
        "/api/v1/payment-gateway/order;x=1/refund",
        "/api/v1/payment-gateway/order/refund;x=1",
        "/api/v1/payment-gateway/x/..;/order/refund",
        "/api/v1/payment-gateway/x/../order/refund",
        "/api/v1/payment-gateway/./order/refund",
        "/api/v1/payment-gateway//order/refund",
        "/api/v1/payment-gateway/x/%2e%2e/order/refund",
        "/api/v1/payment-gateway/x/.%2E/order/refund",
        "/api/v1/payment-gateway%2forder/refund",
        "/api/v1/payment-gateway%5corder/refund",
        "/api/v1/payment-gateway/order/refund%00",
        "/api/v1/payment-gateway/order/%2572efund",
        "/api/v1/payment-gateway/order/refund%3Fx=1",
        "/api/v1/payment-gateway/order/refund%23x",
        "/api/v1/payment-gateway\\order\\refund",
        "/external/v1/test/..;/refund",
        "/external/v1/test/%2e%2e/refund",
    ];
    for target in targets {
        for key in [LIVE_KEY, TEST_KEY] {
            let answer = send_raw(gateway.proxy, &format!("POST {target} HTTP/1.1\r\nhost: x\r\nx-api-key: {key}"), b"{}").await;
            let json: serde_json::Value = serde_json::from_str(&answer.text()).unwrap_or_default();
            // hyper itself refuses some bytes (a raw `\`) before the gateway
            // sees them: 400 either way, never forwarded.
            assert_eq!(answer.status, 400, "{target}: {}", answer.text());
            if !json.is_null() {
                assert_eq!(json["code"], "INVALID_REQUEST", "{target}: {}", answer.text());
                assert_eq!(json["message"], "The request path is not in canonical form.", "{target}");
            }
        }
    }
    assert_eq!(upstream.executions(), 0, "a non-canonical target reached the upstream");
    // Test routes match the canonical path too: a live key on an encoded
    // test path is on the test API, and refused there.
    let live_on_test = send(&gateway.url("/external/v1/%74est/x"), "GET", &[("x-api-key", LIVE_KEY)], b"").await;
    assert_eq!(code_and_reason(&live_on_test), (403, "SCOPE_DENIED".to_owned()), "{}", live_on_test.text());
    let test_on_test = send(&gateway.url("/external/v1/TEST/x"), "GET", &[("x-api-key", TEST_KEY)], b"").await;
    assert_eq!(test_on_test.status, 200, "{}", test_on_test.text());
    assert_eq!(upstream.last_target().as_deref(), Some("/external/v1/TEST/x"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_valued_fields_sent_twice_are_refused() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&upstream, dir.path(), "");
    let url = gateway.url("/api/v1/orders");
    let cases: [&[(&str, &str)]; 7] = [
        &[("x-api-key", LIVE_KEY), ("x-webcode", "SHOP01"), ("x-webcode", "VICTIM")],
        &[("x-api-key", LIVE_KEY), ("x-webcode", "SHOP01, VICTIM")],
        &[("x-api-key", LIVE_KEY), ("x-api-key", LIVE_KEY)],
        &[("x-api-key", LIVE_KEY), ("idempotency-key", "a"), ("idempotency-key", "b")],
        &[("x-api-key", LIVE_KEY), ("x-idempotent-key", "a,b")],
        &[("x-api-key", LIVE_KEY), ("x-signature", "00"), ("x-signature", "11")],
        &[("x-api-key", LIVE_KEY), ("x-timestamp", "1"), ("x-timestamp", "2")],
    ];
    for headers in cases {
        let answer = send(&url, "POST", headers, b"{}").await;
        assert_eq!(code_and_reason(&answer), (400, "INVALID_REQUEST".to_owned()), "{headers:?}: {}", answer.text());
        assert_eq!(answer.json()["message"], "A header that must appear once was sent more than once.");
    }
    assert_eq!(gateway.requests("refused", "duplicate_field").await, 7);
    assert_eq!(upstream.executions(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upstream_gets_the_canonical_request_and_the_gateways_own_forwarding_headers() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&upstream, dir.path(), "");
    let headers = [
        ("x-api-key", LIVE_KEY),
        ("forwarded", "for=198.51.100.9;host=evil.example"),
        ("x-forwarded-for", "198.51.100.9"),
        ("x-forwarded-host", "evil.example"),
        ("x-real-ip", "198.51.100.9"),
        ("x-http-method-override", "DELETE"),
        ("x-method-override", "DELETE"),
        ("x-http-method", "DELETE"),
        ("x-payseal-key-id", "k_admin"),
        ("idempotency-key", "fwd-1"),
    ];
    let answer = send(&gateway.url("/api/v1/%70ayments/%7e1?q=%2f&r=%41"), "POST", &headers, b"{}").await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    assert_eq!(upstream.last_target().as_deref(), Some("/api/v1/payments/~1?q=%2f&r=%41"));
    let seen = upstream.last_headers();
    for name in ["x-forwarded-host", "x-real-ip", "x-http-method-override", "x-method-override", "x-http-method", "x-api-key"] {
        assert!(seen.get(name).is_none(), "{name} reached the upstream");
    }
    assert_eq!(seen.get("x-forwarded-for").unwrap(), "127.0.0.1", "the untrusted client's own claim was kept");
    assert_eq!(seen.get("forwarded").unwrap(), "for=127.0.0.1");
    assert_eq!(seen.get("x-payseal-key-id").unwrap(), "k_live");
    assert_eq!(seen.get("idempotency-key").unwrap(), "fwd-1", "the idempotency key is forwarded");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_sent_and_never_answered_executes_once_through_ten_retries() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&upstream, dir.path(), "upstream_timeout_ms = 300");
    let url = gateway.url("/api/v1/payments");
    let slow = [("x-api-key", LIVE_KEY), ("idempotency-key", "slow-1"), ("x-test-delay-ms", "1500")];
    let first = send(&url, "POST", &slow, b"{\"amount\":1}").await;
    assert_eq!(code_and_reason(&first), (504, "UPSTREAM_TIMEOUT".to_owned()), "{}", first.text());
    for _ in 0..10 {
        let retry = send(&url, "POST", &slow, b"{\"amount\":1}").await;
        assert_eq!(code_and_reason(&retry), (409, "IDEMPOTENCY_OUTCOME_UNKNOWN".to_owned()), "{}", retry.text());
    }
    // Long after the slow upstream finished, still once.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert_eq!(upstream.executions_of("slow-1"), 1, "the charge ran more than once");
    assert_eq!(gateway.requests("conflict", "idempotency_outcome_unknown").await, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_never_sent_is_released() {
    // An upstream address nobody listens on: connections are refused.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gateway = Gateway::start(dir.path(), &config(closed, dir.path(), ""), &[("PAYSEAL_TEST_SECRET", "gate-edge-dvpay-secret")]);
    let url = gateway.url("/api/v1/payments");
    let headers = [("x-api-key", LIVE_KEY), ("idempotency-key", "never-sent-1")];
    for _ in 0..3 {
        // Released every time: a retry is tried again, never a 409.
        let answer = send(&url, "POST", &headers, b"{}").await;
        assert_eq!(code_and_reason(&answer), (502, "UPSTREAM_UNAVAILABLE".to_owned()), "{}", answer.text());
    }
    assert_eq!(gateway.requests("upstream_error", "not_sent").await, 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_request_never_has_its_body_read() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&upstream, dir.path(), "body_timeout_ms = 60000");
    // A head that announces a body it never sends: refused on the head at
    // once, not after the body timeout.
    let mut stream = tokio::net::TcpStream::connect(gateway.proxy).await.unwrap();
    let head = "POST /api/v1/orders HTTP/1.1\r\nhost: x\r\nx-api-key: sk_live_Unknown000000000000000000000\r\ncontent-length: 1000\r\n\r\n";
    tokio::io::AsyncWriteExt::write_all(&mut stream, head.as_bytes()).await.unwrap();
    let mut buffer = vec![0; 512];
    let n = tokio::time::timeout(Duration::from_secs(10), tokio::io::AsyncReadExt::read(&mut stream, &mut buffer)).await.unwrap().unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 401"), "{}", String::from_utf8_lossy(&buffer[..n]));
    assert_eq!(upstream.executions(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_client_is_never_taken_for_the_proxy_in_front() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    // The trusted proxy's own address is on the key's allow-list: a chain
    // that names no address must leave the client unknown, not make it the proxy.
    let mut bound = record("k_live", LIVE_KEY, "live");
    bound["allowed_ips"] = json!(["127.0.0.0/8"]);
    let mut text = base_config(upstream.addr, dir.path(), "trusted_proxies = [\"127.0.0.1\"]");
    text.push_str(&toml_of(&json!({ "keys": { "policy": { "accepted_formats": ["prefixed"] }, "records": [bound] } })));
    let gateway = Gateway::start(dir.path(), &text, &[]);
    let url = gateway.url("/api/v1/orders");
    let unknown = send(&url, "GET", &[("x-api-key", LIVE_KEY), ("x-forwarded-for", "not-an-address")], b"").await;
    assert_eq!(code_and_reason(&unknown), (403, "IP_NOT_ALLOWED".to_owned()), "{}", unknown.text());
    let known = send(&url, "GET", &[("x-api-key", LIVE_KEY), ("x-forwarded-for", "127.0.0.9")], b"").await;
    assert_eq!(known.status, 200, "{}", known.text());
    assert_eq!(upstream.last_headers().get("x-forwarded-for").unwrap(), "127.0.0.9");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_signature_is_accepted_once() {
    use payseal_core::Secret;
    use payseal_core::signing::dvpay;
    const NOW: u64 = 1_719_500_000;
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&upstream, dir.path(), "");
    gateway.set_clock(NOW).await;
    let body = br#"{"orderId":7,"refundAmount":10}"#;
    let signed = |idempotency_key: &str| {
        let made = dvpay::Signer::new(LIVE_KEY, &Secret::from_text("gate-edge-dvpay-secret")).sign(body, NOW, idempotency_key).unwrap();
        made.headers.into_iter().map(|(n, v)| (n.to_owned(), v)).collect::<Vec<(String, String)>>()
    };
    let refs = |h: &[(String, String)]| h.iter().map(|(n, v)| (n.clone(), v.clone())).collect::<Vec<_>>();
    let send_signed = |headers: Vec<(String, String)>| {
        let url = gateway.url(REFUND);
        async move {
            let pairs: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
            send(&url, "POST", &pairs, body).await
        }
    };
    let first = send_signed(signed("refund-a")).await;
    assert_eq!(first.status, 201, "{}", first.text());
    // The same request retried with its idempotency key: the stored answer.
    let retried = send_signed(signed("refund-a")).await;
    assert_eq!((retried.status, &retried.body), (201, &first.body));
    // Captured and sent again under a fresh idempotency key (the DVPay MAC
    // does not cover it): refused, never executed.
    let mut captured = refs(&signed("refund-a"));
    for (name, value) in &mut captured {
        if name.eq_ignore_ascii_case("x-idempotent-key") {
            *value = "refund-b".into();
        }
    }
    let replayed = send_signed(captured).await;
    assert_eq!(code_and_reason(&replayed), (401, "AUTHENTICATION_FAILED".to_owned()), "{}", replayed.text());
    assert_eq!(replayed.json()["message"], "The request signature was already used.");
    assert_eq!(gateway.requests("refused", "replayed_signature").await, 1);
    assert_eq!(upstream.executions(), 1, "the refund ran more than once");
}

/// Failed authentication is throttled (`core::throttle`): ten bad
/// signatures lock the key that sent them, the address's own budget (here
/// 20) locks the address, each with `Retry-After`; a locked-out client gets
/// 429 whatever it sends; another key from another budget still works; and
/// both locks end with their back-off.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn guessed_keys_and_bad_signatures_are_locked_out_then_let_back_in() {
    const NOW: u64 = 1_719_500_000;
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&upstream, dir.path(), "throttle = { address_failures = 20 }");
    gateway.set_clock(NOW).await;
    // A second live key, of another merchant.
    assert_eq!(gateway.put_key(&record("k_other", OTHER_KEY, "live")).await.status, 200);
    let now = NOW.to_string();
    let bad_signature = [("x-api-key", LIVE_KEY), ("x-timestamp", now.as_str()), ("x-signature", &"0".repeat(64))];
    let statuses = |answers: &[Answer]| answers.iter().map(|a| a.status).collect::<Vec<_>>();
    let retry_after = |answer: &Answer| answer.headers.get("retry-after").and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    let mut answers = Vec::new();
    for _ in 0..10 {
        answers.push(send(&gateway.url(REFUND), "POST", &bad_signature, b"{}").await);
    }
    assert_eq!(statuses(&answers), [[401; 9].as_slice(), &[429]].concat(), "the tenth bad signature locks the key");
    assert_eq!(code_and_reason(&answers[9]), (429, "TOO_MANY_ATTEMPTS".to_owned()));
    assert_eq!(retry_after(&answers[9]), Some(60));
    // The key is locked on every route; the other key, same address, is not.
    let other_route = format!("{REFUND}x");
    assert_eq!(send(&gateway.url(&other_route), "POST", &[("x-api-key", LIVE_KEY)], b"{}").await.status, 429);
    assert_eq!(send(&gateway.url(&other_route), "POST", &[("x-api-key", OTHER_KEY)], b"{}").await.status, 201);
    // Guessed keys: the address's twentieth failure locks the address.
    let mut guesses = Vec::new();
    for i in 0..10 {
        let guess = format!("sk_live_Guess{i:022}");
        guesses.push(send(&gateway.url(&other_route), "POST", &[("x-api-key", guess.as_str())], b"{}").await);
    }
    assert_eq!(statuses(&guesses), [[401; 9].as_slice(), &[429]].concat());
    // Locked out: even a valid key learns nothing, and nothing is forwarded.
    let executed = upstream.executions();
    let locked = send(&gateway.url(&other_route), "POST", &[("x-api-key", OTHER_KEY)], b"{}").await;
    assert_eq!((locked.status, retry_after(&locked)), (429, Some(60)));
    assert_eq!(upstream.executions(), executed);
    assert_eq!(gateway.metric("payseal_auth_failures_total{surface=\"request\"}").await, 20);
    assert_eq!(gateway.metric("payseal_throttled_total{surface=\"request\"}").await, 4);
    // After the back-off both keys work again.
    gateway.set_clock(NOW + 61).await;
    assert_eq!(send(&gateway.url(&other_route), "POST", &[("x-api-key", OTHER_KEY)], b"{}").await.status, 201);
    assert_eq!(send(&gateway.url(&other_route), "POST", &[("x-api-key", LIVE_KEY)], b"{}").await.status, 201);
    let log = gateway.log();
    assert_eq!(log.matches("locked out after repeated failed authentication").count(), 2, "one log line a lock-out:\n{log}");
}
