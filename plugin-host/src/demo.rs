//! `payseal demo`: the example configuration, a demo upstream and the real
//! gateway on loopback ports, and a scripted session over HTTP (allowed,
//! replayed, conflicting, refused, a signed refund), printing every request
//! and answer. The store lives in a temporary directory removed at the end.
//!
//! Also the demo upstream on its own (`payseal demo-upstream`), which the
//! load benchmark measures directly and behind the gateway.

use std::convert::Infallible;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use payseal_core::Secret;
use payseal_core::signing::dvpay;
use serde_json::json;
use tokio::net::TcpListener;

use crate::config::EnvLookup;
use crate::gateway::ConfigSource;

/// The example configuration the demo runs.
pub const EXAMPLE_CONFIG: &str = include_str!("../examples/payseal.toml");

/// The demo's live key (its digest is in the example configuration).
pub const DEMO_LIVE_KEY: &str = "sk_live_DemoLiveKey0000000000000000";
/// The demo's test key.
pub const DEMO_TEST_KEY: &str = "sk_test_DemoTestKey0000000000000000";
/// The DVPay API secret of `k_live`: the example configuration's `demo_secret`.
const DEMO_SECRET: &str = "demo-dvpay-api-secret-k_live";

/// A running demo upstream.
#[derive(Debug, Clone)]
pub struct DemoUpstream {
    /// Its address.
    pub addr: SocketAddr,
    /// Requests it executed.
    pub executions: Arc<AtomicU64>,
}

/// Starts the demo upstream: it reads the body and answers 201 to POST, 200
/// otherwise, with a small JSON naming the execution number, the path and
/// the key id the gateway sent.
///
/// # Errors
/// The address cannot be bound.
pub async fn start_upstream(listen: SocketAddr) -> std::io::Result<DemoUpstream> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let executions = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&executions);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            };
            let _ = stream.set_nodelay(true);
            let counter = Arc::clone(&counter);
            tokio::spawn(async move {
                let service = service_fn(move |request: Request<Incoming>| {
                    let counter = Arc::clone(&counter);
                    async move { Ok::<_, Infallible>(upstream_answer(&counter, request).await) }
                });
                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    });
    Ok(DemoUpstream { addr, executions })
}

async fn upstream_answer(counter: &AtomicU64, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let (parts, body) = request.into_parts();
    let length = body.collect().await.map_or(0, |b| b.to_bytes().len());
    let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
    let key_id = parts.headers.get("x-payseal-key-id").and_then(|v| v.to_str().ok());
    let body = json!({ "id": format!("op_{n}"), "execution": n, "path": parts.uri.path(), "key_id": key_id, "received_bytes": length });
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = if parts.method == hyper::Method::POST { hyper::StatusCode::CREATED } else { hyper::StatusCode::OK };
    response.headers_mut().insert(hyper::header::CONTENT_TYPE, hyper::header::HeaderValue::from_static("application/json"));
    response
}

/// Where `scripts/build-plugin.sh` puts the plugin, or `$PAYSEAL_PLUGIN_WASM`
/// (what the integration tests load, to test the plugin the scripts built).
pub fn default_wasm_path() -> PathBuf {
    if let Some(path) = std::env::var_os("PAYSEAL_PLUGIN_WASM") {
        return PathBuf::from(path);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"), PathBuf::from);
    target.join("wasm32-unknown-unknown/release/payseal_plugin.wasm")
}

/// A directory removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> std::io::Result<Self> {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
        let path = std::env::temp_dir().join(format!("payseal-demo-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path)?;
        Ok(Self(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The example configuration with loopback ports, the demo upstream, a
/// store in `dir`, and the plugin at `wasm` (`None`: the embedded one).
///
/// # Errors
/// The example does not parse (a broken build).
pub fn demo_config(upstream: SocketAddr, store: &std::path::Path, wasm: Option<&std::path::Path>) -> Result<String, String> {
    let mut table: toml::Table = toml::from_str(EXAMPLE_CONFIG).map_err(|e| e.to_string())?;
    let mut set = |section: &str, field: &str, value: toml::Value| {
        if let Some(toml::Value::Table(t)) = table.get_mut(section) {
            t.insert(field.into(), value);
        }
    };
    set("server", "listen", "127.0.0.1:0".into());
    set("admin", "listen", "127.0.0.1:0".into());
    // The session prints the metrics at its end, without an admin token.
    set("admin", "public_metrics", true.into());
    set("upstream", "url", format!("http://{upstream}").into());
    set("store", "path", store.display().to_string().into());
    if let Some(wasm) = wasm {
        set("plugin", "wasm", wasm.display().to_string().into());
    }
    set("plugin", "instances", 2.into());
    toml::to_string(&table).map_err(|e| e.to_string())
}

/// The secret lookup of the demo: the environment, else a store key made
/// for this run (its store is thrown away at the end).
fn demo_env() -> EnvLookup {
    let mut bytes = [0u8; 32];
    let store_key = getrandom::fill(&mut bytes).ok().map(|()| zeroize::Zeroizing::new(hex::encode(bytes)));
    Arc::new(move |name| std::env::var(name).ok().or_else(|| (name == "PAYSEAL_STORE_KEY").then(|| store_key.as_ref().map(|k| k.to_string())).flatten()))
}

/// An answer, as the session shows it.
struct Answer {
    status: u16,
    body: Bytes,
}

struct Session {
    client: Client<HttpConnector, Full<Bytes>>,
    base: String,
    out: String,
    failures: Vec<String>,
    step: usize,
}

impl Session {
    async fn send(&mut self, title: &str, method: &str, path: &str, headers: &[(&str, String)], body: &str, expect: u16) -> Option<Answer> {
        self.step += 1;
        let _ = writeln!(self.out, "\n{}. {title}", self.step);
        let _ = writeln!(self.out, "   > {method} {path}");
        for (name, value) in headers {
            let shown = match value.as_str() {
                DEMO_LIVE_KEY => "<k_live demo key>".to_owned(),
                DEMO_TEST_KEY => "<k_test demo key>".to_owned(),
                v if v.starts_with("sk_") => "<an unknown key>".to_owned(),
                v => v.to_owned(),
            };
            let _ = writeln!(self.out, "     {name}: {shown}");
        }
        if !body.is_empty() {
            let _ = writeln!(self.out, "     {body}");
        }
        let mut request = Request::builder().method(method).uri(format!("{}{path}", self.base));
        for (name, value) in headers {
            request = request.header(*name, value.as_str());
        }
        let request = request.header("content-type", "application/json").body(Full::new(Bytes::from(body.to_owned()))).ok()?;
        let answer = match tokio::time::timeout(Duration::from_secs(10), self.client.request(request)).await {
            Ok(Ok(response)) => {
                let status = response.status().as_u16();
                let body = response.into_body().collect().await.map(http_body_util::Collected::to_bytes).unwrap_or_default();
                Answer { status, body }
            }
            Ok(Err(e)) => {
                self.failures.push(format!("step {}: {e}", self.step));
                return None;
            }
            Err(_) => {
                self.failures.push(format!("step {}: no answer in 10 s", self.step));
                return None;
            }
        };
        let _ = writeln!(self.out, "   < {} {}", answer.status, String::from_utf8_lossy(&answer.body));
        if answer.status != expect {
            self.failures.push(format!("step {} ({title}): expected {expect}, got {}", self.step, answer.status));
        }
        Some(answer)
    }

    fn note(&mut self, text: &str) {
        let _ = writeln!(self.out, "   {text}");
    }

    fn require(&mut self, ok: bool, what: &str) {
        if !ok {
            self.failures.push(format!("step {}: {what}", self.step));
        }
    }
}

/// Runs the demo; prints the session. Returns whether every answer was the
/// expected one.
///
/// # Errors
/// The demo could not start (no plugin built, no free port).
pub async fn run() -> Result<bool, String> {
    let dir = TempDir::new().map_err(|e| format!("cannot create a temporary directory: {e}"))?;
    let upstream = start_upstream(SocketAddr::from(([127, 0, 0, 1], 0))).await.map_err(|e| format!("demo upstream: {e}"))?;
    let store = dir.0.join("payseal.redb");
    // The embedded plugin, unless PAYSEAL_PLUGIN_WASM names another.
    let wasm = std::env::var_os("PAYSEAL_PLUGIN_WASM").map(PathBuf::from);
    let text = demo_config(upstream.addr, &store, wasm.as_deref())?;
    let source = ConfigSource::Text { text, dir: dir.0.clone() };
    let running = crate::server::start(source, demo_env()).await?;
    println!("payseal demo");
    println!("  demo upstream  http://{}", upstream.addr);
    println!("  gateway        http://{}  (admin http://{})", running.proxy_addr, running.admin_addr);
    println!("  store          {}", store.display());
    println!("  configuration  plugin-host/examples/payseal.toml (ports, upstream and store replaced)");

    let mut session = Session {
        client: Client::builder(TokioExecutor::new()).build_http(),
        base: format!("http://{}", running.proxy_addr),
        out: String::new(),
        failures: Vec::new(),
        step: 0,
    };
    let pay = "/external/v1/payment/session";
    let body = r#"{"amount":1000,"currency":"EUR","order":"1001"}"#;
    let live = |extra: &[(&'static str, &str)]| {
        let mut headers = vec![("x-api-key", DEMO_LIVE_KEY.to_owned()), ("x-webcode", "SHOP01".to_owned())];
        headers.extend(extra.iter().map(|(n, v)| (*n, (*v).to_owned())));
        headers
    };

    let first = session.send("allowed: a live key pays, with an idempotency key", "POST", pay, &live(&[("idempotency-key", "order-1001")]), body, 201).await;
    let executed = upstream.executions.load(Ordering::SeqCst);
    session.note(&format!("upstream executions so far: {executed}"));
    session.require(executed == 1, "the upstream did not execute once");

    let again = session.send("replayed: the same request again", "POST", pay, &live(&[("idempotency-key", "order-1001")]), body, 201).await;
    let executed = upstream.executions.load(Ordering::SeqCst);
    let same = matches!((&first, &again), (Some(a), Some(b)) if a.body == b.body);
    session.note(&format!("upstream executions so far: {executed} (the stored answer was replayed byte for byte: {same})"));
    session.require(executed == 1 && same, "the replay executed again or differs");

    let other = r#"{"amount":9999,"currency":"EUR","order":"1001"}"#;
    session.send("conflicting: the same idempotency key with another body", "POST", pay, &live(&[("idempotency-key", "order-1001")]), other, 409).await;

    session.send("refused: no API key", "POST", pay, &[("idempotency-key", "order-1002".to_owned())], body, 401).await;
    let unknown = [("x-api-key", "sk_live_NotAKnownKey00000000000000000".to_owned())];
    session.send("refused: an unknown key", "POST", pay, &unknown, body, 401).await;
    let test_key = [("x-api-key", DEMO_TEST_KEY.to_owned())];
    session.send("refused: a test key on a live route", "POST", pay, &test_key, body, 403).await;
    session.send("refused: another merchant's webcode", "POST", pay, &[("x-api-key", DEMO_LIVE_KEY.to_owned()), ("x-webcode", "SHOP99".to_owned())], body, 403).await;

    let refund = "/api/v1/payment-gateway/order/refund";
    let refund_body = r#"{"orderId":"1001","refundAmount":250}"#;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let secret = Secret::from_text(DEMO_SECRET);
    let signer = dvpay::Signer::new(DEMO_LIVE_KEY, &secret);
    let sign_refund = |body: &str, key: &str| -> Vec<(&'static str, String)> {
        signer.sign(body.as_bytes(), now, key).map(|s| s.headers.into_iter().collect()).unwrap_or_default()
    };
    session.send("refused: a signed route without its signature", "POST", refund, &live(&[("x-idempotent-key", "refund-1")]), refund_body, 401).await;
    let mut headers = sign_refund(refund_body, "refund-1");
    headers.push(("x-webcode", "SHOP01".to_owned()));
    session.send("allowed: a signed refund (DVPay X-Timestamp, X-Signature, X-Idempotent-Key)", "POST", refund, &headers, refund_body, 201).await;
    let tampered = r#"{"orderId":"1001","refundAmount":99999}"#;
    let mut headers = sign_refund(refund_body, "refund-2");
    headers.push(("x-webcode", "SHOP01".to_owned()));
    session.send("refused: the signed body was changed on the way", "POST", refund, &headers, tampered, 401).await;
    let executed = upstream.executions.load(Ordering::SeqCst);
    session.note(&format!("upstream executions in total: {executed} (only the two allowed requests)"));
    session.require(executed == 2, "the upstream executed a refused request");

    print!("{}", session.out);
    println!();
    println!("metrics (admin http://{}/metrics):", running.admin_addr);
    let metrics = session
        .client
        .get(format!("http://{}/metrics", running.admin_addr).parse().map_err(|_| "bad admin address".to_owned())?)
        .await
        .map_err(|e| e.to_string())?
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    for line in String::from_utf8_lossy(&metrics).lines().filter(|l| l.starts_with("payseal_requests_total")) {
        println!("  {line}");
    }
    running.shutdown().await;
    println!();
    if session.failures.is_empty() {
        println!("demo: every answer was the expected one");
        Ok(true)
    } else {
        for failure in &session.failures {
            println!("demo FAILED: {failure}");
        }
        Ok(false)
    }
}
