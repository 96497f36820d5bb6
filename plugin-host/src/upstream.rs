//! The forwarded request (`gate.md`, "What the upstream receives") and the
//! upstream's answer: the canonical target, the headers the client may not
//! set removed and the gateway's own written, the answer streamed back or
//! read whole for an idempotency record, and what became of a request that
//! got no answer (never sent, or sent and not answered).

use std::net::IpAddr;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, LengthLimitError, Limited};
use hyper::header::{CONNECTION, CONTENT_LENGTH, HOST, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{HeaderMap, Request, Response, StatusCode};
use payseal_core::gate::{CanonicalTarget, forward};

use crate::gateway::{Settings, Shared};
use crate::http::{BoxError, ResponseBody, gateway_error};

/// Request fields the gateway never forwards: the core's hop-by-hop list,
/// and `Expect` (the gateway has read the whole body already).
fn is_hop_by_hop(name: &HeaderName) -> bool {
    forward::is_hop_by_hop(name.as_str()) || *name == hyper::header::EXPECT
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

/// Where a checked request goes and who sent it.
pub(crate) struct Forwarded {
    /// The canonical target every rule matched.
    pub target: CanonicalTarget,
    /// The resolved client address.
    pub client: IpAddr,
    /// The key that called.
    pub key_id: Option<String>,
}

/// The request as the upstream gets it (`gate.md`, "What the upstream
/// receives"): the same method; the canonical target under the upstream's
/// base path; end-to-end headers; `Host` of the upstream; the API key and
/// the access token removed (the key unless `forward_api_key`); the key id
/// header set by the gateway only; every client-sent forwarding or
/// method-override header removed and `X-Forwarded-For` / `Forwarded`
/// written from the resolved client; the idempotency key kept, so an
/// idempotent upstream can deduplicate too; `X-Request-Id` and
/// `traceparent` of the request's [`crate::trace::RequestTrace`].
pub(crate) fn upstream_request(settings: &Settings, parts: &Parts, forwarded: &Forwarded, body: Bytes) -> Option<Request<Full<Bytes>>> {
    let uri = format!("{}://{}{}{}", settings.upstream.scheme, settings.upstream.authority, settings.upstream.base_path, forwarded.target);
    let mut request = Request::builder().method(parts.method.clone()).uri(uri).body(Full::new(body)).ok()?;
    let tokens = connection_tokens(&parts.headers);
    let headers = request.headers_mut();
    for (name, value) in &parts.headers {
        let strip_key = !settings.forward_api_key && settings.api_key_header.as_ref() == Some(name);
        if is_hop_by_hop(name)
            || tokens.iter().any(|t| t == name.as_str())
            || *name == HOST
            || *name == CONTENT_LENGTH
            || forward::is_client_forwarding_header(name.as_str())
            || *name == settings.key_id_header
            || strip_key
            || settings.tokens.as_ref().is_some_and(|t| t.header == *name)
        {
            continue;
        }
        headers.append(name.clone(), value.clone());
    }
    headers.insert(HOST, HeaderValue::from_str(&settings.upstream.authority).ok()?);
    headers.insert(HeaderName::from_static("x-forwarded-for"), HeaderValue::from_str(&forward::x_forwarded_for(forwarded.client)).ok()?);
    headers.insert(HeaderName::from_static("forwarded"), HeaderValue::from_str(&forward::forwarded(forwarded.client)).ok()?);
    if let Some(key_id) = &forwarded.key_id {
        headers.insert(settings.key_id_header.clone(), HeaderValue::from_str(key_id).ok()?);
    }
    // The request id and the trace continued under the gateway's span.
    if let Some(trace) = parts.extensions.get::<std::sync::Arc<crate::trace::RequestTrace>>() {
        trace.write(headers);
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

pub(crate) fn upstream_failed(timed_out: bool) -> Response<ResponseBody> {
    if timed_out {
        gateway_error(504, "UPSTREAM_TIMEOUT", "The upstream did not answer in time.")
    } else {
        gateway_error(502, "UPSTREAM_UNAVAILABLE", "The upstream did not answer.")
    }
}

/// Forwards and streams the answer back.
pub(crate) async fn forward_streaming(
    shared: &Shared,
    settings: &Settings,
    parts: &Parts,
    target: &CanonicalTarget,
    client: IpAddr,
    key_id: Option<&str>,
    body: Bytes,
) -> Result<Response<ResponseBody>, Response<ResponseBody>> {
    let forwarded = Forwarded { target: target.clone(), client, key_id: key_id.map(str::to_owned) };
    let Some(request) = upstream_request(settings, parts, &forwarded, body) else {
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
pub(crate) enum Answered {
    Response { status: StatusCode, headers: HeaderMap, body: Bytes },
    /// Executed, but too large to keep: the outcome is unknown.
    TooLarge,
    /// No answer. `sent: false` when the connection could not be made, so
    /// nothing reached the upstream.
    Transport { sent: bool, timed_out: bool },
}

pub(crate) async fn call_upstream_buffered(shared: &Shared, settings: &Settings, request: Request<Full<Bytes>>) -> Answered {
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
            // A connect error happens before any byte of the request left.
            let sent = !error.downcast_ref::<hyper_util::client::legacy::Error>().is_some_and(hyper_util::client::legacy::Error::is_connect);
            tracing::warn!(%error, sent, "upstream request failed");
            Answered::Transport { sent, timed_out: false }
        }
        Err(_) => Answered::Transport { sent: true, timed_out: true },
    }
}

