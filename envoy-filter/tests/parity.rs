//! The filter's decisions, natively, against the Extism plugin's
//! `check_request` on every keys vector and every DVPay verify vector: the
//! same outcome, the same reason, the same refusal body bytes. (The Envoy
//! harness checks the same through a real Envoy; this pins it in `cargo test`.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

use std::net::IpAddr;

use payseal_envoy::Config;
use payseal_envoy::gate::{self, Request};
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

/// A request as Envoy hands it to the filter: pseudo-headers first.
fn request(method: &str, path: &str, headers: &[(String, String)], client_ip: Option<IpAddr>, now: u64) -> Request {
    let pseudo = [(":method", method), (":path", path), (":scheme", "http"), (":authority", "gateway.test")];
    let mut all: Vec<(String, String)> = pseudo.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
    all.extend_from_slice(headers);
    Request::new(all, client_ip, now)
}

/// The filter's answer: `Ok(key_id)` or `Err((reason, body))`.
fn filter(config: &Value, request: &Request, body: &[u8]) -> Result<String, (String, String)> {
    let config = Config::parse(config.to_string().as_bytes()).unwrap();
    let refused = |r: payseal_core::Refusal| (r.reason.to_owned(), r.body());
    let admitted = gate::head(&config, request).map_err(refused)?;
    let forward = gate::body(&config, request, admitted, body).map_err(refused)?;
    Ok(forward.key_id)
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
        let client_ip = r["client_ip"].as_str().map(|ip| ip.parse().unwrap());
        let (method, path, now) = (r["method"].as_str().unwrap(), r["path"].as_str().unwrap(), r["now"].as_u64().unwrap());
        let request = request(method, path, &headers, client_ip, now);
        let ours = filter(&json!({"keys": keys, "envoy": {"webcode_header": "x-webcode"}}), &request, b"");
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
        let request = request("POST", "/refund", &headers, None, case["now"].as_u64().unwrap());
        let ours = filter(&config, &request, body.as_bytes());
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

#[test]
fn gate_refusals_match_the_plugin() {
    const KEY: &str = "sk_live_ParityTest000000000000000000";
    let config = json!({
        "keys": {"records": [{"id": "k", "key_sha256": hex_sha256(KEY), "environment": "live", "webcode": "SHOP01"}]},
        "routes": [{"prefix": "/order/refund", "signed": true}],
    });
    let ours_config = json!({"keys": config["keys"], "routes": config["routes"], "envoy": {"webcode_header": "x-webcode"}});
    let pair = |n: &str, v: &str| (n.to_owned(), v.to_owned());
    let cases: Vec<(&str, Vec<(String, String)>)> = vec![
        ("/order/refund;x=1", vec![pair("x-api-key", KEY)]),
        ("/x/..;/order/refund", vec![pair("x-api-key", KEY)]),
        ("//order/refund", vec![pair("x-api-key", KEY)]),
        ("/order/%2e%2e/order/refund", vec![pair("x-api-key", KEY)]),
        ("/order/refund", vec![pair("x-api-key", KEY), pair("x-webcode", "SHOP01"), pair("x-webcode", "SHOP01")]),
        ("/order/refund", vec![pair("x-api-key", KEY), pair("x-api-key", KEY)]),
        ("/order/refund", vec![pair("x-api-key", KEY), pair("x-idempotent-key", "a"), pair("x-idempotent-key", "a")]),
    ];
    for (path, headers) in cases {
        let name = format!("{path} {headers:?}");
        let ours = filter(&ours_config, &request("POST", path, &headers, None, 1_719_500_000), b"{}");
        assert!(ours.is_err(), "{name}");
        let input = json!({
            "now": 1_719_500_000, "method": "POST", "path": path, "headers": headers,
            "webcode_header": "x-webcode", "body": "{}",
        });
        compare(&name, ours, &plugin(&config, &input));
    }
}
