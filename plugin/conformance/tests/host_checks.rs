//! What the plugin promises a host beyond the vectors, checked in the Rust
//! host: no secret leaves it, a bad configuration is a typed error, a runaway
//! call is stopped, and `check_request` walks a gateway through a signed,
//! idempotent request.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod host;

use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use extism::{Manifest, PluginBuilder, Wasm};
use payseal_plugin_conformance::canary::{CANARY, FORBIDDEN, LIVE_KEY, NOW, bad_config, config, dvpay_headers, inputs};
use serde_json::{Value, json};

fn wasm() -> &'static [u8] {
    static WASM: OnceLock<Vec<u8>> = OnceLock::new();
    WASM.get_or_init(|| host::wasm_bytes("payseal_plugin.wasm"))
}

/// Every line the plugins of this process log, at every level.
fn logs() -> &'static Mutex<Vec<String>> {
    static LOGS: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        extism::set_log_callback(|line| logs().lock().unwrap().push(line.to_owned()), "trace").unwrap();
        Mutex::new(Vec::new())
    })
}

fn assert_no_canary(what: &str, text: &str) {
    assert!(!FORBIDDEN.iter().any(|f| text.contains(f)), "the canary leaked through {what}: {text}");
}

#[test]
fn the_canary_secret_appears_in_no_output_error_or_log() {
    let logs = logs();
    let mut plugin = host::plugin(wasm(), &config(CANARY));
    let (mut outputs, mut errors) = (0, 0);
    for (function, input) in inputs() {
        match plugin.call::<&[u8], &[u8]>(function, &input) {
            Ok(output) => {
                outputs += 1;
                assert_no_canary(&format!("the output of {function}"), &String::from_utf8_lossy(output));
            }
            Err(e) => {
                errors += 1;
                assert_no_canary(&format!("the error of {function}"), &format!("{e:?}"));
            }
        }
    }
    assert!(outputs >= 20 && errors >= 20, "{outputs} outputs, {errors} errors");
    // A bad configuration next to the canary: the error names the field only.
    let error = host::call(&mut host::plugin(wasm(), &bad_config()), "describe", b"").unwrap_err();
    assert_no_canary("a config error", &error);
    assert!(error.contains("invalid_config"), "{error}");
    let lines = logs.lock().unwrap();
    assert!(lines.iter().any(|l| l.contains("check_request: refuse")), "the host captured no plugin log");
    for line in lines.iter() {
        assert_no_canary("the log", line);
    }
}

#[test]
fn describe_shows_the_configuration_without_secrets_or_digests() {
    let output = host::call(&mut host::plugin(wasm(), &config(CANARY)), "describe", b"").unwrap();
    assert_eq!(output["name"], "payseal-plugin");
    assert_eq!(output["functions"].as_array().unwrap().len(), 7);
    assert_eq!(output["config"]["webhooks"]["stripe"]["secrets"], json!(["[redacted]"]));
    assert_eq!(output["config"]["keys"]["records"][0], json!({
        "id": "k_live", "environment": "live", "scopes": [], "allowed_ips": [], "status": "active", "grace_seconds": 0
    }));
    assert_eq!(output["config"]["signers"]["dvpay"]["api_key"], "ak_public_1");
}

#[test]
fn a_bad_configuration_fails_every_call_with_a_typed_error_naming_the_field() {
    let bad = json!({ "webhooks": { "main": { "scheme": "stripe", "secrets": ["whsec_x"], "tolerance": "5 minutes" } } });
    let mut plugin = host::plugin(wasm(), &bad);
    for function in ["describe", "verify_webhook", "check_request"] {
        let error = host::call(&mut plugin, function, b"{}").unwrap_err();
        let typed: Value = serde_json::from_str(&error).unwrap_or_else(|_| panic!("not a typed error: {error}"));
        assert_eq!(typed["kind"], "invalid_config", "{error}");
        assert!(typed["field"].as_str().unwrap().starts_with("webhooks.main"), "{error}");
    }
    let unknown = json!({ "keys": { "records": [], "policy": { "accepted_formats": ["prefixed"], "clock_skw": 1 } } });
    let error = host::call(&mut host::plugin(wasm(), &unknown), "describe", b"").unwrap_err();
    let typed: Value = serde_json::from_str(&error).unwrap();
    assert_eq!((typed["field"].as_str(), typed["message"].as_str()), (Some("keys.policy.clock_skw"), Some("unknown field `clock_skw`")));
}

#[test]
fn bad_input_is_a_typed_error_and_the_instance_stays_usable() {
    let mut plugin = host::plugin(wasm(), &config(CANARY));
    let error = host::call(&mut plugin, "check_request", br#"{"now":"soon","method":"GET","path":"/"}"#).unwrap_err();
    let typed: Value = serde_json::from_str(&error).unwrap();
    assert_eq!(typed, json!({ "kind": "invalid_input", "field": "now", "message": "invalid type, expected u64" }));
    let oversize = vec![b' '; 1024 * 1024 + 1];
    let typed: Value = serde_json::from_str(&host::call(&mut plugin, "describe", &oversize).unwrap_err()).unwrap();
    assert_eq!(typed, json!({ "kind": "input_too_large", "limit": 1024 * 1024 }));
    assert!(host::call(&mut plugin, "describe", b"").is_ok());
}

fn slow_plugin(fuel: Option<u64>, timeout: Duration) -> extism::Plugin {
    let wasm = host::wasm_bytes("payseal_plugin_slow.wasm");
    let manifest = Manifest::new([Wasm::data(wasm)]).disallow_all_hosts().with_memory_max(host::MAX_PAGES).with_timeout(timeout);
    let builder = PluginBuilder::new(manifest).with_wasi(false);
    let builder = match fuel {
        Some(fuel) => builder.with_fuel_limit(fuel),
        None => builder,
    };
    builder.build().unwrap()
}

#[test]
fn a_runaway_call_is_stopped_by_the_fuel_limit() {
    let mut plugin = slow_plugin(Some(50_000_000), Duration::from_mins(1));
    let started = Instant::now();
    let error = plugin.call::<&[u8], &[u8]>("test_slow", b"").unwrap_err();
    assert!(format!("{error:?}").contains("fuel"), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
}

#[test]
fn a_runaway_call_is_stopped_by_the_timeout() {
    let mut plugin = slow_plugin(None, Duration::from_millis(300));
    let started = Instant::now();
    let error = plugin.call::<&[u8], &[u8]>("test_slow", b"").unwrap_err();
    assert!(format!("{error:?}").contains("timeout"), "{error:?}");
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[test]
fn a_huge_input_is_an_error_not_a_hang() {
    // 64 MiB: four times the plugin's memory limit.
    let mut plugin = host::plugin(wasm(), &config(CANARY));
    let started = Instant::now();
    let huge = vec![b'['; 64 * 1024 * 1024];
    assert!(host::call(&mut plugin, "check_request", &huge).is_err());
    assert!(started.elapsed() < Duration::from_secs(30), "{:?}", started.elapsed());
}

#[test]
fn the_release_plugin_has_no_slow_export() {
    let plugin = host::plugin(wasm(), &json!({}));
    assert!(!plugin.function_exists("test_slow"));
    assert!(plugin.function_exists("check_request") && plugin.function_exists("finish_request"));
}

/// `check_request` through a signed, idempotent refund, as a gateway runs it.
#[test]
fn check_request_walks_a_signed_idempotent_request() {
    let mut plugin = host::plugin(wasm(), &config(CANARY));
    let body = r#"{"orderId":123,"refundAmount":10.5}"#;
    let request = |headers: Value| json!({ "now": NOW, "method": "POST", "path": "/external/v1/refund", "client_ip": "203.0.113.5", "headers": headers, "body": body });
    let mut call = |input: &Value| host::call(&mut plugin, "check_request", input.to_string().as_bytes()).unwrap();

    let unsigned = call(&request(json!({ "X-Api-Key": LIVE_KEY })));
    assert_eq!((unsigned["outcome"].as_str(), unsigned["reason"].as_str(), unsigned["status"].as_u64()), (Some("refuse"), Some("missing_signature"), Some(401)));
    assert_eq!(unsigned["body"], r#"{"status":401,"code":"AUTHENTICATION_FAILED","message":"The request signature is missing."}"#);

    let no_key = call(&request(dvpay_headers(body, None)));
    assert_eq!((no_key["reason"].as_str(), no_key["status"].as_u64()), (Some("missing_idempotency_key"), Some(400)));

    let mut signed = request(dvpay_headers(body, Some("refund-1")));
    let lookup = call(&signed);
    assert_eq!((lookup["outcome"].as_str(), lookup["key_id"].as_str()), (Some("lookup"), Some("k_live")));
    let storage_key = lookup["storage_key"].as_str().unwrap().to_owned();
    assert!(storage_key.starts_with("idem:live:{"), "{storage_key}");

    signed["idempotency"] = json!({ "storage_key": storage_key, "record": null });
    let execute = call(&signed);
    assert_eq!(execute["outcome"], "execute");
    let claim = execute["idempotency"]["claim"].clone();
    assert_eq!(claim["state"], json!({ "state": "in_flight" }));
    assert_eq!(execute["idempotency"]["ttl_seconds"], 86_400);

    signed["idempotency"]["record"] = claim.clone();
    let in_flight = call(&signed);
    assert_eq!((in_flight["outcome"].as_str(), in_flight["status"].as_u64(), in_flight["reason"].as_str()), (Some("conflict"), Some(409), Some("idempotency_in_progress")));

    let finish_input = |input: Value| host::call(&mut host::plugin(wasm(), &json!({})), "finish_request", input.to_string().as_bytes()).unwrap();
    let finish = |response: Value| finish_input(json!({ "claim": claim, "response": response }));
    assert_eq!(finish(json!({ "status": 502 })), json!({ "action": "release" }));
    // Never sent: released. Sent and never answered: the charge may have run.
    assert_eq!(finish_input(json!({ "claim": claim, "response": null, "not_sent": true })), json!({ "action": "release" }));
    let unknown = finish(Value::Null);
    assert_eq!((unknown["action"].as_str(), unknown["record"]["state"]["state"].as_str()), (Some("keep_unknown"), Some("outcome_unknown")));
    let stored = finish(json!({ "status": 201, "headers": [["content-type", "application/json"]], "body": "{\"refundId\":\"r1\"}" }));
    assert_eq!(stored["action"], "store");

    signed["idempotency"]["record"] = stored["record"].clone();
    let replay = call(&signed);
    assert_eq!((replay["outcome"].as_str(), replay["status"].as_u64()), (Some("replay"), Some(201)));
    assert_eq!(replay["response"]["headers"], json!([["content-type", "application/json"]]));
    assert_eq!(replay["response"]["body_base64"], "eyJyZWZ1bmRJZCI6InIxIn0=");

    let mut other_body = request(dvpay_headers("{}", Some("refund-1")));
    other_body["body"] = json!("{}");
    other_body["idempotency"] = json!({ "storage_key": storage_key, "record": stored["record"] });
    let reused = call(&other_body);
    assert_eq!(reused["reason"], "idempotency_body_mismatch");
    assert_eq!(reused["message"], "Idempotency key reused with a different request body.");

    let mut tampered = request(dvpay_headers(body, Some("refund-2")));
    tampered["body"] = json!(r#"{"orderId":123,"refundAmount":99}"#);
    assert_eq!(call(&tampered)["reason"], "bad_signature");

    let unconfigured = call(&request(json!({ "X-Api-Key": "sk_live_NoSecretConfigured0000000000", "X-Timestamp": NOW.to_string(), "X-Signature": "00", "X-Idempotent-Key": "k" })));
    assert_eq!((unconfigured["reason"].as_str(), unconfigured["status"].as_u64(), unconfigured["code"].as_str()), (Some("invalid_secret"), Some(500), Some("CONFIGURATION_ERROR")));

    // An unsigned route: no signature; the key is honoured for POST when sent.
    let plain = call(&json!({ "now": NOW, "method": "GET", "path": "/external/v1/payments", "headers": { "X-Api-Key": LIVE_KEY, "Idempotency-Key": "g" } }));
    assert_eq!(plain, json!({ "ok": true, "outcome": "execute", "key_id": "k_live", "environment": "live", "target": "/external/v1/payments" }));
    // The head alone: a signed route asks for the body; the canonical target is the one to forward.
    let head = call(&json!({ "now": NOW, "method": "POST", "path": "/external/v1/%72efund", "body_pending": true, "headers": { "X-Api-Key": LIVE_KEY } }));
    assert_eq!(head, json!({ "ok": true, "outcome": "need_body", "key_id": "k_live", "environment": "live", "target": "/external/v1/refund" }));
    let doubled = call(&json!({ "now": NOW, "method": "GET", "path": "/external/v1/payments", "headers": [["X-Api-Key", LIVE_KEY], ["x-webcode", "A"], ["x-webcode", "B"]], "webcode_header": "x-webcode" }));
    assert_eq!((doubled["reason"].as_str(), doubled["status"].as_u64()), (Some("duplicate_field"), Some(400)));
}

#[test]
fn check_request_verifies_an_rfc9421_signed_route() {
    use payseal_core::Secret;
    use payseal_core::rfc9421::{ParamValue, SignRequest, Signer};

    let mut plugin = host::plugin(wasm(), &config(CANARY));
    let body = r#"{"payout":1}"#;
    let url = "https://api.example/external/v1/payouts";
    let params = [("created", ParamValue::Integer(NOW.cast_signed())), ("keyid", ParamValue::from("psk-live-1"))];
    let signed = Signer::new(&Secret::from_text(CANARY))
        .sign(&SignRequest {
            method: "POST",
            url,
            headers: &[("x", "y")],
            body: body.as_bytes(),
            label: "sig1",
            components: &["@method", "@path", "content-digest"],
            params: &params,
        })
        .unwrap();
    let headers = json!({
        "X-Api-Key": LIVE_KEY,
        "Idempotency-Key": "payout-1",
        "signature-input": signed.signature_input,
        "signature": signed.signature,
        "content-digest": signed.content_digest.unwrap(),
    });
    let mut request = json!({ "now": NOW, "method": "POST", "path": "/external/v1/payouts", "url": url, "headers": headers, "body": body });
    let mut call = |input: &Value| host::call(&mut plugin, "check_request", input.to_string().as_bytes()).unwrap();
    assert_eq!((call(&request)["outcome"].as_str(), call(&request)["key_id"].as_str()), (Some("lookup"), Some("k_live")));

    request["body"] = json!(r#"{"payout":2}"#);
    assert_eq!(call(&request)["reason"], "bad_digest");
    request["body"] = json!(body);
    request["headers"]["signature-input"] = json!(format!("sig1=(\"@method\");created={NOW};keyid=\"psk-live-1\""));
    assert_eq!(call(&request)["reason"], "insufficient_coverage");
    request["headers"]["signature-input"] = json!(format!("sig1=(\"@method\" \"@path\" \"content-digest\");created={NOW};keyid=\"someone-else\""));
    let unknown = call(&request);
    assert_eq!((unknown["reason"].as_str(), unknown["status"].as_u64()), (Some("unknown_key"), Some(401)));
}
