//! The canary check every host runs: a configuration with one recognisable
//! secret in every secret slot of every scheme, and inputs of every kind for
//! every function (valid, refused, malformed, wrong types, oversize). No
//! output, error or log line of any of these calls may contain the secret.

use payseal_core::Secret;
use payseal_core::keys::KeyDigest;
use payseal_core::signing::dvpay;
use payseal_plugin::frame;
use serde_json::{Value, json};

/// A secret that is usable by every scheme (standard base64 of 32 bytes, and
/// fine as text), so every code path that reads a secret runs with it.
pub const CANARY: &str = "cGF5c2VhbC1jYW5hcnktc2VjcmV0LTdkMWU5YjBjNGE=";
/// The start of the canary's decoded bytes (`payseal-canary-…`) in hex:
/// what a base64 scheme holds.
pub const CANARY_BYTES_HEX: &str = "706179736561";
/// The one API key of [`config`], on the `k_live` record.
pub const LIVE_KEY: &str = "sk_live_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5Yg0Jk2";
/// The `now` of every input.
pub const NOW: u64 = 1_719_500_000;

fn digest(key: &str) -> Value {
    serde_json::to_value(KeyDigest::of(key)).unwrap_or_default()
}

/// A gateway configuration: one live key, a signed refund route, and the
/// canary as every secret of every scheme.
pub fn config(secret: &str) -> Value {
    json!({
        "keys": {
            "policy": { "accepted_formats": ["prefixed"] },
            "records": [
                { "id": "k_live", "key_sha256": digest(LIVE_KEY), "environment": "live" },
                { "id": "k_nosecret", "key_sha256": digest("sk_live_NoSecretConfigured0000000000"), "environment": "live" },
            ],
        },
        "routes": [
            { "prefix": "/external/v1/refund", "methods": ["POST"], "signed": true },
            { "prefix": "/external/v1/payouts", "methods": ["POST"], "rfc9421": { "required": ["@method", "@path", "content-digest"] } },
        ],
        "signed_requests": { "secrets": { "k_live": [secret] }, "rfc9421": { "k_live": { "psk-live-1": secret } } },
        "webhooks": {
            "dvpay": { "scheme": "dvpay", "secrets": [secret] },
            "stripe": { "scheme": "stripe", "secrets": [secret] },
            "sw": { "scheme": "standard_webhooks", "secrets": [secret] },
            "cs": { "scheme": "cybersource", "keys": [{ "key_id": "k1", "secret": secret }] },
            "rfc": { "scheme": "rfc9421", "keys": { "k1": secret }, "required": ["@method"] },
        },
        "redirect": { "live": { "environment": "live", "secret": secret } },
        "signers": {
            "dvpay": { "scheme": "dvpay", "secret": secret, "api_key": "ak_public_1" },
            "cs": { "scheme": "cybersource", "secret": secret, "key_id": "k1", "merchant_id": "m", "host": "h" },
            "rfc": { "scheme": "rfc9421", "secret": secret },
            "stripe": { "scheme": "stripe", "secret": secret },
            "sw": { "scheme": "standard_webhooks", "secret": secret },
        },
    })
}

/// DVPay headers of a request signed with the canary, as `k_live` sends them.
pub fn dvpay_headers(body: &str, idempotency_key: Option<&str>) -> Value {
    let signature = dvpay::Signer::new("", &Secret::from_text(CANARY)).signature(body.as_bytes(), NOW).unwrap_or_default();
    let mut headers = json!({ "X-Api-Key": LIVE_KEY, "X-Timestamp": NOW.to_string(), "X-Signature": signature });
    if let Some(key) = idempotency_key {
        headers["X-Idempotent-Key"] = json!(key);
    }
    headers
}

/// Inputs of every kind for every function: valid, refused, malformed.
pub fn inputs() -> Vec<(&'static str, Vec<u8>)> {
    let body = r#"{"orderId":1,"amount":10}"#;
    let check = json!({ "now": NOW, "method": "POST", "path": "/external/v1/refund", "headers": dvpay_headers(body, Some("K1")), "body": body });
    let mut inputs: Vec<(&'static str, Value)> = vec![
        ("check_request", check.clone()),
        ("check_request", json!({ "now": NOW, "method": "POST", "path": "/external/v1/refund", "headers": { "X-Api-Key": LIVE_KEY, "X-Timestamp": "1", "X-Signature": "00" }, "body": body })),
        ("check_request", json!({ "now": NOW, "method": "GET", "path": "/external/v1/x", "headers": { "X-Api-Key": "sk_live_Unknown000000000000000000000" } })),
        ("check_request", json!({ "now": NOW, "method": "POST", "path": "/external/v1/payouts", "url": "https://api.example/external/v1/payouts", "headers": { "X-Api-Key": LIVE_KEY, "Idempotency-Key": "p", "signature-input": format!("s=(\"@method\" \"@path\" \"content-digest\");created={NOW};keyid=\"psk-live-1\""), "signature": "s=:AAAA:", "content-digest": "sha-256=:AAAA:" }, "body": body })),
        ("check_request", json!({ "now": NOW, "method": "POST", "path": "/external/v1/refund", "headers": { "X-Api-Key": "sk_live_NoSecretConfigured0000000000", "X-Timestamp": NOW.to_string(), "X-Signature": "00" } })),
        ("decide_idempotency", json!({ "now": NOW, "key": "K", "method": "POST", "path": "/p", "body": "b", "environment": "live", "key_id": "k", "idempotency": { "storage_key": "wrong", "record": null } })),
        ("verify_webhook", json!({ "webhook": "stripe", "now": NOW, "headers": { "Stripe-Signature": format!("t={NOW},v1=00") }, "body": body })),
        ("verify_webhook", json!({ "webhook": "sw", "now": NOW, "headers": { "webhook-id": "m", "webhook-timestamp": NOW.to_string(), "webhook-signature": "v1,AA==" }, "body": body })),
        ("verify_webhook", json!({ "webhook": "dvpay", "now": NOW, "headers": { "X-Timestamp": NOW.to_string(), "X-Signature": "zz" }, "body": body })),
        ("verify_webhook", json!({ "webhook": "cs", "now": NOW, "method": "GET", "target": "/x", "headers": { "host": "h", "date": "Thu, 27 Jun 2024 13:07:17 GMT", "v-c-merchant-id": "m", "signature": "keyid=\"k1\", algorithm=\"HmacSHA256\", headers=\"host date request-target v-c-merchant-id\", signature=\"AA==\"" } })),
        ("verify_webhook", json!({ "webhook": "rfc", "now": NOW, "method": "GET", "url": "https://h/x", "headers": { "signature-input": format!("s=(\"@method\");created={NOW};keyid=\"k1\""), "signature": "s=:AAAA:" } })),
        ("verify_webhook", json!({ "webhook": "cs", "now": NOW, "headers": {} })),
        ("verify_webhook", json!({ "webhook": "nope", "now": NOW })),
        ("open_redirect", json!({ "redirect": "live", "token": "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA", "now": NOW })),
        ("open_redirect", json!({ "redirect": "live", "token": "%%%", "now": NOW })),
        ("sign_request", json!({ "signer": "dvpay", "now": NOW, "body": body, "idempotency_key": "K1" })),
        ("sign_request", json!({ "signer": "cs", "now": NOW, "method": "POST", "target": "/pts/v2/payments", "body": body })),
        ("sign_request", json!({ "signer": "rfc", "method": "POST", "url": "https://h/p", "components": ["@method", "content-digest"], "params": [["created", NOW], ["keyid", "k1"]], "body": body })),
        ("sign_request", json!({ "signer": "stripe", "now": NOW, "body": body })),
        ("sign_request", json!({ "signer": "sw", "now": NOW, "id": "msg_1", "body": body })),
        ("sign_request", json!({ "signer": "cs" })),
        ("finish_request", json!({ "claim": { "endpoint": "POST /p", "fingerprint": "00", "state": { "state": "in_flight" }, "expires_at": 1 }, "response": { "status": 201, "body": "{}" } })),
        ("describe", json!({})),
    ];
    // Wrong types for the fields of every function.
    for function in ["check_request", "decide_idempotency", "finish_request", "verify_webhook", "open_redirect", "sign_request"] {
        inputs.push((function, json!({ "now": "yesterday", "method": 7, "headers": "x", "webhook": ["stripe"], "signer": {}, "claim": 1 })));
        inputs.push((function, json!([CANARY.len()])));
    }
    let mut raw: Vec<(&'static str, Vec<u8>)> = inputs.into_iter().map(|(f, v)| (f, v.to_string().into_bytes())).collect();
    // The same calls framed (the body beside the JSON), and frames the plugin refuses.
    let framed = |input: Value| frame::encode(input.to_string().as_bytes(), body.as_bytes());
    let mut check_head = check;
    if let Some(fields) = check_head.as_object_mut() {
        fields.remove("body");
    }
    raw.extend([
        ("check_request", framed(check_head.clone())),
        ("verify_webhook", framed(json!({ "webhook": "dvpay", "now": NOW, "headers": { "X-Timestamp": NOW.to_string(), "X-Signature": "zz" } }))),
        ("sign_request", framed(json!({ "signer": "dvpay", "now": NOW, "idempotency_key": "K1" }))),
        ("sign_request", framed(json!({ "signer": "rfc", "method": "POST", "url": "https://h/p", "components": ["@method", "content-digest"], "params": [["keyid", "k1"]] }))),
        ("finish_request", framed(json!({ "claim": { "endpoint": "POST /p", "fingerprint": "00", "state": { "state": "in_flight" }, "expires_at": 1 }, "response": { "status": 201 } }))),
        ("verify_webhook", framed(json!({ "webhook": "stripe", "now": NOW, "body": body }))),
        ("finish_request", framed(json!({ "claim": 1 }))),
        ("open_redirect", framed(json!({ "redirect": "live", "token": "%%%", "now": NOW }))),
        ("describe", framed(json!({}))),
        ("check_request", b"\0ps".to_vec()),
        ("check_request", b"\0psf\0\0\x01\0{}".to_vec()),
    ]);
    let oversize = format!(r#"{{"now":{NOW},"method":"POST","path":"/","body":"{}"}}"#, "x".repeat(1024 * 1024));
    for function in ["check_request", "verify_webhook", "describe"] {
        raw.push((function, b"{\"now\":".to_vec()));
        raw.push((function, b"not json at all".to_vec()));
        raw.push((function, vec![0xff, 0xfe, 0x00]));
        raw.push((function, oversize.clone().into_bytes()));
    }
    raw
}


/// A configuration that is wrong next to the canary: its error must name the
/// field and not quote the value.
pub fn bad_config() -> Value {
    json!({ "webhooks": { "w": { "scheme": "stripe", "secrets": [CANARY], "tolerance": CANARY } } })
}

/// Strings no output, error or log line may contain.
pub const FORBIDDEN: [&str; 3] = [CANARY, CANARY_BYTES_HEX, "payseal-canary"];

/// The check as plan data for the JavaScript and Python runners: the
/// configurations, and every input that is text (JSON strings cannot carry
/// the others; the Rust host sends those too).
pub fn plan() -> Value {
    let calls: Vec<Value> = inputs()
        .into_iter()
        .filter_map(|(function, input)| {
            String::from_utf8(input).ok().map(|text| json!({ "function": function, "input": text }))
        })
        .collect();
    json!({
        "id": "canary / no secret in any output, error or log",
        "forbidden": FORBIDDEN,
        "config": config(CANARY),
        "bad_config": bad_config(),
        "calls": calls,
    })
}
