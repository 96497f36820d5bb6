//! The admin listener: metrics, health, reload, key records, and (tests
//! only) the clock. It has no authentication: bind it to loopback or a
//! private interface.
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /metrics` | Prometheus text |
//! | `GET /healthz` | 200 while the process runs |
//! | `GET /readyz` | 200 while serving; 503 `stopping` once shutdown starts, 503 `store_unavailable` while the store does not answer or the key set is unconfirmed ([`crate::store_watch`]) |
//! | `POST /reload` | re-reads the file and the stored key records; `{"generation":N}` or 500 with the reason |
//! | `GET /config` | the plugin's view of the configuration (`describe`: secrets redacted, no digests) |
//! | `GET /keys` | stored key records, without their digests |
//! | `PUT /keys/<id>` | stores a key record (the core's `KeyRecord` JSON, digest only) and reloads; 422 and nothing kept when the plugin rejects it |
//! | `DELETE /keys/<id>` | deletes a stored key record and reloads |
//! | `POST /idempotency/<env>/<key-id>/<key>/release` | releases a key whose outcome is unknown (sent, never answered), audited ([`crate::idempotency_admin`]) |
//! | `… /lifecycle/…` | the key lifecycle: create, list, edit, revoke, regenerate keys, rotate client secrets, read the audit log ([`crate::lifecycle::api`]) |
//! | `PUT /clock`, `DELETE /clock` | fixes the clock at the unix time in the body / back to the system clock; only with `admin.settable_clock` |

use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response};
use payseal_core::keys::KeyRecord;
use serde_json::{Value, json};

use crate::gateway::Shared;
use crate::http::{ResponseBody, full, json_response, value_free_message};

const MAX_ADMIN_BODY: usize = 64 * 1024;

fn answer(status: u16, value: &Value) -> Response<ResponseBody> {
    json_response(status, value.to_string())
}

async fn read(body: Incoming) -> Option<Bytes> {
    Limited::new(body, MAX_ADMIN_BODY).collect().await.ok().map(http_body_util::Collected::to_bytes)
}

/// Handles one admin request.
pub async fn handle(shared: &Arc<Shared>, request: Request<Incoming>) -> Response<ResponseBody> {
    let (parts, body) = request.into_parts();
    let path = parts.uri.path();
    match (&parts.method, path) {
        (&Method::GET, "/healthz") => answer(200, &json!({ "status": "ok" })),
        (&Method::GET, "/readyz") => {
            if !shared.ready.load(Ordering::SeqCst) {
                answer(503, &json!({ "status": "stopping" }))
            } else if !shared.store_watch.ready() {
                answer(503, &json!({ "status": "store_unavailable" }))
            } else {
                answer(200, &json!({ "status": "ready", "generation": shared.runtime.load().generation }))
            }
        }
        (&Method::GET, "/metrics") => {
            shared.metrics.store_state(shared.store_watch.ready(), shared.store_watch.key_set_fresh());
            let mut response = Response::new(full(shared.metrics.encode()));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"),
            );
            response
        }
        (&Method::POST, "/reload") => match shared.reload().await {
            Ok(generation) => answer(200, &json!({ "generation": generation })),
            Err(error) => answer(500, &json!({ "error": error })),
        },
        (&Method::GET, "/config") => {
            let runtime = shared.runtime.load();
            let view = runtime.pool.as_ref().map_or(Value::Null, |p| p.view().clone());
            answer(200, &json!({ "generation": runtime.generation, "checks": runtime.settings.checks, "plugin": view }))
        }
        (&Method::GET, "/keys") => match shared.store.key_records().await {
            Ok(records) => {
                let listed: Vec<Value> = records
                    .iter()
                    .map(|r| {
                        let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
                        if let Some(fields) = v.as_object_mut() {
                            fields.remove("key_sha256");
                        }
                        v
                    })
                    .collect();
                answer(200, &Value::Array(listed))
            }
            Err(error) => answer(500, &json!({ "error": error.to_string() })),
        },
        (&Method::POST, path) if path.starts_with("/idempotency/") => crate::idempotency_admin::handle(shared, &parts).await,
        (method, path) if path.starts_with("/keys/") => {
            let id = &path["/keys/".len()..];
            if method == Method::PUT {
                let Some(bytes) = read(body).await else { return answer(400, &json!({ "error": "unreadable body" })) };
                let record: KeyRecord = match serde_json::from_slice(&bytes) {
                    Ok(record) => record,
                    Err(e) => return answer(400, &json!({ "error": format!("not a key record: {}", value_free_message(&e)) })),
                };
                if record.id != id {
                    return answer(400, &json!({ "error": "the record's id differs from the path" }));
                }
                match shared.put_key_record(&record).await {
                    Ok(generation) => answer(200, &json!({ "generation": generation })),
                    Err(error) => answer(422, &json!({ "error": error })),
                }
            } else if method == Method::DELETE {
                match shared.delete_key_record(id).await {
                    Ok(Some(generation)) => answer(200, &json!({ "generation": generation })),
                    Ok(None) => answer(404, &json!({ "error": "no such key record" })),
                    Err(error) => answer(500, &json!({ "error": error })),
                }
            } else {
                answer(405, &json!({ "error": "method not allowed" }))
            }
        }
        (method, "/clock") if shared.settable_clock => {
            if method == Method::DELETE {
                shared.clock.set(None);
                return answer(200, &json!({ "now": shared.clock.now(), "fixed": false }));
            }
            if method != Method::PUT {
                return answer(405, &json!({ "error": "method not allowed" }));
            }
            let now = read(body).await.and_then(|b| std::str::from_utf8(&b).ok().and_then(|t| t.trim().parse::<u64>().ok()));
            match now.filter(|n| *n > 0) {
                Some(now) => {
                    shared.clock.set(Some(now));
                    tracing::warn!(now, "clock fixed through the admin listener");
                    answer(200, &json!({ "now": now, "fixed": true }))
                }
                None => answer(400, &json!({ "error": "the body must be unix seconds" })),
            }
        }
        (_, path) if path.starts_with(crate::lifecycle::api::PREFIX) => {
            let Some(bytes) = read(body).await else { return answer(400, &json!({ "error": "unreadable body" })) };
            crate::lifecycle::api::handle(shared, &parts, &bytes).await
        }
        _ => answer(404, &json!({ "error": "not found" })),
    }
}
