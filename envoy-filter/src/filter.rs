//! The proxy-wasm glue: Envoy's callbacks collect a request's facts, ask
//! [`crate::gate`] and [`crate::store`], and act on the answer. No rule lives
//! here.
//!
//! Host calls go through `proxy_wasm::hostcalls` with their errors handled:
//! the SDK's `Context` helpers unwrap, and a panic would take the VM down.

use std::net::IpAddr;
use std::rc::Rc;
use std::time::UNIX_EPOCH;

use payseal_core::Refusal;
use payseal_core::gate::{Admitted, Forward};
use payseal_core::idempotency::{IdempotentRequest, StoredResponse};
use proxy_wasm::hostcalls;
use proxy_wasm::traits::{Context, HttpContext, RootContext};
use proxy_wasm::types::{Action, BufferType, ContextType, LogLevel, MapType, Status};

use crate::config::{Config, ConfigError};
use crate::gate::{self, Request, Seen};
use crate::store::{self, Claim, Completed, SharedStore, StoreError, Ticket};

proxy_wasm::main! {{
    proxy_wasm::set_log_level(LogLevel::Info);
    proxy_wasm::set_root_context(|_| -> Box<dyn RootContext> { Box::new(Root { config: None }) });
}}

/// Envoy's shared data of this `vm_id`.
struct Shared;

impl SharedStore for Shared {
    fn get(&self, key: &str) -> Option<(Vec<u8>, u32)> {
        match hostcalls::get_shared_data(key) {
            Ok((Some(value), Some(cas))) => Some((value, cas)),
            // Envoy never returns a value without a CAS token; an empty
            // value is still an existing entry.
            Ok((None, Some(cas))) => Some((Vec::new(), cas)),
            _ => None,
        }
    }

    fn set(&self, key: &str, value: &[u8], cas: Option<u32>) -> Result<(), StoreError> {
        match hostcalls::set_shared_data(key, Some(value), cas) {
            Ok(()) => Ok(()),
            Err(Status::CasMismatch) => Err(StoreError::CasMismatch),
            Err(_) => Err(StoreError::Failed),
        }
    }
}

fn log(level: LogLevel, message: &str) {
    let _ = hostcalls::log(level, message);
}

/// The configuration as parsed; an error refuses every request.
type Loaded = Rc<Result<Config, ConfigError>>;

struct Root {
    config: Option<Loaded>,
}

impl Context for Root {}

impl RootContext for Root {
    fn on_vm_start(&mut self, _vm_configuration_size: usize) -> bool {
        let created = store::prepare(&Shared);
        if created > 0 {
            log(LogLevel::Info, &format!("payseal: created {created} idempotency buckets"));
        }
        true
    }

    fn on_configure(&mut self, _plugin_configuration_size: usize) -> bool {
        let mut text = hostcalls::get_buffer(BufferType::PluginConfiguration, 0, usize::MAX).ok().flatten();
        let loaded = Config::parse(text.as_deref().unwrap_or_default());
        // The document holds secrets; only their prepared keys outlive it.
        if let Some(text) = text.as_mut() {
            zeroize::Zeroize::zeroize(text);
        }
        match &loaded {
            Ok(_) => log(LogLevel::Info, "payseal: configuration loaded"),
            // The error names the field and what is wrong, never a value.
            Err(e) => log(LogLevel::Critical, &format!("payseal: {e}; every request is refused with 500 until it is fixed")),
        }
        self.config = Some(Rc::new(loaded));
        // Returning true keeps the filter in the chain, refusing: a
        // configuration Envoy dropped would let requests through.
        true
    }

    fn create_http_context(&self, _context_id: u32) -> Option<Box<dyn HttpContext>> {
        Some(Box::new(Filter { config: self.config.clone(), pending: None, exchange: None }))
    }

    fn get_type(&self) -> Option<ContextType> {
        Some(ContextType::HttpContext)
    }
}

/// An admitted request waiting for its body.
struct Pending {
    request: Request,
    admitted: Admitted,
}

/// A forwarded request holding an idempotency claim, and its answer so far.
struct Exchange {
    ticket: Ticket,
    status: Option<u16>,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    too_large: bool,
}

struct Filter {
    config: Option<Loaded>,
    pending: Option<Pending>,
    exchange: Option<Exchange>,
}

fn now(config: &Config) -> u64 {
    config.fixed_now.unwrap_or_else(|| {
        hostcalls::get_current_time()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_secs())
    })
}

/// The client address Envoy settled on: the peer, or the trusted
/// `X-Forwarded-For` hop when the listener is configured to trust one.
fn client_ip() -> Option<IpAddr> {
    hostcalls::get_property(vec!["source", "address"]).ok().flatten().and_then(|bytes| gate::parse_address(&bytes))
}

fn request_headers() -> Vec<(String, String)> {
    hostcalls::get_map_bytes(MapType::HttpRequestHeaders)
        .unwrap_or_default()
        .into_iter()
        .map(|(name, value)| (name, String::from_utf8_lossy(&value).into_owned()))
        .collect()
}

/// Envoy's `response.code_details`: `via_upstream` for an upstream's
/// answer, else why Envoy answered itself; `None` when unreadable.
fn code_details() -> Option<String> {
    let bytes = hostcalls::get_property(vec!["response", "code_details"]).ok().flatten()?;
    String::from_utf8(bytes).ok()
}

/// Applies [`gate::forwarding_edits`] to the request headers. Only possible
/// while Envoy holds them (`on_http_request_headers`).
fn edit_forwarding_headers(request: &Request, caller: &gate::Caller<'_>) -> Result<(), Status> {
    for (name, value) in gate::forwarding_edits(&request.headers, request.client_ip, caller) {
        hostcalls::set_map_value(MapType::HttpRequestHeaders, &name, value.as_deref())?;
    }
    Ok(())
}

fn note(name: &str, value: &str) {
    let _ = hostcalls::set_property(vec![name], Some(value.as_bytes()));
}

fn refuse(refusal: Refusal) -> Action {
    note("payseal_reason", refusal.reason);
    let body = refusal.body();
    let _ = hostcalls::send_http_response(
        u32::from(refusal.status),
        vec![("content-type", "application/json")],
        Some(body.as_bytes()),
    );
    Action::Pause
}

impl Filter {
    fn config(&self) -> Option<&Config> {
        self.config.as_deref().and_then(|loaded| loaded.as_ref().ok())
    }

    /// Forwards a request that passed the gate. A signed request first
    /// claims its signature's replay mark (a signature is accepted once);
    /// with an idempotency key, it then claims the key. `body` is what the
    /// fingerprint covers.
    fn forward(&mut self, config: &Config, request: &Request, forward: Forward, body: &[u8]) -> Action {
        if let Some(guard) = &forward.replay {
            let claim = store::claim_mark(&Shared, guard, now(config));
            if let Err(refusal) = gate::replay_verdict(guard, claim) {
                return refuse(refusal);
            }
        }
        let Some(key) = forward.idempotency_key else { return Action::Continue };
        let request = IdempotentRequest {
            key: &key,
            method: &request.method,
            path: forward.target.as_str(),
            body,
            environment: forward.environment,
            key_id: &forward.key_id,
        };
        let ttl = config.routes.idempotency().ttl_seconds;
        match store::claim(&Shared, &request, now(config), ttl) {
            Claim::Execute(ticket) => {
                self.exchange = Some(Exchange { ticket, status: None, headers: Vec::new(), body: Vec::new(), too_large: false });
                Action::Continue
            }
            Claim::Replay(response) => {
                note("payseal_reason", "idempotent_replay");
                // The stored fields, then the core's replay marker.
                let mut headers: Vec<(&str, &str)> = response.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
                headers.push(payseal_core::gate::forward::REPLAYED_MARKER);
                let _ = hostcalls::send_http_response(u32::from(response.status), headers, Some(&response.body));
                Action::Pause
            }
            Claim::Refuse(refusal) => refuse(refusal),
        }
    }

    /// Completes the claim with what happened to the forwarded request:
    /// `whole` when the answer ended (`end_of_stream`), `false` when the
    /// stream ended first. The core decides store, release or keep.
    fn finish(&mut self, whole: bool) {
        let Some(exchange) = self.exchange.take() else { return };
        let Some(config) = self.config.clone() else { return };
        let Ok(config) = config.as_ref() else { return };
        let seen = match (exchange.too_large, whole, exchange.status) {
            (true, _, _) => Seen::TooLarge,
            (false, true, Some(status)) => Seen::Whole(StoredResponse { status, headers: exchange.headers, body: exchange.body }),
            (false, false, Some(_)) => Seen::CutOff,
            (false, _, None) => Seen::Nothing,
        };
        let details = code_details();
        let outcome = gate::upstream_outcome(details.as_deref(), seen);
        match store::complete(&Shared, &exchange.ticket, outcome, now(config)) {
            Completed::Stored | Completed::Released => {}
            Completed::KeptUnknown => log(
                LogLevel::Warn,
                &format!(
                    "payseal: an idempotent request was sent and not answered whole ({}); \
                     its key is held as outcome unknown until it expires",
                    details.as_deref().unwrap_or("no code details")
                ),
            ),
            Completed::Expired => {
                log(LogLevel::Warn, "payseal: an idempotency claim expired before its answer; nothing was stored");
            }
            Completed::Failed => log(
                LogLevel::Warn,
                "payseal: an idempotency record could not be completed; its key stays claimed until it expires",
            ),
        }
    }
}

impl Context for Filter {}

impl HttpContext for Filter {
    fn on_http_request_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        let Some(config) = self.config.clone() else { return refuse(Refusal::INVALID_CONFIGURATION) };
        let Ok(config) = config.as_ref() else { return refuse(Refusal::INVALID_CONFIGURATION) };
        let request = Request::new(request_headers(), client_ip(), now(config));
        let admitted = match gate::head(config, &request) {
            Ok(admitted) => admitted,
            Err(refusal) => return refuse(refusal),
        };
        note("payseal_key_id", &admitted.allowed.key_id);
        // Headers can only be changed now, so before the body is checked:
        // a request refused later is not forwarded at all.
        if let Err(status) = edit_forwarding_headers(&request, &gate::Caller::of(config, &admitted.allowed.key_id)) {
            log(LogLevel::Error, &format!("payseal: the forwarding headers could not be replaced ({status:?}); refused"));
            return refuse(Refusal::GATEWAY_UNAVAILABLE);
        }
        if admitted.needs_body && !end_of_stream {
            // Envoy turns a paused `on_http_request_headers` into "stop
            // all", and would never hand over the body. So the headers
            // continue, and the body is held (`on_http_request_body`)
            // until it is whole and decided: nothing of it reaches the
            // upstream before. An `envoy.filters.http.buffer` filter
            // after this one also keeps the headers from the upstream
            // until then (README).
            self.pending = Some(Pending { request, admitted });
            return Action::Continue;
        }
        // No body to wait for: the route does not read it, or there is none.
        match gate::body(config, &request, admitted, b"") {
            Ok(forward) => self.forward(config, &request, forward, b""),
            Err(refusal) => refuse(refusal),
        }
    }

    fn on_http_request_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        if self.pending.is_none() {
            return Action::Continue;
        }
        let Some(config) = self.config.clone() else { return refuse(Refusal::INVALID_CONFIGURATION) };
        let Ok(config) = config.as_ref() else { return refuse(Refusal::INVALID_CONFIGURATION) };
        if body_size > config.envoy.max_body_bytes {
            self.pending = None;
            return refuse(Refusal::BODY_TOO_LARGE);
        }
        if !end_of_stream {
            // Envoy buffers the body until the end of the stream.
            return Action::Pause;
        }
        let Some(Pending { request, admitted }) = self.pending.take() else { return Action::Continue };
        let body = hostcalls::get_buffer(BufferType::HttpRequestBody, 0, body_size).ok().flatten().unwrap_or_default();
        match gate::body(config, &request, admitted, &body) {
            Ok(forward) => self.forward(config, &request, forward, &body),
            Err(refusal) => refuse(refusal),
        }
    }

    fn on_http_request_trailers(&mut self, _num_trailers: usize) -> Action {
        // Trailers end a request whose body did not say so: decide now.
        if self.pending.is_some() {
            let size = hostcalls::get_buffer(BufferType::HttpRequestBody, 0, usize::MAX)
                .ok()
                .flatten()
                .map_or(0, |b| b.len());
            return self.on_http_request_body(size, true);
        }
        Action::Continue
    }

    fn on_http_response_headers(&mut self, _num_headers: usize, end_of_stream: bool) -> Action {
        if let Some(exchange) = self.exchange.as_mut() {
            let headers = hostcalls::get_map_bytes(MapType::HttpResponseHeaders).unwrap_or_default();
            for (name, value) in headers {
                let value = String::from_utf8_lossy(&value).into_owned();
                if name == ":status" {
                    exchange.status = value.parse().ok();
                } else if payseal_core::gate::forward::is_replayed_response_header(&name) {
                    exchange.headers.push((name, value));
                }
            }
            if end_of_stream {
                self.finish(true);
            }
        }
        Action::Continue
    }

    fn on_http_response_body(&mut self, body_size: usize, end_of_stream: bool) -> Action {
        let limit = self.config().map_or(0, |c| c.envoy.max_stored_response_bytes);
        if let Some(exchange) = self.exchange.as_mut() {
            if !exchange.too_large && body_size > 0 {
                // With Continue, Envoy hands over each chunk as it passes.
                let chunk = hostcalls::get_buffer(BufferType::HttpResponseBody, 0, body_size).ok().flatten().unwrap_or_default();
                if exchange.body.len() + chunk.len() > limit {
                    exchange.too_large = true;
                    exchange.body = Vec::new();
                } else {
                    exchange.body.extend_from_slice(&chunk);
                }
            }
            if end_of_stream {
                self.finish(true);
            }
        }
        Action::Continue
    }

    fn on_http_response_trailers(&mut self, _num_trailers: usize) -> Action {
        self.finish(true);
        Action::Continue
    }

    fn on_log(&mut self) {
        // The stream ended before its answer did: a request never sent is
        // released, any other kept as outcome unknown (`gate::upstream_outcome`).
        self.finish(false);
    }
}
