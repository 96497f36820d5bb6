//! The lifecycle's admin operations (routed, authenticated and authorized
//! by [`crate::admin`] with [`crate::access`]): each answers one route.
//!
//! | request | answer |
//! | --- | --- |
//! | `POST /lifecycle/keys` | 201, the key (and a new client secret) shown once |
//! | `GET /lifecycle/keys` | every stored key within the caller's scope, never its material |
//! | `GET /lifecycle/keys/<id>` | one key |
//! | `PATCH /lifecycle/keys/<id>` | `{"allowedIps":[…]}` and/or `{"scopes":[…]}` |
//! | `POST /lifecycle/keys/<id>/revoke` | revoked, permanently |
//! | `POST /lifecycle/keys/<id>/regenerate` | 201, the new key shown once; `{"graceSeconds","expiresInSeconds"}` optional |
//! | `POST /lifecycle/client-secrets/<live\|test>/rotate` | the new client secret shown once |
//! | `GET /lifecycle/audit?after=N&limit=M` | audit events after sequence N, within the caller's scope |
//! | `GET /lifecycle/keys/<id>/traffic` | the key's last hour on this gateway, per minute ([`crate::traffic`]) |
//!
//! The actor of every change is the caller's credential (`token:<name>`).
//! A caller scoped to one webcode ([`Scope::Webcode`]) sees only the keys
//! of that webcode: another webcode's key answers 404 `key_not_found`, the
//! same as a key that does not exist; a key it creates is of its webcode;
//! its audit log holds only the events about its keys and tokens. Errors
//! answer the admin surface's problem shape `{"status","code","message"}`
//! with the [`LifecycleError`]'s status and code.

use std::collections::BTreeSet;

use bytes::Bytes;
use hyper::Response;
use payseal_core::Environment;
use serde::de::DeserializeOwned;
use serde_json::json;

use super::LifecycleError;
use super::service::{Actor, CreateRequest, Service};
use crate::access::Scope;
use crate::audit::{AuditAction, AuditEvent};
use crate::gateway::Shared;
use crate::http::{ResponseBody, gateway_error, json_response};

/// The answer of a failed operation.
pub fn error(e: &LifecycleError) -> Response<ResponseBody> {
    gateway_error(e.status(), e.code(), &e.to_string())
}

fn ok(status: u16, value: &impl serde::Serialize) -> Response<ResponseBody> {
    json_response(status, serde_json::to_vec(value).unwrap_or_default())
}

/// A body that carries a key or secret: sent once, from a wiped buffer.
pub fn shown_once(status: u16, body: &[u8]) -> Response<ResponseBody> {
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

fn answer(result: Result<Response<ResponseBody>, LifecycleError>) -> Response<ResponseBody> {
    result.unwrap_or_else(|e| error(&e))
}

/// Refuses a key outside `scope` exactly as a key that does not exist.
async fn within(service: &Service<'_>, scope: &Scope, id: &str) -> Result<(), LifecycleError> {
    if *scope == Scope::All {
        return Ok(());
    }
    let listed = service.get(id).await?;
    if scope.covers(listed.webcode.as_deref()) { Ok(()) } else { Err(LifecycleError::NotFound(id.to_owned())) }
}

/// `POST /lifecycle/keys`. A scoped caller's key is of its webcode; naming
/// another one is refused.
pub async fn create(shared: &Shared, actor: &Actor, scope: &Scope, body: &[u8]) -> Response<ResponseBody> {
    let result = async {
        let mut request: CreateRequest = serde_json::from_slice(body).map_err(|e| LifecycleError::InvalidRequest(crate::http::value_free_message(&e)))?;
        if let Scope::Webcode(own) = scope {
            match &request.webcode {
                Some(webcode) if webcode != own => return Err(LifecycleError::InvalidRequest("webcode: a merchant token creates keys of its own webcode only".into())),
                _ => request.webcode = Some(own.clone()),
            }
        }
        let issued = Service::new(shared).create(actor, request).await?;
        Ok(shown_once(201, &issued.body()))
    };
    answer(result.await)
}

/// `GET /lifecycle/keys`.
pub async fn list(shared: &Shared, scope: &Scope) -> Response<ResponseBody> {
    answer(Service::new(shared).list().await.map(|listed| {
        let visible: Vec<_> = listed.into_iter().filter(|k| scope.covers(k.webcode.as_deref())).collect();
        ok(200, &visible)
    }))
}

/// `GET /lifecycle/keys/<id>`.
pub async fn get(shared: &Shared, scope: &Scope, id: &str) -> Response<ResponseBody> {
    let service = Service::new(shared);
    let result = async {
        within(&service, scope, id).await?;
        service.get(id).await.map(|listed| ok(200, &listed))
    };
    answer(result.await)
}

/// `GET /lifecycle/keys/<id>/traffic`: `{"keyId","now","minuteSeconds",
/// "minutes":[{"start","admitted","refused":{reason: n}}]}`, 60 minutes
/// oldest first, counted by this gateway since its start.
pub async fn traffic(shared: &Shared, scope: &Scope, id: &str) -> Response<ResponseBody> {
    let service = Service::new(shared);
    let result = async {
        within(&service, scope, id).await?;
        // A key that does not exist is 404, even with traffic counted before it was deleted.
        service.get(id).await?;
        let now = shared.clock.now();
        let minutes: Vec<serde_json::Value> = shared
            .traffic
            .window(id, now)
            .into_iter()
            .map(|m| {
                let refused: serde_json::Map<String, serde_json::Value> = m.refused.into_iter().map(|(reason, n)| (reason, json!(n))).collect();
                json!({ "start": m.start, "admitted": m.admitted, "refused": refused })
            })
            .collect();
        Ok::<_, LifecycleError>(ok(200, &json!({ "keyId": id, "now": now, "minuteSeconds": 60, "minutes": minutes })))
    };
    answer(result.await)
}

/// `PATCH /lifecycle/keys/<id>`.
pub async fn edit(shared: &Shared, actor: &Actor, scope: &Scope, id: &str, body: &[u8]) -> Response<ResponseBody> {
    let service = Service::new(shared);
    let result = async {
        within(&service, scope, id).await?;
        let request = parse(body, false)?;
        service.edit(actor, id, request).await.map(|listed| ok(200, &listed))
    };
    answer(result.await)
}

/// `POST /lifecycle/keys/<id>/revoke`.
pub async fn revoke(shared: &Shared, actor: &Actor, scope: &Scope, id: &str) -> Response<ResponseBody> {
    let service = Service::new(shared);
    let result = async {
        within(&service, scope, id).await?;
        service.revoke(actor, id).await.map(|listed| ok(200, &listed))
    };
    answer(result.await)
}

/// `POST /lifecycle/keys/<id>/regenerate`.
pub async fn regenerate(shared: &Shared, actor: &Actor, scope: &Scope, id: &str, body: &[u8]) -> Response<ResponseBody> {
    let service = Service::new(shared);
    let result = async {
        within(&service, scope, id).await?;
        let request = parse(body, true)?;
        service.regenerate(actor, id, request).await.map(|issued| shown_once(201, &issued.body()))
    };
    answer(result.await)
}

/// `POST /lifecycle/client-secrets/<environment>/rotate`.
pub async fn rotate_client_secret(shared: &Shared, actor: &Actor, environment: &str) -> Response<ResponseBody> {
    let result = async {
        let environment = Environment::from_name(environment).ok_or_else(|| LifecycleError::InvalidRequest("the environment is live or test".into()))?;
        Service::new(shared).rotate_client_secret(actor, environment).await.map(|s| shown_once(200, &s.body()))
    };
    answer(result.await)
}

/// Whether `event` is within `scope`: about one of `keys` (the scope's key
/// ids), or about an admin token, token client or renewal account of the
/// scope's webcode.
fn event_within(event: &AuditEvent, scope: &Scope, keys: &BTreeSet<String>) -> bool {
    match scope {
        Scope::All => true,
        Scope::Webcode(webcode) => match event.action {
            AuditAction::AdminTokenCreated | AuditAction::AdminTokenRevoked => event.detail.as_deref() == Some(format!("role=merchant:{webcode}").as_str()),
            AuditAction::TokenClientCreated | AuditAction::TokenClientRevoked | AuditAction::RenewalAccountCreated | AuditAction::RenewalAccountDeleted => {
                event.detail.as_deref() == Some(format!("webcode={webcode}").as_str())
            }
            _ => keys.contains(&event.subject),
        },
    }
}

/// `GET /lifecycle/audit?after=N&limit=M`: up to `limit` events within the
/// scope after sequence `after`, oldest first.
pub async fn audit(shared: &Shared, scope: &Scope, query: &str) -> Response<ResponseBody> {
    let number = |name: &str| query.split('&').find_map(|p| p.strip_prefix(name).and_then(|v| v.strip_prefix('='))).and_then(|v| v.parse::<u64>().ok());
    let mut after = number("after").unwrap_or(0);
    let limit = usize::try_from(number("limit").unwrap_or(1_000).min(10_000)).unwrap_or(1_000);
    let result = async {
        let keys: BTreeSet<String> = match scope {
            Scope::All => BTreeSet::new(),
            Scope::Webcode(_) => shared.store.key_records().await?.into_iter().filter(|r| scope.covers(r.webcode.as_deref())).map(|r| r.id).collect(),
        };
        let mut listed = Vec::new();
        // A scoped read skips other webcodes' events: read on until the
        // page is full or the log ends.
        loop {
            let page = AuditEvent::read(shared.store.as_ref(), after, limit).await?;
            let last = page.last().map(|(sequence, _)| *sequence);
            for (sequence, event) in page {
                if listed.len() < limit && event_within(&event, scope, &keys) {
                    let mut value = serde_json::to_value(event).unwrap_or_default();
                    value["sequence"] = json!(sequence);
                    listed.push(value);
                }
            }
            match last {
                Some(last) if listed.len() < limit && *scope != Scope::All => after = last,
                _ => break,
            }
        }
        Ok::<_, LifecycleError>(ok(200, &listed))
    };
    answer(result.await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_merchant_reads_the_events_of_its_keys_and_tokens_only() {
        let keys: BTreeSet<String> = ["key_a".to_owned()].into();
        let scope = Scope::Webcode("SHOP01".into());
        let mine = AuditEvent::new(1, "token:x", AuditAction::KeyCreated, "key_a");
        let theirs = AuditEvent::new(1, "token:x", AuditAction::KeyCreated, "key_b");
        let secret = AuditEvent::new(1, "token:x", AuditAction::ClientSecretRotated, "live");
        let my_token = AuditEvent::new(1, "token:x", AuditAction::AdminTokenCreated, "shop-ci").with_detail("role=merchant:SHOP01");
        let their_token = AuditEvent::new(1, "token:x", AuditAction::AdminTokenCreated, "key_a").with_detail("role=merchant:SHOP02");
        assert!(event_within(&mine, &scope, &keys) && event_within(&my_token, &scope, &keys));
        let my_client = AuditEvent::new(1, "token:x", AuditAction::TokenClientCreated, "c").with_detail("webcode=SHOP01");
        let their_account = AuditEvent::new(1, "token:x", AuditAction::RenewalAccountCreated, "key_a").with_detail("webcode=SHOP02");
        let no_webcode = AuditEvent::new(1, "token:x", AuditAction::RenewalAccountDeleted, "key_a");
        assert!(event_within(&my_client, &scope, &keys));
        assert!(!event_within(&their_account, &scope, &keys) && !event_within(&no_webcode, &scope, &keys));
        assert!(!event_within(&theirs, &scope, &keys) && !event_within(&secret, &scope, &keys) && !event_within(&their_token, &scope, &keys));
        assert!(event_within(&theirs, &Scope::All, &BTreeSet::new()));
    }
}
