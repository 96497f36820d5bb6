//! The running gateway: listeners, the reloadable runtime, the sweeper.
//!
//! Everything a request needs that a reload may change (settings, the
//! plugin pool built from the configuration and the stored key records) is
//! one [`Runtime`] behind an [`ArcSwap`]. A request loads it once and keeps
//! its `Arc` to the end, so a reload never changes the rules under a request
//! in flight, and the old pool is dropped when its last request finishes.
//! A reload builds and checks the new pool before it swaps: a configuration
//! the plugin rejects leaves the running one in place.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use arc_swap::ArcSwap;
use hyper::header::HeaderName;
use payseal_core::keys::KeyRecord;
use tokio::sync::Mutex;

use crate::client_ip::ClientIpResolver;
use crate::clock::Clock;
use crate::config::{EnvLookup, FileConfig, Upstream};
use crate::metrics::Metrics;
use crate::plugin::{PluginLimits, PluginPool};
use crate::store::Store;
use crate::store_watch::StoreWatch;
use crate::tls::{HttpsClient, https_client};

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
    /// Failed-authentication budgets; `None`: throttling is off.
    pub throttle: Option<crate::throttle::budget::Budgets>,
    /// Path prefixes that need a client certificate on the connection
    /// (`server.tls.require_client_cert`).
    pub client_cert_routes: Vec<String>,
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
    /// Who may call the admin listener (`[admin]`: tokens, hosts, origins).
    pub admin: Arc<crate::access::AdminAccess>,
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
    /// Connection-pooling client for the upstream (`[upstream.tls]`).
    pub client: HttpsClient,
    /// The client that delivers renewed secrets (`[lifecycle.delivery.tls]`).
    pub delivery_client: HttpsClient,
    /// The proxy listener's TLS, reloaded with the configuration.
    pub proxy_tls: Option<crate::tls::ListenerTls>,
    /// The admin listener's TLS, reloaded with the configuration.
    pub admin_tls: Option<crate::tls::ListenerTls>,
    /// False once shutdown starts.
    pub ready: AtomicBool,
    /// The store's health and the key set's freshness ([`crate::store_watch`]).
    pub store_watch: StoreWatch,
    /// KiB of request bodies that may be held at once (`server.max_bodies_bytes`).
    pub body_budget: Arc<tokio::sync::Semaphore>,
    /// The lock-outs of failed authentication this gateway knows of; kept
    /// across reloads.
    pub lockouts: crate::throttle::lockouts::Lockouts,
    /// Keys' last uses, written to the store in batches ([`crate::last_used`]).
    pub last_used: crate::last_used::LastUsed,
    /// Each key's last hour, for the console ([`crate::traffic`]).
    pub traffic: crate::traffic::Traffic,
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
    // The token clients and renewal accounts created through the admin API
    // join the file's. Their entries never expire, so any `now` reads them.
    let now = crate::clock::Clock::system().now();
    let tokens = match &config.tokens {
        Some(policy) => {
            let stored = crate::tokens::clients::stored(store, now).await.map_err(|e| e.to_string())?;
            Some(Arc::new(crate::tokens::Tokens::with_stored(policy, &stored)?))
        }
        None => None,
    };
    let stored_accounts = crate::lifecycle::accounts::stored(store, now).await.map_err(|e| e.to_string())?;
    let lifecycle_config = config.lifecycle.with_stored(stored_accounts.iter().map(crate::lifecycle::accounts::StoredAccount::config)).map_err(|e| e.to_string())?;
    let mut settings = Settings {
        checks: config.server.checks,
        max_body_bytes: config.server.max_body_bytes,
        max_response_bytes: config.server.max_response_bytes,
        body_timeout: config.server.body_timeout(),
        upstream_timeout: config.server.upstream_timeout(),
        client_ip: ClientIpResolver::new(config.trusted_proxies().map_err(|e| e.to_string())?, config.server.client_ip_header),
        upstream: Upstream::parse(&config.upstream.url).map_err(|e| e.to_string())?,
        forward_api_key: config.upstream.forward_api_key,
        key_id_header: header_name(&config.upstream.key_id_header, "upstream.key_id_header")?,
        webcode_header: config.keys.webcode_header.as_deref().map(|h| header_name(h, "keys.webcode_header")).transpose()?,
        api_key_header: None,
        public_origin: config.server.public_origin.as_ref().map(|o| o.trim_end_matches('/').to_owned()),
        tokens,
        throttle: config.server.throttle.budgets().map_err(|e| e.to_string())?,
        client_cert_routes: config.server.tls.as_ref().map(|t| t.require_client_cert.clone()).unwrap_or_default(),
    };
    let lifecycle = Arc::new(crate::lifecycle::Lifecycle::from_config(&lifecycle_config, env)?);
    let admin = Arc::new(config.admin.access(env).map_err(|e| e.to_string())?);
    if !config.server.checks {
        return Ok(Runtime { settings, pool: None, generation, lifecycle, admin });
    }
    let records = store.key_records().await.map_err(|e| e.to_string())?;
    let stored_secrets = crate::lifecycle::stored_shared_secrets(store, &lifecycle, &records).await;
    let document = config.plugin_document_with_secrets(&records, env, &stored_secrets).map_err(|e| e.to_string())?;
    let wasm: std::borrow::Cow<'static, [u8]> = match &config.plugin.wasm {
        Some(path) => std::fs::read(path)
            .map_err(|e| format!("cannot read the plugin at {} (plugin.wasm): {e}; remove plugin.wasm to use the plugin built into payseal", path.display()))?
            .into(),
        None => crate::plugin::EMBEDDED_WASM.into(),
    };
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
        .map_err(|e| e.to_string())?;
    let header = pool.view().pointer("/keys/header").and_then(serde_json::Value::as_str).map(str::to_owned);
    settings.api_key_header = header.map(|h| header_name(&h, "keys.header")).transpose()?;
    Ok(Runtime { settings, pool: Some(pool), generation, lifecycle, admin })
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
        self.reload_tls(&config)?;
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

    /// Reads the listeners' certificates, keys and client CAs again: new
    /// handshakes use them, open connections keep theirs. Turning TLS on or
    /// off takes a restart.
    fn reload_tls(&self, config: &FileConfig) -> Result<(), String> {
        for (current, wanted, listener) in [(&self.proxy_tls, &config.server.tls, "server"), (&self.admin_tls, &config.admin.tls, "admin")] {
            match (current, wanted) {
                (Some(tls), Some(wanted)) => tls.reload(wanted).map_err(|e| e.to_string())?,
                (None, None) => {}
                _ => tracing::warn!(listener, "turning TLS on or off takes a restart"),
            }
        }
        Ok(())
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
    /// A delete the running gateway cannot apply (the reload fails, e.g. the
    /// file no longer parses) is undone: never "deleted in the store, still
    /// accepted here".
    pub async fn delete_key_record(&self, id: &str) -> Result<Option<u64>, String> {
        let _guard = self.reload_lock.lock().await;
        let Some(deleted) = self.store.delete_key_record(id).await.map_err(|e| e.to_string())? else {
            return Ok(None);
        };
        let result = self.reload_locked().await;
        self.metrics.reload(result.is_ok());
        match &result {
            Ok(_) => tracing::info!(key_id = %id, "key record deleted"),
            Err(error) => {
                tracing::warn!(key_id = %id, %error, "the delete cannot take effect here; restoring the record");
                if let Err(error) = self.store.put_key_record(&deleted).await {
                    tracing::error!(key_id = %id, %error, "cannot restore the deleted key record");
                }
            }
        }
        result.map(Some)
    }
}

/// A started gateway.
impl Shared {
    /// The shared state of a gateway about to serve: the first runtime is
    /// built from `config` and the records in `store`.
    ///
    /// # Errors
    /// The store cannot be read, or the first runtime cannot be built.
    pub async fn open(source: ConfigSource, env: EnvLookup, config: &FileConfig, store: Arc<dyn Store>) -> Result<Arc<Self>, String> {
        let store_watch = StoreWatch::new(Duration::from_millis(config.store.key_sync_interval_ms), Duration::from_millis(config.store.key_stale_after_ms));
        // Before the records are read: the first pool holds at least this version.
        store_watch.init(store.as_ref()).await?;
        let runtime = build_runtime(config, store.as_ref(), &env, 1).await?;
        let client = https_client(&config.upstream.tls, "upstream.tls")?;
        let delivery_client = https_client(&config.lifecycle.delivery.tls, "lifecycle.delivery.tls")?;
        if config.lifecycle.delivery.allow_insecure_delivery {
            tracing::warn!("lifecycle.delivery.allow_insecure_delivery is on: renewed secrets may be delivered over plain http://; for tests only");
        }
        let listener_tls = |tls: &Option<crate::tls::TlsConfig>| tls.as_ref().map(crate::tls::ListenerTls::load).transpose().map_err(|e| e.to_string());
        let (proxy_tls, admin_tls) = (listener_tls(&config.server.tls)?, listener_tls(&config.admin.tls)?);
        Ok(Arc::new(Self {
            runtime: ArcSwap::from_pointee(runtime),
            store,
            metrics: Metrics::new(),
            clock: Clock::system(),
            settable_clock: config.admin.settable_clock,
            client,
            delivery_client,
            proxy_tls,
            admin_tls,
            ready: AtomicBool::new(true),
            store_watch,
            body_budget: Arc::new(tokio::sync::Semaphore::new(config.server.max_bodies_bytes / 1024)),
            lockouts: crate::throttle::lockouts::Lockouts::default(),
            last_used: crate::last_used::LastUsed::default(),
            traffic: crate::traffic::Traffic::default(),
            source,
            env,
            reload_lock: Mutex::new(()),
            generation: AtomicU64::new(1),
            fixed: FixedAtStart { listen: config.server.listen, admin: config.admin.listen, store: config.store.describe() },
        }))
    }
}

/// Directory of a config file, for relative paths.
pub fn config_dir(path: &Path) -> PathBuf {
    path.parent().map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}
