//! The request pipeline: a translation of the core's request gate
//! (`payseal_core::gate`, `gate.md`), driven through the plugin.
//!
//! 1. The target is brought to canonical form by the core
//!    ([`CanonicalTarget`]), or 400 `path_not_canonical`. Every rule matches
//!    it and the upstream gets exactly it.
//! 2. `check_request` with `body_pending`: path form, single-valued fields
//!    and the key check on the head. A refused request never has its body
//!    read. Then the access token of a route that requires one.
//! 3. The body is read whole, within `max_body_bytes` (413),
//!    `body_timeout_ms` (408) and a share of `max_bodies_bytes` held across
//!    all requests (503, connection closed).
//! 4. A route that needs the body (a signature, an idempotency fingerprint)
//!    calls `check_request` again with it. Its answer is acted on as the
//!    plugin README says: `refuse`/`conflict` are sent as they are, `lookup`
//!    reads the store and calls again with the record, `replay` answers the
//!    stored response, `execute` forwards, after storing the claim
//!    atomically when there is one (a claim lost to another request reads
//!    the winner's record and asks the plugin again).
//! 5. A claimed request is forwarded, its answer read whole (up to
//!    `max_response_bytes`) and turned by `finish_request` into a record to
//!    store (2xx–4xx), a release (5xx, or never sent), or a record of
//!    unknown outcome (sent, no whole answer: timeout, reset, too large),
//!    which retries meet as 409 `IDEMPOTENCY_OUTCOME_UNKNOWN`. This part
//!    runs in its own task: a client that hangs up cannot leave a claim
//!    behind. Other allowed requests stream the upstream's answer back.
//!
//! A plugin error, trap or timeout, an unexpected answer, or a store error
//! fails closed: 503, nothing forwarded (`STORE_UNAVAILABLE` for the store,
//! also while a shared key set is unconfirmed: [`crate::store_watch`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::BodyExt as _;
use hyper::body::{Body as _, Incoming};
use hyper::header::{CONNECTION, CONTENT_LENGTH, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{HeaderMap, Request, Response, StatusCode};
use payseal_core::Refusal;
use payseal_core::gate::{CanonicalTarget, forward, prefix_covers};
use payseal_core::idempotency::IdempotencyRecord;
use payseal_core::throttle::{Subject, counts_as_failure};
use serde::Serialize;
use tracing::Instrument as _;

use payseal_plugin::frame;
use payseal_plugin::protocol::{CheckOutput, Claimed, FinishOutput, RefusalOut, Replayed};

use crate::gateway::{Runtime, Settings, Shared};
pub use crate::http::{BoxError, ResponseBody, full, json_response};
use crate::http::{gateway_error, refusal_response, store_unavailable};
use crate::plugin::{CallError, PluginPool};
use crate::upstream::{Answered, Forwarded, call_upstream_buffered, forward_streaming, upstream_failed, upstream_request};
use crate::store::Claim;
use crate::throttle::Surface;
use crate::trace::RequestTrace;
use crate::traffic::Seen;

/// How many times one request may call `check_request` (a lookup, then a
/// lost claim or two).
const MAX_CHECKS: usize = 4;

fn unavailable() -> Response<ResponseBody> {
    refusal_response(Refusal::GATEWAY_UNAVAILABLE)
}

/// What happened to a request, for the metrics and the log.
struct Handled {
    response: Response<ResponseBody>,
    outcome: &'static str,
    reason: Option<String>,
    key_id: Option<String>,
}

impl Handled {
    fn new(response: Response<ResponseBody>, outcome: &'static str) -> Self {
        Self { response, outcome, reason: None, key_id: None }
    }

    fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    fn key_id(mut self, key_id: Option<String>) -> Self {
        self.key_id = key_id;
        self
    }
}

/// Who is on the other end of a connection.
#[derive(Debug, Clone, Copy)]
pub struct Peer {
    /// The TCP peer's address.
    pub addr: SocketAddr,
    /// The connection presented a client certificate that the listener's
    /// client CA vouches for (mutual TLS).
    pub client_cert: bool,
}

/// Handles one proxied request, in a span that names its request id and
/// trace ([`crate::trace`]): both are forwarded upstream and returned to
/// the client.
pub async fn handle(shared: &Arc<Shared>, peer: Peer, request: Request<Incoming>) -> Response<ResponseBody> {
    // Shared with the forwarded request (an extension), not copied.
    let trace = Arc::new(RequestTrace::from_headers(request.headers()));
    let span = tracing::info_span!(
        "request",
        request_id = %trace.request_id,
        trace_id = %trace.trace_id,
        span_id = %trace.span_id,
        parent_id = trace.parent_id.as_deref().unwrap_or(""),
        status = tracing::field::Empty,
        outcome = tracing::field::Empty,
    );
    let mut response = handle_traced(shared, peer, request, &trace).instrument(span).await;
    trace.write(response.headers_mut());
    response
}

async fn handle_traced(shared: &Arc<Shared>, peer: Peer, request: Request<Incoming>, trace: &Arc<RequestTrace>) -> Response<ResponseBody> {
    let Peer { addr: peer, client_cert } = peer;
    let started = Instant::now();
    let runtime = shared.runtime.load_full();
    let (mut parts, body) = request.into_parts();
    // The checks see the headers as sent (a signature may cover them); the
    // forwarded request gets the trace's ([`crate::upstream`]).
    parts.extensions.insert(Arc::clone(trace));
    let handled = match crate::lifecycle::renewal::route(&runtime, &parts) {
        Some(code_url) => {
            let client = runtime.settings.client_ip.resolve(peer.ip(), &parts.headers).unwrap_or(peer.ip());
            let (response, reason) = crate::lifecycle::renewal::handle(shared, &runtime, client, &code_url, body).await;
            Handled::new(response, "renewal").reason(reason)
        }
        None => pipeline(shared, &runtime, Peer { addr: peer, client_cert }, &parts, body).await,
    };
    let status = handled.response.status().as_u16();
    shared.metrics.request(handled.outcome, handled.reason.as_deref(), status);
    // For span exporters ([`crate::otlp`]): how the request ended.
    tracing::Span::current().record("status", status).record("outcome", handled.outcome);
    // An admitted key (forwarded, replayed, or sent and failed upstream) was used.
    if let Some(key_id) = handled.key_id.as_deref() {
        let now = shared.clock.now();
        let seen = match handled.outcome {
            "forwarded" | "replayed" | "upstream_error" => {
                shared.last_used.note(key_id, now);
                Seen::Admitted
            }
            outcome => Seen::Refused(handled.reason.as_deref().filter(|r| !r.is_empty()).unwrap_or(outcome)),
        };
        shared.traffic.count(key_id, now, seen);
    }
    if !tracing::enabled!(target: "payseal::request", tracing::Level::INFO) {
        // The line's fields (the client resolved again) cost only when it is written.
        return handled.response;
    }
    let path = parts.uri.path();
    // The client as the checks saw it (a trusted proxy's header resolved).
    let client = runtime.settings.client_ip.resolve(peer.ip(), &parts.headers).unwrap_or(peer.ip());
    tracing::info!(
        target: "payseal::request",
        method = %parts.method,
        path,
        client = %client,
        outcome = handled.outcome,
        reason = handled.reason.as_deref().unwrap_or(""),
        key_id = handled.key_id.as_deref().unwrap_or(""),
        status,
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    );
    handled.response
}

async fn pipeline(shared: &Arc<Shared>, runtime: &Arc<Runtime>, peer: Peer, parts: &Parts, body: Incoming) -> Handled {
    let settings = &runtime.settings;
    let raw = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    // What every rule matches, and what the upstream gets (`gate.md`).
    let target = match CanonicalTarget::parse(raw) {
        Ok(target) => target,
        Err(refusal) => return refused(refusal, "refused"),
    };
    if !peer.client_cert && settings.client_cert_routes.iter().any(|prefix| prefix_covers(prefix, target.path())) {
        return refused(Refusal::CLIENT_CERTIFICATE_REQUIRED, "refused");
    }
    let peer = peer.addr;
    // `None`: a trusted proxy named a hop that is not an address, so the
    // client is unknown (a key with an allow-list is refused). The upstream
    // is then told the nearest hop the gateway knows, the peer.
    let client = settings.client_ip.resolve(peer.ip(), &parts.headers);
    let client_ip = client.unwrap_or(peer.ip());
    let Some(pool) = runtime.pool.as_ref().filter(|_| settings.checks) else {
        let (body, _held) = match read_body(shared, settings, &parts.headers, body).await {
            Ok(read) => read,
            Err(handled) => return handled,
        };
        return match forward_streaming(shared, settings, parts, &target, client_ip, None, body).await {
            Ok(response) => Handled::new(response, "proxied"),
            Err(response) => Handled::new(response, "upstream_error"),
        };
    };
    if !shared.store_watch.key_set_fresh() {
        // A key revoked through another gateway could still pass here.
        return Handled::new(store_unavailable(), "store_error").reason("key_set_stale");
    }
    let throttle = settings.throttle.as_ref();
    let tokens = settings.tokens.as_deref();
    if let Some(tokens) = tokens.filter(|t| crate::tokens::gate::is_endpoint(Some(t), target.path())) {
        let (body, _held) = match read_body(shared, settings, &parts.headers, body).await {
            Ok(read) => read,
            Err(handled) => return handled,
        };
        let caller = crate::tokens::gate::Caller { address: client_ip, throttle };
        let answered = crate::tokens::gate::endpoint(shared, tokens, parts, caller, &body).await;
        return Handled::new(answered.response, answered.outcome).reason(answered.reason);
    }
    let now = shared.clock.now();
    let address = Subject::Address(client_ip);
    if let Some(handled) = throttle.and_then(|_| locked_out(shared, &[address], now)) {
        return handled;
    }
    if let Err(refusal) = declared_length(settings, &parts.headers) {
        // Known from the head: no need to check a key for a body never read.
        return body_refused(refusal);
    }
    let headers: Vec<(&str, std::borrow::Cow<'_, str>)> =
        parts.headers.iter().map(|(n, v)| (n.as_str(), String::from_utf8_lossy(v.as_bytes()))).collect();
    let single_valued: Vec<&str> = tokens.map(|t| t.header.as_str()).into_iter().collect();
    let input = CheckInput {
        now,
        method: parts.method.as_str(),
        path: raw,
        url: settings.public_origin.as_deref(),
        client_ip: client.map(|ip| ip.to_string()),
        webcode_header: settings.webcode_header.as_ref().map(HeaderName::as_str),
        single_valued,
        headers,
        body_pending: true,
        idempotency: None,
    };
    // The head first: a refused request never has its body read.
    let admitted = match call::<CheckOutput>(shared, pool, "check_request", &input, None).await {
        Ok(output) => output,
        Err(handled) => return handled,
    };
    let (needs_body, key_id) = match admitted {
        CheckOutput::NeedBody { key_id, .. } => (true, Some(key_id)),
        CheckOutput::Execute { key_id, idempotency: None, .. } => (false, key_id),
        CheckOutput::Refuse { refusal, .. } => return counted(shared, throttle, plugin_refusal(refusal, "refused"), &[address], now).await,
        _ => return protocol_error("an outcome a head cannot have"),
    };
    // A key whose signatures kept failing is locked out too.
    let key_subject = key_id.as_deref().map(Subject::Key);
    if let Some(handled) = throttle.zip(key_subject).and_then(|(_, key)| locked_out(shared, &[key], now)) {
        return handled.key_id(key_id);
    }
    let subjects: Vec<Subject<'_>> = std::iter::once(address).chain(key_subject).collect();
    // The head admitted a key: a route that requires a token needs one its
    // client issued for that key.
    let admitted_key = key_id.as_deref().unwrap_or_default();
    if let Some(answered) = crate::tokens::gate::require_token(shared, tokens, parts, target.path(), admitted_key).await {
        let handled = Handled::new(answered.response, answered.outcome).reason(answered.reason).key_id(key_id);
        return counted(shared, throttle, handled, &[address], now).await;
    }
    let (body, held) = match read_body(shared, settings, &parts.headers, body).await {
        Ok(read) => read,
        Err(handled) => return handled.key_id(key_id),
    };
    let request = Checked { parts, target, client: client_ip, now };
    if needs_body {
        let handled = request.decide(shared, runtime, pool, input, body, held).await;
        counted(shared, throttle, handled, &subjects, now).await
    } else {
        request.forward(shared, settings, key_id, body).await
    }
}

/// A request whose head passed, with what it is forwarded as.
struct Checked<'a> {
    parts: &'a Parts,
    target: CanonicalTarget,
    client: IpAddr,
    now: u64,
}

impl Checked<'_> {
    /// Forwards without a claim, streaming the answer back.
    async fn forward(&self, shared: &Shared, settings: &Settings, key_id: Option<String>, body: Bytes) -> Handled {
        match forward_streaming(shared, settings, self.parts, &self.target, self.client, key_id.as_deref(), body).await {
            Ok(response) => Handled::new(response, "forwarded").key_id(key_id),
            Err(response) => Handled::new(response, "upstream_error").key_id(key_id),
        }
    }

    /// The body checks through the plugin (signature, idempotency), then
    /// the claim, the forwarding and its finish.
    async fn decide(
        self,
        shared: &Arc<Shared>,
        runtime: &Arc<Runtime>,
        pool: &PluginPool,
        mut input: CheckInput<'_>,
        body: Bytes,
        held: BodyPermit,
    ) -> Handled {
        let Self { parts, target, client: client_ip, now } = self;
        let settings = &runtime.settings;
        input.body_pending = false;
        let mut replay_claimed = false;
        for _ in 0..MAX_CHECKS {
            let output = match call::<CheckOutput>(shared, pool, "check_request", &input, Some(&body)).await {
                Ok(output) => output,
                Err(handled) => return handled,
            };
            // A signed request's mark first (`signing.md`): once per request,
            // before the idempotency decision acts.
            if let Some(guard) = output.replay().filter(|_| !replay_claimed) {
                replay_claimed = true;
                match timed(shared, "claim", shared.store.claim(&guard.storage_key, &guard.mark, now)).await {
                    Ok(Claim::Claimed) => {}
                    Ok(Claim::Held(held)) => {
                        if let Err(refusal) = guard.judge(&held) {
                            return refused(refusal, "refused");
                        }
                    }
                    Err(error) => return store_error(&error),
                }
            }
            match output {
                CheckOutput::Refuse { refusal, .. } => return plugin_refusal(refusal, "refused"),
                CheckOutput::Conflict { refusal, .. } => return plugin_refusal(refusal, "conflict"),
                CheckOutput::Lookup { storage_key, .. } => {
                    if input.idempotency.is_some() {
                        return protocol_error("a second lookup");
                    }
                    let record = match timed(shared, "get", shared.store.get(&storage_key)).await {
                        Ok(record) => record,
                        Err(error) => return store_error(&error),
                    };
                    input.idempotency = Some(Lookup { storage_key, record });
                }
                CheckOutput::Replay { key_id, response, .. } => {
                    return match replay(&response) {
                        Some(response) => Handled::new(response, "replayed").key_id(key_id),
                        None => protocol_error("a replay body that is not base64"),
                    };
                }
                CheckOutput::Execute { key_id, idempotency, .. } => {
                    let Some(claimed) = idempotency else {
                        return match forward_streaming(shared, settings, parts, &target, client_ip, key_id.as_deref(), body).await {
                            Ok(response) => Handled::new(response, "forwarded").key_id(key_id),
                            Err(response) => Handled::new(response, "upstream_error").key_id(key_id),
                        };
                    };
                    match timed(shared, "claim", shared.store.claim(&claimed.storage_key, &claimed.claim, now)).await {
                        Ok(Claim::Claimed) => {
                            // The claim is stored: from here the request runs to
                            // its finish even if the client goes away.
                            let forwarded = Forwarded { target: target.clone(), client: client_ip, key_id };
                            let task = tokio::spawn(
                                execute_claimed(
                                Arc::clone(shared),
                                Arc::clone(runtime),
                                parts.clone(),
                                forwarded,
                                claimed,
                                body,
                                held,
                            )
                                .in_current_span(),
                            );
                            return task.await.unwrap_or_else(|_| Handled::new(unavailable(), "internal_error"));
                        }
                        Ok(Claim::Held(record)) => {
                            input.idempotency = Some(Lookup { storage_key: claimed.storage_key, record: Some(record) });
                        }
                        Err(error) => return store_error(&error),
                    }
                }
                CheckOutput::NeedBody { .. } => return protocol_error("a second request for the body"),
            }
        }
        protocol_error("no decision after repeated claims")
    }
}

/// The 429 of a request whose client or key this gateway knows to be
/// locked out ([`crate::throttle`]); no store read.
fn locked_out(shared: &Shared, subjects: &[Subject<'_>], now: u64) -> Option<Handled> {
    let retry_after = shared.lockouts.retry_after(subjects, now)?;
    let response = crate::throttle::throttled(shared, Surface::Request, Refusal::THROTTLED, retry_after);
    Some(Handled::new(response, "throttled").reason(Refusal::THROTTLED.reason))
}

/// `handled` as it goes out, after counting it against `subjects` when it
/// is a failed authentication (a 401); when that leaves one of them locked
/// out, the answer is the 429 instead (the attempt failed either way).
async fn counted(shared: &Shared, throttle: Option<&crate::throttle::Budgets>, handled: Handled, subjects: &[Subject<'_>], now: u64) -> Handled {
    let Some(budgets) = throttle.filter(|_| counts_as_failure(handled.response.status().as_u16())) else { return handled };
    match crate::throttle::failed(shared, budgets, Surface::Request, subjects, now).await {
        Some(retry_after) => {
            let response = crate::throttle::throttled(shared, Surface::Request, Refusal::THROTTLED, retry_after);
            Handled { response, outcome: "throttled", reason: Some(Refusal::THROTTLED.reason.into()), key_id: handled.key_id }
        }
        None => handled,
    }
}

/// A refusal or conflict the plugin answered, sent as it is.
fn plugin_refusal(refusal: RefusalOut, outcome: &'static str) -> Handled {
    Handled::new(json_response(refusal.status, refusal.body), outcome).reason(refusal.reason)
}

/// A refusal of the body (too large, unreadable), under its outcome for the
/// metrics.
fn body_refused(refusal: Refusal) -> Handled {
    refused(refusal, if refusal.status == 413 { "too_large" } else { "bad_request" })
}

/// A refusal of the core's gate that the gateway applies before the plugin.
fn refused(refusal: Refusal, outcome: &'static str) -> Handled {
    Handled::new(json_response(refusal.status, refusal.body()), outcome).reason(refusal.reason)
}

fn protocol_error(what: &str) -> Handled {
    tracing::error!(what, "the plugin's answer cannot be acted on; failing closed");
    Handled::new(unavailable(), "plugin_error").reason("protocol")
}

fn store_error(error: &crate::store::StoreError) -> Handled {
    tracing::error!(%error, "store operation failed; failing closed");
    Handled::new(store_unavailable(), "store_error")
}

async fn timed<T>(shared: &Shared, op: &'static str, future: impl Future<Output = T>) -> T {
    let started = Instant::now();
    let output = future.await;
    shared.metrics.store_op(op, started.elapsed());
    output
}

/// Calls the plugin, timing it; a failure is the request's 503. A body goes
/// outside the JSON, in a frame (`payseal_plugin::frame`, the plugin
/// README's "Framed input"): written once, as it came, and read by the
/// plugin without unescaping or decoding.
async fn call<T: serde::de::DeserializeOwned>(
    shared: &Shared,
    pool: &PluginPool,
    function: &'static str,
    input: &impl Serialize,
    body: Option<&[u8]>,
) -> Result<T, Handled> {
    let written = match body {
        Some(body) => frame::encode_with(body, |buffer| serde_json::to_writer(buffer, input)),
        None => serde_json::to_vec(input),
    };
    let Ok(bytes) = written else { return Err(protocol_error("an input that cannot be written")) };
    let started = Instant::now();
    let result = pool.call::<T>(function, &bytes).await;
    shared.metrics.plugin_call(function, started.elapsed());
    result.map_err(|error| {
        let reason = match &error {
            CallError::Busy => "busy",
            CallError::Failed(_) => "failed",
        };
        tracing::error!(function, %error, "plugin call failed; failing closed");
        Handled::new(unavailable(), "plugin_error").reason(reason)
    })
}

/// Bytes of request bodies held across all requests, at most
/// `server.max_bodies_bytes`: a body is read only with a share of it, so
/// slow uploads cannot hold the process's memory. Released when the
/// request's work is done (dropped).
pub struct BodyPermit(#[allow(dead_code)] Option<tokio::sync::OwnedSemaphorePermit>);

/// The body length the head declares, within `max_body_bytes`; `None`
/// without `Content-Length` (chunked).
fn declared_length(settings: &Settings, headers: &HeaderMap) -> Result<Option<usize>, Refusal> {
    let Some(length) = headers.get(CONTENT_LENGTH) else { return Ok(None) };
    match length.to_str().ok().and_then(|l| l.parse::<usize>().ok()) {
        Some(length) if length > settings.max_body_bytes => Err(Refusal::BODY_TOO_LARGE),
        Some(length) => Ok(Some(length)),
        None => Err(Refusal::BAD_BODY),
    }
}

/// Reads the body whole, within `max_body_bytes` (413) and `body_timeout`
/// (408), after reserving its bytes from the shared budget (503 and the
/// connection closed when the budget is spent).
async fn read_body(shared: &Shared, settings: &Settings, headers: &HeaderMap, body: Incoming) -> Result<(Bytes, BodyPermit), Handled> {
    let declared = match declared_length(settings, headers) {
        Ok(Some(length)) => length,
        Err(refusal) => return Err(body_refused(refusal)),
        // Chunked: the most it may become.
        Ok(None) if body.is_end_stream() => 0,
        Ok(None) => settings.max_body_bytes,
    };
    let Ok(kib) = u32::try_from(declared.div_ceil(1024)) else { return Err(refused(Refusal::BODY_TOO_LARGE, "too_large")) };
    let permit = if kib == 0 {
        BodyPermit(None)
    } else if let Ok(permit) = Arc::clone(&shared.body_budget).try_acquire_many_owned(kib) {
        BodyPermit(Some(permit))
    } else {
        let mut handled = refused(Refusal::BODIES_LIMIT, "busy");
        handled.response.headers_mut().insert(CONNECTION, HeaderValue::from_static("close"));
        return Err(handled);
    };
    // One buffer of the declared size, each frame copied in and dropped: a
    // body holds its own bytes only, not the connection buffers its frames
    // were cut from.
    let capacity = if headers.contains_key(CONTENT_LENGTH) { declared } else { declared.min(CHUNKED_START_BYTES) };
    match tokio::time::timeout(settings.body_timeout, collect(body, capacity, settings.max_body_bytes)).await {
        Ok(Ok(bytes)) => Ok((bytes, permit)),
        Ok(Err(refusal)) => Err(body_refused(refusal)),
        Err(_) => Err(refused(Refusal::BODY_TIMEOUT, "client_timeout")),
    }
}

/// The first allocation for a chunked body, which grows as it arrives.
const CHUNKED_START_BYTES: usize = 16 * 1024;

async fn collect(mut body: Incoming, capacity: usize, limit: usize) -> Result<Bytes, Refusal> {
    let mut buffer = Vec::with_capacity(capacity);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Refusal::BAD_BODY)?;
        if let Ok(data) = frame.into_data() {
            if buffer.len() + data.len() > limit {
                return Err(Refusal::BODY_TOO_LARGE);
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buffer))
}

#[derive(Serialize)]
struct CheckInput<'a> {
    now: u64,
    method: &'a str,
    path: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_ip: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    webcode_header: Option<&'a str>,
    single_valued: Vec<&'a str>,
    headers: Vec<(&'a str, std::borrow::Cow<'a, str>)>,
    body_pending: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency: Option<Lookup>,
}

/// The record read for a `lookup` (`null` when none).
#[derive(Serialize)]
struct Lookup {
    storage_key: String,
    record: Option<IdempotencyRecord>,
}

#[derive(Serialize)]
struct FinishInput<'a> {
    claim: &'a IdempotencyRecord,
    response: Option<FinishResponse<'a>>,
    not_sent: bool,
}

#[derive(Serialize)]
struct FinishResponse<'a> {
    status: u16,
    headers: &'a [(String, String)],
    /// Sent in the call's frame.
    #[serde(skip)]
    body: &'a [u8],
}

fn replay(stored: &Replayed) -> Option<Response<ResponseBody>> {
    let body = base64::engine::general_purpose::STANDARD.decode(&stored.body_base64).ok()?;
    let mut response = Response::new(full(body));
    *response.status_mut() = StatusCode::from_u16(stored.status).ok()?;
    for (name, value) in &stored.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value.as_bytes()))
            && forward::is_replayed_response_header(name.as_str())
        {
            response.headers_mut().append(name, value);
        }
    }
    let (name, value) = forward::REPLAYED_MARKER;
    response.headers_mut().insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    Some(response)
}

/// Forwards a request whose claim is stored, then finishes the claim
/// through the plugin and answers. `_held` keeps the body's share of the
/// budget until the exchange is over.
async fn execute_claimed(
    shared: Arc<Shared>,
    runtime: Arc<Runtime>,
    parts: Parts,
    forwarded: Forwarded,
    claimed: Claimed,
    body: Bytes,
    _held: BodyPermit,
) -> Handled {
    let settings = &runtime.settings;
    let key_id = forwarded.key_id.clone();
    let Some(request) = upstream_request(settings, &parts, &forwarded, body) else {
        // Not sent: nothing executed, so the claim goes.
        finish(&shared, &runtime, &claimed, None, true).await;
        return Handled::new(gateway_error(400, "INVALID_REQUEST", "The request cannot be forwarded."), "bad_request").key_id(key_id);
    };
    match call_upstream_buffered(&shared, settings, request).await {
        Answered::Response { status, headers, body } => {
            let pairs: Vec<(String, String)> = headers
                .iter()
                .filter(|(name, _)| forward::is_replayed_response_header(name.as_str()))
                .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            let answer = FinishResponse { status: status.as_u16(), headers: &pairs, body: &body };
            finish(&shared, &runtime, &claimed, Some(answer), false).await;
            let mut response = Response::new(full(body));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            Handled::new(response, "forwarded").key_id(key_id)
        }
        Answered::TooLarge => {
            // The upstream executed, and there is nothing whole to replay:
            // the outcome is unknown to a retry, which gets 409.
            tracing::error!(key_id = key_id.as_deref().unwrap_or(""), "the upstream's answer is larger than max_response_bytes; the key is kept as outcome unknown");
            finish(&shared, &runtime, &claimed, None, false).await;
            Handled::new(upstream_failed(false), "upstream_error").reason("response_too_large").key_id(key_id)
        }
        Answered::Transport { sent, timed_out } => {
            finish(&shared, &runtime, &claimed, None, !sent).await;
            let reason = if sent { "outcome_unknown" } else { "not_sent" };
            Handled::new(upstream_failed(timed_out), "upstream_error").reason(reason).key_id(key_id)
        }
    }
}

/// `finish_request`, then store or release as it says. When the plugin
/// cannot answer, the claim is kept: a retry gets 409 until it expires,
/// never a second execution.
async fn finish(shared: &Shared, runtime: &Runtime, claimed: &Claimed, response: Option<FinishResponse<'_>>, not_sent: bool) {
    let Some(pool) = runtime.pool.as_ref() else { return };
    let body = response.as_ref().map(|response| response.body);
    let input = FinishInput { claim: &claimed.claim, response, not_sent };
    let Ok(output) = call::<FinishOutput>(shared, pool, "finish_request", &input, body).await else {
        tracing::error!("finish_request failed; the claim is kept until it expires");
        return;
    };
    let key = &claimed.storage_key;
    let result = match output {
        FinishOutput::Store { record } | FinishOutput::KeepUnknown { record } => {
            timed(shared, "complete", shared.store.complete(key, &claimed.claim, &record)).await
        }
        FinishOutput::Release => timed(shared, "release", shared.store.release(key, &claimed.claim)).await,
    };
    match result {
        Ok(true) => {}
        Ok(false) => tracing::warn!("the claim was no longer stored when the request finished"),
        Err(error) => tracing::error!(%error, "cannot store the finished record; the claim is kept until it expires"),
    }
}
