//! The filter's decisions, natively, against the Extism plugin's
//! `check_request` on every keys vector and every DVPay verify vector: the
//! same outcome, the same reason, the same refusal body bytes. (The Envoy
//! harness checks the same through a real Envoy; this pins it in `cargo test`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use payseal_envoy::Config;
use payseal_envoy::gate::{self, Head, Step};
use serde_json::{Value, json};

fn vectors(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors").join(name);
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// The plugin's answer for `config` and `input`.
fn plugin(config: &Value, input: &Value) -> Value {
    let config = payseal_plugin::Config::parse(Some(&config.to_string())).unwrap();
    let reply = payseal_plugin::functions::check_request(&config, input.to_string().as_bytes()).unwrap();
    serde_json::from_slice(&reply.json).unwrap()
}

/// The filter's answer: `Ok(key_id)` or `Err((reason, body))`.
fn filter(config: &Value, head: &Head<'_>, body: &[u8]) -> Result<String, (String, String)> {
    let config = Config::parse(config.to_string().as_bytes()).unwrap();
    let allowed = gate::admit(&config, head).map_err(|r| (r.reason.to_owned(), r.body()))?;
    match gate::route_step(&config, head, &allowed, Some(body)) {
        Step::Refuse(r) => Err((r.reason.to_owned(), r.body())),
        Step::Forward(_) => Ok(allowed.key_id),
        Step::NeedBody => panic!("asked for the body twice"),
    }
}

fn compare(name: &str, ours: Result<String, (String, String)>, theirs: &Value) {
    match ours {
        Ok(key_id) => {
            assert_eq!(theirs["ok"], true, "{name}: the plugin refuses: {theirs}");
            assert_eq!(theirs["key_id"], key_id.as_str(), "{name}");
        }
        Err((reason, body)) => {
            assert_eq!(theirs["reason"], reason.as_str(), "{name}: {theirs}");
            assert_eq!(theirs["body"], body.as_str(), "{name}");
        }
    }
}

#[test]
fn keys_vectors_match_the_plugin() {
    let v = vectors("keys.json");
    let keys = json!({"policy": v["policy"], "records": v["records"]});
    let cases = v["cases"].as_array().unwrap();
    assert!(!cases.is_empty());
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let r = &case["request"];
        let mut headers = Vec::new();
        if let Some(key) = r["api_key"].as_str() {
            headers.push(("x-api-key".to_owned(), key.to_owned()));
        }
        if let Some(webcode) = r["webcode"].as_str() {
            headers.push(("x-webcode".to_owned(), webcode.to_owned()));
        }
        let head = Head {
            method: r["method"].as_str().unwrap(),
            path: r["path"].as_str().unwrap(),
            url: "http://gateway.test/",
            headers: &headers,
            client_ip: r["client_ip"].as_str().map(|ip| ip.parse().unwrap()),
            now: r["now"].as_u64().unwrap(),
        };
        let ours = filter(&json!({"keys": keys, "envoy": {"webcode_header": "x-webcode"}}), &head, b"");
        let mut plugin_headers = serde_json::Map::new();
        if let Some(key) = r["api_key"].as_str() {
            plugin_headers.insert("x-api-key".into(), json!(key));
        }
        let input = json!({
            "now": r["now"], "method": r["method"], "path": r["path"], "client_ip": r["client_ip"],
            "webcode": r["webcode"], "headers": plugin_headers,
        });
        let expected = &case["expected"];
        match &ours {
            Ok(key_id) => assert_eq!(expected["key_id"], key_id.as_str(), "{name}"),
            Err((reason, _)) => assert_eq!(expected["reason"], reason.as_str(), "{name}"),
        }
        compare(name, ours, &plugin(&json!({"keys": keys}), &input));
    }
}

#[test]
fn dvpay_verify_vectors_on_a_signed_route_match_the_plugin() {
    const KEY: &str = "sk_live_ParityTest000000000000000000";
    let digest = hex_sha256(KEY);
    let v = vectors("dvpay.json");
    for case in v["cases"].as_array().unwrap().iter().filter(|c| c["op"] == "verify") {
        let name = case["name"].as_str().unwrap();
        let secrets = case.get("secrets").cloned().unwrap_or_else(|| json!([case["secret"]]));
        let config = json!({
            "keys": {"records": [{"id": "k", "key_sha256": digest, "environment": "live"}]},
            "routes": [{"prefix": "/refund", "signed": true, "idempotency": "off"}],
            "signed_requests": {"secrets": {"k": secrets}, "tolerance": case["tolerance"]},
        });
        let headers: Vec<(String, String)> = [
            ("x-api-key", KEY),
            ("x-timestamp", case["timestamp"].as_str().unwrap()),
            ("x-signature", case["signature"].as_str().unwrap()),
        ]
        .iter()
        .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
        .collect();
        let body = case["body"].as_str().unwrap();
        let head = Head {
            method: "POST",
            path: "/refund",
            url: "http://gateway.test/refund",
            headers: &headers,
            client_ip: None,
            now: case["now"].as_u64().unwrap(),
        };
        let ours = filter(&config, &head, body.as_bytes());
        match (&ours, case["expected"]["ok"].as_bool().unwrap()) {
            (Ok(_), true) => {}
            (Err((reason, _)), false) => assert_eq!(case["expected"]["error"], reason.as_str(), "{name}"),
            _ => panic!("{name}: {ours:?}"),
        }
        let input = json!({
            "now": case["now"], "method": "POST", "path": "/refund",
            "headers": headers.iter().cloned().collect::<std::collections::BTreeMap<_, _>>(), "body": body,
        });
        compare(name, ours, &plugin(&config, &input));
    }
}

/// The core's digest of a key, as a record serializes it.
fn hex_sha256(key: &str) -> String {
    let record = payseal_core::keys::KeyRecord::new("x", key, payseal_core::Environment::Live);
    serde_json::to_value(&record).unwrap()["key_sha256"].as_str().unwrap().to_owned()
}
