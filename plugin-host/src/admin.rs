//! The admin listener: metrics, health, reload, key records, the key
//! lifecycle, admin tokens, and (tests only) the clock.
//!
//! Every request goes through the same steps, in this order: the route
//! ([`Route::of`]: 404/405 before anything else); for every route that is
//! not public, the `Host` and `Origin` checks ([`crate::access::guard`]:
//! 421, 403), the bearer token ([`crate::access::token`]: 401) and the
//! role's permission for the route ([`crate::access::decide`]: 403); then
//! the body (at most 64 KiB, declared `application/json`: 413, 415). Every
//! refusal answers `{"status","code","message"}`.
//!
//! | request | answer |
//! | --- | --- |
//! | `GET /metrics` | Prometheus text |
//! | `GET /healthz` | 200 while the process runs (no token) |
//! | `GET /ui/` | the key console ([`crate::console`]; static files, no token: its calls carry one) |
//! | `GET /openapi.json` | the admin API's OpenAPI 3.1 description (no token) |
//! | `GET /session` | the caller's token name, role and webcode (the console's sign-in) |
//! | `GET /readyz` | 200 while serving; 503 `stopping` once shutdown starts, 503 `store_unavailable` while the store does not answer or the key set is unconfirmed ([`crate::store_watch`]) (no token) |
//! | `POST /reload` | re-reads the file and the stored key records; `{"generation":N}` or 500 with the reason |
//! | `GET /config` | the plugin's view of the configuration (`describe`: secrets redacted, no digests) |
//! | `GET /keys` | stored key records, without their digests |
//! | `PUT /keys/<id>` | stores a key record (the core's `KeyRecord` JSON, digest only) and reloads; 422 and nothing kept when the plugin rejects it |
//! | `DELETE /keys/<id>` | deletes a stored key record and reloads |
//! | `POST /idempotency/<env>/<key-id>/<key>/release` | releases a key whose outcome is unknown (sent, never answered), audited ([`crate::idempotency_admin`]) |
//! | `… /lifecycle/…` | the key lifecycle: create, list, edit, revoke, regenerate keys, rotate client secrets, read the audit log ([`crate::lifecycle::api`]) |
//! | `GET`, `POST /admin-tokens`, `DELETE /admin-tokens/<name>` | admin tokens: list, create (shown once), revoke ([`crate::access::manage`]) |
//! | `GET`, `POST /lifecycle/token-clients`, `DELETE /lifecycle/token-clients/<id>` | token clients: list, create (secret shown once), delete, then reload ([`crate::tokens::clients`]) |
//! | `GET`, `POST /lifecycle/renewal-accounts`, `DELETE /lifecycle/renewal-accounts/<codeUrl>` | renewal accounts: list, create (password shown once), delete, then reload ([`crate::lifecycle::accounts`]) |
//! | `PUT /clock`, `DELETE /clock` | fixes the clock at the unix time in the body / back to the system clock; only with `admin.settable_clock` |

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Request, Response};
use payseal_core::keys::KeyRecord;
use serde_json::{Value, json};

use crate::access::{AdminError, Decision, Route, Routing, Scope, decide, guard, manage, token};
use crate::gateway::Shared;
use crate::http::{ResponseBody, full, gateway_error, json_response, value_free_message};
use crate::lifecycle::api as lifecycle;
use crate::lifecycle::service::Actor;

const MAX_ADMIN_BODY: usize = 64 * 1024;

fn answer(status: u16, value: &Value) -> Response<ResponseBody> {
    json_response(status, value.to_string())
}

async fn read(body: Incoming) -> Result<Bytes, AdminError> {
    Limited::new(body, MAX_ADMIN_BODY).collect().await.map(http_body_util::Collected::to_bytes).map_err(|_| AdminError::BodyTooLarge)
}

/// Who is calling: the audit actor and what they may reach.
struct Caller {
    name: String,
    role: crate::access::Role,
    actor: Actor,
    scope: Scope,
}

/// Handles one admin request that arrived on a connection to `local`.
pub async fn handle(shared: &Arc<Shared>, local: SocketAddr, request: Request<Incoming>) -> Response<ResponseBody> {
    let (parts, body) = request.into_parts();
    let route = match Route::of(&parts.method, parts.uri.path()) {
        Routing::Found(Route::SetClock | Route::ResetClock) if !shared.settable_clock => return AdminError::NotFound.response(),
        Routing::Found(route) => route,
        Routing::MethodNotAllowed => return AdminError::MethodNotAllowed.response(),
        Routing::NotFound => return AdminError::NotFound.response(),
    };
    let access = Arc::clone(&shared.runtime.load().admin);
    let caller = if access.is_public(route.permission()) {
        None
    } else {
        match authorize(shared, &access, local, &parts, &route).await {
            Ok(caller) => Some(caller),
            Err(refused) => return refused.response(),
        }
    };
    let body = match read(body).await.and_then(|b| guard::check_body(&parts.headers, route.body(), &b).map(|()| b)) {
        Ok(body) => body,
        Err(refused) => return refused.response(),
    };
    match caller {
        None => public(shared, &route),
        Some(caller) => dispatch(shared, &access, &parts, route, &caller, &body).await,
    }
}

/// The `Host`/`Origin` checks, the token and the role's permission.
async fn authorize(shared: &Shared, access: &crate::access::AdminAccess, local: SocketAddr, parts: &Parts, route: &Route) -> Result<Caller, AdminError> {
    access.names.check(&parts.headers, parts.uri.authority(), local, Route::changes_state(&parts.method))?;
    let credential = token::authenticate(&access.bootstrap, shared.store.as_ref(), shared.clock.now(), &parts.headers).await?;
    match decide(&credential.role, route.permission()) {
        Decision::Allow(scope) => Ok(Caller { actor: Actor::new(&credential.actor(), "token"), name: credential.name, role: credential.role, scope }),
        Decision::Deny => {
            tracing::info!(token = %credential.name, route = ?route.permission(), "admin request refused: the role does not allow it");
            Err(AdminError::Forbidden)
        }
    }
}

fn public(shared: &Shared, route: &Route) -> Response<ResponseBody> {
    match route {
        Route::Healthz => answer(200, &json!({ "status": "ok" })),
        Route::Readyz => {
            if !shared.ready.load(Ordering::SeqCst) {
                answer(503, &json!({ "status": "stopping" }))
            } else if !shared.store_watch.ready() {
                answer(503, &json!({ "status": "store_unavailable" }))
            } else {
                answer(200, &json!({ "status": "ready", "generation": shared.runtime.load().generation }))
            }
        }
        Route::Metrics => metrics(shared),
        Route::Console(rest) => crate::console::serve(rest),
        Route::OpenApi => crate::console::openapi(),
        // Only the routes above can be public (`AdminAccess::is_public`).
        _ => AdminError::Forbidden.response(),
    }
}

fn metrics(shared: &Shared) -> Response<ResponseBody> {
    shared.metrics.store_state(shared.store_watch.ready(), shared.store_watch.key_set_fresh());
    let mut response = Response::new(full(shared.metrics.encode()));
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/openmetrics-text; version=1.0.0; charset=utf-8"));
    response
}

async fn dispatch(shared: &Arc<Shared>, access: &crate::access::AdminAccess, parts: &Parts, route: Route, caller: &Caller, body: &[u8]) -> Response<ResponseBody> {
    let (actor, scope) = (&caller.actor, &caller.scope);
    match route {
        Route::Healthz | Route::Readyz | Route::Metrics | Route::Console(_) | Route::OpenApi => public(shared, &route),
        Route::Session => {
            let webcode = match scope {
                Scope::Webcode(webcode) => Some(webcode.as_str()),
                Scope::All => None,
            };
            answer(200, &json!({ "name": caller.name, "role": caller.role.to_string(), "webcode": webcode }))
        }
        Route::Reload => match shared.reload().await {
            Ok(generation) => answer(200, &json!({ "generation": generation })),
            Err(error) => gateway_error(500, "reload_failed", &error),
        },
        Route::Config => {
            let runtime = shared.runtime.load();
            let view = runtime.pool.as_ref().map_or(Value::Null, |p| p.view().clone());
            answer(200, &json!({ "generation": runtime.generation, "checks": runtime.settings.checks, "plugin": view }))
        }
        Route::KeyRecords => key_records(shared).await,
        Route::PutKeyRecord(id) => {
            let record: KeyRecord = match serde_json::from_slice(body) {
                Ok(record) => record,
                Err(e) => return AdminError::InvalidRequest(format!("not a key record: {}", value_free_message(&e))).response(),
            };
            if record.id != id {
                return AdminError::InvalidRequest("the record's id differs from the path".into()).response();
            }
            match shared.put_key_record(&record).await {
                Ok(generation) => answer(200, &json!({ "generation": generation })),
                Err(error) => gateway_error(422, "records_rejected", &error),
            }
        }
        Route::DeleteKeyRecord(id) => match shared.delete_key_record(&id).await {
            Ok(Some(generation)) => answer(200, &json!({ "generation": generation })),
            Ok(None) => gateway_error(404, "key_not_found", "no such key record"),
            Err(error) => gateway_error(500, "reload_failed", &error),
        },
        Route::ReleaseIdempotency => crate::idempotency_admin::handle(shared, parts, actor.as_str()).await,
        Route::SetClock => {
            let now = std::str::from_utf8(body).ok().and_then(|t| t.trim().parse::<u64>().ok());
            match now.filter(|n| *n > 0) {
                Some(now) => {
                    shared.clock.set(Some(now));
                    tracing::warn!(now, actor = actor.as_str(), "clock fixed through the admin listener");
                    answer(200, &json!({ "now": now, "fixed": true }))
                }
                None => AdminError::InvalidRequest("the body must be unix seconds".into()).response(),
            }
        }
        Route::ResetClock => {
            shared.clock.set(None);
            answer(200, &json!({ "now": shared.clock.now(), "fixed": false }))
        }
        Route::CreateKey => lifecycle::create(shared, actor, scope, body).await,
        Route::ListKeys => lifecycle::list(shared, scope).await,
        Route::GetKey(id) => lifecycle::get(shared, scope, &id).await,
        Route::EditKey(id) => lifecycle::edit(shared, actor, scope, &id, body).await,
        Route::RevokeKey(id) => lifecycle::revoke(shared, actor, scope, &id).await,
        Route::RegenerateKey(id) => lifecycle::regenerate(shared, actor, scope, &id, body).await,
        Route::RotateClientSecret(environment) => lifecycle::rotate_client_secret(shared, actor, &environment).await,
        Route::Audit => lifecycle::audit(shared, scope, parts.uri.query().unwrap_or("")).await,
        Route::ListTokens => match manage::list(access, shared.store.as_ref(), shared.clock.now(), scope).await {
            Ok(listed) => json_response(200, serde_json::to_vec(&listed).unwrap_or_default()),
            Err(refused) => refused.response(),
        },
        Route::CreateToken => {
            let request = match serde_json::from_slice(body) {
                Ok(request) => request,
                Err(e) => return AdminError::InvalidRequest(value_free_message(&e)).response(),
            };
            match manage::create(access, shared.store.as_ref(), shared.clock.now(), scope, actor.as_str(), request).await {
                Ok(created) => lifecycle::shown_once(201, &created.body()),
                Err(refused) => refused.response(),
            }
        }
        Route::DeleteToken(name) => match manage::revoke(access, shared.store.as_ref(), shared.clock.now(), scope, actor.as_str(), &name).await {
            Ok(()) => answer(200, &json!({ "revoked": name })),
            Err(refused) => refused.response(),
        },
        Route::KeyTraffic(id) => lifecycle::traffic(shared, scope, &id).await,
        route @ (Route::ListTokenClients | Route::CreateTokenClient | Route::DeleteTokenClient(_) | Route::ListRenewalAccounts | Route::CreateRenewalAccount | Route::DeleteRenewalAccount(_)) => {
            credentials(shared, route, caller, body).await.unwrap_or_else(|refused| refused.response())
        }
    }
}

/// `GET /keys`: the stored key records without their digests.
async fn key_records(shared: &Shared) -> Response<ResponseBody> {
    match shared.store.key_records().await {
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
        Err(error) => AdminError::from(error).response(),
    }
}

/// The token clients and renewal accounts: the file's are the running
/// runtime's; a change is applied by a reload before it is answered.
async fn credentials(shared: &Arc<Shared>, route: Route, caller: &Caller, body: &[u8]) -> Result<Response<ResponseBody>, AdminError> {
    use crate::lifecycle::accounts;
    use crate::tokens::clients;
    let (actor, scope, now) = (caller.actor.as_str(), &caller.scope, shared.clock.now());
    let runtime = shared.runtime.load_full();
    let (policy, renewal) = (runtime.settings.tokens.as_deref().map(|t| &t.file_policy), &runtime.lifecycle.config);
    let store = shared.store.as_ref();
    let changed = match route {
        Route::ListTokenClients => return Ok(answer(200, &json!(clients::list(policy, store, now, scope).await?))),
        Route::ListRenewalAccounts => return Ok(answer(200, &json!(accounts::list(renewal, store, now, scope).await?))),
        Route::CreateTokenClient => lifecycle::shown_once(201, &clients::create(policy, store, now, scope, actor, parse(body)?).await?.body()),
        Route::CreateRenewalAccount => lifecycle::shown_once(201, &accounts::create(renewal, store, now, scope, actor, parse(body)?).await?.body()),
        Route::DeleteTokenClient(id) => {
            clients::revoke(policy, store, now, scope, actor, &id).await?;
            answer(200, &json!({ "deleted": id }))
        }
        Route::DeleteRenewalAccount(code_url) => {
            accounts::delete(renewal, store, now, scope, actor, &code_url).await?;
            answer(200, &json!({ "deleted": code_url }))
        }
        // `dispatch` sends only the routes above.
        _ => return Err(AdminError::NotFound),
    };
    applied(shared, changed).await
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, AdminError> {
    serde_json::from_slice(body).map_err(|e| AdminError::InvalidRequest(value_free_message(&e)))
}

/// `answer` once the stored change is in the running runtime, and the
/// other gateways sharing the store were told to reload: a deleted client's
/// tokens must stop on every gateway, not only on this one.
async fn applied(shared: &Shared, answer: Response<ResponseBody>) -> Result<Response<ResponseBody>, AdminError> {
    if let Err(error) = shared.store.announce_change().await {
        tracing::error!(%error, "a stored credential change was not announced to the other gateways");
        return Err(AdminError::from(error));
    }
    match shared.reload().await {
        Ok(_) => Ok(answer),
        Err(error) => {
            tracing::error!(%error, "a stored credential change is not applied: the reload failed");
            Err(AdminError::ReloadFailed)
        }
    }
}
