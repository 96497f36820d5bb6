//! What the plugin costs a host, as ratios to the same work done natively in
//! this process (`scripts/bench-plugin.sh`, i.e. `cargo bench -p
//! payseal-plugin-conformance --bench plugin`):
//!
//! - instantiate: a plugin instance from the compiled module, up to the end
//!   of its first call (the configuration is parsed there), against parsing
//!   the same configuration natively;
//! - `check_request` for an allowed request with a 1 KiB body, median and
//!   p99, against `payseal-core`'s `KeySet::check` alone, and against the
//!   plugin's own function (JSON in, core, JSON out) compiled natively.
//!
//! Without `--bench` (as `cargo test --all-targets` runs it) it makes a few
//! calls of each kind and prints nothing but a line saying so.

#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/host/mod.rs"]
mod host;

use std::hint::black_box;
use std::time::Instant;

use extism::{CompiledPlugin, Plugin, PluginBuilder};
use payseal_core::keys::{KeyRecord, KeySet, Policy, Request};
use payseal_plugin_conformance::workload::{KEY, NOW, RECORDS, config, input, measure, ratio};
use payseal_core::Environment;
use serde_json::Value;

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let (calls, instances) = if full { (20_000, 200) } else { (20, 2) };
    let wasm = host::wasm_bytes("payseal_plugin.wasm");
    let config = config();
    let input = input();

    let started = Instant::now();
    let compiled = CompiledPlugin::new(
        PluginBuilder::new(host::manifest(&wasm, &config)).with_wasi(false).with_fuel_limit(host::FUEL),
    )
    .unwrap();
    let compile = started.elapsed();

    let instance_only = measure(instances, || {
        black_box(Plugin::new_from_compiled(&compiled).unwrap());
    });
    // Instantiate, including the first call, which parses the configuration.
    let instantiate = measure(instances, || {
        let mut plugin = Plugin::new_from_compiled(&compiled).unwrap();
        black_box(plugin.call::<&[u8], &[u8]>("describe", b"").unwrap());
    });
    let config_text = config.to_string();
    let native_config = measure(instances, || {
        black_box(payseal_plugin::Config::parse(Some(&config_text)).unwrap());
    });

    let mut plugin = Plugin::new_from_compiled(&compiled).unwrap();
    let first = plugin.call::<&[u8], &[u8]>("check_request", &input).unwrap().to_vec();
    let first: Value = serde_json::from_slice(&first).unwrap();
    assert_eq!((first["outcome"].as_str(), first["key_id"].as_str()), (Some("execute"), Some("k500")), "{first}");
    for _ in 0..calls / 10 {
        black_box(plugin.call::<&[u8], &[u8]>("check_request", &input).unwrap());
    }
    let in_plugin = measure(calls, || {
        black_box(plugin.call::<&[u8], &[u8]>("check_request", &input).unwrap());
    });

    let native_plugin_config = payseal_plugin::Config::parse(Some(&config_text)).unwrap();
    let native_function = measure(calls, || {
        let _ = black_box(payseal_plugin::functions::check_request(&native_plugin_config, &input));
    });

    let records: Vec<KeyRecord> = serde_json::from_value(config["keys"]["records"].clone()).unwrap();
    let keys = KeySet::new(records).unwrap();
    let policy = Policy::default();
    let request = Request {
        api_key: Some(KEY),
        method: "GET",
        path: "/external/v1/payments/pay_1",
        client_ip: "203.0.113.45".parse().ok(),
        webcode: None,
    };
    assert_eq!(keys.check(&request, &policy, NOW).map(|a| a.environment), Ok(Environment::Live));
    let native_core = measure(calls, || {
        let _ = black_box(keys.check(black_box(&request), &policy, NOW));
    });

    if !full {
        println!("plugin bench: smoke run passed (run scripts/bench-plugin.sh for figures)");
        return;
    }
    println!("payseal plugin ({} bytes), {RECORDS} key records, {calls} calls, {instances} instances", wasm.len());
    println!("compile (wasmtime, once per process):     {compile:>12.2?}");
    println!("instantiate (no call):                    {:>12.2?} median, {:>10.2?} p99", instance_only.median, instance_only.p99);
    println!(
        "instantiate + first call (config parse):  {:>12.2?} median, {:>10.2?} p99   = {:>7.1}x native Config::parse ({:.2?})",
        instantiate.median,
        instantiate.p99,
        ratio(instantiate.median, native_config.median),
        native_config.median
    );
    println!(
        "check_request, allowed, 1 KiB body:       {:>12.2?} median, {:>10.2?} p99",
        in_plugin.median, in_plugin.p99
    );
    println!(
        "  native payseal-core KeySet::check:      {:>12.2?} median, {:>10.2?} p99   plugin = {:>6.1}x median, {:>6.1}x p99",
        native_core.median,
        native_core.p99,
        ratio(in_plugin.median, native_core.median),
        ratio(in_plugin.p99, native_core.p99)
    );
    println!(
        "  native plugin function (JSON in/out):   {:>12.2?} median, {:>10.2?} p99   plugin = {:>6.1}x median, {:>6.1}x p99",
        native_function.median,
        native_function.p99,
        ratio(in_plugin.median, native_function.median),
        ratio(in_plugin.p99, native_function.p99)
    );
}
