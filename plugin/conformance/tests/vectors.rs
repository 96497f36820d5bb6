//! Every case of every file in `tests/vectors/`, through the plugin in the
//! Rust host: the plan of `payseal_plugin_conformance`, run as the
//! JavaScript and Python runners run it. Prints one line per failure and
//! `payseal-summary: plugin-rust N passed, M failed`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod host;

use std::collections::BTreeMap;
use std::process::ExitCode;

use extism::Plugin;
use serde_json::{Value, json};

/// Every field of `expect` equals the output's.
fn compare(expect: &Value, output: &Value) -> Result<(), String> {
    let Some(expect) = expect.as_object() else { return Err("expect is not an object".into()) };
    for (field, want) in expect {
        let got = output.get(field).unwrap_or(&Value::Null);
        if got != want {
            return Err(format!("{field}: expected {want}, got {got}"));
        }
    }
    Ok(())
}

fn call(plugin: &mut Plugin, function: &str, input: &Value) -> Result<Value, String> {
    host::call(plugin, function, input.to_string().as_bytes()).map_err(|e| format!("{function} failed: {e}"))
}

/// Runs a plan case's steps against one fresh store.
fn run_case(wasm: &[u8], case: &Value) -> Result<(), String> {
    if let Some(error) = case["error"].as_str() {
        return Err(error.to_owned());
    }
    let mut plugin = host::plugin(wasm, &case["config"]);
    let mut store: BTreeMap<String, Value> = BTreeMap::new();
    let mut claim: Option<(String, Value)> = None;
    let steps = case["steps"].as_array().ok_or("case has no steps")?;
    for (i, step) in steps.iter().enumerate() {
        let function = step["function"].as_str().ok_or("step has no function")?;
        let mut input = step["input"].clone();
        let output = match step["kind"].as_str() {
            Some("call") => call(&mut plugin, function, &input)?,
            Some("idempotent") => {
                claim = None;
                let mut output = call(&mut plugin, function, &input)?;
                if output["outcome"] == "lookup" {
                    let key = output["storage_key"].as_str().ok_or("lookup without storage_key")?.to_owned();
                    let record = store.get(&key).cloned().unwrap_or(Value::Null);
                    input["idempotency"] = json!({ "storage_key": key, "record": record });
                    output = call(&mut plugin, function, &input)?;
                }
                if output["outcome"] == "execute" && output["idempotency"].is_object() {
                    let key = output["idempotency"]["storage_key"].as_str().ok_or("claim without storage_key")?;
                    let record = output["idempotency"]["claim"].clone();
                    store.insert(key.to_owned(), record.clone());
                    claim = Some((key.to_owned(), record));
                }
                output
            }
            Some("finish") => {
                let Some((key, record)) = claim.take() else { continue };
                input["claim"] = record;
                let output = call(&mut plugin, function, &input)?;
                match output["action"].as_str() {
                    Some("store") => {
                        store.insert(key, output["record"].clone());
                    }
                    Some("release") => {
                        store.remove(&key);
                    }
                    _ => return Err(format!("step {i}: finish_request answered {output}")),
                }
                output
            }
            other => return Err(format!("step {i}: unknown step kind {other:?}")),
        };
        compare(&step["expect"], &output).map_err(|e| format!("step {i}: {e}"))?;
    }
    Ok(())
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
        match run_case(&wasm, case) {
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
