//! The lifecycle's admin routes (on the admin listener, see [`crate::admin`]).
//!
//! | request | answer |
//! | --- | --- |
//! | `POST /lifecycle/keys` | 201, the key (and a new client secret) shown once |
//! | `GET /lifecycle/keys` | every stored key, never its material |
//! | `GET /lifecycle/keys/<id>` | one key |
//! | `PATCH /lifecycle/keys/<id>` | `{"allowedIps":[…]}` and/or `{"scopes":[…]}` |
//! | `POST /lifecycle/keys/<id>/revoke` | revoked, permanently |
//! | `POST /lifecycle/keys/<id>/regenerate` | 201, the new key shown once; `{"graceSeconds","expiresInSeconds"}` optional |
//! | `POST /lifecycle/client-secrets/<live\|test>/rotate` | the new client secret shown once |
//! | `GET /lifecycle/audit?after=N&limit=M` | audit events after sequence N |
//!
//! The `x-payseal-actor` header names who acts in the audit log (`cli` for
//! `payseal keys`); `admin-api` when absent. Errors answer
//! `{"error":"…","code":"…"}` with the [`LifecycleError`]'s status.

use bytes::Bytes;
use hyper::http::request::Parts;
use hyper::{Method, Response};
use payseal_core::Environment;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::LifecycleError;
use super::service::{Actor, Service};
use crate::audit::AuditEvent;
use crate::gateway::Shared;
use crate::http::{ResponseBody, json_response};

/// The admin routes' common prefix.
pub const PREFIX: &str = "/lifecycle/";

fn error(e: &LifecycleError) -> Response<ResponseBody> {
    json_response(e.status(), json!({ "error": e.to_string(), "code": e.code() }).to_string())
}

fn ok(status: u16, value: &impl serde::Serialize) -> Response<ResponseBody> {
    json_response(status, serde_json::to_vec(value).unwrap_or_default())
}

/// A body that carries a key or secret: sent once, from a wiped buffer.
fn shown_once(status: u16, body: &[u8]) -> Response<ResponseBody> {
    let mut response = json_response(status, Bytes::copy_from_slice(body));
    response.headers_mut().insert(hyper::header::CACHE_CONTROL, hyper::header::HeaderValue::from_static("no-store"));
    response
}

fn parse<T: DeserializeOwned + Default>(body: &[u8], allow_empty: bool) -> Result<T, LifecycleError> {
    if allow_empty && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| LifecycleError::InvalidRequest(crate::http::value_free_message(&e)))
}

/// Handles a request under [`PREFIX`]; `body` is already read.
pub async fn handle(shared: &Shared, parts: &Parts, body: &[u8]) -> Response<ResponseBody> {
    let actor = Actor::new(parts.headers.get("x-payseal-actor").and_then(|v| v.to_str().ok()).unwrap_or(""), "admin-api");
    let service = Service::new(shared);
    let path = parts.uri.path().trim_start_matches(PREFIX);
    let segments: Vec<&str> = path.split('/').collect();
    let method = &parts.method;
    let result = match (method, segments.as_slice()) {
        (&Method::POST, ["keys"]) => match serde_json::from_slice(body) {
            Ok(request) => service.create(&actor, request).await.map(|issued| shown_once(201, &issued.body())),
            Err(e) => Err(LifecycleError::InvalidRequest(crate::http::value_free_message(&e))),
        },
        (&Method::GET, ["keys"]) => service.list().await.map(|listed| ok(200, &listed)),
        (&Method::GET, ["keys", id]) => service.get(id).await.map(|listed| ok(200, &listed)),
        (&Method::PATCH, ["keys", id]) => match parse(body, false) {
            Ok(request) => service.edit(&actor, id, request).await.map(|listed| ok(200, &listed)),
            Err(e) => Err(e),
        },
        (&Method::POST, ["keys", id, "revoke"]) => service.revoke(&actor, id).await.map(|listed| ok(200, &listed)),
        (&Method::POST, ["keys", id, "regenerate"]) => match parse(body, true) {
            Ok(request) => service.regenerate(&actor, id, request).await.map(|issued| shown_once(201, &issued.body())),
            Err(e) => Err(e),
        },
        (&Method::POST, ["client-secrets", environment, "rotate"]) => match Environment::from_name(environment) {
            Some(environment) => service.rotate_client_secret(&actor, environment).await.map(|s| shown_once(200, &s.body())),
            None => Err(LifecycleError::InvalidRequest("the environment is live or test".into())),
        },
        (&Method::GET, ["audit"]) => {
            let query = parts.uri.query().unwrap_or("");
            let number = |name: &str| {
                query.split('&').find_map(|p| p.strip_prefix(name).and_then(|v| v.strip_prefix('='))).and_then(|v| v.parse::<u64>().ok())
            };
            let after = number("after").unwrap_or(0);
            let limit = usize::try_from(number("limit").unwrap_or(1_000).min(10_000)).unwrap_or(1_000);
            match AuditEvent::read(shared.store.as_ref(), after, limit).await {
                Ok(events) => {
                    let listed: Vec<_> = events
                        .into_iter()
                        .map(|(sequence, event)| {
                            let mut value = serde_json::to_value(event).unwrap_or_default();
                            value["sequence"] = json!(sequence);
                            value
                        })
                        .collect();
                    Ok(ok(200, &listed))
                }
                Err(e) => Err(e.into()),
            }
        }
        (_, ["keys" | "audit"] | ["keys", _] | ["keys", _, "revoke" | "regenerate"] | ["client-secrets", _, "rotate"]) => {
            return json_response(405, json!({ "error": "method not allowed", "code": "method_not_allowed" }).to_string());
        }
        _ => return json_response(404, json!({ "error": "not found", "code": "not_found" }).to_string()),
    };
    result.unwrap_or_else(|e| error(&e))
}
