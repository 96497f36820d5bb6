//! The running gateway: listeners, the reloadable runtime, the sweeper.
//!
//! Everything a request needs that a reload may change (settings, the
//! plugin pool built from the configuration and the stored key records) is
//! one [`Runtime`] behind an [`ArcSwap`]. A request loads it once and keeps
//! its `Arc` to the end, so a reload never changes the rules under a request
//! in flight, and the old pool is dropped when its last request finishes.
//! A reload builds and checks the new pool before it swaps: a configuration
//! the plugin rejects leaves the running one in place.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::Full;
use hyper::header::HeaderName;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use payseal_core::keys::KeyRecord;
use tokio::net::TcpListener;
use tokio::sync::{Mutex, mpsc, watch};

use crate::client_ip::ClientIpResolver;
use crate::clock::Clock;
use crate::config::{EnvLookup, FileConfig, Upstream};
use crate::metrics::Metrics;
use crate::plugin::{PluginLimits, PluginPool};
use crate::store::Store;
use crate::store_watch::StoreWatch;
use crate::{admin, proxy};

mod key_writes;

pub use key_writes::{KeyWriteError, Swapped};

/// Where the configuration comes from; a reload reads it again.
#[derive(Debug, Clone)]
pub enum ConfigSource {
    /// A file (relative paths inside are relative to its directory).
    File(PathBuf),
    /// Text, with the directory relative paths are resolved against (the demo).
    Text {
        /// The TOML.
        text: String,
        /// Base of relative paths.
        dir: PathBuf,
    },
}

impl ConfigSource {
    /// Reads and parses the configuration.
    ///
    /// # Errors
    /// The file cannot be read or the configuration is invalid.
    pub fn load(&self) -> Result<FileConfig, String> {
        match self {
            Self::File(path) => FileConfig::load(path).map_err(|e| e.to_string()),
            Self::Text { text, dir } => {
                let mut config = FileConfig::parse(text).map_err(|e| e.to_string())?;
                config.resolve_paths(dir);
                Ok(config)
            }
        }
    }
}

/// Per-request settings of one configuration.
#[derive(Debug)]
pub struct Settings {
    /// `false`: pure proxy mode.
    pub checks: bool,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Largest upstream answer kept for an idempotent request.
    pub max_response_bytes: usize,
    /// Time a client has to send its body.
    pub body_timeout: Duration,
    /// Time the upstream has to answer.
    pub upstream_timeout: Duration,
    /// Client addresses.
    pub client_ip: ClientIpResolver,
    /// The upstream.
    pub upstream: Upstream,
    /// Forward the API key header.
    pub forward_api_key: bool,
    /// Header that carries the caller's key id upstream.
    pub key_id_header: HeaderName,
    /// Header holding the webcode.
    pub webcode_header: Option<HeaderName>,
    /// The API key header, as the plugin reads it (from `describe`).
    pub api_key_header: Option<HeaderName>,
    /// The origin clients call, for the URL RFC 9421 signatures cover.
    pub public_origin: Option<String>,
    /// The token endpoint and the routes that require an access token.
    pub tokens: Option<Arc<crate::tokens::Tokens>>,
}

/// One configuration, ready to serve.
#[derive(Debug)]
pub struct Runtime {
    /// Settings.
    pub settings: Settings,
    /// The plugin instances; `None` in pure proxy mode.
    pub pool: Option<PluginPool>,
    /// Counts reloads from 1.
    pub generation: u64,
    /// The key lifecycle's settings (`[lifecycle]`).
    pub lifecycle: Arc<crate::lifecycle::Lifecycle>,
}

/// State shared by every request and the admin listener.
pub struct Shared {
    /// The current runtime.
    pub runtime: ArcSwap<Runtime>,
    /// Key and idempotency records.
    pub store: Arc<dyn Store>,
    /// Metrics.
    pub metrics: Metrics,
    /// The clock.
    pub clock: Clock,
    /// Whether `PUT /clock` is allowed (fixed at start).
    pub settable_clock: bool,
    /// Connection-pooling client for the upstream.
    pub client: Client<HttpConnector, Full<Bytes>>,
    /// False once shutdown starts.
    pub ready: AtomicBool,
    /// The store's health and the key set's freshness ([`crate::store_watch`]).
    pub store_watch: StoreWatch,
    source: ConfigSource,
    env: EnvLookup,
    reload_lock: Mutex<()>,
    generation: AtomicU64,
    fixed: FixedAtStart,
}

/// What a reload cannot change.
#[derive(Debug, Clone, PartialEq, Eq)]
struct FixedAtStart {
    listen: SocketAddr,
    admin: SocketAddr,
    store: String,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").field("source", &self.source).finish_non_exhaustive()
    }
}

fn header_name(text: &str, field: &str) -> Result<HeaderName, String> {
    HeaderName::from_bytes(text.as_bytes()).map_err(|_| format!("{field}: not a header name"))
}

/// Builds the runtime of `config`: reads the plugin module, the stored key
/// records and the secrets, and builds a checked pool.
async fn build_runtime(config: &FileConfig, store: &dyn Store, env: &EnvLookup, generation: u64) -> Result<Runtime, String> {
    let mut settings = Settings {
        checks: config.server.checks,
        max_body_bytes: config.server.max_body_bytes,
        max_response_bytes: config.server.max_response_bytes,
        body_timeout: config.server.body_timeout(),
        upstream_timeout: config.server.upstream_timeout(),
        client_ip: ClientIpResolver::new(config.trusted_proxies().map_err(|e| e.0)?, config.server.client_ip_header),
        upstream: Upstream::parse(&config.upstream.url).map_err(|e| e.0)?,
        forward_api_key: config.upstream.forward_api_key,
        key_id_header: header_name(&config.upstream.key_id_header, "upstream.key_id_header")?,
        webcode_header: config.keys.webcode_header.as_deref().map(|h| header_name(h, "keys.webcode_header")).transpose()?,
        api_key_header: None,
        public_origin: config.server.public_origin.as_ref().map(|o| o.trim_end_matches('/').to_owned()),
        tokens: config.tokens.as_ref().map(|t| crate::tokens::Tokens::new(t).map(Arc::new)).transpose()?,
    };
    let lifecycle = Arc::new(crate::lifecycle::Lifecycle::from_config(&config.lifecycle, env)?);
    if !config.server.checks {
        return Ok(Runtime { settings, pool: None, generation, lifecycle });
    }
    let records = store.key_records().await.map_err(|e| e.to_string())?;
    let stored_secrets = crate::lifecycle::service::stored_shared_secrets(store, &lifecycle, &records).await;
    let document = config.plugin_document_with_secrets(&records, env, &stored_secrets).map_err(|e| e.0)?;
    let wasm_path = config.plugin.wasm.clone();
    let wasm = std::fs::read(&wasm_path).map_err(|e| {
        format!("cannot read the plugin at {}: {e}; build it with scripts/build-plugin.sh", wasm_path.display())
    })?;
    let size = match config.plugin.instances {
        0 => std::thread::available_parallelism().map_or(2, std::num::NonZero::get),
        n => n,
    };
    let limits = PluginLimits {
        memory_max_pages: config.plugin.memory_max_pages,
        timeout: Duration::from_millis(config.plugin.timeout_ms),
        fuel: config.plugin.fuel,
    };
    let acquire = Duration::from_millis(config.plugin.acquire_timeout_ms);
    let pool = tokio::task::spawn_blocking(move || PluginPool::build(&wasm, &document, size, limits, acquire))
        .await
        .map_err(|e| format!("the pool builder stopped: {e}"))?
        .map_err(|e| e.0)?;
    let header = pool.view().pointer("/keys/header").and_then(serde_json::Value::as_str).map(str::to_owned);
    settings.api_key_header = header.map(|h| header_name(&h, "keys.header")).transpose()?;
    Ok(Runtime { settings, pool: Some(pool), generation, lifecycle })
}

impl Shared {
    /// Reads the configuration and the stored key records again and swaps in
    /// a new runtime; requests in flight finish on the old one.
    ///
    /// # Errors
    /// The new configuration is invalid or the plugin rejects it; the running
    /// runtime stays.
    pub async fn reload(&self) -> Result<u64, String> {
        let _guard = self.reload_lock.lock().await;
        self.reload_counted().await
    }

    /// Reloads for a key records `version` the store watch saw, unless a
    /// reload since (e.g. after a change this gateway made itself, which the
    /// watch may hear of before that reload ends) already holds it.
    /// `Ok(None)`: no reload was needed.
    ///
    /// # Errors
    /// As [`Shared::reload`].
    pub async fn reload_for_version(&self, version: u64) -> Result<Option<u64>, String> {
        let _guard = self.reload_lock.lock().await;
        if self.store_watch.holds(version) {
            return Ok(None);
        }
        self.reload_counted().await.map(Some)
    }

    async fn reload_counted(&self) -> Result<u64, String> {
        let result = self.reload_locked().await;
        self.metrics.reload(result.is_ok());
        match &result {
            Ok(generation) => tracing::info!(generation, "configuration reloaded"),
            Err(error) => tracing::error!(%error, "reload failed; the running configuration stays"),
        }
        result
    }

    async fn reload_locked(&self) -> Result<u64, String> {
        let config = self.source.load()?;
        let fixed = FixedAtStart { listen: config.server.listen, admin: config.admin.listen, store: config.store.describe() };
        if fixed != self.fixed {
            tracing::warn!("listen addresses and the store change only with a restart");
        }
        let generation = self.generation.fetch_add(1, Ordering::SeqCst) + 1;
        // Read before the records: the pool then holds at least this version,
        // and the store watch does not reload a second time for a change this
        // gateway made itself.
        let started = std::time::Instant::now();
        let version = self.store.key_records_version().await.ok().flatten();
        let runtime = build_runtime(&config, self.store.as_ref(), &self.env, generation).await?;
        self.runtime.store(Arc::new(runtime));
        if let Some(version) = version {
            self.store_watch.built_from(version, started);
        }
        Ok(generation)
    }

    /// Stores a key record and reloads; when the plugin rejects the result
    /// (e.g. a digest already used by another id) the store is put back,
    /// by a compare-and-swap that keeps a concurrent change.
    ///
    /// # Errors
    /// The store fails, or the reload fails (the record is then not kept).
    pub async fn put_key_record(&self, record: &KeyRecord) -> Result<u64, String> {
        let _guard = self.reload_lock.lock().await;
        let previous = self.store.put_key_record(record).await.map_err(|e| e.to_string())?;
        let result = self.reload_locked().await;
        self.metrics.reload(result.is_ok());
        if let Err(error) = &result {
            tracing::warn!(key_id = %record.id, %error, "key record rejected; restoring the previous one");
            self.undo_put(record, previous).await;
        } else {
            tracing::info!(key_id = %record.id, "key record stored");
        }
        result
    }

    /// Deletes a key record and reloads. `Ok(None)`: there was none.
    ///
    /// # Errors
    /// The store or the reload fails.
    pub async fn delete_key_record(&self, id: &str) -> Result<Option<u64>, String> {
        let _guard = self.reload_lock.lock().await;
        if self.store.delete_key_record(id).await.map_err(|e| e.to_string())?.is_none() {
            return Ok(None);
        }
        let result = self.reload_locked().await;
        self.metrics.reload(result.is_ok());
        tracing::info!(key_id = %id, "key record deleted");
        result.map(Some)
    }
}

/// A started gateway.
#[derive(Debug)]
pub struct Running {
    /// The proxy listener's address.
    pub proxy_addr: SocketAddr,
    /// The admin listener's address.
    pub admin_addr: SocketAddr,
    /// Shared state (for reloads).
    pub shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    connections: Option<mpsc::Sender<()>>,
    finished: mpsc::Receiver<()>,
    grace: Duration,
}

impl Running {
    /// Stops accepting, lets requests in flight finish (up to the
    /// configured grace), and returns.
    pub async fn shutdown(mut self) {
        self.shared.ready.store(false, Ordering::SeqCst);
        let _ = self.shutdown.send(true);
        self.connections = None;
        let _ = tokio::time::timeout(self.grace, self.finished.recv()).await;
    }
}

/// Starts the gateway: opens the store, builds the first runtime, binds
/// both listeners and starts the sweeper.
///
/// # Errors
/// Invalid configuration, a store that cannot be opened, a plugin that
/// cannot be loaded or rejects the configuration, or an address in use.
pub async fn start(source: ConfigSource, env: EnvLookup) -> Result<Running, String> {
    let config = source.load()?;
    let store = crate::store_config::open(&config.store).await?;
    start_with_store(source, env, config, store).await
}

/// [`start`] with a store made by the caller (e.g. a networked one).
///
/// # Errors
/// As [`start`].
pub async fn start_with_store(source: ConfigSource, env: EnvLookup, config: FileConfig, store: Arc<dyn Store>) -> Result<Running, String> {
    let store_watch = StoreWatch::new(Duration::from_millis(config.store.key_sync_interval_ms), Duration::from_millis(config.store.key_stale_after_ms));
    // Before the records are read: the first pool holds at least this version.
    store_watch.init(store.as_ref()).await?;
    let runtime = build_runtime(&config, store.as_ref(), &env, 1).await?;
    let proxy_listener = TcpListener::bind(config.server.listen).await.map_err(|e| format!("cannot listen on {}: {e}", config.server.listen))?;
    let admin_listener = TcpListener::bind(config.admin.listen).await.map_err(|e| format!("cannot listen on {}: {e}", config.admin.listen))?;
    let proxy_addr = proxy_listener.local_addr().map_err(|e| e.to_string())?;
    let admin_addr = admin_listener.local_addr().map_err(|e| e.to_string())?;
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector);
    let shared = Arc::new(Shared {
        runtime: ArcSwap::from_pointee(runtime),
        store,
        metrics: Metrics::new(),
        clock: Clock::system(),
        settable_clock: config.admin.settable_clock,
        client,
        ready: AtomicBool::new(true),
        store_watch,
        source,
        env,
        reload_lock: Mutex::new(()),
        generation: AtomicU64::new(1),
        fixed: FixedAtStart { listen: config.server.listen, admin: config.admin.listen, store: config.store.describe() },
    });
    let (shutdown, shutdown_rx) = watch::channel(false);
    let (connections, finished) = mpsc::channel(1);
    let header_timeout = config.server.header_timeout();
    tokio::spawn(accept_loop(proxy_listener, Arc::clone(&shared), header_timeout, shutdown_rx.clone(), connections.clone(), Listener::Proxy));
    tokio::spawn(accept_loop(admin_listener, Arc::clone(&shared), header_timeout, shutdown_rx.clone(), connections.clone(), Listener::Admin));
    tokio::spawn(sweeper(Arc::clone(&shared), Duration::from_secs(config.store.sweep_interval_seconds.max(1)), shutdown_rx.clone()));
    tokio::spawn(crate::store_watch::run(Arc::clone(&shared), shutdown_rx));
    tracing::info!(%proxy_addr, %admin_addr, store = shared.store.name(), checks = config.server.checks, "payseal gateway started");
    Ok(Running {
        proxy_addr,
        admin_addr,
        shared,
        shutdown,
        connections: Some(connections),
        finished,
        grace: config.server.shutdown_grace(),
    })
}

#[derive(Clone, Copy)]
enum Listener {
    Proxy,
    Admin,
}

async fn accept_loop(
    listener: TcpListener,
    shared: Arc<Shared>,
    header_timeout: Duration,
    mut shutdown: watch::Receiver<bool>,
    connections: mpsc::Sender<()>,
    kind: Listener,
) {
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors and the like: wait instead of spinning.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = shutdown.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let mut shutdown = shutdown.clone();
        let guard = connections.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let shared = Arc::clone(&shared);
                async move {
                    Ok::<_, Infallible>(match kind {
                        Listener::Proxy => proxy::handle(&shared, peer, request).await,
                        Listener::Admin => admin::handle(&shared, request).await,
                    })
                }
            });
            let mut builder = http1::Builder::new();
            builder.timer(TokioTimer::new()).header_read_timeout(header_timeout).keep_alive(true);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = shutdown.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(guard);
        });
    }
}

async fn sweeper(shared: Arc<Shared>, every: Duration, mut shutdown: watch::Receiver<bool>) {
    let mut ticks = tokio::time::interval(every);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = shutdown.changed() => break,
        }
        let started = std::time::Instant::now();
        match shared.store.sweep(shared.clock.now(), 10_000).await {
            Ok(0) => {}
            Ok(n) => {
                shared.metrics.swept(n);
                tracing::info!(records = n, "swept expired idempotency records");
            }
            Err(error) => tracing::error!(%error, "sweep failed"),
        }
        shared.metrics.store_op("sweep", started.elapsed());
    }
}

/// Directory of a config file, for relative paths.
pub fn config_dir(path: &Path) -> PathBuf {
    path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
