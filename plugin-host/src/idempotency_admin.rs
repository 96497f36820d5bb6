//! `POST /idempotency/<env>/<key-id>/<key>/release` on the admin listener:
//! an operator resolves an idempotency key whose outcome is unknown (the
//! request was sent and never answered, `idempotency.md`).
//!
//! Only such a record can be released: a finished one is a stored answer
//! (releasing it would let a retry execute a charge that ran), and an
//! in-flight one may be executing now. The release is audited with the
//! operator's name and the key id; the idempotency key itself is not
//! logged, only its storage key's hash.

use hyper::Response;
use hyper::http::request::Parts;
use payseal_core::Environment;
use payseal_core::idempotency::{IdempotentRequest, RecordState};
use serde_json::json;

use crate::audit::{AuditAction, AuditEvent};
use crate::gateway::Shared;
use crate::http::{ResponseBody, gateway_error, json_response};
use crate::store::StoreError;

/// Answers `POST /idempotency/<env>/<key-id>/<key>/release` for `actor`
/// (the caller's credential, `token:<name>`).
pub async fn handle(shared: &Shared, parts: &Parts, actor: &str) -> Response<ResponseBody> {
    let path = parts.uri.path();
    let segments = path.strip_prefix("/idempotency/").and_then(|p| p.strip_suffix("/release")).map(|p| p.split('/').collect::<Vec<_>>());
    let Some(Ok(segments)) = segments.map(<[&str; 3]>::try_from) else {
        return gateway_error(404, "not_found", "Expected /idempotency/<env>/<key-id>/<key>/release.");
    };
    release(shared, segments, actor).await
}

/// Releases the record of `key` sent with key id `key_id` in `environment`
/// (path segments, percent-encoded as sent).
pub async fn release(shared: &Shared, segments: [&str; 3], actor: &str) -> Response<ResponseBody> {
    let [environment, key_id, key] = segments;
    let Some(environment) = Environment::from_name(environment) else {
        return gateway_error(400, "invalid_request", "The environment is neither live nor test.");
    };
    let (Some(key_id), Some(key)) = (percent_decode(key_id), percent_decode(key)) else {
        return gateway_error(400, "invalid_request", "A path segment is not valid percent-encoded UTF-8.");
    };
    // Only the namespace (environment, key id, key) names the record.
    let storage_key = IdempotentRequest { key: &key, method: "", path: "", body: b"", environment, key_id: &key_id }.storage_key();
    let record = match shared.store.get(&storage_key).await {
        Ok(Some(record)) => record,
        Ok(None) => return gateway_error(404, "idempotency_record_not_found", "No record is stored for this idempotency key."),
        Err(error) => return store_failed(&error),
    };
    if record.state != RecordState::OutcomeUnknown {
        return gateway_error(409, "outcome_not_unknown", "Only a key whose outcome is unknown can be released.");
    }
    match shared.store.release(&storage_key, &record).await {
        Ok(true) => {}
        Ok(false) => return gateway_error(409, "concurrent_change", "The record changed while it was released; read it again."),
        Err(error) => return store_failed(&error),
    }
    let event = AuditEvent::new(shared.clock.now(), actor, AuditAction::IdempotencyReleased, key_id.clone())
        .with_detail(format!("{}:{storage_key}", environment.as_str()));
    if let Err(error) = event.record(shared.store.as_ref()).await {
        tracing::error!(%error, "idempotency release: the audit event could not be written");
    }
    json_response(200, json!({ "released": true, "environment": environment.as_str(), "key_id": key_id }).to_string())
}

fn store_failed(error: &StoreError) -> Response<ResponseBody> {
    tracing::error!(%error, "idempotency release: the store failed");
    gateway_error(503, "store_unavailable", "The gateway's store is unavailable.")
}

/// `%XX`-decodes a path segment; `None` for a bad escape or non-UTF-8.
fn percent_decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn segments_are_percent_decoded() {
        assert_eq!(percent_decode("order%2F1%20a").as_deref(), Some("order/1 a"));
        assert_eq!(percent_decode("plain").as_deref(), Some("plain"));
        assert_eq!(percent_decode("bad%2"), None);
        assert_eq!(percent_decode("bad%zz"), None);
        assert_eq!(percent_decode("%ff"), None);
    }
}
