//! The merchant renewal endpoint on the proxy listener (MyPVit-style):
//! `POST /{codeUrl}/renew-secret` with the form fields
//! `accountOperationCode` and `password`, answered
//! `{"operation_account_code","secret","expires_in"}`.
//!
//! Order: first the throttle ([`crate::throttle`]): while the client's
//! address or this `codeUrl` is locked out after repeated failures, 429
//! `TOO_MANY_REQUESTS` with `Retry-After`, before anything is read or
//! checked; a wrong password and an unknown `codeUrl` are each counted.
//! Then: the `codeUrl` names a configured account (else 400
//! `INVALID_SECRET_KEY_RECEPTION_URL_CODE`, after the same Argon2id work as
//! a wrong password: see below); the form has both fields (else 400
//! `INVALID_REQUEST`); the code and the Argon2id password are checked
//! together, the hash always computed, so timing does not tell which was
//! wrong (401 `AUTHENTICATION_FAILED`); the account is active (403
//! `SECRET_KEY_RECEPTION_URL_NOT_ACTIVE`); the account's rate-limit lease is
//! taken atomically in the store (else 429 with `Retry-After`) — after
//! authentication, so a stranger cannot use up a merchant's rotations, and
//! before the new key is made, so of a burst exactly one renews.
//!
//! No enumeration by timing: an unknown `codeUrl` used to answer at once
//! while a known one paid for an Argon2id verification, so response times
//! listed the configured codes. Now an unknown `codeUrl` with a well-formed
//! form reads and parses it the same way and verifies the password against
//! [`super::LifecycleConfig::dummy_password_argon2`] (the first account's
//! parameters, an output nothing matches), through the same semaphore and
//! blocking pool, before it answers its documented 400.

use std::sync::Arc;

use argon2::{Argon2, PasswordVerifier as _};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Limited};
use hyper::body::Incoming;
use std::net::IpAddr;

use hyper::header::{CACHE_CONTROL, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Response};
use payseal_core::Refusal;
use payseal_core::keys::{RateLimit, RenewalRefusal, parse_renewal_form, rate_limit, renewal_code_url};
use payseal_core::throttle::Subject;
use serde::Serialize;
use zeroize::Zeroizing;

use super::service::{Actor, Service, lease_entry};
use super::{AccountConfig, LifecycleError, delivery};
use crate::audit::{AuditAction, AuditEvent};
use crate::gateway::{Runtime, Shared};
use crate::http::{ResponseBody, json_response};
use crate::throttle::{self, Surface};

/// Largest renewal form.
const MAX_FORM_BYTES: usize = 8 * 1024;

/// How often a lease that expired while it was being read is tried again.
const LEASE_ATTEMPTS: usize = 3;

/// Argon2id verifications running at once: a flood of renewals queues here
/// instead of taking every blocking thread and all memory.
static VERIFICATIONS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// The `codeUrl` when `parts` is a renewal and renewal is configured.
pub fn route(runtime: &Runtime, parts: &Parts) -> Option<String> {
    if parts.method != Method::POST || runtime.lifecycle.config.accounts.is_empty() {
        return None;
    }
    renewal_code_url(parts.uri.path()).map(str::to_owned)
}

enum Failure {
    Refused(RenewalRefusal),
    Internal(LifecycleError),
}

impl From<LifecycleError> for Failure {
    fn from(e: LifecycleError) -> Self {
        Self::Internal(e)
    }
}

impl From<crate::store::StoreError> for Failure {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Internal(e.into())
    }
}

/// Handles a renewal from the client address `client`; answers the
/// response and the reason for the metrics.
pub async fn handle(shared: &Arc<Shared>, runtime: &Runtime, client: IpAddr, code_url: &str, body: Incoming) -> (Response<ResponseBody>, &'static str) {
    let now = shared.clock.now();
    let subjects = [Subject::Address(client), Subject::RenewalUrl(code_url)];
    let budgets = runtime.settings.throttle.as_ref();
    let outcome = match budgets {
        // Before the form is read and the password checked: a locked-out
        // client learns nothing of its guess.
        Some(_) => match throttle::retry_after(shared, &subjects, now).await {
            Ok(Some(seconds)) => Err(Failure::Refused(RenewalRefusal::Throttled(seconds))),
            Ok(None) => renew(shared, runtime, code_url, body).await,
            Err(error) => Err(error.into()),
        },
        None => renew(shared, runtime, code_url, body).await,
    };
    let outcome = match (outcome, budgets) {
        // The failure that locks is answered as the lock-out: the attempt
        // failed either way.
        (Err(Failure::Refused(refusal)), Some(budgets)) if refusal.is_failed_attempt() => {
            match throttle::failed(shared, budgets, Surface::Renewal, &subjects, now).await {
                Some(seconds) => Err(Failure::Refused(RenewalRefusal::Throttled(seconds))),
                None => Err(Failure::Refused(refusal)),
            }
        }
        (outcome, _) => outcome,
    };
    if let Err(Failure::Refused(RenewalRefusal::Throttled(_))) = outcome {
        shared.metrics.throttled(Surface::Renewal.label());
    }
    match outcome {
        Ok(response) => (response, "secret_renewed"),
        Err(Failure::Refused(refusal)) => {
            let r: Refusal = refusal.into();
            let mut response = json_response(r.status, r.body());
            if let Some(seconds) = refusal.retry_after() {
                throttle::insert_retry_after(&mut response, seconds);
            }
            (response, r.reason)
        }
        Err(Failure::Internal(error)) => {
            tracing::error!(%error, code = error.code(), "renewal failed");
            (crate::http::gateway_error(503, "GATEWAY_UNAVAILABLE", "The secret could not be renewed; retry later."), "renewal_failed")
        }
    }
}

async fn read_form(runtime: &Runtime, body: Incoming) -> Result<Zeroizing<Vec<u8>>, Failure> {
    match tokio::time::timeout(runtime.settings.body_timeout, Limited::new(body, MAX_FORM_BYTES).collect()).await {
        Ok(Ok(collected)) => Ok(Zeroizing::new(collected.to_bytes().to_vec())),
        _ => Err(Failure::Refused(RenewalRefusal::MalformedForm)),
    }
}

async fn refuse(service: &Service<'_>, account: &AccountConfig, now: u64, refusal: RenewalRefusal) -> Failure {
    let actor = Actor::account(&account.operation_account_code);
    let event = AuditEvent::new(now, actor.as_str(), AuditAction::RenewalRefused, &account.operation_account_code)
        .with_detail(refusal.refusal().reason);
    service.audit_event(event).await;
    Failure::Refused(refusal)
}

async fn renew(shared: &Arc<Shared>, runtime: &Runtime, code_url: &str, body: Incoming) -> Result<Response<ResponseBody>, Failure> {
    let lifecycle = Arc::clone(&runtime.lifecycle);
    let Some(account) = lifecycle.config.account(code_url) else {
        // An unknown `codeUrl` does the work a known one does before its
        // 401 (read and parse the form, one Argon2id verification with the
        // accounts' parameters), so its timing does not reveal that no
        // account has this code. A form a known code would refuse as
        // malformed costs no hash there either. The answer stays the
        // documented 400; the dummy verification never succeeds.
        if let Ok(raw) = read_form(runtime, body).await
            && let Ok(form) = parse_renewal_form(&raw)
        {
            let dummy = lifecycle.config.dummy_password_argon2().to_owned();
            let _ = verify_password(dummy, form.password).await;
        }
        return Err(Failure::Refused(RenewalRefusal::UnknownCodeUrl));
    };
    let form = parse_renewal_form(&read_form(runtime, body).await?).map_err(Failure::Refused)?;
    let service = Service::new(shared);
    let code_matches = form.account_operation_code == account.operation_account_code;
    let password_matches = verify_password(account.password_argon2.clone(), form.password).await?;
    let now = shared.clock.now();
    if !(code_matches && password_matches) {
        // Not audited one by one: the throttle counts it, and audits the
        // lock-out (the log stays bounded under a guessing attack).
        return Err(Failure::Refused(RenewalRefusal::AuthenticationFailed));
    }
    if !account.active {
        return Err(refuse(&service, account, now, RenewalRefusal::NotActive).await);
    }
    let lease = take_lease(shared, account, now).await?;
    if let Err(refusal) = lease {
        return Err(refuse(&service, account, now, refusal).await);
    }
    let issued = match service.renew(account).await {
        Ok(issued) => issued,
        Err(error) => {
            release_lease(shared, account, now).await;
            return Err(error.into());
        }
    };
    let expires_in = account.secret_lifetime_seconds;
    let body = answer_body(&account.operation_account_code, &issued.key, expires_in);
    if let Some(url) = &account.reception_url {
        delivery::spawn(
            Arc::clone(shared),
            lifecycle.config.delivery.clone(),
            delivery::Delivery { url: url.clone(), account: account.operation_account_code.clone(), key_id: issued.key_id.clone(), payload: body.clone() },
        );
    }
    let mut response = json_response(200, Bytes::copy_from_slice(&body));
    response.headers_mut().insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Whether `password` matches the Argon2id PHC string `hash`. Argon2id is
/// deliberately slow: off the async threads, a few at a time.
async fn verify_password(hash: String, password: Zeroizing<String>) -> Result<bool, Failure> {
    let permit = VERIFICATIONS.acquire().await.map_err(|_| Failure::Internal(LifecycleError::Conflict))?;
    let matches = tokio::task::spawn_blocking(move || Argon2::default().verify_password(password.as_bytes(), hash.as_str()).is_ok())
        .await
        .unwrap_or(false);
    drop(permit);
    Ok(matches)
}

/// `{"operation_account_code","secret","expires_in"}`, the answer and the delivery.
fn answer_body(account: &str, secret: &str, expires_in: u64) -> Zeroizing<Vec<u8>> {
    #[derive(Serialize)]
    struct Body<'a> {
        operation_account_code: &'a str,
        secret: &'a str,
        expires_in: u64,
    }
    Zeroizing::new(serde_json::to_vec(&Body { operation_account_code: account, secret, expires_in }).unwrap_or_default())
}

/// Takes the account's lease: `Ok(Ok(()))` taken (or no rate limit),
/// `Ok(Err(refusal))` rate-limited.
async fn take_lease(shared: &Shared, account: &AccountConfig, now: u64) -> Result<Result<(), RenewalRefusal>, Failure> {
    let min_interval = account.min_interval_seconds;
    if min_interval == 0 {
        return Ok(Ok(()));
    }
    let name = lease_entry(&account.operation_account_code);
    let stamp = now.to_string();
    for _ in 0..LEASE_ATTEMPTS {
        if shared.store.swap_entry(&name, None, Some(stamp.as_bytes()), Some(now.saturating_add(min_interval)), now).await? {
            return Ok(Ok(()));
        }
        let last = shared.store.entry(&name, now).await?.and_then(|b| std::str::from_utf8(&b).ok().and_then(|t| t.parse::<u64>().ok()));
        match rate_limit(last, min_interval, now) {
            RateLimit::RetryAfter(seconds) => return Ok(Err(RenewalRefusal::RateLimited(seconds))),
            // The lease expired between the swap and the read: try again.
            RateLimit::Allowed => {}
        }
    }
    Ok(Err(RenewalRefusal::RateLimited(1)))
}

/// Gives the lease back after a failed renewal, so the merchant can retry.
async fn release_lease(shared: &Shared, account: &AccountConfig, now: u64) {
    let name = lease_entry(&account.operation_account_code);
    if let Err(error) = shared.store.swap_entry(&name, Some(now.to_string().as_bytes()), None, None, now).await {
        tracing::error!(%error, "cannot release a renewal lease");
    }
}
