//! The exported functions, as plain Rust: JSON input bytes and the prepared
//! [`Config`] in, JSON output bytes out. Each parses its input, calls the
//! core, and writes the core's answer; every rule (check order, statuses,
//! messages, bodies) is the core's.
//!
//! An input is plain JSON or a [`frame`] (the JSON and the raw body side by
//! side); every function takes both, so native callers and every host get
//! the same two forms.

use std::net::IpAddr;

use payseal_core::gate::{Admitted, Gate, Head};
use payseal_core::idempotency::{
    self, Completion, Decision, IdempotencyRecord, IdempotentRequest, StoredResponse, UpstreamOutcome,
};
use payseal_core::rfc9421::{ParamValue, SignRequest, VerifyRequest};
use payseal_core::rfc9421;
use payseal_core::signing::{Clock, SignatureError, cybersource, dvpay, standard_webhooks};
use payseal_core::{Environment, Refusal, Verified};
use serde::{Deserialize, Serialize};

use crate::config::{Config, Signer, Webhook};
use crate::error::{self, PluginError, Source};
use crate::frame;
use crate::protocol::{CheckOutput, Claimed, FinishOutput, RefusalOut, Replayed};
use crate::wire::{self, Headers};

/// A call's answer: the JSON output and a one-line summary for the host's
/// log. The summary holds only fixed words (function, outcome, reason).
#[derive(Debug)]
pub struct Reply {
    /// The JSON output.
    pub json: Vec<u8>,
    /// E.g. `check_request: refuse unknown_key`.
    pub summary: String,
}

impl Reply {
    fn new(function: &str, output: &impl Serialize, outcome: &str, reason: Option<&str>) -> Self {
        // Serializing the derived output types into memory cannot fail.
        let json = serde_json::to_vec(output).unwrap_or_default();
        let summary = match reason {
            Some(reason) => format!("{function}: {outcome} {reason}"),
            None => format!("{function}: {outcome}"),
        };
        Self { json, summary }
    }
}

/// Refuses an input over `limits.max_input_bytes` before reading it.
fn check_size(config: &Config, bytes: &[u8]) -> Result<(), PluginError> {
    let limit = config.limits.max_input_bytes;
    if bytes.len() > limit { Err(PluginError::InputTooLarge { limit }) } else { Ok(()) }
}

/// Parses a call input, refusing one over the configured size first (the
/// whole input, frame included): the JSON input object and, when the input
/// was a frame, the framed body, borrowed.
fn input<'de, T: Deserialize<'de>>(config: &Config, bytes: &'de [u8]) -> Result<(T, Option<&'de [u8]>), PluginError> {
    check_size(config, bytes)?;
    let call = frame::split(bytes)?;
    Ok((error::parse(call.json, Source::Input)?, call.body))
}

/// The input error of a frame sent where it cannot go: `why` says where.
fn misplaced_frame(why: &str) -> PluginError {
    PluginError::input("frame", why)
}

// ---------------------------------------------------------------------------
// check_request and decide_idempotency

/// The record the host read from its store for a request's idempotency key.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Lookup {
    /// The `storage_key` a `lookup` outcome named.
    storage_key: String,
    /// What the store holds under it; `null` when nothing.
    #[serde(default)]
    record: Option<IdempotencyRecord>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CheckInput {
    now: u64,
    method: String,
    /// Path and query as on the request line; the gate brings it to
    /// canonical form and answers the form to forward (`target`).
    path: String,
    #[serde(default)]
    client_ip: Option<String>,
    /// The webcode the host read; prefer `webcode_header`, so a field sent
    /// twice is refused.
    #[serde(default)]
    webcode: Option<String>,
    /// The header carrying the webcode, read from `headers`.
    #[serde(default)]
    webcode_header: Option<String>,
    /// Further single-valued headers the host reads (its access-token header).
    #[serde(default)]
    single_valued: Vec<String>,
    /// The absolute URL the client called, for RFC 9421 routes (`@scheme`,
    /// `@authority`; the path is the canonical one); default `https://<Host>`.
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    headers: Headers,
    /// The body has not been read yet: answer `need_body` when the route
    /// needs it, so a refused request never has its body read.
    #[serde(default)]
    body_pending: bool,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
    #[serde(default)]
    idempotency: Option<Lookup>,
}

/// `scheme://authority` of an absolute URL: the origin an RFC 9421
/// signature covers with the canonical target.
fn origin_of(url: &str) -> &str {
    let after_scheme = url.find("://").map_or(0, |i| i + 3);
    let end = url[after_scheme..].find(['/', '?', '#']).map_or(url.len(), |i| after_scheme + i);
    &url[..end]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DecideInput {
    now: u64,
    key: String,
    method: String,
    path: String,
    environment: Environment,
    key_id: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
    #[serde(default)]
    idempotency: Option<Lookup>,
}

impl CheckOutput {
    fn reply(&self, function: &str) -> Reply {
        let (outcome, reason) = self.summary();
        Reply::new(function, self, outcome, reason)
    }
}

/// The idempotency part shared by both functions: a lookup first, then the
/// core's decision over the record the host read.
fn decide(
    config: &Config,
    request: &IdempotentRequest<'_>,
    lookup: Option<Lookup>,
    now: u64,
    allowed: (Option<String>, Option<Environment>),
    target: Option<String>,
) -> Result<CheckOutput, PluginError> {
    let (key_id, environment) = allowed;
    let storage_key = request.storage_key();
    let Some(lookup) = lookup else {
        return Ok(CheckOutput::Lookup { ok: true, key_id, environment, storage_key, replay: None });
    };
    if lookup.storage_key != storage_key {
        // A record read under another key must never decide this request.
        return Err(PluginError::input("idempotency.storage_key", "is not the storage key of this request"));
    }
    let ttl = config.routes.idempotency().ttl_seconds;
    Ok(match idempotency::decide(lookup.record.as_ref(), request, now, ttl) {
        Decision::Execute(claim) => CheckOutput::Execute {
            ok: true,
            key_id,
            environment,
            target,
            idempotency: Some(Claimed { storage_key, claim, ttl_seconds: ttl }),
            replay: None,
        },
        Decision::Replay(response) => CheckOutput::Replay {
            ok: true,
            key_id,
            environment,
            status: response.status,
            response: Replayed {
                status: response.status,
                body_base64: wire::encode_base64(&response.body),
                headers: response.headers,
            },
            replay: None,
        },
        Decision::Conflict(conflict) => CheckOutput::Conflict { ok: false, refusal: Refusal::from(conflict).into() },
    })
}

/// `check_request`: the core's request gate (`gate.md`): path form,
/// single-valued fields, the key check of `keys.md`, the route's signature,
/// then the idempotency decision.
///
/// # Errors
/// Bad input, input over the limit, or no `keys` configured; a frame with
/// `body_pending`.
pub fn check_request(config: &Config, bytes: &[u8]) -> Result<Reply, PluginError> {
    let (mut input, framed): (CheckInput, _) = input(config, bytes)?;
    if framed.is_some() && input.body_pending {
        return Err(misplaced_frame("a body_pending call checks the head and carries no body"));
    }
    let keys = config.keys.as_ref().ok_or_else(|| PluginError::not_configured("keys"))?;
    let client_ip = match input.client_ip.as_deref() {
        Some(text) => Some(text.parse::<IpAddr>().map_err(|_| PluginError::input("client_ip", "not an IP address"))?),
        None => None,
    };
    // A webcode the host read itself travels as a pseudo-header, which no
    // HTTP client can send.
    let webcode_header = match input.webcode.take() {
        Some(webcode) => {
            input.headers.0.push((String::from(WEBCODE_PSEUDO_HEADER), webcode));
            Some(WEBCODE_PSEUDO_HEADER)
        }
        None => input.webcode_header.as_deref(),
    };
    let single_valued: Vec<&str> = input.single_valued.iter().map(String::as_str).collect();
    let gate = Gate {
        keys: &keys.set,
        policy: &keys.policy,
        key_header: &keys.header,
        webcode_header,
        single_valued: &single_valued,
        routes: &config.routes,
        signed: &config.signed_requests,
        // The host forwards the `target` this call answers.
        forwards_as_sent: false,
    };
    let head = Head {
        method: &input.method,
        target: &input.path,
        headers: &input.headers,
        client_ip,
        origin: input.url.as_deref().map(origin_of),
        now: input.now,
    };
    let admitted = match gate.head(&head) {
        Ok(admitted) => admitted,
        Err(refusal) => return Ok(CheckOutput::refuse(refusal).reply("check_request")),
    };
    if input.body_pending {
        let Admitted { allowed, target, needs_body } = admitted;
        let target = String::from(target.as_str());
        let output = if needs_body {
            CheckOutput::NeedBody { ok: true, key_id: allowed.key_id, environment: allowed.environment, target }
        } else {
            let (key_id, environment) = (Some(allowed.key_id), Some(allowed.environment));
            CheckOutput::Execute { ok: true, key_id, environment, target: Some(target), idempotency: None, replay: None }
        };
        return Ok(output.reply("check_request"));
    }
    let body = wire::body(framed, input.body.take(), input.body_base64.as_deref(), "")?.unwrap_or_default();
    let forward = match gate.body(&head, admitted, &body) {
        Ok(forward) => forward,
        Err(refusal) => return Ok(CheckOutput::refuse(refusal).reply("check_request")),
    };
    let target = String::from(forward.target.as_str());
    let allowed = (Some(forward.key_id.clone()), Some(forward.environment));
    let output = match forward.idempotency_key {
        Some(key) => {
            let request = IdempotentRequest {
                key: &key,
                method: &input.method,
                path: &target,
                body: &body,
                environment: forward.environment,
                key_id: &forward.key_id,
            };
            decide(config, &request, input.idempotency.take(), input.now, allowed, Some(target.clone()))?
        }
        None => CheckOutput::Execute { ok: true, key_id: allowed.0, environment: allowed.1, target: Some(target), idempotency: None, replay: None },
    };
    // A signed request's mark is claimed by the host before it acts.
    Ok(output.with_replay(forward.replay).reply("check_request"))
}

/// The header name a host-read webcode travels under: a pseudo-header, so
/// no client can send it.
const WEBCODE_PSEUDO_HEADER: &str = ":payseal-webcode";

/// `decide_idempotency`: the idempotency decision alone, for a host that
/// checked the key itself (it passes the key id and environment).
///
/// # Errors
/// Bad input or input over the limit.
pub fn decide_idempotency(config: &Config, bytes: &[u8]) -> Result<Reply, PluginError> {
    let (input, framed): (DecideInput, _) = input(config, bytes)?;
    let body = wire::body(framed, input.body, input.body_base64.as_deref(), "")?.unwrap_or_default();
    let request = IdempotentRequest {
        key: &input.key,
        method: &input.method,
        path: &input.path,
        body: &body,
        environment: input.environment,
        key_id: &input.key_id,
    };
    Ok(decide(config, &request, input.idempotency, input.now, (None, None), None)?.reply("decide_idempotency"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FinishInput {
    /// The claim `check_request` returned (`idempotency.claim`).
    claim: IdempotencyRecord,
    /// The upstream's answer; absent or `null` when none came.
    #[serde(default)]
    response: Option<ResponseIn>,
    /// Without a response: whether the request never left (released);
    /// otherwise it was sent and not answered (kept, outcome unknown).
    #[serde(default)]
    not_sent: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseIn {
    status: u16,
    #[serde(default)]
    headers: Headers,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
}

/// `finish_request`: the core's [`idempotency::finish`] of a claim with the
/// upstream's answer. A framed body is the response's.
///
/// # Errors
/// Bad input or input over the limit; a frame without a `response`.
pub fn finish_request(config: &Config, bytes: &[u8]) -> Result<Reply, PluginError> {
    let (input, framed): (FinishInput, _) = input(config, bytes)?;
    if framed.is_some() && input.response.is_none() {
        return Err(misplaced_frame("the framed body is response.body, and there is no response"));
    }
    let outcome = match input.response {
        Some(r) => UpstreamOutcome::Answered(StoredResponse {
            status: r.status,
            body: wire::body(framed, r.body, r.body_base64.as_deref(), "response.")?.unwrap_or_default().into_owned(),
            headers: r.headers.0,
        }),
        None if input.not_sent => UpstreamOutcome::NotSent,
        None => UpstreamOutcome::NoAnswer,
    };
    let output = match idempotency::finish(input.claim, outcome) {
        Completion::Store(record) => FinishOutput::Store { record },
        Completion::Release => FinishOutput::Release,
        Completion::KeepUnknown(record) => FinishOutput::KeepUnknown { record },
    };
    Ok(Reply::new("finish_request", &output, output.summary(), None))
}

/// What a configured scheme is used as, for the error of a missing field.
#[derive(Clone, Copy)]
enum Role {
    Verifier,
    Signer,
}

/// `value`, or the input error naming `field` as one the `scheme`'s `role` needs.
fn needed<T>(value: Option<T>, field: &str, scheme: &str, role: Role) -> Result<T, PluginError> {
    let role = match role {
        Role::Verifier => "verifier",
        Role::Signer => "signer",
    };
    value.ok_or_else(|| PluginError::input(field, &format!("is required by a {scheme} {role}")))
}

// ---------------------------------------------------------------------------
// verify_webhook

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyInput {
    /// Name of the configured verifier (`webhooks.<name>`).
    webhook: String,
    now: u64,
    #[serde(default)]
    headers: Headers,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
    /// Cybersource and RFC 9421: the request method.
    #[serde(default)]
    method: Option<String>,
    /// Cybersource: the request target (path and query).
    #[serde(default)]
    target: Option<String>,
    /// RFC 9421: the absolute URL.
    #[serde(default)]
    url: Option<String>,
}

#[derive(Serialize)]
#[serde(untagged)]
enum VerifyOutput {
    Verified {
        ok: bool,
        scheme: &'static str,
        secret_index: usize,
    },
    VerifiedLabel {
        ok: bool,
        scheme: &'static str,
        label: String,
        key_id: String,
    },
    Refused {
        ok: bool,
        scheme: &'static str,
        #[serde(flatten)]
        refusal: RefusalOut,
    },
}

/// `verify_webhook`: any scheme of `signing.md`, or RFC 9421, with the named
/// verifier's secrets and tolerance.
///
/// # Errors
/// Bad input, input over the limit, an unknown verifier name, or a field
/// the scheme needs (`method`, `target`, `url`) missing.
pub fn verify_webhook(config: &Config, bytes: &[u8]) -> Result<Reply, PluginError> {
    let (input, framed): (VerifyInput, _) = input(config, bytes)?;
    let webhook = config.webhooks.get(&input.webhook).ok_or_else(|| PluginError::not_configured("webhooks.<webhook>"))?;
    let scheme = webhook.scheme();
    let body = wire::body(framed, input.body, input.body_base64.as_deref(), "")?.unwrap_or_default();
    let clock = |tolerance: u64| Clock { now: input.now, tolerance };
    let by_index = |result: Result<Verified, SignatureError>| {
        result.map(|v| VerifyOutput::Verified { ok: true, scheme, secret_index: v.secret_index })
    };
    let result = match webhook {
        Webhook::Dvpay(v, tolerance) => by_index(v.verify(&body, &input.headers, clock(*tolerance))),
        Webhook::Stripe(v, tolerance) => by_index(v.verify(&body, &input.headers, clock(*tolerance))),
        Webhook::StandardWebhooks(v, tolerance) => by_index(v.verify(&body, &input.headers, clock(*tolerance))),
        Webhook::Cybersource(v, tolerance) => {
            let method = needed(input.method.as_deref(), "method", scheme, Role::Verifier)?;
            let target = needed(input.target.as_deref(), "target", scheme, Role::Verifier)?;
            by_index(v.verify(method, target, &input.headers, &body, clock(*tolerance)))
        }
        Webhook::Rfc9421(v, components, tolerance) => {
            let request = VerifyRequest {
                method: needed(input.method.as_deref(), "method", scheme, Role::Verifier)?,
                url: needed(input.url.as_deref(), "url", scheme, Role::Verifier)?,
                headers: &input.headers,
                body: &body,
            };
            let components: Vec<&str> = components.iter().map(String::as_str).collect();
            v.verify(&request, &components, clock(*tolerance)).map(|v| VerifyOutput::VerifiedLabel {
                ok: true,
                scheme,
                label: v.label,
                key_id: v.key_id,
            })
        }
    };
    Ok(match result {
        Ok(output) => Reply::new("verify_webhook", &output, "verified", None),
        Err(e) => {
            let refusal = Refusal::from(e);
            let output = VerifyOutput::Refused { ok: false, scheme, refusal: refusal.into() };
            Reply::new("verify_webhook", &output, "refuse", Some(refusal.reason))
        }
    })
}

// ---------------------------------------------------------------------------
// open_redirect

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenInput {
    /// Name of the configured opener (`redirect.<name>`).
    redirect: String,
    /// The `data` parameter of the return URL.
    token: String,
    now: u64,
}

#[derive(Serialize)]
#[serde(untagged)]
enum OpenOutput {
    Opened { ok: bool, data: serde_json::Map<String, serde_json::Value> },
    Failed { ok: bool, reason: &'static str },
}

/// `open_redirect`: decrypts and checks a return URL's `data` parameter.
///
/// # Errors
/// Bad input, input over the limit, or an unknown opener name; a frame
/// (`open_redirect` takes no body).
pub fn open_redirect(config: &Config, bytes: &[u8]) -> Result<Reply, PluginError> {
    let (input, framed): (OpenInput, _) = input(config, bytes)?;
    if framed.is_some() {
        return Err(misplaced_frame("open_redirect takes no body"));
    }
    let opener = config.redirect.get(&input.redirect).ok_or_else(|| PluginError::not_configured("redirect.<redirect>"))?;
    let result = opener.as_ref().map_err(|e| *e).and_then(|o| o.open(&input.token, input.now));
    Ok(match result {
        Ok(data) => Reply::new("open_redirect", &OpenOutput::Opened { ok: true, data: data.fields }, "opened", None),
        Err(e) => Reply::new("open_redirect", &OpenOutput::Failed { ok: false, reason: e.code() }, "refuse", Some(e.code())),
    })
}

// ---------------------------------------------------------------------------
// sign_request

/// An RFC 9421 parameter value: an integer or a string.
#[derive(Deserialize)]
#[serde(untagged)]
enum ParamIn {
    Integer(i64),
    String(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignInput {
    /// Name of the configured signer (`signers.<name>`).
    signer: String,
    /// Unix seconds: the timestamp signed (DVPay, Stripe, Standard Webhooks)
    /// or the `Date` (Cybersource, when `date` is not given).
    #[serde(default)]
    now: Option<u64>,
    /// Cybersource: the `Date` header as it will be sent.
    #[serde(default)]
    date: Option<String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    body_base64: Option<String>,
    /// Cybersource, RFC 9421.
    #[serde(default)]
    method: Option<String>,
    /// Cybersource: path and query.
    #[serde(default)]
    target: Option<String>,
    /// RFC 9421: the absolute URL.
    #[serde(default)]
    url: Option<String>,
    /// RFC 9421: the request's headers.
    #[serde(default)]
    headers: Headers,
    /// RFC 9421: the label (default `sig1`).
    #[serde(default)]
    label: Option<String>,
    /// RFC 9421: covered components, in order.
    #[serde(default)]
    components: Vec<String>,
    /// RFC 9421: `[name, value]` parameters, in order.
    #[serde(default)]
    params: Vec<(String, ParamIn)>,
    /// DVPay: the `X-Idempotent-Key` to send.
    #[serde(default)]
    idempotency_key: Option<String>,
    /// Standard Webhooks: the message id.
    #[serde(default)]
    id: Option<String>,
}

/// What a signer made, besides the headers.
#[derive(Serialize)]
#[serde(untagged)]
enum Signed {
    /// DVPay, Standard Webhooks: the signature header's value.
    Signature { signature: String },
    /// Cybersource: `Signature`, and `Digest` (`null` for GET and DELETE).
    Cybersource { signature: String, digest: Option<String> },
    /// RFC 9421: both fields, and a `Content-Digest` the signer made, else `null`.
    Rfc9421 { signature_input: String, signature: String, content_digest: Option<String> },
    /// Stripe: the `Stripe-Signature` value.
    Stripe { header: String },
}

#[derive(Serialize)]
struct SignOutput {
    ok: bool,
    scheme: &'static str,
    /// Headers to add to the outgoing message, in order.
    headers: Vec<(&'static str, String)>,
    #[serde(flatten)]
    signed: Signed,
}

#[derive(Serialize)]
struct SignFailed {
    ok: bool,
    scheme: &'static str,
    reason: &'static str,
}

/// Headers and what was signed, or the core's refusal to sign.
type Signing = Result<(Vec<(&'static str, String)>, Signed), SignatureError>;

/// `sign_request`: headers for an outgoing request (DVPay, Cybersource,
/// RFC 9421) or a webhook (Stripe, Standard Webhooks) with the named signer.
///
/// # Errors
/// Bad input, input over the limit, an unknown signer name, or a field the
/// scheme needs missing.
pub fn sign_request(config: &Config, bytes: &[u8]) -> Result<Reply, PluginError> {
    let (input, framed): (SignInput, _) = input(config, bytes)?;
    let signer = config.signers.get(&input.signer).ok_or_else(|| PluginError::not_configured("signers.<signer>"))?;
    let (scheme, signing) = match signer {
        Signer::Dvpay(signer, sends_key) => ("dvpay", sign_dvpay(signer, *sends_key, input, framed)?),
        Signer::Cybersource { signer, merchant_id, host } => {
            ("cybersource", sign_cybersource(signer, merchant_id, host, input, framed)?)
        }
        Signer::Rfc9421(signer) => ("rfc9421", sign_rfc9421(signer, input, framed)?),
        Signer::Stripe(signer) => {
            let now = needed(input.now, "now", "stripe", Role::Signer)?;
            let body = wire::body(framed, input.body, input.body_base64.as_deref(), "")?.unwrap_or_default();
            let signing = signer
                .sign(&body, now)
                .map(|header| (vec![("Stripe-Signature", header.clone())], Signed::Stripe { header }));
            ("stripe", signing)
        }
        Signer::StandardWebhooks(signer) => ("standard_webhooks", sign_standard_webhooks(signer, input, framed)?),
    };
    Ok(match signing {
        Ok((headers, made)) => {
            Reply::new("sign_request", &SignOutput { ok: true, scheme, headers, signed: made }, "signed", None)
        }
        Err(e) => Reply::new("sign_request", &SignFailed { ok: false, scheme, reason: e.code() }, "refuse", Some(e.code())),
    })
}

fn sign_dvpay(
    signer: &dvpay::Signer,
    sends_key: bool,
    input: SignInput,
    framed: Option<&[u8]>,
) -> Result<Signing, PluginError> {
    let now = needed(input.now, "now", "dvpay", Role::Signer)?;
    let body = wire::body(framed, input.body, input.body_base64.as_deref(), "")?.unwrap_or_default();
    let key = input.idempotency_key.as_deref().unwrap_or_default();
    Ok(signer.sign(&body, now, key).map(|made| {
        let signature = made.headers.iter().find(|(n, _)| *n == "X-Signature").map(|(_, v)| v.clone());
        // The core writes all four headers; one the host has no value for is left out.
        let headers = made.headers.into_iter().filter(|(n, v)| !v.is_empty() && (sends_key || *n != "X-Api-Key")).collect();
        (headers, Signed::Signature { signature: signature.unwrap_or_default() })
    }))
}

fn sign_cybersource(
    signer: &cybersource::Signer,
    merchant_id: &str,
    host: &str,
    input: SignInput,
    framed: Option<&[u8]>,
) -> Result<Signing, PluginError> {
    let date = match (input.date, input.now) {
        (Some(date), _) => date,
        (None, Some(now)) => payseal_core::time::format_imf_fixdate(now),
        (None, None) => return Err(PluginError::input("now", "or date is required by a cybersource signer")),
    };
    let body = wire::body(framed, input.body, input.body_base64.as_deref(), "")?;
    let request = cybersource::Request {
        host,
        method: needed(input.method.as_deref(), "method", "cybersource", Role::Signer)?,
        target: needed(input.target.as_deref(), "target", "cybersource", Role::Signer)?,
        date: &date,
        merchant_id,
        body: body.as_deref(),
    };
    Ok(signer.sign(&request).map(|made| {
        let mut headers = vec![("Host", host.to_owned()), ("Date", date.clone()), ("v-c-merchant-id", merchant_id.to_owned())];
        if let Some(digest) = &made.digest {
            headers.push(("Digest", digest.clone()));
        }
        headers.push(("Signature", made.signature.clone()));
        (headers, Signed::Cybersource { signature: made.signature, digest: made.digest })
    }))
}

fn sign_rfc9421(signer: &rfc9421::Signer, input: SignInput, framed: Option<&[u8]>) -> Result<Signing, PluginError> {
    let body = wire::body(framed, input.body, input.body_base64.as_deref(), "")?.unwrap_or_default();
    let components: Vec<&str> = input.components.iter().map(String::as_str).collect();
    let params: Vec<(&str, ParamValue)> = input
        .params
        .iter()
        .map(|(name, value)| {
            let value = match value {
                ParamIn::Integer(i) => ParamValue::Integer(*i),
                ParamIn::String(s) => ParamValue::String(s.clone()),
            };
            (name.as_str(), value)
        })
        .collect();
    let request = SignRequest {
        method: needed(input.method.as_deref(), "method", "rfc9421", Role::Signer)?,
        url: needed(input.url.as_deref(), "url", "rfc9421", Role::Signer)?,
        headers: &input.headers,
        body: &body,
        label: input.label.as_deref().unwrap_or("sig1"),
        components: &components,
        params: &params,
    };
    Ok(signer.sign(&request).map(|fields| {
        let mut headers =
            vec![("Signature-Input", fields.signature_input.clone()), ("Signature", fields.signature.clone())];
        if let Some(digest) = &fields.content_digest {
            headers.push(("Content-Digest", digest.clone()));
        }
        let made = Signed::Rfc9421 {
            signature_input: fields.signature_input,
            signature: fields.signature,
            content_digest: fields.content_digest,
        };
        (headers, made)
    }))
}

fn sign_standard_webhooks(
    signer: &standard_webhooks::Signer,
    input: SignInput,
    framed: Option<&[u8]>,
) -> Result<Signing, PluginError> {
    let now = needed(input.now, "now", "standard_webhooks", Role::Signer)?;
    let id = needed(input.id, "id", "standard_webhooks", Role::Signer)?;
    let body = wire::body(framed, input.body, input.body_base64.as_deref(), "")?.unwrap_or_default();
    Ok(signer.sign(&id, now, &body).map(|signature| {
        let headers = vec![
            ("webhook-id", id.clone()),
            ("webhook-timestamp", now.to_string()),
            ("webhook-signature", signature.clone()),
        ];
        (headers, Signed::Signature { signature })
    }))
}

// ---------------------------------------------------------------------------
// describe

#[derive(Serialize)]
struct Describe<'a> {
    name: &'static str,
    version: &'static str,
    functions: &'static [&'static str],
    schemes: Schemes,
    config: &'a serde_json::Value,
}

#[derive(Serialize)]
struct Schemes {
    verify: &'static [&'static str],
    sign: &'static [&'static str],
    redirect_profiles: &'static [&'static str],
    redirect_kdfs: &'static [&'static str],
    signed_routes: &'static [&'static str],
}

/// The exported functions.
pub const FUNCTIONS: &[&str] = &[
    "check_request",
    "decide_idempotency",
    "finish_request",
    "verify_webhook",
    "open_redirect",
    "sign_request",
    "describe",
];

/// `describe`: version, functions, schemes, and the configuration without
/// its secrets or key digests. Its input is ignored, unless it is a frame.
///
/// # Errors
/// Input over the limit, like every function; a frame (`describe` takes no
/// body).
pub fn describe(config: &Config, bytes: &[u8]) -> Result<Reply, PluginError> {
    check_size(config, bytes)?;
    if frame::split(bytes)?.body.is_some() {
        return Err(misplaced_frame("describe takes no body"));
    }
    let output = Describe {
        name: env!("CARGO_PKG_NAME"),
        version: env!("CARGO_PKG_VERSION"),
        functions: FUNCTIONS,
        schemes: Schemes {
            verify: &["dvpay", "stripe", "standard_webhooks", "cybersource", "rfc9421"],
            sign: &["dvpay", "cybersource", "rfc9421", "stripe", "standard_webhooks"],
            redirect_profiles: &["v1", "legacy-cbc"],
            redirect_kdfs: &["sha256", "hex", "base64"],
            signed_routes: &["dvpay"],
        },
        config: &config.view,
    };
    Ok(Reply::new("describe", &output, "described", None))
}

#[cfg(test)]
mod tests {
    use payseal_core::Secret;
    use payseal_core::keys::KeyDigest;
    use serde_json::{Value, json};

    use super::*;

    type Function = fn(&Config, &[u8]) -> Result<Reply, PluginError>;

    const NOW: u64 = 1_719_500_000;
    const SECRET: &str = "c2VjcmV0LWEtMDEyMzQ1Njc4OQ==";
    const API_KEY: &str = "sk_live_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5Yg0Jk2";
    /// Not UTF-8, with a NUL and a quote: only `body_base64` or a frame carries it.
    const BINARY: &[u8] = b"\x00{\"amount\":10}\xff\xfe";

    /// A configuration with a signed route, a verifier and a signer of
    /// every scheme, all with [`SECRET`].
    fn framed_config() -> Config {
        let document = json!({
            "keys": {
                "policy": { "accepted_formats": ["prefixed"] },
                "records": [{ "id": "k_live", "key_sha256": serde_json::to_value(KeyDigest::of(API_KEY)).unwrap(), "environment": "live" }],
            },
            "routes": [{ "prefix": "/external/v1/refund", "methods": ["POST"], "signed": true }],
            "signed_requests": { "secrets": { "k_live": [SECRET] } },
            "webhooks": {
                "stripe": { "scheme": "stripe", "secrets": [SECRET] },
                "dvpay": { "scheme": "dvpay", "secrets": [SECRET] },
            },
            "redirect": { "live": { "environment": "live", "secret": SECRET } },
            "signers": {
                "dvpay": { "scheme": "dvpay", "secret": SECRET, "api_key": "ak_public_1" },
                "cs": { "scheme": "cybersource", "secret": SECRET, "key_id": "k1", "merchant_id": "m", "host": "h" },
                "rfc": { "scheme": "rfc9421", "secret": SECRET },
                "stripe": { "scheme": "stripe", "secret": SECRET },
                "sw": { "scheme": "standard_webhooks", "secret": SECRET },
            },
            "limits": { "max_input_bytes": 4096 },
        });
        Config::parse(Some(&document.to_string())).unwrap()
    }

    fn output(call: Function, config: &Config, input: &[u8]) -> Value {
        serde_json::from_slice(&call(config, input).unwrap().json).unwrap()
    }

    /// The output of `input` with `body` in its JSON (as `body_base64`, and
    /// as `body` when it is text) and framed: all must be the same.
    fn same_plain_and_framed(call: Function, config: &Config, input: &Value, body: &[u8]) -> Value {
        let mut plain = input.clone();
        plain["body_base64"] = json!(wire::encode_base64(body));
        let expected = output(call, config, plain.to_string().as_bytes());
        if let Ok(text) = core::str::from_utf8(body) {
            let mut plain = input.clone();
            plain["body"] = json!(text);
            assert_eq!(output(call, config, plain.to_string().as_bytes()), expected, "body as text: {input}");
        }
        let framed = frame::encode(input.to_string().as_bytes(), body);
        assert_eq!(output(call, config, &framed), expected, "framed: {input}");
        expected
    }

    fn frame_error(message: &str) -> PluginError {
        PluginError::input("frame", message)
    }

    #[test]
    fn check_request_reads_a_framed_body() {
        let config = framed_config();
        let body = br#"{"orderId":1,"amount":10}"#;
        let signature = dvpay::Signer::new("", &Secret::from_text(SECRET)).signature(body, NOW).unwrap();
        let headers = json!({ "X-Api-Key": API_KEY, "X-Timestamp": NOW.to_string(), "X-Signature": signature, "X-Idempotent-Key": "K1" });
        let mut input = json!({ "now": NOW, "method": "POST", "path": "/external/v1/refund", "headers": headers });
        let lookup = same_plain_and_framed(check_request, &config, &input, body);
        assert_eq!(lookup["outcome"], "lookup", "{lookup}");
        input["idempotency"] = json!({ "storage_key": lookup["storage_key"], "record": null });
        let execute = same_plain_and_framed(check_request, &config, &input, body);
        assert_eq!(execute["outcome"], "execute", "{execute}");
        // The signature covers the body: another framed body is refused.
        let refused = output(check_request, &config, &frame::encode(input.to_string().as_bytes(), b"{}"));
        assert_eq!(refused["outcome"], "refuse", "{refused}");
        // A head call carries no body.
        input["body_pending"] = json!(true);
        let e = check_request(&config, &frame::encode(input.to_string().as_bytes(), b"")).unwrap_err();
        assert_eq!(e, frame_error("a body_pending call checks the head and carries no body"));
        // The body in the frame and in the JSON.
        input["body_pending"] = json!(false);
        input["body"] = json!("x");
        let e = check_request(&config, &frame::encode(input.to_string().as_bytes(), body)).unwrap_err();
        assert_eq!(e, PluginError::input("body", "the body is in the frame"));
    }

    #[test]
    fn decide_idempotency_reads_a_framed_body() {
        let config = framed_config();
        let input = json!({ "now": NOW, "key": "K", "method": "POST", "path": "/p", "environment": "live", "key_id": "k" });
        let lookup = same_plain_and_framed(decide_idempotency, &config, &input, BINARY);
        let mut input = input;
        input["idempotency"] = json!({ "storage_key": lookup["storage_key"], "record": null });
        let execute = same_plain_and_framed(decide_idempotency, &config, &input, BINARY);
        assert_eq!(execute["outcome"], "execute", "{execute}");
    }

    #[test]
    fn verify_webhook_reads_a_framed_body() {
        let config = framed_config();
        for body in [BINARY, b"", br#"{"id":"evt_1"}"#] {
            let signed = same_plain_and_framed(sign_request, &config, &json!({ "signer": "stripe", "now": NOW }), body);
            let input = json!({ "webhook": "stripe", "now": NOW, "headers": { "Stripe-Signature": signed["header"] } });
            let verified = same_plain_and_framed(verify_webhook, &config, &input, body);
            assert_eq!(verified, json!({ "ok": true, "scheme": "stripe", "secret_index": 0 }));
        }
        let input = json!({ "webhook": "dvpay", "now": NOW, "headers": { "X-Timestamp": NOW.to_string(), "X-Signature": "00" } });
        assert_eq!(same_plain_and_framed(verify_webhook, &config, &input, BINARY)["ok"], false);
        let mut both = input;
        both["body_base64"] = json!("AA==");
        let e = verify_webhook(&config, &frame::encode(both.to_string().as_bytes(), b"")).unwrap_err();
        assert_eq!(e, PluginError::input("body_base64", "the body is in the frame"));
    }

    #[test]
    fn every_signer_reads_a_framed_body() {
        let config = framed_config();
        let inputs = [
            json!({ "signer": "dvpay", "now": NOW, "idempotency_key": "K1" }),
            json!({ "signer": "cs", "now": NOW, "method": "POST", "target": "/pts/v2/payments" }),
            json!({ "signer": "rfc", "method": "POST", "url": "https://h/p", "components": ["@method", "content-digest"],
                    "params": [["created", NOW], ["keyid", "k1"]] }),
            json!({ "signer": "stripe", "now": NOW }),
            json!({ "signer": "sw", "now": NOW, "id": "msg_1" }),
        ];
        for input in &inputs {
            for body in [BINARY, b"", b"text"] {
                let signed = same_plain_and_framed(sign_request, &config, input, body);
                // (RFC 9421 makes no content-digest of an empty body: a refusal, the same in both forms.)
                assert!(signed["ok"] == true || body.is_empty(), "{input}: {signed}");
            }
        }
    }

    #[test]
    fn finish_request_takes_the_framed_body_as_the_responses() {
        let config = framed_config();
        let lookup = json!({ "now": NOW, "key": "K", "method": "POST", "path": "/p", "body": "b", "environment": "live", "key_id": "k" });
        let lookup_out = output(decide_idempotency, &config, lookup.to_string().as_bytes());
        let mut execute = lookup;
        execute["idempotency"] = json!({ "storage_key": lookup_out["storage_key"], "record": null });
        let claim = output(decide_idempotency, &config, execute.to_string().as_bytes())["idempotency"]["claim"].clone();
        let response = json!({ "status": 201, "headers": [["content-type", "application/json"]] });
        let mut plain = json!({ "claim": claim, "response": response });
        plain["response"]["body_base64"] = json!(wire::encode_base64(BINARY));
        let stored = output(finish_request, &config, plain.to_string().as_bytes());
        assert_eq!(stored["action"], "store", "{stored}");
        let framed_input = json!({ "claim": claim, "response": response });
        assert_eq!(output(finish_request, &config, &frame::encode(framed_input.to_string().as_bytes(), BINARY)), stored);
        // The body in the frame and in the response.
        for (field, value) in [("body", "x"), ("body_base64", "AA==")] {
            let mut both = framed_input.clone();
            both["response"][field] = json!(value);
            let e = finish_request(&config, &frame::encode(both.to_string().as_bytes(), BINARY)).unwrap_err();
            assert_eq!(e, PluginError::input(format!("response.{field}"), "the body is in the frame"));
        }
        // A frame needs a response to put its body in.
        for no_response in [json!({ "claim": claim }), json!({ "claim": claim, "response": null, "not_sent": true })] {
            let e = finish_request(&config, &frame::encode(no_response.to_string().as_bytes(), b"")).unwrap_err();
            assert_eq!(e, frame_error("the framed body is response.body, and there is no response"));
        }
    }

    #[test]
    fn functions_without_a_body_refuse_a_frame() {
        let config = framed_config();
        let open = json!({ "redirect": "live", "token": "%%%", "now": NOW }).to_string();
        assert_eq!(output(open_redirect, &config, open.as_bytes())["ok"], false);
        let e = open_redirect(&config, &frame::encode(open.as_bytes(), b"")).unwrap_err();
        assert_eq!(e, frame_error("open_redirect takes no body"));
        assert_eq!(output(describe, &config, b"")["name"], "payseal-plugin");
        assert_eq!(output(describe, &config, b"anything")["name"], "payseal-plugin");
        let e = describe(&config, &frame::encode(b"{}", b"")).unwrap_err();
        assert_eq!(e, frame_error("describe takes no body"));
    }

    #[test]
    fn a_bad_frame_is_an_input_error_and_the_size_limit_comes_first() {
        let config = framed_config();
        let calls: [Function; 7] =
            [check_request, decide_idempotency, finish_request, verify_webhook, open_redirect, sign_request, describe];
        for call in calls {
            assert_eq!(call(&config, b"\0ps").unwrap_err(), frame_error("shorter than the 8-byte frame header"));
            assert_eq!(call(&config, b"\0PSF\0\0\0\0").unwrap_err(), frame_error("does not start with the frame magic 00 70 73 66"));
            assert_eq!(
                call(&config, b"\0psf\0\0\x10\0{}").unwrap_err(),
                frame_error("the JSON length runs past the end of the input")
            );
            let oversize = frame::encode(b"{}", &[0; 4096]);
            assert_eq!(call(&config, &oversize).unwrap_err(), PluginError::InputTooLarge { limit: 4096 });
        }
        // The JSON part of a frame is parsed as plain JSON is.
        let e = sign_request(&config, &frame::encode(br#"{"signer":"stripe","now":"x"}"#, b"")).unwrap_err();
        assert_eq!(e, PluginError::input("now", "invalid type, expected u64"));
    }

    fn missing_field(config: &str, call: Function, input: &str) -> PluginError {
        let config = Config::parse(Some(config)).unwrap();
        call(&config, input.as_bytes()).unwrap_err()
    }

    #[test]
    fn a_field_the_verifier_needs_is_named_with_its_scheme() {
        let config = r#"{"webhooks":{"cs":{"scheme":"cybersource","keys":[{"key_id":"k","secret":"c2VjcmV0"}]},
                         "sig":{"scheme":"rfc9421","keys":{"k":"c2VjcmV0LWEtMDEyMzQ1Njc4OQ=="}}}}"#;
        let e = missing_field(config, verify_webhook, r#"{"webhook":"cs","now":1,"method":"POST"}"#);
        assert_eq!(e, PluginError::input("target", "is required by a cybersource verifier"));
        let e = missing_field(config, verify_webhook, r#"{"webhook":"sig","now":1}"#);
        assert_eq!(e, PluginError::input("method", "is required by a rfc9421 verifier"));
    }

    #[test]
    fn a_field_the_signer_needs_is_named_with_its_scheme() {
        let config = r#"{"signers":{"st":{"scheme":"stripe","secret":"whsec_x"},
                         "sw":{"scheme":"standard_webhooks","secret":"whsec_c2VjcmV0LWEtMDEyMzQ1Njc4OQ=="}}}"#;
        let e = missing_field(config, sign_request, r#"{"signer":"st"}"#);
        assert_eq!(e, PluginError::input("now", "is required by a stripe signer"));
        let e = missing_field(config, sign_request, r#"{"signer":"sw","now":1}"#);
        assert_eq!(e, PluginError::input("id", "is required by a standard_webhooks signer"));
    }
}
