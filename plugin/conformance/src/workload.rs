//! The benchmarks' workload: a gateway's configuration (1 000 key records)
//! and an allowed `check_request` with a 1 KiB body, and the timing helpers
//! every plugin benchmark prints with, so the Extism host's figures and the
//! gateway host's are of the same work.

use std::time::{Duration, Instant};

use payseal_core::keys::KeyDigest;
use serde_json::{Value, json};

/// The allowed request's API key.
pub const KEY: &str = "sk_live_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5Yg0Jk2";
/// The request's `now`.
pub const NOW: u64 = 1_719_500_000;
/// Key records in the configuration: a gateway's worth.
pub const RECORDS: usize = 1_000;

/// The plugin document: the policy and [`RECORDS`] live key records, the
/// middle one [`KEY`]'s.
pub fn config() -> Value {
    let records: Vec<Value> = (0..RECORDS)
        .map(|i| {
            let key = if i == RECORDS / 2 { KEY.to_owned() } else { format!("sk_live_{i:0>32}") };
            json!({ "id": format!("k{i}"), "key_sha256": KeyDigest::of(&key), "environment": "live", "scopes": [] })
        })
        .collect();
    json!({ "keys": { "policy": { "accepted_formats": ["prefixed"] }, "records": records } })
}

/// The request's 1 KiB JSON body.
///
/// # Panics
/// Never: the body is built to 1 KiB.
fn body() -> String {
    let body = format!(r#"{{"orderId":"ORD-1","note":"{}"}}"#, "x".repeat(1024 - 29));
    assert_eq!(body.len(), 1024);
    body
}

/// The request's fields, without its body.
fn head() -> Value {
    json!({
        "now": NOW,
        "method": "GET",
        "path": "/external/v1/payments/pay_1",
        "client_ip": "203.0.113.45",
        "headers": { "X-Api-Key": KEY, "Content-Type": "application/json" },
    })
}

/// An allowed request on an unsigned route with a 1 KiB body, as plain
/// JSON input (the body in its `body` field).
pub fn input() -> Vec<u8> {
    let mut input = head();
    input["body"] = Value::String(body());
    input.to_string().into_bytes()
}

/// The same request as a framed input (`payseal_plugin::frame`): the body
/// raw, after the JSON, as the gateway sends it.
pub fn framed_input() -> Vec<u8> {
    payseal_plugin::frame::encode(head().to_string().as_bytes(), body().as_bytes())
}

/// A measurement's median and 99th percentile.
pub struct Stats {
    /// The median sample.
    pub median: Duration,
    /// The 99th percentile (nearest rank).
    pub p99: Duration,
}

/// Times `f` `iterations` times.
///
/// # Panics
/// With zero iterations.
pub fn measure(iterations: usize, mut f: impl FnMut()) -> Stats {
    let mut samples: Vec<Duration> = (0..iterations)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed()
        })
        .collect();
    samples.sort_unstable();
    // Nearest rank: the sample at position ceil(q * n) - 1.
    let at = |percent: usize| samples[(samples.len() * percent).div_ceil(100).saturating_sub(1)];
    Stats { median: at(50), p99: at(99) }
}

/// `a / b`, for a ratio line.
pub fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64().max(1e-12)
}

