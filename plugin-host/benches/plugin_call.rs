//! One `check_request` through the gateway's plugin host (`PluginPool`), as
//! ratios to the plugin's own function compiled natively in this process,
//! with fuel metering and with the deadline alone, for the framed input the
//! gateway sends and for plain JSON: the figures behind the
//! choice of `plugin.fuel` (`cargo bench -p payseal-gateway --bench
//! plugin_call`, or `scripts/bench-plugin.sh`). The workload is the Extism
//! host benchmark's (`payseal_plugin_conformance::workload`).
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it makes a few
//! calls of each kind and prints nothing but a line saying so.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hint::black_box;
use std::time::Duration;

use payseal_gateway::plugin::{PluginLimits, PluginPool};
use payseal_plugin_conformance::workload::{RECORDS, Stats, config, framed_input, input, measure, ratio};
use serde_json::Value;

fn wasm() -> Vec<u8> {
    let path = payseal_gateway::demo::default_wasm_path();
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read the plugin at {}: {e}; run scripts/build-plugin.sh first", path.display()))
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let calls = if full { 50_000 } else { 20 };
    let document = config().to_string();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap();
    let wasm = wasm();
    let native_config = payseal_plugin::Config::parse(Some(&document)).unwrap();
    let limits = PluginLimits { memory_max_pages: 1024, timeout: Duration::from_secs(2), fuel: 4_000_000_000 };
    let hosts = [("fuel + deadline (default)", limits), ("deadline only (fuel = 0)", PluginLimits { fuel: 0, ..limits })];
    let pools: Vec<(&str, PluginPool)> =
        hosts.into_iter().map(|(name, limits)| (name, PluginPool::build(&wasm, &document, 1, limits, Duration::from_secs(1)).unwrap())).collect();

    // The gateway's form first: the body framed after the JSON.
    for (form, input) in [("framed input (the gateway's)", framed_input()), ("plain JSON input (body in the JSON)", input())] {
        let mut hosted: Vec<(&str, Stats)> = Vec::new();
        for (name, pool) in &pools {
            let first: Value = runtime.block_on(pool.call("check_request", &input)).unwrap();
            assert_eq!((first["outcome"].as_str(), first["key_id"].as_str()), (Some("execute"), Some("k500")), "{first}");
            for _ in 0..calls / 10 {
                black_box(runtime.block_on(pool.call::<Value>("check_request", &input)).unwrap());
            }
            hosted.push((name, measure(calls, || {
                black_box(runtime.block_on(pool.call::<Value>("check_request", &input)).unwrap());
            })));
        }
        // The native function's output parsed as the pool parses its answer.
        let native = measure(calls, || {
            let reply = payseal_plugin::functions::check_request(&native_config, &input).unwrap();
            black_box(serde_json::from_slice::<Value>(&reply.json).unwrap());
        });
        if !full {
            continue;
        }
        println!("check_request through the gateway's plugin host, {form}: {RECORDS} key records, 1 KiB body, {calls} calls");
        println!("  {:<28} {:>10.2?} median, {:>10.2?} p99", "native plugin function", native.median, native.p99);
        for (name, stats) in &hosted {
            println!(
                "  {name:<28} {:>10.2?} median, {:>10.2?} p99   = {:.2}x native median (goal <= 2), p99 = {:.2}x its median (goal <= 1.5)",
                stats.median,
                stats.p99,
                ratio(stats.median, native.median),
                ratio(stats.p99, stats.median)
            );
        }
    }
    if !full {
        println!("plugin_call bench: smoke run passed (cargo bench -p payseal-gateway --bench plugin_call for figures)");
    }
}
