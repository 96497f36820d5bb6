//! Idempotency cases: steps run in order against one fresh in-memory store.

use std::collections::HashMap;

use payseal_core::Environment;
use payseal_core::idempotency::{
    Completion, DEFAULT_TTL, Decision, IdempotencyRecord, IdempotentRequest, StoredResponse, UpstreamOutcome, decide, finish,
};
use serde_json::{Value, json};

use crate::case::Case;

const NOW: u64 = 1_719_500_000;
const STEP_FIELDS: [&str; 8] = ["key", "method", "path", "body", "environment", "key_id", "expected", "finish"];

pub fn run(case: &Case) -> Result<Value, String> {
    let steps = case.get("steps").as_array().ok_or("steps is not a list")?;
    let mut store: HashMap<String, IdempotencyRecord> = HashMap::new();
    for (i, step) in steps.iter().enumerate() {
        if let Some(extra) = step.as_object().and_then(|o| o.keys().find(|k| !STEP_FIELDS.contains(&k.as_str()))) {
            return Err(format!("step {i}: runner does not understand field {extra:?}"));
        }
        let text = |f: &str| step[f].as_str().ok_or_else(|| format!("step {i}: {f} is not a string"));
        let request = IdempotentRequest {
            key: text("key")?,
            method: text("method")?,
            path: text("path")?,
            body: text("body")?.as_bytes(),
            environment: Environment::from_name(text("environment")?).ok_or("unknown environment")?,
            key_id: text("key_id")?,
        };
        let storage_key = request.storage_key();
        let now = NOW + i as u64;
        let produced = match decide(store.get(&storage_key), &request, now, DEFAULT_TTL) {
            Decision::Execute(claim) => {
                store.insert(storage_key.clone(), claim.clone());
                if let Some(status) = step["finish"]["status"].as_u64() {
                    let status = u16::try_from(status).map_err(|_| "finish.status out of range")?;
                    let response = StoredResponse { status, headers: vec![], body: b"{}".to_vec() };
                    match finish(claim, UpstreamOutcome::Answered(response)) {
                        Completion::Store(done) | Completion::KeepUnknown(done) => store.insert(storage_key, done),
                        Completion::Release => store.remove(&storage_key),
                    };
                } else if !step["finish"].is_null() {
                    return Err(format!("step {i}: finish has no numeric status"));
                }
                json!({ "outcome": "execute" })
            }
            Decision::Replay(response) => json!({ "outcome": "replay", "status": response.status }),
            Decision::Conflict(c) => json!({ "outcome": "conflict", "status": c.status(), "message": c.message() }),
        };
        let expected = step["expected"].as_object().ok_or_else(|| format!("step {i}: no expected"))?;
        for (field, want) in expected {
            if produced.get(field) != Some(want) {
                return Err(format!("step {i}: {field}: expected {want}, got {}", produced.get(field).unwrap_or(&Value::Null)));
            }
        }
    }
    if steps.is_empty() {
        return Err("case has no steps".to_owned());
    }
    Ok(json!({}))
}
