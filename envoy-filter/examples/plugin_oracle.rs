//! The Envoy test harness's oracle: runs the Extism plugin's `check_request`
//! natively on the same configuration and request that Envoy saw, so the
//! harness can require Envoy's refusal bodies to be byte-identical to the
//! plugin's.
//!
//! Usage: `plugin_oracle <cases.json> <answers.json>`; `cases.json` is a list
//! of `{"config": <plugin configuration>, "input": <check_request input>}`,
//! `answers.json` the list of the plugin's outputs (or `{"error": …}`).

use std::process::ExitCode;

use payseal_plugin::Config;
use payseal_plugin::functions::check_request;
use serde_json::{Value, json};

fn answer(case: &Value) -> Value {
    let config = case.get("config").map(Value::to_string);
    let input = case.get("input").map(Value::to_string).unwrap_or_default();
    let reply = Config::parse(config.as_deref()).and_then(|config| check_request(&config, input.as_bytes()));
    match reply {
        Ok(reply) => serde_json::from_slice(&reply.json).unwrap_or_else(|_| json!({"error": "unreadable output"})),
        Err(e) => json!({"error": e.to_string()}),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, cases, answers_path] = args.as_slice() else {
        eprintln!("usage: plugin_oracle <cases.json> <answers.json>");
        return ExitCode::from(2);
    };
    let Ok(Ok(cases)) = std::fs::read(cases).map(|bytes| serde_json::from_slice::<Vec<Value>>(&bytes)) else {
        eprintln!("plugin_oracle: cannot read {cases}");
        return ExitCode::FAILURE;
    };
    let answers: Vec<Value> = cases.iter().map(answer).collect();
    if std::fs::write(answers_path, Value::Array(answers).to_string()).is_err() {
        eprintln!("plugin_oracle: cannot write {answers_path}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
