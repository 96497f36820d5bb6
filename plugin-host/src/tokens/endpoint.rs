//! `POST <tokens.path>`: the token endpoint (RFC 6749 §4.4 and §6).
//!
//! Writes are ordered so that a failure part-way leaves nothing usable
//! that is not in the audit log:
//!
//! - issue: the access record, then the family record (an access record
//!   without its family is refused), then the `token_issued` event;
//! - refresh: the new access record, then the family swap (the commit
//!   point), then the `token_refreshed` event.
//!
//! When the event cannot be written the family is revoked (best effort)
//! and the answer is 503: tokens are handed out only once their issue is
//! logged.
//!
//! A refresh swaps the family record from the bytes it read. When another
//! refresh of the same token won in between (another request, or another
//! gateway sharing the store), the record is read again and decided again:
//! the presented token is now an older one, so the family is revoked. Two
//! parties refreshing with one token is what reuse detection exists to
//! catch, and a client that retries a refresh it never got the answer to
//! must start again with its client credentials.

use std::net::IpAddr;

use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Response};
use payseal_core::throttle::{Subject, counts_as_failure};
use payseal_core::tokens::{FamilyRecord, Grant, GrantError, GrantFields, Issued, RefreshDecision, TokenEntropy};
use zeroize::Zeroize as _;

use super::check::decode;
use super::{Answered, Tokens, access_key, family_key};
use crate::audit::{AuditAction, AuditEvent};
use crate::gateway::Shared;
use crate::http::{ResponseBody, json_response};
use crate::store::StoreError;
use crate::throttle::{self, Budgets, Surface};

/// How many times a refresh reads and decides again after losing a swap.
const MAX_ATTEMPTS: usize = 4;

/// Answers a request to the token endpoint: while the caller's address or
/// client id is locked out ([`crate::throttle`]), 429 `slow_down` before
/// the secret is checked; a wrong client secret is counted.
pub(super) async fn answer(shared: &Shared, tokens: &Tokens, parts: &Parts, caller: Caller<'_>, body: &[u8]) -> Answered {
    if parts.method != Method::POST {
        let mut response = json_response(405, r#"{"status":405,"code":"METHOD_NOT_ALLOWED","message":"The token endpoint accepts POST only."}"#);
        response.headers_mut().insert(hyper::header::ALLOW, HeaderValue::from_static("POST"));
        return Answered { response: no_store(response), outcome: "token_refused", reason: "method_not_allowed" };
    }
    let Some(fields) = read_fields(parts, body) else { return refused(GrantError::InvalidRequest) };
    let now = shared.clock.now();
    let client_id = fields.client_id.as_deref().unwrap_or_default();
    let subjects = [Subject::Address(caller.address), Subject::Client(client_id)];
    if caller.throttle.is_some() {
        // Before the secret is checked: a locked-out client learns nothing.
        match throttle::retry_after(shared, &subjects, now).await {
            Ok(None) => {}
            Ok(Some(seconds)) => return throttled(shared, seconds),
            Err(error) => {
                tracing::error!(%error, "token endpoint: cannot read failure counts; failing closed");
                return unavailable("store");
            }
        }
    }
    let grant = match tokens.policy.grant(&fields) {
        Ok(grant) => grant,
        Err(error) => {
            if let Some(budgets) = caller.throttle.filter(|_| counts_as_failure(error.status()))
                && let Some(seconds) = throttle::failed(shared, budgets, Surface::Token, &subjects, now).await
            {
                // The failure that locks is answered as the lock-out.
                return throttled(shared, seconds);
            }
            return refused(error);
        }
    };
    let Ok(entropy) = TokenEntropy::fill_with(getrandom::fill) else {
        tracing::error!("the system's random source failed; no token issued");
        return unavailable("random_source");
    };
    let result = match grant {
        Grant::ClientCredentials(client) => issue(shared, tokens, tokens.policy.issue(client, &entropy, now), now).await,
        Grant::Refresh { token, client } => {
            let mut outcome = Err(StoreError::conflict("a refresh lost every swap"));
            for _ in 0..MAX_ATTEMPTS {
                match refresh_once(shared, tokens, &token, client, &entropy, now).await {
                    Step::Retry => {}
                    Step::Done(done) => {
                        outcome = done;
                        break;
                    }
                }
            }
            outcome
        }
    };
    result.unwrap_or_else(|error| {
        tracing::error!(%error, "token endpoint: store operation failed; failing closed");
        unavailable("store")
    })
}

fn no_store(mut response: Response<ResponseBody>) -> Response<ResponseBody> {
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert(hyper::header::PRAGMA, HeaderValue::from_static("no-cache"));
    response
}

fn refused(error: GrantError) -> Answered {
    Answered { response: no_store(json_response(error.status(), error.body())), outcome: "token_refused", reason: error.reason() }
}

/// Who called the token endpoint, and the throttle's budgets when it is on.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caller<'a> {
    /// The client's address.
    pub address: IpAddr,
    /// The failed-authentication budgets; `None`: throttling is off.
    pub throttle: Option<&'a Budgets>,
}

fn throttled(shared: &Shared, retry_after: u64) -> Answered {
    let error = GrantError::Throttled;
    let mut response = no_store(json_response(error.status(), error.body()));
    throttle::insert_retry_after(&mut response, retry_after);
    shared.metrics.throttled(Surface::Token.label());
    Answered { response, outcome: "throttled", reason: error.reason() }
}

fn unavailable(reason: &'static str) -> Answered {
    let body = r#"{"error":"temporarily_unavailable","error_description":"The token could not be issued; try again later."}"#;
    Answered { response: no_store(json_response(503, body)), outcome: "store_error", reason }
}

fn granted(issued: &Issued, outcome: &'static str) -> Answered {
    let mut body = issued.answer_body();
    let response = no_store(json_response(200, std::mem::take(&mut *body)));
    Answered { response, outcome, reason: "" }
}

/// The parameters of a JSON or form body; `None` when it is neither or
/// names a parameter twice (RFC 6749 §3.2).
fn read_fields(parts: &Parts, body: &[u8]) -> Option<GrantFields> {
    let content_type = parts.headers.get(CONTENT_TYPE)?.to_str().ok()?;
    let media = content_type.split(';').next().unwrap_or_default().trim();
    if media.eq_ignore_ascii_case("application/json") {
        return serde_json::from_slice(body).ok();
    }
    if !media.eq_ignore_ascii_case("application/x-www-form-urlencoded") {
        return None;
    }
    let mut fields = GrantFields::default();
    for (name, mut value) in form_urlencoded::parse(body) {
        let slot = match &*name {
            "grant_type" => &mut fields.grant_type,
            "client_id" => &mut fields.client_id,
            "client_secret" => &mut fields.client_secret,
            "refresh_token" => &mut fields.refresh_token,
            _ => continue,
        };
        if slot.is_some() {
            if let std::borrow::Cow::Owned(text) = &mut value {
                text.zeroize();
            }
            return None;
        }
        *slot = Some(value.into_owned());
    }
    Some(fields)
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Records of strings and numbers: serializing cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

async fn issue(shared: &Shared, tokens: &Tokens, issued: Issued, now: u64) -> Result<Answered, StoreError> {
    let family = &issued.family;
    let access = encode(&issued.access);
    if !shared.store.swap_entry(&access_key(family.family, &issued.access_sha256), None, Some(&access), Some(issued.access_keep_until), now).await? {
        return Err(StoreError::conflict("a new access token's key is taken"));
    }
    let stored = encode(family);
    if !shared.store.swap_entry(&family_key(family.family), None, Some(&stored), Some(issued.family_keep_until), now).await? {
        return Err(StoreError::conflict("a new token family's key is taken"));
    }
    let event = AuditEvent::new(now, format!("client:{}", family.client_id), AuditAction::TokenIssued, family.family.to_string()).with_detail("generation=0");
    if let Err(error) = event.record(shared.store.as_ref()).await {
        revoke_unlogged(shared, tokens, family, &stored, now).await;
        return Err(error);
    }
    tracing::info!(client_id = %family.client_id, family = %family.family, "tokens issued");
    Ok(granted(&issued, "token_issued"))
}

enum Step {
    /// The swap was lost: read and decide again.
    Retry,
    Done(Result<Answered, StoreError>),
}

async fn refresh_once(
    shared: &Shared,
    tokens: &Tokens,
    token: &payseal_core::tokens::PresentedRefresh,
    client: Option<&payseal_core::tokens::TokenClient>,
    entropy: &TokenEntropy,
    now: u64,
) -> Step {
    let key = family_key(token.family);
    let stored = match shared.store.entry(&key, now).await {
        Ok(stored) => stored,
        Err(error) => return Step::Done(Err(error)),
    };
    let record: Option<FamilyRecord> = match decode(stored.clone()) {
        Ok(record) => record,
        Err(error) => return Step::Done(Err(error)),
    };
    let decision = tokens.policy.refresh(record.as_ref(), token, client, entropy, now);
    let refusal = decision.refusal();
    match (decision, stored) {
        (RefreshDecision::Rotate(issued), Some(stored)) => match rotate(shared, tokens, &key, &stored, issued, now).await {
            Ok(Some(answered)) => Step::Done(Ok(answered)),
            Ok(None) => Step::Retry,
            Err(error) => Step::Done(Err(error)),
        },
        (RefreshDecision::Reused(revoked), Some(stored)) => {
            let next = encode(&revoked);
            match shared.store.swap_entry(&key, Some(&stored), Some(&next), Some(revoked.keep_until(tokens.policy.lifetimes())), now).await {
                Ok(false) => return Step::Retry,
                Ok(true) => {}
                Err(error) => return Step::Done(Err(error)),
            }
            tracing::warn!(client_id = %revoked.client_id, family = %revoked.family, "an old refresh token was presented; the token family is revoked");
            let event = AuditEvent::new(now, format!("client:{}", revoked.client_id), AuditAction::TokenFamilyRevoked, revoked.family.to_string())
                .with_detail("refresh_token_reused");
            if let Err(error) = event.record(shared.store.as_ref()).await {
                // The revocation stands; only its event is missing.
                tracing::error!(%error, family = %revoked.family, "cannot write the audit event of a revoked token family");
            }
            Step::Done(Ok(refused(refusal.unwrap_or(GrantError::InvalidGrant(payseal_core::tokens::GrantRefused::Reused)))))
        }
        // Rotate and Reused come only from a stored record; anything else refuses.
        _ => Step::Done(Ok(refused(refusal.unwrap_or(GrantError::InvalidGrant(payseal_core::tokens::GrantRefused::Invalid))))),
    }
}

/// Stores a rotation; `Ok(None)` when another refresh swapped first.
async fn rotate(shared: &Shared, tokens: &Tokens, key: &str, stored: &[u8], issued: Issued, now: u64) -> Result<Option<Answered>, StoreError> {
    let family = &issued.family;
    let access = encode(&issued.access);
    if !shared.store.swap_entry(&access_key(family.family, &issued.access_sha256), None, Some(&access), Some(issued.access_keep_until), now).await? {
        return Err(StoreError::conflict("a new access token's key is taken"));
    }
    let next = encode(family);
    if !shared.store.swap_entry(key, Some(stored), Some(&next), Some(issued.family_keep_until), now).await? {
        // The access record just written names a token nobody received.
        return Ok(None);
    }
    let event = AuditEvent::new(now, format!("client:{}", family.client_id), AuditAction::TokenRefreshed, family.family.to_string())
        .with_detail(format!("generation={}", family.generation));
    if let Err(error) = event.record(shared.store.as_ref()).await {
        revoke_unlogged(shared, tokens, family, &next, now).await;
        return Err(error);
    }
    tracing::info!(client_id = %family.client_id, family = %family.family, generation = family.generation, "tokens refreshed");
    Ok(Some(granted(&issued, "token_refreshed")))
}

/// Revokes a family whose issue or refresh could not be logged, so no
/// token of it is usable; best effort (the store just failed once).
async fn revoke_unlogged(shared: &Shared, tokens: &Tokens, family: &FamilyRecord, stored: &[u8], now: u64) {
    let revoked = family.revoked(now);
    let keep_until = revoked.keep_until(tokens.policy.lifetimes());
    let result = shared.store.swap_entry(&family_key(family.family), Some(stored), Some(&encode(&revoked)), Some(keep_until), now).await;
    if !matches!(result, Ok(true)) {
        tracing::error!(family = %family.family, "cannot revoke a token family whose issue was not logged");
    }
}
