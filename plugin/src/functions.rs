//! The exported functions, as plain Rust: JSON input bytes and the prepared
//! [`Config`] in, JSON output bytes out. Each parses its input, calls the
//! core, and writes the core's answer; every rule (check order, statuses,
//! messages, bodies) is the core's.

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

/// Parses a call input, refusing one over the configured size first.
fn input<'de, T: Deserialize<'de>>(config: &Config, bytes: &'de [u8]) -> Result<T, PluginError> {
    check_size(config, bytes)?;
    error::parse(bytes, Source::Input)
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
/// Bad input, input over the limit, or no `keys` configured.
pub fn check_request(config: &Config, bytes: &[u8]) -> Result<Reply, PluginError> {
    let mut input: CheckInput = input(config, bytes)?;
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
    let body = wire::body(input.body.take(), input.body_base64.as_deref(), "")?.unwrap_or_default();
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
    let input: DecideInput = input(config, bytes)?;
    let body = wire::body(input.body, input.body_base64.as_deref(), "")?.unwrap_or_default();
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
/// upstream's answer.
///
/// # Errors
/// Bad input or input over the limit.
pub fn finish_request(config: &Config, bytes: &[u8]) -> Result<Reply, PluginError> {
    let input: FinishInput = input(config, bytes)?;
    let outcome = match input.response {
        Some(r) => UpstreamOutcome::Answered(StoredResponse {
            status: r.status,
            body: wire::body(r.body, r.body_base64.as_deref(), "response.")?.unwrap_or_default(),
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
    let input: VerifyInput = input(config, bytes)?;
    let webhook = config.webhooks.get(&input.webhook).ok_or_else(|| PluginError::not_configured("webhooks.<webhook>"))?;
    let scheme = webhook.scheme();
    let body = wire::body(input.body, input.body_base64.as_deref(), "")?.unwrap_or_default();
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
/// Bad input, input over the limit, or an unknown opener name.
pub fn open_redirect(config: &Config, bytes: &[u8]) -> Result<Reply, PluginError> {
    let input: OpenInput = input(config, bytes)?;
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
    let input: SignInput = input(config, bytes)?;
    let signer = config.signers.get(&input.signer).ok_or_else(|| PluginError::not_configured("signers.<signer>"))?;
    let (scheme, signing) = match signer {
        Signer::Dvpay(signer, sends_key) => ("dvpay", sign_dvpay(signer, *sends_key, input)?),
        Signer::Cybersource { signer, merchant_id, host } => {
            ("cybersource", sign_cybersource(signer, merchant_id, host, input)?)
        }
        Signer::Rfc9421(signer) => ("rfc9421", sign_rfc9421(signer, input)?),
        Signer::Stripe(signer) => {
            let now = needed(input.now, "now", "stripe", Role::Signer)?;
            let body = wire::body(input.body, input.body_base64.as_deref(), "")?.unwrap_or_default();
            let signing = signer
                .sign(&body, now)
                .map(|header| (vec![("Stripe-Signature", header.clone())], Signed::Stripe { header }));
            ("stripe", signing)
        }
        Signer::StandardWebhooks(signer) => ("standard_webhooks", sign_standard_webhooks(signer, input)?),
    };
    Ok(match signing {
        Ok((headers, made)) => {
            Reply::new("sign_request", &SignOutput { ok: true, scheme, headers, signed: made }, "signed", None)
        }
        Err(e) => Reply::new("sign_request", &SignFailed { ok: false, scheme, reason: e.code() }, "refuse", Some(e.code())),
    })
}

fn sign_dvpay(signer: &dvpay::Signer, sends_key: bool, input: SignInput) -> Result<Signing, PluginError> {
    let now = needed(input.now, "now", "dvpay", Role::Signer)?;
    let body = wire::body(input.body, input.body_base64.as_deref(), "")?.unwrap_or_default();
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
) -> Result<Signing, PluginError> {
    let date = match (input.date, input.now) {
        (Some(date), _) => date,
        (None, Some(now)) => payseal_core::time::format_imf_fixdate(now),
        (None, None) => return Err(PluginError::input("now", "or date is required by a cybersource signer")),
    };
    let body = wire::body(input.body, input.body_base64.as_deref(), "")?;
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

fn sign_rfc9421(signer: &rfc9421::Signer, input: SignInput) -> Result<Signing, PluginError> {
    let body = wire::body(input.body, input.body_base64.as_deref(), "")?.unwrap_or_default();
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

fn sign_standard_webhooks(signer: &standard_webhooks::Signer, input: SignInput) -> Result<Signing, PluginError> {
    let now = needed(input.now, "now", "standard_webhooks", Role::Signer)?;
    let id = needed(input.id, "id", "standard_webhooks", Role::Signer)?;
    let body = wire::body(input.body, input.body_base64.as_deref(), "")?.unwrap_or_default();
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
/// its secrets or key digests. Its input is ignored.
///
/// # Errors
/// Input over the limit, like every function.
pub fn describe(config: &Config, bytes: &[u8]) -> Result<Reply, PluginError> {
    check_size(config, bytes)?;
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
    use super::*;

    fn missing_field(config: &str, call: fn(&Config, &[u8]) -> Result<Reply, PluginError>, input: &str) -> PluginError {
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
