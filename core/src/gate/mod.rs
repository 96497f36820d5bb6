//! The request gate (`shared/spec/gate.md`): the whole decision for one
//! request in front of an upstream, written once. The Extism plugin, the
//! Envoy filter and the gateway translate it; none of them sequences checks
//! itself.
//!
//! ```text
//! Gate::head(head)             path form → single-valued fields → API key → route plan
//!   → Err(Refusal)             answer it; read no body byte
//!   → Ok(Admitted)             Admitted::needs_body says whether to read the body
//! Gate::body(head, admitted, body)
//!                              route signature → idempotency plan
//!   → Err(Refusal) | Ok(Forward)
//! idempotency::decide / finish the claim (see `idempotency`)
//! ```
//!
//! The first failure decides. What is checked is what is forwarded:
//! [`Forward::target`] is the canonical target every rule matched, and
//! [`forward`] names what the upstream must not receive from the client.

mod fields;
pub mod forward;
mod replay;
mod signed;
mod target;

use alloc::string::String;
use alloc::vec::Vec;
use core::net::IpAddr;

pub use fields::{Field, SIGNATURE_FIELDS, single_valued};
pub use replay::{MARK_ENDPOINT, ReplayGuard};
pub use signed::SignedRequests;
pub use target::{CanonicalTarget, MAX_TARGET_BYTES, prefix_covers};

use crate::Environment;
use crate::keys::{Allowed, KeySet, Policy, Request};
use crate::refusal::Refusal;
use crate::rfc9421;
use crate::routes::{IdempotencyPlan, RoutePolicy, RouteSignature};
use crate::signing::{Clock, HeaderMap, SignatureError, dvpay};

/// The prepared configuration one gate decides with.
#[derive(Clone, Copy)]
pub struct Gate<'a> {
    /// Accepted API keys.
    pub keys: &'a KeySet,
    /// Formats, test routes, scopes.
    pub policy: &'a Policy,
    /// The header carrying the API key.
    pub key_header: &'a str,
    /// The header carrying the merchant's webcode, if the runtime binds keys
    /// to webcodes.
    pub webcode_header: Option<&'a str>,
    /// Further single-valued headers the runtime reads (the access token).
    pub single_valued: &'a [&'a str],
    /// Routes and idempotency settings.
    pub routes: &'a RoutePolicy,
    /// Per key, the secrets its signed routes are verified with.
    pub signed: &'a SignedRequests,
    /// The runtime forwards the target as sent and cannot rewrite it (the
    /// Envoy filter): a target not already canonical is refused, since the
    /// upstream would read another spelling than the one checked.
    pub forwards_as_sent: bool,
}

/// What a runtime knows of a request before its body.
#[derive(Clone, Copy)]
pub struct Head<'a, H: HeaderMap + ?Sized> {
    /// The method, as sent.
    pub method: &'a str,
    /// Path and query as on the request line.
    pub target: &'a str,
    /// Every header, as received (repeated fields repeated).
    pub headers: &'a H,
    /// The client address the runtime resolved (trusted proxies applied).
    pub client_ip: Option<IpAddr>,
    /// `scheme://authority` the client called, for RFC 9421 (`@scheme`,
    /// `@authority`); `None`: `https://` and the `Host` field.
    pub origin: Option<&'a str>,
    /// Unix seconds.
    pub now: u64,
}

/// A request whose head passed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Admitted {
    /// The key that called.
    pub allowed: Allowed,
    /// The canonical target every rule matched: the one to forward.
    pub target: CanonicalTarget,
    /// Whether [`Gate::body`] needs the body (a signature or an idempotency
    /// fingerprint). When `false` the body may be streamed unread.
    pub needs_body: bool,
}

/// A request to forward.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Forward {
    /// Id of the key that called.
    pub key_id: String,
    /// Its environment.
    pub environment: Environment,
    /// The canonical target to send upstream.
    pub target: CanonicalTarget,
    /// The idempotency key to decide with ([`crate::idempotency::decide`]),
    /// when the route honours one.
    pub idempotency_key: Option<String>,
    /// On a signed route: the mark to claim before the idempotency decision
    /// ([`ReplayGuard`]); a claim that finds another is judged by it.
    pub replay: Option<ReplayGuard>,
}

impl Gate<'_> {
    /// The head checks of `gate.md`, in order: path form, single-valued
    /// fields, the key check of `keys.md` on the canonical path, then a
    /// route's missing idempotency key when nothing must be verified first.
    ///
    /// # Errors
    /// The refusal of the first failing check.
    pub fn head<H: HeaderMap + ?Sized>(&self, head: &Head<'_, H>) -> Result<Admitted, Refusal> {
        let target = CanonicalTarget::parse(head.target)?;
        if self.forwards_as_sent && !target.is_as_sent(head.target) {
            return Err(Refusal::PATH_NOT_CANONICAL);
        }
        let idempotency_headers = self.routes.idempotency().headers.iter().map(|h| Field::Token(h));
        let named = [Some(self.key_header), self.webcode_header].into_iter().flatten().chain(self.single_valued.iter().copied());
        single_valued(head.headers, named.map(Field::Token).chain(idempotency_headers))?;
        let api_key = first_value(head.headers, self.key_header);
        let webcode = self.webcode_header.and_then(|name| first_value(head.headers, name));
        let request = Request {
            api_key: api_key.as_deref(),
            method: head.method,
            path: target.path(),
            client_ip: head.client_ip,
            webcode: webcode.as_deref(),
        };
        let allowed = self.keys.check(&request, self.policy, head.now)?;
        let plan = self.routes.plan(head.method, target.path(), head.headers);
        if let (None, IdempotencyPlan::Refuse(refusal)) = (plan.signature, &plan.idempotency) {
            return Err(*refusal);
        }
        let needs_body = plan.signature.is_some() || matches!(plan.idempotency, IdempotencyPlan::Key(_));
        Ok(Admitted { allowed, target, needs_body })
    }

    /// The body checks: the route's signature with the secrets of the key
    /// that called, then the idempotency plan.
    ///
    /// # Errors
    /// The refusal of the first failing check.
    pub fn body<H: HeaderMap + ?Sized>(&self, head: &Head<'_, H>, admitted: Admitted, body: &[u8]) -> Result<Forward, Refusal> {
        let plan = self.routes.plan(head.method, admitted.target.path(), head.headers);
        let signed = match plan.signature {
            Some(signature) => Some(self.verify(head, &admitted, signature, body)?),
            None => None,
        };
        let idempotency_key = match plan.idempotency {
            IdempotencyPlan::Refuse(refusal) => return Err(refusal),
            IdempotencyPlan::Key(key) => Some(key),
            IdempotencyPlan::None => None,
        };
        let replay = signed.map(|(signature, signed_at)| {
            ReplayGuard::new(&admitted.allowed.key_id, &signature, idempotency_key.as_deref(), signed_at, self.signed.tolerance)
        });
        Ok(Forward {
            key_id: admitted.allowed.key_id,
            environment: admitted.allowed.environment,
            target: admitted.target,
            idempotency_key,
            replay,
        })
    }

    /// Both steps for a runtime that has the body at hand.
    ///
    /// # Errors
    /// The refusal of the first failing check.
    pub fn check<H: HeaderMap + ?Sized>(&self, head: &Head<'_, H>, body: &[u8]) -> Result<Forward, Refusal> {
        let admitted = self.head(head)?;
        self.body(head, admitted, body)
    }

    /// A key without configured secrets gets the core's `invalid_secret` (a
    /// 500: the gateway's configuration, not the client, is at fault).
    /// Answers the accepted signature's bytes and timestamp, for the replay
    /// guard.
    fn verify<H: HeaderMap + ?Sized>(
        &self,
        head: &Head<'_, H>,
        admitted: &Admitted,
        signature: RouteSignature<'_>,
        body: &[u8],
    ) -> Result<(Vec<u8>, u64), SignatureError> {
        let clock = Clock { now: head.now, tolerance: self.signed.tolerance };
        let key_id = &admitted.allowed.key_id;
        match signature {
            RouteSignature::Dvpay => {
                match self.signed.dvpay.get(key_id) {
                    Some(verifier) => verifier.verify(body, head.headers, clock).map(drop)?,
                    None => dvpay::Verifier::new([]).verify(body, head.headers, clock).map(drop)?,
                }
                // Verified: a canonical timestamp and hex of either case.
                let mac = first_value(head.headers, "x-signature").map(|s| s.trim().to_ascii_lowercase()).unwrap_or_default();
                let signed_at = first_value(head.headers, "x-timestamp")
                    .and_then(|t| crate::time::parse_unix_seconds(t.trim()))
                    .unwrap_or(head.now);
                Ok((hex::decode(mac).unwrap_or_default(), signed_at))
            }
            RouteSignature::Rfc9421 { required, require_nonce } => {
                let url = signed_url(head, &admitted.target);
                let request = rfc9421::VerifyRequest { method: head.method, url: &url, headers: head.headers, body };
                let components: Vec<&str> = required.iter().map(String::as_str).collect();
                let required = rfc9421::Required { components: &components, nonce: require_nonce };
                match self.signed.rfc9421.get(key_id) {
                    Some(verifier) => verifier.verify_requiring(&request, required, clock).map(|v| (v.signature, v.created)),
                    None => Err(SignatureError::InvalidSecret("no RFC 9421 key is configured for this API key")),
                }
            }
        }
    }
}

/// The URL an RFC 9421 signature covers: the client's origin and the
/// canonical target (the one forwarded).
fn signed_url<H: HeaderMap + ?Sized>(head: &Head<'_, H>, target: &CanonicalTarget) -> String {
    match head.origin {
        Some(origin) => alloc::format!("{}{target}", origin.trim_end_matches('/')),
        None => alloc::format!("https://{}{target}", first_value(head.headers, "host").unwrap_or_default()),
    }
}

/// The field's only value as received, untrimmed: the key check must see the
/// key exactly as sent. [`single_valued`] has refused a second one.
fn first_value<H: HeaderMap + ?Sized>(headers: &H, name: &str) -> Option<String> {
    let mut found = None;
    headers.for_each_value(name, &mut |value| {
        if found.is_none() {
            found = Some(String::from(value));
        }
    });
    found
}

#[cfg(test)]
mod tests;
