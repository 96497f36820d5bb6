//! The Rust host (the `extism` crate on wasmtime) as every test here builds
//! it: no host may be reached, memory, time and fuel are bounded, no WASI.

#![allow(dead_code)]

use std::path::PathBuf;
use std::time::Duration;

use extism::{Manifest, Plugin, PluginBuilder, Wasm};
use serde_json::Value;

/// Linear memory the plugin may grow to: 256 pages of 64 KiB, 16 MiB.
pub const MAX_PAGES: u32 = 256;
/// Wall-clock limit of one call.
pub const TIMEOUT: Duration = Duration::from_secs(5);
/// Instructions one call may execute; a 1 MiB `check_request` takes about a
/// tenth of this.
pub const FUEL: u64 = 2_000_000_000;

/// Where `scripts/build-plugin.sh` puts the plugin, or `$PAYSEAL_PLUGIN_WASM`.
pub fn wasm_path(file: &str) -> PathBuf {
    if let Some(path) = std::env::var_os("PAYSEAL_PLUGIN_WASM").filter(|_| file == "payseal_plugin.wasm") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target"), PathBuf::from);
    target.join("wasm32-unknown-unknown/release").join(file)
}

/// The plugin's bytes; a missing file is a failure that says what to run.
pub fn wasm_bytes(file: &str) -> Vec<u8> {
    let path = wasm_path(file);
    std::fs::read(&path).unwrap_or_else(|e| {
        panic!("cannot read the plugin at {}: {e}; run scripts/build-plugin.sh first", path.display())
    })
}

/// A manifest with the `payseal` config document and the limits above.
pub fn manifest(wasm: &[u8], config: &Value) -> Manifest {
    Manifest::new([Wasm::data(wasm.to_vec())])
        .disallow_all_hosts()
        .with_memory_max(MAX_PAGES)
        .with_timeout(TIMEOUT)
        .with_config_key("payseal", config.to_string())
}

/// A plugin instance for `config`.
pub fn plugin(wasm: &[u8], config: &Value) -> Plugin {
    PluginBuilder::new(manifest(wasm, config))
        .with_wasi(false)
        .with_fuel_limit(FUEL)
        .build()
        .unwrap_or_else(|e| panic!("the plugin does not instantiate: {e}"))
}

/// Calls `function` with `input` bytes: the parsed JSON output, or the
/// call's error message.
pub fn call(plugin: &mut Plugin, function: &str, input: &[u8]) -> Result<Value, String> {
    match plugin.call::<&[u8], &[u8]>(function, input) {
        Ok(output) => serde_json::from_slice(output).map_err(|e| format!("output is not JSON: {e}")),
        Err(e) => Err(e.to_string()),
    }
}
