//! Every case of every file in `tests/vectors/`, through the plugin in the
//! Rust host: the plan of `payseal_plugin_conformance`, run as the
//! JavaScript and Python runners run it. Prints one line per failure and
//! `payseal-summary: plugin-rust N passed, M failed`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod host;

use std::process::ExitCode;

use extism::Plugin;
use serde_json::Value;

/// The extism crate's instance, as the plan's runner calls it.
struct Extism(Plugin);

impl payseal_plugin_conformance::PlanHost for Extism {
    fn call(&mut self, function: &str, input: &[u8]) -> Result<Value, String> {
        host::call(&mut self.0, function, input)
    }
}

fn main() -> ExitCode {
    let plan = match payseal_plugin_conformance::plan(&payseal_plugin_conformance::vectors_dir()) {
        Ok(plan) => plan,
        Err(e) => {
            println!("FAIL plan: {e}");
            println!("payseal-summary: plugin-rust 0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };
    let path = host::wasm_path("payseal_plugin.wasm");
    let wasm = match std::fs::read(&path) {
        Ok(wasm) => wasm,
        Err(e) => {
            println!("FAIL plugin: cannot read {}: {e}; run scripts/build-plugin.sh first", path.display());
            println!("payseal-summary: plugin-rust 0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };
    let cases = plan["cases"].as_array().cloned().unwrap_or_default();
    let (mut passed, mut failed) = (0usize, 0usize);
    for case in &cases {
        match payseal_plugin_conformance::run_case(case, |config| Extism(host::plugin(&wasm, config))) {
            Ok(()) => passed += 1,
            Err(why) => {
                println!("FAIL {}: {why}", case["id"].as_str().unwrap_or("?"));
                failed += 1;
            }
        }
    }
    println!("payseal-summary: plugin-rust {passed} passed, {failed} failed");
    if failed == 0 && passed > 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
