//! OpenTelemetry export of the request spans, over OTLP/HTTP with the JSON
//! encoding (cargo feature `otlp`; the endpoint is the standard
//! `OTEL_EXPORTER_OTLP_ENDPOINT`, spans go to `<endpoint>/v1/traces`, the
//! service name is `OTEL_SERVICE_NAME` or `payseal`).
//!
//! Every request runs in a span that already carries its W3C ids
//! ([`crate::trace`]): `trace_id`, `span_id` (the gateway's, the parent of
//! the upstream's) and `parent_id` (the client's, when it sent one). This
//! layer keeps those fields and the ones recorded later (method, path,
//! status, outcome, key id), and when the span closes queues one OTLP span
//! (`SPAN_KIND_SERVER`, start and end times). A thread of its own posts the
//! queue in batches, at least once a second; a full queue drops spans
//! rather than slowing requests, and an unreachable collector loses the
//! batch (counted in the log). No key, secret or body is ever a field of
//! the span.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError, sync_channel};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::Full;
use serde_json::{Value, json};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

/// Spans waiting to be posted; more are dropped.
const QUEUE: usize = 4096;
/// Spans per request to the collector.
const BATCH: usize = 256;
/// Longest wait before a partial batch is posted.
const FLUSH: Duration = Duration::from_secs(1);

/// A finished span, as OTLP wants it.
#[derive(Debug, Clone, PartialEq)]
struct Finished {
    name: String,
    start_nanos: u128,
    end_nanos: u128,
    fields: BTreeMap<String, String>,
}

/// The fields of a span in progress, kept in its extensions.
#[derive(Debug, Default)]
struct Recorded {
    start_nanos: u128,
    fields: BTreeMap<String, String>,
}

impl Visit for Recorded {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.fields.insert(field.name().to_owned(), value.to_owned());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.fields.insert(field.name().to_owned(), value.to_string());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.fields.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

fn now_nanos() -> u128 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos())
}

/// The layer: records the spans that carry W3C ids, queues them when they close.
#[derive(Debug)]
pub struct OtlpLayer {
    queue: SyncSender<Finished>,
}

/// The layer for `OTEL_EXPORTER_OTLP_ENDPOINT`, and its exporting thread;
/// `None` when the variable is not set.
pub fn from_env() -> Option<OtlpLayer> {
    let endpoint = std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT").ok().filter(|e| !e.is_empty())?;
    let service = std::env::var("OTEL_SERVICE_NAME").ok().filter(|s| !s.is_empty()).unwrap_or_else(|| "payseal".to_owned());
    let url = format!("{}/v1/traces", endpoint.trim_end_matches('/'));
    let (queue, receiver) = sync_channel(QUEUE);
    std::thread::Builder::new().name("payseal-otlp".into()).spawn(move || export(&url, &service, &receiver)).ok()?;
    Some(OtlpLayer { queue })
}

impl<S> Layer<S> for OtlpLayer
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut recorded = Recorded { start_nanos: now_nanos(), fields: BTreeMap::new() };
        attrs.record(&mut recorded);
        if !(recorded.fields.contains_key("trace_id") && recorded.fields.contains_key("span_id")) {
            return;
        }
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(recorded);
        }
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(recorded) = span.extensions_mut().get_mut::<Recorded>()
        {
            values.record(recorded);
        }
    }

    fn on_close(&self, id: Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(&id) else { return };
        let Some(recorded) = span.extensions_mut().remove::<Recorded>() else { return };
        let finished = Finished { name: span.name().to_owned(), start_nanos: recorded.start_nanos, end_nanos: now_nanos(), fields: recorded.fields };
        if let Err(TrySendError::Full(_)) = self.queue.try_send(finished) {
            // Never slow a request down for its telemetry.
        }
    }
}

/// The fields that are ids, not attributes.
const ID_FIELDS: [&str; 3] = ["trace_id", "span_id", "parent_id"];

/// One OTLP span (the JSON encoding: ids as hex, times as decimal strings).
fn span_json(span: &Finished) -> Value {
    let status = span.fields.get("status").and_then(|s| s.parse::<u16>().ok());
    let attributes: Vec<Value> = span
        .fields
        .iter()
        .filter(|(name, value)| !ID_FIELDS.contains(&name.as_str()) && !value.is_empty())
        .map(|(name, value)| {
            let key = match name.as_str() {
                "status" => "http.response.status_code",
                "method" => "http.request.method",
                "path" => "url.path",
                "client" => "client.address",
                "request_id" => "http.request.header.x-request-id",
                other => other,
            };
            match (key, value.parse::<i64>()) {
                ("http.response.status_code", Ok(n)) => json!({ "key": key, "value": { "intValue": n.to_string() } }),
                _ => json!({ "key": key, "value": { "stringValue": value } }),
            }
        })
        .collect();
    let mut out = json!({
        "traceId": span.fields.get("trace_id").cloned().unwrap_or_default(),
        "spanId": span.fields.get("span_id").cloned().unwrap_or_default(),
        "name": span.name,
        "kind": 2,
        "startTimeUnixNano": span.start_nanos.to_string(),
        "endTimeUnixNano": span.end_nanos.to_string(),
        "attributes": attributes,
        // 2: error, for answers the gateway could not give (5xx); else unset.
        "status": { "code": if status.is_some_and(|s| s >= 500) { 2 } else { 0 } },
    });
    if let Some(parent) = span.fields.get("parent_id").filter(|p| !p.is_empty()) {
        out["parentSpanId"] = json!(parent);
    }
    out
}

/// An OTLP `ExportTraceServiceRequest` of `spans`.
fn request_json(service: &str, spans: &[Finished]) -> Value {
    json!({
        "resourceSpans": [{
            "resource": { "attributes": [{ "key": "service.name", "value": { "stringValue": service } }] },
            "scopeSpans": [{
                "scope": { "name": "payseal-gateway", "version": env!("CARGO_PKG_VERSION") },
                "spans": spans.iter().map(span_json).collect::<Vec<_>>(),
            }],
        }],
    })
}

/// The exporting thread: batches from `receiver`, posted to `url`.
fn export(url: &str, service: &str, receiver: &Receiver<Finished>) {
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
    let client: hyper_util::client::legacy::Client<_, Full<Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new()).build_http();
    let mut batch = Vec::new();
    loop {
        match receiver.recv_timeout(FLUSH) {
            Ok(span) => {
                batch.push(span);
                if batch.len() < BATCH {
                    continue;
                }
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => return,
        }
        if batch.is_empty() {
            continue;
        }
        let body = request_json(service, &batch).to_string();
        let count = batch.len();
        batch.clear();
        let Ok(request) = hyper::Request::post(url).header("content-type", "application/json").body(Full::new(Bytes::from(body))) else { continue };
        let sent = runtime.block_on(async { tokio::time::timeout(Duration::from_secs(10), client.request(request)).await });
        match sent {
            Ok(Ok(response)) if response.status().is_success() => {}
            Ok(Ok(response)) => tracing::warn!(status = response.status().as_u16(), spans = count, "the OTLP collector refused a batch"),
            _ => tracing::warn!(spans = count, "the OTLP collector cannot be reached; a batch of spans is lost"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_are_encoded_as_otlp_json() {
        let fields: BTreeMap<String, String> = [
            ("trace_id", "4bf92f3577b34da6a3ce929d0e0e4736"),
            ("span_id", "00f067aa0ba902b7"),
            ("parent_id", "b7ad6b7169203331"),
            ("request_id", "req-1"),
            ("status", "503"),
            ("method", "POST"),
            ("key_id", ""),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let span = Finished { name: "request".into(), start_nanos: 1, end_nanos: 2, fields };
        let request = request_json("svc", &[span]);
        let out = &request["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
        assert_eq!(out["traceId"], "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!((out["spanId"].as_str(), out["parentSpanId"].as_str()), (Some("00f067aa0ba902b7"), Some("b7ad6b7169203331")));
        assert_eq!((out["kind"].as_u64(), out["status"]["code"].as_u64()), (Some(2), Some(2)));
        assert_eq!(out["startTimeUnixNano"], "1");
        let attributes = out["attributes"].as_array().unwrap();
        assert!(attributes.contains(&json!({ "key": "http.response.status_code", "value": { "intValue": "503" } })));
        assert!(attributes.contains(&json!({ "key": "http.request.method", "value": { "stringValue": "POST" } })));
        assert!(!attributes.iter().any(|a| a["key"] == "key_id" || a["key"] == "trace_id"), "empty fields and ids are no attributes");
        assert_eq!(request["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"], "svc");
    }
}
