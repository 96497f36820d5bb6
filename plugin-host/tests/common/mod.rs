//! The harness of the integration tests: the real `payseal` binary on a
//! config written to a temporary directory, a real upstream on loopback in
//! the test process, and an HTTP client.

#![allow(dead_code, clippy::missing_panics_doc)]

use std::collections::HashMap;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{HeaderMap, Request, Response, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;
use tokio::net::TcpListener;

pub mod tls;

/// The built plugin; a missing file fails the test with what to run.
pub fn wasm_path() -> PathBuf {
    let path = payseal_gateway::demo::default_wasm_path();
    assert!(path.exists(), "the plugin is not built ({}): run scripts/build-plugin.sh first", path.display());
    path
}

/// The shared vectors directory, read at run time.
pub fn vectors_dir() -> PathBuf {
    std::env::var_os("PAYSEAL_VECTORS").map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors"), PathBuf::from)
}

// ---------------------------------------------------------------------------
// The upstream

/// What the test upstream saw.
#[derive(Default)]
pub struct Seen {
    /// Executions per idempotency key (`""`: none sent).
    pub per_key: HashMap<String, u64>,
    /// The last request's headers.
    pub last_headers: Option<HeaderMap>,
    /// The last request's target (path and query) as received.
    pub last_target: Option<String>,
}

/// A real HTTP upstream. It answers 201 to POST and 200 otherwise unless
/// told by request headers: `x-test-status` (status), `x-test-delay-ms`
/// (sleep first), `x-test-hold` (wait while [`Upstream::holding`] is set),
/// `x-test-close` (hang up without answering),
/// `x-test-binary` (a body with every byte value and repeated headers).
/// Its body names the execution number, so a second execution is visible.
#[derive(Clone)]
pub struct Upstream {
    pub addr: SocketAddr,
    pub total: Arc<AtomicU64>,
    pub seen: Arc<Mutex<Seen>>,
    /// While set, a request with `x-test-hold` waits before it is answered
    /// (at most 30 s): a request that stays in flight.
    pub holding: Arc<std::sync::atomic::AtomicBool>,
}

impl Upstream {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let upstream = Self {
            addr,
            total: Arc::new(AtomicU64::new(0)),
            seen: Arc::new(Mutex::new(Seen::default())),
            holding: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        };
        let state = upstream.clone();
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { continue };
                let state = state.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let state = state.clone();
                        async move { state.answer(request).await }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        upstream
    }

    async fn answer(&self, request: Request<Incoming>) -> Result<Response<Full<Bytes>>, std::io::Error> {
        let (parts, body) = request.into_parts();
        let body = body.collect().await.map(http_body_util::Collected::to_bytes).unwrap_or_default();
        let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        // Counted on arrival: an execution is a request that reached the upstream.
        let key = header("idempotency-key").or_else(|| header("x-idempotent-key")).unwrap_or_default();
        let n = self.total.fetch_add(1, Ordering::SeqCst) + 1;
        {
            let mut seen = self.seen.lock().unwrap();
            *seen.per_key.entry(key.clone()).or_default() += 1;
            seen.last_headers = Some(parts.headers.clone());
            seen.last_target = parts.uri.path_and_query().map(ToString::to_string);
        }
        if header("x-test-hold").is_some() {
            for _ in 0..3000 {
                if !self.holding.load(Ordering::SeqCst) {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
        if let Some(ms) = header("x-test-delay-ms").and_then(|v| v.parse().ok()) {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
        if header("x-test-close").is_some() {
            // An error from the service makes hyper drop the connection unanswered.
            return Err(std::io::Error::other("closing on purpose"));
        }
        let status = header("x-test-status").and_then(|s| s.parse().ok()).unwrap_or(if parts.method == hyper::Method::POST { 201 } else { 200 });
        let mut response = if header("x-test-binary").is_some() {
            let mut bytes: Vec<u8> = (0..=255u8).collect();
            bytes.extend_from_slice(format!("execution={n}").as_bytes());
            let mut r = Response::new(Full::new(Bytes::from(bytes)));
            r.headers_mut().insert("content-type", "application/octet-stream".parse().unwrap());
            r.headers_mut().append("x-repeated", "one".parse().unwrap());
            r.headers_mut().append("x-repeated", "two".parse().unwrap());
            r
        } else {
            let json = serde_json::json!({
                "execution": n,
                "path": parts.uri.to_string(),
                "key_id": header("x-payseal-key-id"),
                "idempotency_key": key,
                "received_bytes": body.len(),
            });
            let mut r = Response::new(Full::new(Bytes::from(json.to_string())));
            r.headers_mut().insert("content-type", "application/json".parse().unwrap());
            r
        };
        *response.status_mut() = StatusCode::from_u16(status).unwrap();
        response.headers_mut().insert("x-execution", n.to_string().parse().unwrap());
        Ok(response)
    }

    pub fn executions(&self) -> u64 {
        self.total.load(Ordering::SeqCst)
    }

    pub fn executions_of(&self, key: &str) -> u64 {
        self.seen.lock().unwrap().per_key.get(key).copied().unwrap_or(0)
    }

    /// Waits (at most 20 s) until `key` has reached the upstream `n` times.
    pub async fn wait_for(&self, key: &str, n: u64) {
        for _ in 0..2000 {
            if self.executions_of(key) >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{key} did not reach the upstream {n} times within 20 s");
    }

    pub fn last_headers(&self) -> HeaderMap {
        self.seen.lock().unwrap().last_headers.clone().unwrap_or_default()
    }

    pub fn last_target(&self) -> Option<String> {
        self.seen.lock().unwrap().last_target.clone()
    }
}

// ---------------------------------------------------------------------------
// The gateway process

/// The bootstrap admin token of [`base_config`] (role `admin`, name
/// `harness`): the harness's admin helpers send it.
pub const ADMIN_TOKEN: &str = "psa_the-integration-harness-admin-token";

/// `[[admin.tokens]]` lines for `token` (its digest only).
pub fn admin_token_lines(name: &str, role: &str, token: &str) -> String {
    format!(
        "[[admin.tokens]]\nname = \"{name}\"\nrole = \"{role}\"\nsha256 = \"{}\"\n",
        payseal_core::tokens::TokenDigest::of(token.as_bytes()).to_hex()
    )
}

/// `Authorization` with the harness's admin token.
pub fn admin_auth() -> (&'static str, String) {
    ("authorization", format!("Bearer {ADMIN_TOKEN}"))
}

/// The configuration every test starts from: loopback ports chosen by the
/// system, a store in `dir`, the built plugin, two instances, a settable
/// clock, the bootstrap admin token [`ADMIN_TOKEN`]; `server_extra` goes
/// into `[server]`.
pub fn base_config(upstream: SocketAddr, dir: &Path, server_extra: &str) -> String {
    format!(
        "[server]\nlisten = \"127.0.0.1:0\"\n{server_extra}\n\n[admin]\nlisten = \"127.0.0.1:0\"\nsettable_clock = true\n{}\n\
         [upstream]\nurl = \"http://{upstream}\"\n\n[store]\npath = \"{}\"\n\n\
         [plugin]\nwasm = \"{}\"\ninstances = 2\n\n[log]\nlevel = \"info\"\nformat = \"json\"\n\n",
        admin_token_lines("harness", "admin", ADMIN_TOKEN),
        dir.join("store.redb").display(),
        wasm_path().display()
    )
}

/// A running `payseal serve`.
pub struct Gateway {
    pub child: Child,
    pub proxy: SocketAddr,
    pub admin: SocketAddr,
    pub config_path: PathBuf,
    pub log_path: PathBuf,
}

impl Gateway {
    /// Writes `config` to `dir/payseal.toml` and starts the binary on it
    /// with `env`; waits (at most 60 s) for its "listening" line.
    pub fn start(dir: &Path, config: &str, env: &[(&str, &str)]) -> Self {
        let config_path = dir.join("payseal.toml");
        std::fs::write(&config_path, config).unwrap();
        Self::start_existing(dir, &config_path, env)
    }

    pub fn start_existing(dir: &Path, config_path: &Path, env: &[(&str, &str)]) -> Self {
        let log_path = dir.join(format!("gateway-{}.log", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()));
        let log = std::fs::File::create(&log_path).unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_payseal"));
        command.arg("serve").arg("--config").arg(config_path).stdout(Stdio::piped()).stderr(log).stdin(Stdio::null());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command.spawn().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(line)) = lines.next() {
                let _ = tx.send(line);
            }
            // Keep draining so the child never blocks on a full pipe.
            for _ in lines {}
        });
        // Generous: on 2 cores, several gateways compiling the plugin at once
        // (tests run in parallel) can take well over a minute to start.
        let Ok(line) = rx.recv_timeout(Duration::from_mins(3)) else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the gateway did not start; its log:\n{}", std::fs::read_to_string(&log_path).unwrap_or_default());
        };
        // "payseal: listening on http://A (admin http://B)", https:// with TLS
        let addrs: Vec<SocketAddr> = line.split("://").skip(1).map(|s| s.trim_end_matches(')').split_whitespace().next().unwrap().trim_end_matches(')').parse().unwrap()).collect();
        assert_eq!(addrs.len(), 2, "unexpected first line: {line}");
        Self { child, proxy: addrs[0], admin: addrs[1], config_path: config_path.to_owned(), log_path }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log_path).unwrap_or_default()
    }

    /// Sends a signal to the process.
    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill").arg(format!("-{signal}")).arg(self.child.id().to_string()).status().unwrap();
        assert!(status.success());
    }

    /// SIGKILL, and reap.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, and wait (at most 30 s) for a clean exit.
    pub fn stop(&mut self) {
        self.signal("TERM");
        for _ in 0..300 {
            if let Ok(Some(status)) = self.child.try_wait() {
                assert!(status.success(), "the gateway exited with {status}");
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        self.kill();
        panic!("the gateway did not stop within 30 s");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.proxy)
    }

    pub fn admin_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.admin)
    }

    /// Sends an admin request with the harness's admin token (and
    /// `Content-Type: application/json` when `body` is not empty, unless
    /// `headers` name one).
    pub async fn admin_send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        self.admin_send_as(ADMIN_TOKEN, method, path, headers, body).await
    }

    /// [`Gateway::admin_send`] with `token`.
    pub async fn admin_send_as(&self, token: &str, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
        let bearer = format!("Bearer {token}");
        let mut all: Vec<(&str, &str)> = vec![("authorization", bearer.as_str())];
        if !body.is_empty() && !headers.iter().any(|(name, _)| name.eq_ignore_ascii_case("content-type")) {
            all.push(("content-type", "application/json"));
        }
        all.extend_from_slice(headers);
        send(&self.admin_url(path), method, &all, body).await
    }

    /// Fixes the gateway's clock.
    pub async fn set_clock(&self, now: u64) {
        let answer = self.admin_send("PUT", "/clock", &[("content-type", "text/plain")], now.to_string().as_bytes()).await;
        assert_eq!(answer.status, 200, "{}", answer.text());
    }

    /// Stores a key record through the admin listener.
    pub async fn put_key(&self, record: &Value) -> Answer {
        let id = record["id"].as_str().unwrap();
        self.admin_send("PUT", &format!("/keys/{id}"), &[], record.to_string().as_bytes()).await
    }

    /// The value of one series of `/metrics` (0 when absent).
    pub async fn metric(&self, series: &str) -> u64 {
        let text = self.admin_send("GET", "/metrics", &[], b"").await.text();
        text.lines()
            .find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0)
    }

    /// How many requests ended with `outcome` and `reason`, whatever their status.
    pub async fn requests(&self, outcome: &str, reason: &str) -> u64 {
        let text = self.admin_send("GET", "/metrics", &[], b"").await.text();
        let series = format!("payseal_requests_total{{outcome=\"{outcome}\",reason=\"{reason}\",status=");
        text.lines().filter(|l| l.starts_with(&series)).filter_map(|l| l.rsplit(' ').next().and_then(|v| v.trim().parse::<u64>().ok())).sum()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        self.kill();
    }
}

// ---------------------------------------------------------------------------
// The client

/// An answer.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }
}

fn client() -> &'static Client<HttpConnector, Full<Bytes>> {
    static CLIENT: std::sync::OnceLock<Client<HttpConnector, Full<Bytes>>> = std::sync::OnceLock::new();
    CLIENT.get_or_init(|| Client::builder(TokioExecutor::new()).pool_max_idle_per_host(0).build_http())
}

/// Sends a request (at most 30 s); a transport error is status 0.
pub async fn send(url: &str, method: &str, headers: &[(&str, &str)], body: &[u8]) -> Answer {
    let mut request = Request::builder().method(method).uri(url);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let request = request.body(Full::new(Bytes::copy_from_slice(body))).unwrap();
    match tokio::time::timeout(Duration::from_secs(30), client().request(request)).await {
        Ok(Ok(response)) => {
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = response.into_body().collect().await.map(http_body_util::Collected::to_bytes).unwrap_or_default();
            Answer { status, headers, body }
        }
        Ok(Err(_)) => Answer { status: 0, headers: HeaderMap::new(), body: Bytes::new() },
        Err(elapsed) => panic!("no answer from {url} within 30 s: {elapsed}"),
    }
}

/// Sends `head` (the request line and header lines, without the blank
/// line) and `body` as raw bytes, for targets an HTTP client would
/// normalize or refuse to send; answers the status and the body (status 0:
/// the connection closed without an answer).
pub async fn send_raw(addr: SocketAddr, head: &str, body: &[u8]) -> Answer {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let request = format!("{head}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n", body.len());
    let mut bytes = request.into_bytes();
    bytes.extend_from_slice(body);
    if stream.write_all(&bytes).await.is_err() {
        return Answer { status: 0, headers: HeaderMap::new(), body: Bytes::new() };
    }
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(30), stream.read_to_end(&mut answer)).await;
    let text = String::from_utf8_lossy(&answer);
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    Answer { status, headers: HeaderMap::new(), body: Bytes::from(body) }
}

/// A key record (digest only) for `key`.
pub fn record(id: &str, key: &str, environment: &str) -> Value {
    let environment = if environment == "test" { payseal_core::Environment::Test } else { payseal_core::Environment::Live };
    serde_json::to_value(payseal_core::keys::KeyRecord::new(id, key, environment)).unwrap()
}

/// A JSON value as TOML (for writing vector policies into a config file).
pub fn toml_of(value: &Value) -> String {
    toml::to_string(&toml::Value::try_from(value).unwrap()).unwrap()
}
