//! Idempotency (`idempotency.md`) as pure functions over JSON-able records.
//!
//! Records and responses keep the core's serde format (as JSON text), so a JS
//! store and the native gateway can share them. The caller's store does the
//! atomic claim.

use payseal_core::Environment;
use payseal_core::idempotency::{
    Completion, DEFAULT_TTL, Decision, IdempotencyRecord, IdempotentRequest, StoredResponse, UpstreamOutcome,
};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::errors::type_error;
use crate::keys::to_json;
use crate::whole;

#[derive(Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum DecisionOut<'a> {
    Execute {
        record: &'a IdempotencyRecord,
    },
    Replay {
        response: &'a StoredResponse,
    },
    Conflict {
        status: u16,
        code: &'static str,
        message: &'static str,
        body: String,
    },
}

#[derive(Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
enum CompletionOut<'a> {
    Store { record: &'a IdempotencyRecord },
    Release,
    KeepUnknown { record: &'a IdempotencyRecord },
}

fn environment(name: &str) -> Result<Environment, JsValue> {
    Environment::from_name(name)
        .ok_or_else(|| type_error("environment must be \"live\" or \"test\""))
}

/// Where the record of a request lives (namespaced by environment and key id).
///
/// # Errors
/// A `TypeError` for an unknown environment.
#[wasm_bindgen(js_name = idempotencyStorageKey)]
pub fn storage_key(key: &str, environment: &str, key_id: &str) -> Result<String, JsValue> {
    let request = IdempotentRequest {
        key,
        method: "",
        path: "",
        body: &[],
        environment: self::environment(environment)?,
        key_id,
    };
    Ok(request.storage_key())
}

/// Decides what to do with a request given the `stored` record (JSON text, or
/// none); returns the decision as JSON text.
///
/// # Errors
/// A `TypeError` when `stored` is not a record or the environment is unknown.
#[wasm_bindgen(js_name = idempotencyDecide)]
#[allow(clippy::too_many_arguments)] // positional: the JS layer is the named surface
pub fn decide(
    stored: Option<String>,
    key: &str,
    method: &str,
    path: &str,
    body: &[u8],
    environment: &str,
    key_id: &str,
    now: f64,
    ttl: Option<f64>,
) -> Result<String, JsValue> {
    let stored: Option<IdempotencyRecord> = match stored.as_deref() {
        Some(text) => Some(
            serde_json::from_str(text).map_err(|e| type_error(&format!("stored record: {e}")))?,
        ),
        None => None,
    };
    let request = IdempotentRequest {
        key,
        method,
        path,
        body,
        environment: self::environment(environment)?,
        key_id,
    };
    let ttl = ttl.map_or(DEFAULT_TTL, whole);
    match payseal_core::idempotency::decide(stored.as_ref(), &request, whole(now), ttl) {
        Decision::Execute(record) => to_json(&DecisionOut::Execute { record: &record }),
        Decision::Replay(response) => to_json(&DecisionOut::Replay {
            response: &response,
        }),
        Decision::Conflict(conflict) => to_json(&DecisionOut::Conflict {
            status: conflict.status(),
            code: conflict.code(),
            message: conflict.message(),
            body: conflict.body(),
        }),
    }
}

/// Completes a claim (JSON text) with the upstream's response: its status,
/// headers (JSON text of `[name, value]` pairs) and raw body. Without a
/// status, `not_sent` says whether the request never left (released) or was
/// sent and never answered (kept as outcome unknown). Returns the completion
/// as JSON text.
///
/// # Errors
/// A `TypeError` when `claim` or `response_headers` do not have their shape.
#[wasm_bindgen(js_name = idempotencyFinish)]
pub fn finish(
    claim: &str,
    response_status: Option<u16>,
    response_headers: Option<String>,
    response_body: Vec<u8>,
    not_sent: bool,
) -> Result<String, JsValue> {
    let claim: IdempotencyRecord =
        serde_json::from_str(claim).map_err(|e| type_error(&format!("claim: {e}")))?;
    let outcome = match response_status {
        Some(status) => {
            let headers: Vec<(String, String)> = match response_headers.as_deref() {
                Some(text) => serde_json::from_str(text)
                    .map_err(|e| type_error(&format!("response.headers: {e}")))?,
                None => Vec::new(),
            };
            UpstreamOutcome::Answered(StoredResponse { status, headers, body: response_body })
        }
        None if not_sent => UpstreamOutcome::NotSent,
        None => UpstreamOutcome::NoAnswer,
    };
    match payseal_core::idempotency::finish(claim, outcome) {
        Completion::Store(record) => to_json(&CompletionOut::Store { record: &record }),
        Completion::Release => to_json(&CompletionOut::Release),
        Completion::KeepUnknown(record) => to_json(&CompletionOut::KeepUnknown { record: &record }),
    }
}
