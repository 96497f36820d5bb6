//! The request pipeline.
//!
//! 1. The path must be in normal form (no dot segments, no encoded slash or
//!    dot, no `//`): what the plugin checks is exactly what the upstream
//!    executes. Otherwise 400.
//! 2. The body is read whole, within `max_body_bytes` (413 before the
//!    plugin runs) and `body_timeout_ms` (408).
//! 3. `check_request` gets the method, the path and query as sent, every
//!    header, the client address ([`crate::client_ip`]), the webcode, the
//!    raw body and `now`. Its answer is acted on as the plugin README says:
//!    `refuse`/`conflict` are sent as they are (status and body), `lookup`
//!    reads the store and calls again with the record, `replay` answers the
//!    stored response, `execute` forwards, after storing the claim
//!    atomically when there is one (a claim lost to another request reads
//!    the winner's record and asks the plugin again).
//! 4. A claimed request is forwarded, its answer read whole (up to
//!    `max_response_bytes`), turned by `finish_request` into a record to store
//!    or a release (5xx, transport error), and then sent. This part runs in
//!    its own task: a client that hangs up cannot leave a claim behind.
//!    Other allowed requests stream the upstream's answer back.
//!
//! A plugin error, trap or timeout, an unexpected answer, or a store error
//! fails closed: 503, nothing forwarded (`STORE_UNAVAILABLE` for the store,
//! also while a shared key set is unconfirmed: [`crate::store_watch`]).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CONNECTION, CONTENT_LENGTH, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{HeaderMap, Request, Response, StatusCode};
use payseal_core::idempotency::IdempotencyRecord;
use serde::{Deserialize, Serialize};

use crate::gateway::{Runtime, Settings, Shared};
use crate::plugin::{CallError, PluginPool};
use crate::store::Claim;

/// Error type of response bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Response body: a buffer or the upstream's stream.
pub type ResponseBody = BoxBody<Bytes, BoxError>;

/// How many times one request may call `check_request` (a lookup, then a
/// lost claim or two).
const MAX_CHECKS: usize = 4;

/// A buffered body.
pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

/// A JSON response.
pub fn json_response(status: u16, body: impl Into<Bytes>) -> Response<ResponseBody> {
    let mut response = Response::new(full(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// An answer of the gateway itself (not a payseal refusal): same shape.
pub(crate) fn gateway_error(status: u16, code: &str, message: &str) -> Response<ResponseBody> {
    #[derive(Serialize)]
    struct Body<'a> {
        status: u16,
        code: &'a str,
        message: &'a str,
    }
    json_response(status, serde_json::to_vec(&Body { status, code, message }).unwrap_or_default())
}

fn unavailable() -> Response<ResponseBody> {
    gateway_error(503, "GATEWAY_UNAVAILABLE", "The request could not be checked; it was not forwarded.")
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

/// Handles one proxied request.
pub async fn handle(shared: &Arc<Shared>, peer: SocketAddr, request: Request<Incoming>) -> Response<ResponseBody> {
    let started = Instant::now();
    let runtime = shared.runtime.load_full();
    let (parts, body) = request.into_parts();
    let handled = match crate::lifecycle::renewal::route(&runtime, &parts) {
        Some(code_url) => {
            let (response, reason) = crate::lifecycle::renewal::handle(shared, &runtime, &code_url, body).await;
            Handled::new(response, "renewal").reason(reason)
        }
        None => pipeline(shared, &runtime, peer, &parts, body).await,
    };
    shared.metrics.request(handled.outcome, handled.reason.as_deref());
    let path = parts.uri.path();
    tracing::info!(
        target: "payseal::request",
        method = %parts.method,
        path,
        outcome = handled.outcome,
        reason = handled.reason.as_deref().unwrap_or(""),
        key_id = handled.key_id.as_deref().unwrap_or(""),
        status = handled.response.status().as_u16(),
        micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX),
    );
    handled.response
}

/// The gates of a checked request that need the store rather than the
/// plugin: the key set must be current, and a route that requires an access
/// token must get a valid one.
async fn before_the_plugin(shared: &Arc<Shared>, settings: &Settings, parts: &Parts, body: &Bytes) -> Option<Handled> {
    if !shared.store_watch.key_set_fresh() {
        // A key revoked through another gateway could still pass here.
        return Some(Handled::new(store_unavailable(), "store_error").reason("key_set_stale"));
    }
    let answered = crate::tokens::gate(shared, settings.tokens.as_deref(), parts, body).await?;
    Some(Handled::new(answered.response, answered.outcome).reason(answered.reason))
}

async fn pipeline(shared: &Arc<Shared>, runtime: &Arc<Runtime>, peer: SocketAddr, parts: &Parts, body: Incoming) -> Handled {
    let settings = &runtime.settings;
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    if !is_normal_path(parts.uri.path()) {
        let response = gateway_error(400, "INVALID_REQUEST", "The request path is not in normal form.");
        return Handled::new(response, "bad_request");
    }
    let body = match read_body(settings, &parts.headers, body).await {
        Ok(body) => body,
        Err(handled) => return handled,
    };
    let Some(pool) = runtime.pool.as_ref().filter(|_| settings.checks) else {
        return match forward_streaming(shared, settings, parts, peer.ip(), None, body).await {
            Ok(response) => Handled::new(response, "proxied"),
            Err(response) => Handled::new(response, "upstream_error"),
        };
    };
    if let Some(refused) = before_the_plugin(shared, settings, parts, &body).await {
        return refused;
    }
    let now = shared.clock.now();
    let client_ip = settings.client_ip.resolve(peer.ip(), &parts.headers);
    let webcode = settings.webcode_header.as_ref().and_then(|h| parts.headers.get(h)).map(|v| String::from_utf8_lossy(v.as_bytes()));
    let headers: Vec<(&str, std::borrow::Cow<'_, str>)> =
        parts.headers.iter().map(|(n, v)| (n.as_str(), String::from_utf8_lossy(v.as_bytes()))).collect();
    let (text, base64) = body_fields(&body);
    let url = settings.public_origin.as_ref().map(|origin| format!("{origin}{target}"));
    let mut input = CheckInput {
        now,
        method: parts.method.as_str(),
        path: target,
        url: url.as_deref(),
        client_ip: client_ip.map(|ip| ip.to_string()),
        webcode: webcode.as_deref(),
        headers,
        body: text,
        body_base64: base64,
        idempotency: None,
    };
    for _ in 0..MAX_CHECKS {
        let output = match call::<CheckOutput>(shared, pool, "check_request", &input).await {
            Ok(output) => output,
            Err(handled) => return handled,
        };
        match output.outcome.as_str() {
            "refuse" | "conflict" => {
                let outcome = if output.outcome == "refuse" { "refused" } else { "conflict" };
                let (Some(status), Some(body)) = (output.status, output.body) else { return protocol_error("a refusal without status or body") };
                let reason = output.reason.unwrap_or_default();
                return Handled::new(json_response(status, body), outcome).reason(reason).key_id(output.key_id);
            }
            "lookup" => {
                let Some(storage_key) = output.storage_key.filter(|_| input.idempotency.is_none()) else {
                    return protocol_error("a second lookup");
                };
                let record = match timed(shared, "get", shared.store.get(&storage_key)).await {
                    Ok(record) => record,
                    Err(error) => return store_error(&error),
                };
                input.idempotency = Some(Lookup { storage_key, record });
            }
            "replay" => {
                let Some(stored) = output.response else { return protocol_error("a replay without a response") };
                return match replay(&stored) {
                    Some(response) => Handled::new(response, "replayed").key_id(output.key_id),
                    None => protocol_error("a replay body that is not base64"),
                };
            }
            "execute" => {
                let Some(claimed) = output.idempotency else {
                    return match forward_streaming(shared, settings, parts, peer.ip(), output.key_id.as_deref(), body).await {
                        Ok(response) => Handled::new(response, "forwarded").key_id(output.key_id),
                        Err(response) => Handled::new(response, "upstream_error").key_id(output.key_id),
                    };
                };
                match timed(shared, "claim", shared.store.claim(&claimed.storage_key, &claimed.claim, now)).await {
                    Ok(Claim::Claimed) => {
                        // The claim is stored: from here the request runs to
                        // its finish even if the client goes away.
                        let task = tokio::spawn(execute_claimed(
                            Arc::clone(shared),
                            Arc::clone(runtime),
                            parts.clone(),
                            peer.ip(),
                            output.key_id,
                            claimed,
                            body,
                        ));
                        return task.await.unwrap_or_else(|_| Handled::new(unavailable(), "internal_error"));
                    }
                    Ok(Claim::Held(record)) => {
                        input.idempotency = Some(Lookup { storage_key: claimed.storage_key, record: Some(record) });
                    }
                    Err(error) => return store_error(&error),
                }
            }
            _ => return protocol_error("an unknown outcome"),
        }
    }
    protocol_error("no decision after repeated claims")
}

fn protocol_error(what: &str) -> Handled {
    tracing::error!(what, "the plugin's answer cannot be acted on; failing closed");
    Handled::new(unavailable(), "plugin_error").reason("protocol")
}

pub(crate) fn store_unavailable() -> Response<ResponseBody> {
    gateway_error(503, "STORE_UNAVAILABLE", "The gateway's store is unavailable; the request was not forwarded.")
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

/// Calls the plugin, timing it; a failure is the request's 503.
async fn call<T: serde::de::DeserializeOwned>(shared: &Shared, pool: &PluginPool, function: &'static str, input: &impl Serialize) -> Result<T, Handled> {
    let Ok(bytes) = serde_json::to_vec(input) else { return Err(protocol_error("an input that cannot be written")) };
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

/// Paths the plugin and the upstream read alike.
fn is_normal_path(path: &str) -> bool {
    if !path.starts_with('/') || path.contains("//") || path.contains('\\') {
        return false;
    }
    let lower = path.to_ascii_lowercase();
    if ["%2e", "%2f", "%5c", "%00"].iter().any(|encoded| lower.contains(encoded)) {
        return false;
    }
    !path.split('/').any(|segment| segment == "." || segment == "..")
}

async fn read_body(settings: &Settings, headers: &HeaderMap, body: Incoming) -> Result<Bytes, Handled> {
    let too_large = || Handled::new(gateway_error(413, "PAYLOAD_TOO_LARGE", "The request body is larger than the gateway accepts."), "too_large");
    if let Some(length) = headers.get(CONTENT_LENGTH) {
        match length.to_str().ok().and_then(|l| l.parse::<u64>().ok()) {
            Some(length) if length > settings.max_body_bytes as u64 => return Err(too_large()),
            Some(_) => {}
            None => return Err(Handled::new(gateway_error(400, "INVALID_REQUEST", "The Content-Length is not a number."), "bad_request")),
        }
    }
    match tokio::time::timeout(settings.body_timeout, Limited::new(body, settings.max_body_bytes).collect()).await {
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(_)) => Err(Handled::new(gateway_error(400, "INVALID_REQUEST", "The request body could not be read."), "bad_request")),
        Err(_) => Err(Handled::new(gateway_error(408, "REQUEST_TIMEOUT", "The request body did not arrive in time."), "client_timeout")),
    }
}

/// The body as text when it is UTF-8 without control characters (cheaper
/// to parse), else as base64.
fn body_fields(body: &[u8]) -> (Option<&str>, Option<String>) {
    match std::str::from_utf8(body) {
        Ok(text) if !text.bytes().any(|b| b < 0x20 && !matches!(b, b'\n' | b'\r' | b'\t')) => (Some(text), None),
        _ => (None, Some(base64::engine::general_purpose::STANDARD.encode(body))),
    }
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
    webcode: Option<&'a str>,
    headers: Vec<(&'a str, std::borrow::Cow<'a, str>)>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    idempotency: Option<Lookup>,
}

/// The record read for a `lookup` (`null` when none).
#[derive(Serialize)]
struct Lookup {
    storage_key: String,
    record: Option<IdempotencyRecord>,
}

#[derive(Deserialize)]
struct CheckOutput {
    outcome: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    key_id: Option<String>,
    #[serde(default)]
    storage_key: Option<String>,
    #[serde(default)]
    idempotency: Option<Claimed>,
    #[serde(default)]
    response: Option<StoredAnswer>,
}

#[derive(Deserialize)]
struct Claimed {
    storage_key: String,
    claim: IdempotencyRecord,
}

#[derive(Deserialize)]
struct StoredAnswer {
    status: u16,
    #[serde(default)]
    headers: Vec<(String, String)>,
    body_base64: String,
}

#[derive(Serialize)]
struct FinishInput<'a> {
    claim: &'a IdempotencyRecord,
    response: Option<FinishResponse<'a>>,
}

#[derive(Serialize)]
struct FinishResponse<'a> {
    status: u16,
    headers: &'a [(String, String)],
    #[serde(skip_serializing_if = "Option::is_none")]
    body: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    body_base64: Option<String>,
}

#[derive(Deserialize)]
struct FinishOutput {
    action: String,
    #[serde(default)]
    record: Option<IdempotencyRecord>,
}

/// Headers that belong to one connection, never forwarded or stored.
fn is_hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "proxy-authenticate" | "proxy-authorization" | "proxy-connection" | "te" | "trailer" | "transfer-encoding" | "upgrade"
            // The gateway has read the whole body already.
            | "expect"
    )
}

/// Names listed in `Connection`: hop-by-hop too.
fn connection_tokens(headers: &HeaderMap) -> Vec<String> {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim().to_ascii_lowercase())
        .filter(|t| !t.is_empty())
        .collect()
}

fn replay(stored: &StoredAnswer) -> Option<Response<ResponseBody>> {
    let body = base64::engine::general_purpose::STANDARD.decode(&stored.body_base64).ok()?;
    let mut response = Response::new(full(body));
    *response.status_mut() = StatusCode::from_u16(stored.status).ok()?;
    for (name, value) in &stored.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_bytes(value.as_bytes()))
            && !is_hop_by_hop(&name)
            && name != CONTENT_LENGTH
        {
            response.headers_mut().append(name, value);
        }
    }
    Some(response)
}

/// The request as the upstream gets it: the same method, path and query
/// under the upstream's base path; end-to-end headers; `Host` of the
/// upstream; `X-Forwarded-For` with the peer appended (replaced when the
/// peer is not a trusted proxy); the key id header set by the gateway only;
/// the API key header removed unless `forward_api_key`; the access-token
/// header removed.
fn upstream_request(settings: &Settings, parts: &Parts, peer: IpAddr, key_id: Option<&str>, body: Bytes) -> Option<Request<Full<Bytes>>> {
    let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
    let uri = format!("http://{}{}{}", settings.upstream.authority, settings.upstream.base_path, target);
    let mut request = Request::builder().method(parts.method.clone()).uri(uri).body(Full::new(body)).ok()?;
    let tokens = connection_tokens(&parts.headers);
    let forwarded_for = HeaderName::from_static("x-forwarded-for");
    let headers = request.headers_mut();
    for (name, value) in &parts.headers {
        let strip_key = !settings.forward_api_key && settings.api_key_header.as_ref() == Some(name);
        if is_hop_by_hop(name)
            || tokens.iter().any(|t| t == name.as_str())
            || *name == HOST
            || *name == CONTENT_LENGTH
            || *name == forwarded_for
            || *name == settings.key_id_header
            || strip_key
            || settings.tokens.as_ref().is_some_and(|t| t.header == *name)
        {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    headers.insert(HOST, HeaderValue::from_str(&settings.upstream.authority).ok()?);
    let mut chain: Vec<String> = Vec::new();
    if settings.client_ip.trusts(peer) {
        chain.extend(parts.headers.get_all(&forwarded_for).iter().filter_map(|v| v.to_str().ok()).map(str::to_owned));
    }
    chain.push(peer.to_string());
    headers.insert(forwarded_for, HeaderValue::from_str(&chain.join(", ")).ok()?);
    if let Some(key_id) = key_id {
        headers.insert(settings.key_id_header.clone(), HeaderValue::from_str(key_id).ok()?);
    }
    Some(request)
}

fn strip_response_headers(headers: &mut HeaderMap) {
    let tokens = connection_tokens(headers);
    let names: Vec<HeaderName> = headers.keys().filter(|n| is_hop_by_hop(n) || tokens.iter().any(|t| t == n.as_str())).cloned().collect();
    for name in names {
        headers.remove(name);
    }
}

fn upstream_failed(timed_out: bool) -> Response<ResponseBody> {
    if timed_out {
        gateway_error(504, "UPSTREAM_TIMEOUT", "The upstream did not answer in time.")
    } else {
        gateway_error(502, "UPSTREAM_UNAVAILABLE", "The upstream did not answer.")
    }
}

/// Forwards and streams the answer back.
async fn forward_streaming(shared: &Shared, settings: &Settings, parts: &Parts, peer: IpAddr, key_id: Option<&str>, body: Bytes) -> Result<Response<ResponseBody>, Response<ResponseBody>> {
    let Some(request) = upstream_request(settings, parts, peer, key_id, body) else {
        return Err(gateway_error(400, "INVALID_REQUEST", "The request cannot be forwarded."));
    };
    let started = Instant::now();
    let answer = tokio::time::timeout(settings.upstream_timeout, shared.client.request(request)).await;
    shared.metrics.upstream(started.elapsed());
    match answer {
        Ok(Ok(response)) => {
            let (mut head, body) = response.into_parts();
            strip_response_headers(&mut head.headers);
            Ok(Response::from_parts(head, body.map_err(BoxError::from).boxed()))
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, "upstream request failed");
            Err(upstream_failed(false))
        }
        Err(_) => Err(upstream_failed(true)),
    }
}

/// The upstream's answer to a claimed request, read whole.
enum Answered {
    Response { status: StatusCode, headers: HeaderMap, body: Bytes },
    /// Executed, but too large to keep: the claim stays (see below).
    TooLarge,
    /// No answer: the claim is released, as the plugin says.
    Transport { timed_out: bool },
}

async fn call_upstream_buffered(shared: &Shared, settings: &Settings, request: Request<Full<Bytes>>) -> Answered {
    let started = Instant::now();
    let exchange = async {
        let response = shared.client.request(request).await.map_err(|e| -> BoxError { Box::new(e) })?;
        shared.metrics.upstream(started.elapsed());
        let (head, body) = response.into_parts();
        let body = Limited::new(body, settings.max_response_bytes).collect().await?.to_bytes();
        Ok::<_, BoxError>((head, body))
    };
    match tokio::time::timeout(settings.upstream_timeout, exchange).await {
        Ok(Ok((mut head, body))) => {
            strip_response_headers(&mut head.headers);
            Answered::Response { status: head.status, headers: head.headers, body }
        }
        Ok(Err(error)) if error.downcast_ref::<LengthLimitError>().is_some() => Answered::TooLarge,
        Ok(Err(error)) => {
            tracing::warn!(%error, "upstream request failed");
            Answered::Transport { timed_out: false }
        }
        Err(_) => Answered::Transport { timed_out: true },
    }
}

/// Forwards a request whose claim is stored, then finishes the claim
/// through the plugin and answers.
async fn execute_claimed(
    shared: Arc<Shared>,
    runtime: Arc<Runtime>,
    parts: Parts,
    peer: IpAddr,
    key_id: Option<String>,
    claimed: Claimed,
    body: Bytes,
) -> Handled {
    let settings = &runtime.settings;
    let Some(request) = upstream_request(settings, &parts, peer, key_id.as_deref(), body) else {
        // Not sent: nothing executed, so the claim goes.
        finish(&shared, &runtime, &claimed, None).await;
        return Handled::new(gateway_error(400, "INVALID_REQUEST", "The request cannot be forwarded."), "bad_request").key_id(key_id);
    };
    match call_upstream_buffered(&shared, settings, request).await {
        Answered::Response { status, headers, body } => {
            let pairs: Vec<(String, String)> = headers
                .iter()
                .filter(|(name, _)| **name != CONTENT_LENGTH)
                .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                .collect();
            let (text, base64) = body_fields(&body);
            let answer = FinishResponse { status: status.as_u16(), headers: &pairs, body: text, body_base64: base64 };
            finish(&shared, &runtime, &claimed, Some(answer)).await;
            let mut response = Response::new(full(body));
            *response.status_mut() = status;
            *response.headers_mut() = headers;
            Handled::new(response, "forwarded").key_id(key_id)
        }
        Answered::TooLarge => {
            // The upstream executed; a release would let a retry execute
            // again. The claim stays until it expires, and retries get 409.
            tracing::error!(key_id = key_id.as_deref().unwrap_or(""), "the upstream's answer is larger than max_response_bytes; the claim is kept");
            Handled::new(upstream_failed(false), "upstream_error").reason("response_too_large").key_id(key_id)
        }
        Answered::Transport { timed_out } => {
            finish(&shared, &runtime, &claimed, None).await;
            Handled::new(upstream_failed(timed_out), "upstream_error").key_id(key_id)
        }
    }
}

/// `finish_request`, then store or release as it says. When the plugin
/// cannot answer, the claim is kept: a retry gets 409 until it expires,
/// never a second execution.
async fn finish(shared: &Shared, runtime: &Runtime, claimed: &Claimed, response: Option<FinishResponse<'_>>) {
    let Some(pool) = runtime.pool.as_ref() else { return };
    let input = FinishInput { claim: &claimed.claim, response };
    let Ok(output) = call::<FinishOutput>(shared, pool, "finish_request", &input).await else {
        tracing::error!("finish_request failed; the claim is kept until it expires");
        return;
    };
    let key = &claimed.storage_key;
    let result = match (output.action.as_str(), output.record) {
        ("store", Some(record)) => timed(shared, "complete", shared.store.complete(key, &claimed.claim, &record)).await,
        ("release", _) => timed(shared, "release", shared.store.release(key, &claimed.claim)).await,
        _ => {
            tracing::error!("finish_request answered an unknown action; the claim is kept until it expires");
            return;
        }
    };
    match result {
        Ok(true) => {}
        Ok(false) => tracing::warn!("the claim was no longer stored when the request finished"),
        Err(error) => tracing::error!(%error, "cannot store the finished record; the claim is kept until it expires"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_paths() {
        for ok in ["/", "/external/v1/refund", "/a/b.c/d", "/x%20y"] {
            assert!(is_normal_path(ok), "{ok}");
        }
        for bad in ["", "x", "//a", "/a//b", "/a/../b", "/a/./b", "/..", "/a/%2e%2e/b", "/a%2Fb", "/a\\b", "/a%00"] {
            assert!(!is_normal_path(bad), "{bad}");
        }
    }

    #[test]
    fn bodies_go_as_text_or_base64() {
        assert_eq!(body_fields(b"{\"a\":1}\n"), (Some("{\"a\":1}\n"), None));
        assert_eq!(body_fields(&[0xff, 0]), (None, Some("/wA=".into())));
        assert_eq!(body_fields(b"a\x01"), (None, Some("YQE=".into())));
    }
}
