//! The configuration file (`payseal.toml`) and the plugin configuration
//! document the gateway assembles from it.
//!
//! The gateway's own sections (`server`, `upstream`, `store`, `plugin`,
//! `admin`, `log`) are read here. The sections that are payseal rules
//! (`keys.policy`, `keys.records`, `routes`, `idempotency`) are passed to the
//! plugin as written: the plugin validates them and names a bad field, so no
//! rule is read twice. Secrets of signed routes come from the environment or
//! a file (`secret_env`, `secret_file`) and go only into the plugin's
//! configuration document.

use std::collections::BTreeMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use payseal_core::keys::{IpNet, KeyRecord};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use zeroize::Zeroizing;

pub use crate::config_error::ConfigError;
pub use crate::store_config::StoreConfig;
pub use crate::env::{EnvLookup, process_env};

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// The proxy listener and request limits.
    #[serde(default)]
    pub server: ServerConfig,
    /// The payment API behind the gateway.
    pub upstream: UpstreamConfig,
    /// The store: the `[store]` table (embedded redb, or Redis with `url`),
    /// or a top-level `store = "redis://…"`.
    #[serde(default, deserialize_with = "crate::store_config::deserialize")]
    pub store: StoreConfig,
    /// The plugin module and its limits.
    #[serde(default)]
    pub plugin: PluginConfig,
    /// The admin listener (metrics, health, reload, key records).
    #[serde(default)]
    pub admin: AdminConfig,
    /// Logging.
    #[serde(default)]
    pub log: LogConfig,
    /// API keys: the plugin's `keys` section, plus where the webcode is read.
    #[serde(default)]
    pub keys: KeysConfig,
    /// Routes with more than the key check (the plugin's `routes`, as written).
    #[serde(default)]
    pub routes: Vec<toml::Value>,
    /// Signed (DVPay) routes: where each key id's secret comes from.
    #[serde(default)]
    pub signed_requests: SignedRequestsConfig,
    /// The plugin's `idempotency` section, as written.
    #[serde(default)]
    pub idempotency: Option<toml::Value>,
    /// The token endpoint and the routes that require an access token.
    #[serde(default)]
    pub tokens: Option<payseal_core::tokens::TokenPolicy>,
    /// The key lifecycle (`payseal keys …`, the admin API's `/lifecycle`, renewal).
    #[serde(default)]
    pub lifecycle: crate::lifecycle::LifecycleConfig,
}

const fn default_max_body() -> usize {
    1024 * 1024
}

const fn default_header_timeout() -> u64 {
    10_000
}

const fn default_max_bodies() -> usize {
    64 * 1024 * 1024
}

const fn default_max_connections() -> usize {
    4096
}

const fn default_body_timeout() -> u64 {
    10_000
}

const fn default_upstream_timeout() -> u64 {
    30_000
}

const fn default_shutdown_grace() -> u64 {
    10_000
}

const fn default_true() -> bool {
    true
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

fn default_admin_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 9090))
}

/// Which header carries the client address when the peer is a trusted proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ClientIpHeader {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for=proxy1`.
    Forwarded,
}

/// `[server]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    /// Proxy listener (port 0: any free port, printed at start).
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// Largest request body; larger is answered 413 before the plugin runs.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Largest upstream answer kept for an idempotent request (stored and replayed).
    #[serde(default = "default_max_body")]
    pub max_response_bytes: usize,
    /// Bytes of request bodies held at once across all requests; a body
    /// that would go over it is answered 503 and its connection closed.
    #[serde(default = "default_max_bodies")]
    pub max_bodies_bytes: usize,
    /// Client connections open at once on the proxy listener; more wait in
    /// the kernel's accept queue.
    #[serde(default = "default_max_connections")]
    pub max_connections: usize,
    /// Time a client has to send its request head.
    #[serde(default = "default_header_timeout")]
    pub header_timeout_ms: u64,
    /// Time a client has to send its whole body (408 after it).
    #[serde(default = "default_body_timeout")]
    pub body_timeout_ms: u64,
    /// Time the upstream has to answer (504 after it).
    #[serde(default = "default_upstream_timeout")]
    pub upstream_timeout_ms: u64,
    /// How long a shutdown waits for requests in flight.
    #[serde(default = "default_shutdown_grace")]
    pub shutdown_grace_ms: u64,
    /// Proxies whose client-address header is believed (addresses or CIDR blocks).
    #[serde(default)]
    pub trusted_proxies: Vec<String>,
    /// The one header read from a trusted proxy.
    #[serde(default)]
    pub client_ip_header: ClientIpHeader,
    /// The origin clients call (`https://api.example.com`): with it the
    /// plugin gets the absolute URL an RFC 9421 signature covers; without
    /// it the plugin assumes `https://` and the `Host` header.
    #[serde(default)]
    pub public_origin: Option<String>,
    /// `false`: pure proxy mode, no plugin and no store on the request path
    /// (for measuring the cost of the checks; never in production).
    #[serde(default = "default_true")]
    pub checks: bool,
    /// Throttling of failed authentication on this listener (on by default).
    #[serde(default)]
    pub throttle: crate::throttle::budget::ThrottleConfig,
    /// TLS on this listener (HTTPS and HTTP/2); plain HTTP/1.1 without it.
    #[serde(default)]
    pub tls: Option<crate::tls::TlsConfig>,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            listen: default_listen(),
            max_body_bytes: default_max_body(),
            max_response_bytes: default_max_body(),
            max_bodies_bytes: default_max_bodies(),
            max_connections: default_max_connections(),
            header_timeout_ms: default_header_timeout(),
            body_timeout_ms: default_body_timeout(),
            upstream_timeout_ms: default_upstream_timeout(),
            shutdown_grace_ms: default_shutdown_grace(),
            trusted_proxies: Vec::new(),
            client_ip_header: ClientIpHeader::default(),
            public_origin: None,
            checks: true,
            throttle: crate::throttle::budget::ThrottleConfig::default(),
            tls: None,
        }
    }
}

fn default_key_id_header() -> String {
    "x-payseal-key-id".into()
}

/// `[upstream]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// `http://` or `https://`, `host[:port]` and an optional base path.
    pub url: String,
    /// With `https://`: the roots besides the system's, and a client
    /// certificate (`[upstream.tls]`).
    #[serde(default)]
    pub tls: crate::tls::ClientTlsConfig,
    /// Forward the API key header to the upstream (default: removed; the
    /// upstream gets the key id instead).
    #[serde(default)]
    pub forward_api_key: bool,
    /// Header that tells the upstream which key record called (a client's
    /// own value is always removed).
    #[serde(default = "default_key_id_header")]
    pub key_id_header: String,
}

const fn default_pages() -> u32 {
    1024
}

const fn default_plugin_timeout() -> u64 {
    2_000
}

const fn default_fuel() -> u64 {
    4_000_000_000
}

const fn default_acquire_timeout() -> u64 {
    2_000
}

/// `[plugin]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// The plugin module (relative paths are relative to the config file);
    /// absent: the plugin embedded in the binary.
    #[serde(default)]
    pub wasm: Option<PathBuf>,
    /// Instances in the pool; 0 = one per core.
    #[serde(default)]
    pub instances: usize,
    /// Linear memory limit, in 64 KiB pages.
    #[serde(default = "default_pages")]
    pub memory_max_pages: u32,
    /// Wall-clock limit of one call (wasmtime epoch interruption).
    #[serde(default = "default_plugin_timeout")]
    pub timeout_ms: u64,
    /// Instructions one call may execute (wasmtime fuel); 0: no fuel
    /// metering, the wall-clock `timeout_ms` alone bounds a call.
    #[serde(default = "default_fuel")]
    pub fuel: u64,
    /// How long a request waits for a free instance (503 after it).
    #[serde(default = "default_acquire_timeout")]
    pub acquire_timeout_ms: u64,
}

impl Default for PluginConfig {
    fn default() -> Self {
        Self {
            wasm: None,
            instances: 0,
            memory_max_pages: default_pages(),
            timeout_ms: default_plugin_timeout(),
            fuel: default_fuel(),
            acquire_timeout_ms: default_acquire_timeout(),
        }
    }
}

/// `[admin]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminConfig {
    /// Admin listener. Every request but `/healthz` and `/readyz` needs an
    /// admin token ([`crate::access`]); a non-loopback address is refused
    /// without a bootstrap token in `tokens`.
    #[serde(default = "default_admin_listen")]
    pub listen: SocketAddr,
    /// Testing only: `PUT /clock` fixes the gateway's clock (the `now` of
    /// every check). Never enable in production.
    #[serde(default)]
    pub settable_clock: bool,
    /// TLS on the admin listener (HTTPS and HTTP/2), client certificates included.
    #[serde(default)]
    pub tls: Option<crate::tls::TlsConfig>,
    /// Bootstrap tokens (`[[admin.tokens]]`); more are created through
    /// `POST /admin-tokens` and kept in the store.
    #[serde(default)]
    pub tokens: Vec<AdminTokenConfig>,
    /// `Host` values accepted besides `localhost`, `127.0.0.1`, `[::1]` and
    /// the connection's address, each with the listener's port
    /// (`admin.example.internal:9090`).
    #[serde(default)]
    pub hosts: Vec<String>,
    /// Origins accepted on state-changing requests besides the accepted
    /// hosts' own (`https://console.example`).
    #[serde(default)]
    pub origins: Vec<String>,
    /// `/metrics` without a token (for a scraper on a private network).
    #[serde(default)]
    pub public_metrics: bool,
}

impl Default for AdminConfig {
    fn default() -> Self {
        Self { listen: default_admin_listen(), settable_clock: false, tokens: Vec::new(), hosts: Vec::new(), origins: Vec::new(), public_metrics: false, tls: None }
    }
}

/// One bootstrap admin token: its name, role, and exactly one of `sha256`
/// (the digest `payseal admin-token` prints) and `token_env` (a variable
/// holding the token itself, at least 32 characters).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminTokenConfig {
    /// `[A-Za-z0-9._-]{1,64}`; the audit names the caller `token:<name>`.
    pub name: String,
    /// `admin`, `operator`, `viewer` or `merchant:<webcode>`.
    pub role: String,
    /// SHA-256 of the token, 64 hex digits.
    #[serde(default)]
    pub sha256: Option<String>,
    /// Name of an environment variable holding the token.
    #[serde(default)]
    pub token_env: Option<String>,
}

impl fmt::Debug for AdminTokenConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AdminTokenConfig").field("name", &self.name).field("role", &self.role).field("token_env", &self.token_env).finish_non_exhaustive()
    }
}

/// A token digest written as 64 hex digits.
fn digest_of(text: &str) -> Result<payseal_core::tokens::TokenDigest, ()> {
    use serde::de::IntoDeserializer as _;
    let deserializer: serde::de::value::StrDeserializer<'_, serde::de::value::Error> = text.into_deserializer();
    payseal_core::tokens::TokenDigest::deserialize(deserializer).map_err(|_| ())
}

impl AdminConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        let mut names = std::collections::BTreeSet::new();
        for (i, token) in self.tokens.iter().enumerate() {
            let field = |name: &str| format!("admin.tokens[{i}].{name}");
            if !crate::access::role::valid_name(&token.name) {
                return Err(ConfigError::new(field("name"), "1 to 64 of A-Z a-z 0-9 . _ -"));
            }
            if !names.insert(token.name.as_str()) {
                return Err(ConfigError::new(field("name"), "another token has this name"));
            }
            crate::access::Role::parse(&token.role).map_err(|e| ConfigError::new(field("role"), e.to_string()))?;
            if token.sha256.is_some() == token.token_env.is_some() {
                return Err(ConfigError::from_message(&format!("admin.tokens[{i}]: give exactly one of sha256 and token_env")));
            }
            if let Some(text) = &token.sha256 {
                digest_of(text).map_err(|()| ConfigError::new(field("sha256"), "64 hex digits (the sha256 line payseal admin-token prints)"))?;
            }
        }
        if !self.listen.ip().is_loopback() && self.tokens.is_empty() {
            return Err(ConfigError::new(
                "admin.listen",
                "a non-loopback admin listener needs a bootstrap token: add [[admin.tokens]] (payseal admin-token --name NAME prints one)",
            ));
        }
        for (i, host) in self.hosts.iter().enumerate() {
            if host.is_empty() || host.contains(['/', ' ']) {
                return Err(ConfigError::new(format!("admin.hosts[{i}]"), "a Host value: name:port"));
            }
        }
        for (i, origin) in self.origins.iter().enumerate() {
            if !(origin.starts_with("https://") || origin.starts_with("http://")) {
                return Err(ConfigError::new(format!("admin.origins[{i}]"), "must start with https:// or http://"));
            }
        }
        Ok(())
    }

    /// The access settings: the bootstrap tokens (a `token_env` read and
    /// digested here; the text is not kept), hosts and origins.
    ///
    /// # Errors
    /// A `token_env` that is not set or holds fewer than 32 characters (the
    /// message names the variable, never its value), or an invalid entry.
    pub fn access(&self, env: &EnvLookup) -> Result<crate::access::AdminAccess, ConfigError> {
        self.validate()?;
        let mut bootstrap = Vec::with_capacity(self.tokens.len());
        for (i, token) in self.tokens.iter().enumerate() {
            let role = crate::access::Role::parse(&token.role).map_err(|e| ConfigError::new(format!("admin.tokens[{i}].role"), e.to_string()))?;
            let digest = match (&token.sha256, &token.token_env) {
                (Some(text), _) => digest_of(text).map_err(|()| ConfigError::new(format!("admin.tokens[{i}].sha256"), "64 hex digits"))?,
                (None, Some(name)) => {
                    let field = format!("admin.tokens[{i}].token_env");
                    let text = Zeroizing::new(env(name).ok_or_else(|| ConfigError::new(&field, format!("the environment variable {name} is not set")))?);
                    if text.trim().len() < crate::access::token::MIN_TOKEN_LEN {
                        return Err(ConfigError::new(field, format!("{name} must hold at least {} characters", crate::access::token::MIN_TOKEN_LEN)));
                    }
                    payseal_core::tokens::TokenDigest::of(text.trim().as_bytes())
                }
                (None, None) => return Err(ConfigError::from_message(&format!("admin.tokens[{i}]: give exactly one of sha256 and token_env"))),
            };
            bootstrap.push(crate::access::KnownToken::new(token.name.clone(), role, digest));
        }
        let names = crate::access::Names {
            hosts: self.hosts.iter().map(|h| h.to_ascii_lowercase()).collect(),
            origins: self.origins.iter().map(|o| o.trim_end_matches('/').to_ascii_lowercase()).collect(),
        };
        Ok(crate::access::AdminAccess { bootstrap, names, public_metrics: self.public_metrics })
    }
}

/// Log line format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines with `key=value` fields.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

fn default_log_level() -> String {
    "info".into()
}

/// `[log]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    /// Line format.
    #[serde(default)]
    pub format: LogFormat,
    /// A `tracing` filter (`RUST_LOG` wins when set).
    #[serde(default = "default_log_level")]
    pub level: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { format: LogFormat::default(), level: default_log_level() }
    }
}

/// `[keys]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// The header carrying the API key (the plugin's default when absent).
    #[serde(default)]
    pub header: Option<String>,
    /// Header carrying the merchant's webcode, when the API has one.
    #[serde(default)]
    pub webcode_header: Option<String>,
    /// The core's `Policy`, as written.
    #[serde(default)]
    pub policy: Option<toml::Value>,
    /// Key records kept in the file (digests only); the store's are added.
    #[serde(default)]
    pub records: Vec<toml::Value>,
}

/// `[signed_requests]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRequestsConfig {
    /// Accepted distance of `X-Timestamp` from now (the plugin's default when absent).
    #[serde(default)]
    pub tolerance: Option<u64>,
    /// DVPay: one entry per secret; a key id may have several (rotation).
    #[serde(default)]
    pub keys: Vec<SecretSource>,
    /// RFC 9421: the signing keys of each key id (routes with `rfc9421`).
    #[serde(default)]
    pub rfc9421: Vec<Rfc9421Source>,
}

/// One RFC 9421 signing key of a key id: the `keyid` its signatures name
/// and where its base64 secret comes from (exactly one of `secret_env`
/// and `secret_file`).
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rfc9421Source {
    /// The key record id.
    pub key_id: String,
    /// The `keyid` parameter of the signatures made with this secret.
    pub keyid: String,
    /// Name of an environment variable holding the secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// A file holding the secret.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

impl fmt::Debug for Rfc9421Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rfc9421Source")
            .field("key_id", &self.key_id)
            .field("keyid", &self.keyid)
            .field("secret_env", &self.secret_env)
            .field("secret_file", &self.secret_file)
            .finish()
    }
}

/// Where one key id's DVPay API secret comes from. Exactly one of
/// `secret_env`, `secret_file` and `demo_secret`.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SecretSource {
    /// The key record id.
    pub key_id: String,
    /// Name of an environment variable holding the secret.
    #[serde(default)]
    pub secret_env: Option<String>,
    /// A file holding the secret (one trailing newline is removed).
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
    /// The secret written in the file: for demos and quickstarts only (the
    /// example configuration's); never shown by `Debug`.
    #[serde(default)]
    pub demo_secret: Option<Zeroizing<String>>,
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretSource")
            .field("key_id", &self.key_id)
            .field("secret_env", &self.secret_env)
            .field("secret_file", &self.secret_file)
            .field("demo_secret", &self.demo_secret.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

/// The upstream's address, split for forwarding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// `host:port`, the `Host` sent upstream.
    pub authority: String,
    /// Base path without a trailing slash (`""` for none).
    pub base_path: String,
}

impl Upstream {
    /// Parses `http[s]://host[:port][/base]`.
    ///
    /// # Errors
    /// Not an `http://` or `https://` URL with a host.
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let (scheme, rest) = match (url.strip_prefix("https://"), url.strip_prefix("http://")) {
            (Some(rest), _) => ("https", rest),
            (None, Some(rest)) => ("http", rest),
            (None, None) => return Err(ConfigError::new("upstream.url", "must start with https:// or http://")),
        };
        let (authority, path) = rest.find('/').map_or((rest, ""), |i| rest.split_at(i));
        if authority.is_empty() || authority.contains('@') {
            return Err(ConfigError::new("upstream.url", "needs a host and no userinfo"));
        }
        if path.contains(['?', '#']) {
            return Err(ConfigError::new("upstream.url", "no query or fragment"));
        }
        Ok(Self { scheme, authority: authority.to_owned(), base_path: path.trim_end_matches('/').to_owned() })
    }
}

impl FileConfig {
    /// Parses the TOML text.
    ///
    /// # Errors
    /// Bad TOML, an unknown field, or a bad value; the message names the field.
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let config: Self = toml::from_str(text).map_err(|e| ConfigError::from_message(&describe_toml_error(&e)))?;
        config.validate()?;
        Ok(config)
    }

    /// Reads and parses a file; relative paths inside it are made relative
    /// to the file's directory.
    ///
    /// # Errors
    /// The file cannot be read, or [`FileConfig::parse`] fails.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| ConfigError::from_message(&format!("cannot read {}: {e}", path.display())))?;
        let mut config = Self::parse(&text)?;
        if let Some(dir) = path.parent() {
            config.resolve_paths(dir);
        }
        Ok(config)
    }

    /// Makes relative paths relative to `dir`.
    pub fn resolve_paths(&mut self, dir: &Path) {
        let resolve = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = dir.join(&*p);
            }
        };
        resolve(&mut self.store.path);
        if let Some(wasm) = self.plugin.wasm.as_mut() {
            resolve(wasm);
        }
        for tls in [self.server.tls.as_mut(), self.admin.tls.as_mut()].into_iter().flatten() {
            tls.resolve_paths(dir);
        }
        self.upstream.tls.resolve_paths(dir);
        self.store.tls.resolve_paths(dir);
        self.lifecycle.delivery.tls.resolve_paths(dir);
        for source in &mut self.signed_requests.keys {
            if let Some(file) = source.secret_file.as_mut() {
                resolve(file);
            }
        }
        for source in &mut self.signed_requests.rfc9421 {
            if let Some(file) = source.secret_file.as_mut() {
                resolve(file);
            }
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        Upstream::parse(&self.upstream.url)?;
        self.store.validate()?;
        self.trusted_proxies()?;
        self.server.throttle.budgets()?;
        if self.plugin.fuel == 0 && self.plugin.timeout_ms == 0 {
            return Err(ConfigError::new("plugin.fuel", "fuel and timeout_ms cannot both be 0: a runaway call would have no bound"));
        }
        if let Some(tls) = &self.server.tls {
            tls.validate("server.tls")?;
        }
        if let Some(tls) = &self.admin.tls {
            tls.validate("admin.tls")?;
            if !tls.require_client_cert.is_empty() {
                return Err(ConfigError::new("admin.tls.require_client_cert", "the admin listener has no routes: use client_auth = \"required\""));
            }
        }
        self.lifecycle.validate()?;
        self.admin.validate()?;
        let dvpay = self.signed_requests.keys.iter().map(|s| ("keys", [s.secret_env.is_some(), s.secret_file.is_some(), s.demo_secret.is_some()]));
        let rfc9421 = self.signed_requests.rfc9421.iter().map(|s| ("rfc9421", [s.secret_env.is_some(), s.secret_file.is_some(), false]));
        for (i, (list, given)) in dvpay.enumerate().chain(rfc9421.enumerate()) {
            if given.iter().filter(|g| **g).count() != 1 {
                return Err(ConfigError::from_message(&format!("signed_requests.{list}[{i}]: give exactly one of secret_env and secret_file (or demo_secret)")));
            }
        }
        if let Some(origin) = &self.server.public_origin
            && !(origin.starts_with("https://") || origin.starts_with("http://"))
        {
            return Err(ConfigError::new("server.public_origin", "must start with https:// or http://"));
        }
        if let Some(tokens) = &self.tokens {
            tokens.validate().map_err(|e| ConfigError::from_message(&e.to_string()))?;
        }
        if self.server.max_body_bytes == 0 {
            return Err(ConfigError::new("server.max_body_bytes", "must be above 0"));
        }
        if self.server.max_bodies_bytes < self.server.max_body_bytes {
            return Err(ConfigError::new("server.max_bodies_bytes", "must be at least server.max_body_bytes"));
        }
        if self.server.max_connections == 0 {
            return Err(ConfigError::new("server.max_connections", "must be above 0"));
        }
        for (name, value) in [("upstream.key_id_header", Some(&self.upstream.key_id_header)), ("keys.webcode_header", self.keys.webcode_header.as_ref())] {
            if let Some(value) = value
                && hyper::header::HeaderName::from_bytes(value.as_bytes()).is_err()
            {
                return Err(ConfigError::from_message(&format!("{name}: not a header name")));
            }
        }
        Ok(())
    }

    /// The trusted proxies, parsed.
    ///
    /// # Errors
    /// An entry that is not an address or CIDR block.
    pub fn trusted_proxies(&self) -> Result<Vec<IpNet>, ConfigError> {
        self.server
            .trusted_proxies
            .iter()
            .enumerate()
            .map(|(i, text)| {
                text.parse::<IpNet>()
                    .map_err(|_| ConfigError::from_message(&format!("server.trusted_proxies[{i}]: not an IP address or CIDR block")))
            })
            .collect()
    }

    /// The largest input a `check_request` or `finish_request` call can have:
    /// the body (JSON-escaped text at most doubles it), a stored record with
    /// its response (bytes as a JSON array of numbers: up to four characters
    /// each), and the headers.
    pub fn plugin_input_limit(&self) -> usize {
        self.server
            .max_body_bytes
            .saturating_mul(2)
            .saturating_add(self.server.max_response_bytes.saturating_mul(4))
            .saturating_add(1024 * 1024)
    }

    /// The plugin's configuration document: policy, routes and idempotency
    /// as written, the file's key records followed by `store_records`, and
    /// the signed-route secrets read from the environment or files.
    ///
    /// # Errors
    /// A secret that cannot be read (the message names the key id and the
    /// variable or file, never the value).
    pub fn plugin_document(&self, store_records: &[KeyRecord], env: &EnvLookup) -> Result<Zeroizing<String>, ConfigError> {
        self.plugin_document_with_secrets(store_records, env, &BTreeMap::new())
    }

    /// [`FileConfig::plugin_document`] with signed-route secrets kept in the
    /// store (the lifecycle's shared secrets, by key id) added to the file's.
    ///
    /// # Errors
    /// As [`FileConfig::plugin_document`].
    pub fn plugin_document_with_secrets(
        &self,
        store_records: &[KeyRecord],
        env: &EnvLookup,
        stored_secrets: &BTreeMap<String, Vec<Zeroizing<String>>>,
    ) -> Result<Zeroizing<String>, ConfigError> {
        let mut keys = Map::new();
        if let Some(policy) = &self.keys.policy {
            keys.insert("policy".into(), to_json(policy));
        }
        let mut records: Vec<Value> = self.keys.records.iter().map(to_json).collect();
        for record in store_records {
            records.push(serde_json::to_value(record).map_err(|_| ConfigError::new("keys.records", "a stored key record cannot be written"))?);
        }
        keys.insert("records".into(), Value::Array(records));
        if let Some(header) = &self.keys.header {
            keys.insert("header".into(), json!(header));
        }
        let mut document = Map::new();
        document.insert("keys".into(), Value::Object(keys));
        document.insert("routes".into(), Value::Array(self.routes.iter().map(to_json).collect()));
        if let Some(idempotency) = &self.idempotency {
            document.insert("idempotency".into(), to_json(idempotency));
        }
        document.insert("limits".into(), json!({ "max_input_bytes": self.plugin_input_limit() }));
        // The secrets go in last, as text written straight into the
        // document; every copy is wiped when dropped.
        let mut secrets: BTreeMap<&str, Vec<Zeroizing<String>>> = BTreeMap::new();
        for source in &self.signed_requests.keys {
            let secret = match &source.demo_secret {
                Some(demo) => demo.clone(),
                None => read_secret(&source.key_id, source.secret_env.as_deref(), source.secret_file.as_deref(), env)?,
            };
            secrets.entry(source.key_id.as_str()).or_default().push(secret);
        }
        for (key_id, list) in stored_secrets {
            secrets.entry(key_id.as_str()).or_default().extend(list.iter().cloned());
        }
        let mut rfc9421: BTreeMap<&str, Vec<(&str, Zeroizing<String>)>> = BTreeMap::new();
        for source in &self.signed_requests.rfc9421 {
            let secret = read_secret(&source.key_id, source.secret_env.as_deref(), source.secret_file.as_deref(), env)?;
            rfc9421.entry(source.key_id.as_str()).or_default().push((source.keyid.as_str(), secret));
        }
        let rfc9421: BTreeMap<&str, BTreeMap<&str, &str>> =
            rfc9421.iter().map(|(key_id, list)| (*key_id, list.iter().map(|(keyid, secret)| (*keyid, secret.as_str())).collect())).collect();
        let document = PluginDocument {
            rest: &document,
            signed_requests: SignedRequestsDocument {
                tolerance: self.signed_requests.tolerance,
                secrets: secrets.iter().map(|(key_id, list)| (*key_id, list.iter().map(|s| s.as_str()).collect())).collect(),
                rfc9421,
            },
        };
        write_document(&document).map_err(|_| ConfigError::new("plugin", "cannot write the plugin document"))
    }
}

/// The plugin document: the configuration's sections, then the secrets of
/// `signed_requests` borrowed from their wiped holders.
#[derive(serde::Serialize)]
struct PluginDocument<'a> {
    #[serde(flatten)]
    rest: &'a Map<String, Value>,
    signed_requests: SignedRequestsDocument<'a>,
}

#[derive(serde::Serialize)]
struct SignedRequestsDocument<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    tolerance: Option<u64>,
    secrets: BTreeMap<&'a str, Vec<&'a str>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    rfc9421: BTreeMap<&'a str, BTreeMap<&'a str, &'a str>>,
}

/// Counts the bytes a serializer writes, keeping none.
struct Counter(usize);

impl std::io::Write for Counter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0 += bytes.len();
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Serializes `document` into a buffer of its exact size, measured first,
/// so the secrets in it are written once and never left behind by a
/// growing buffer's reallocation; the buffer is wiped when dropped.
fn write_document(document: &PluginDocument<'_>) -> Result<Zeroizing<String>, serde_json::Error> {
    let mut counter = Counter(0);
    serde_json::to_writer(&mut counter, document)?;
    let mut bytes = Zeroizing::new(Vec::with_capacity(counter.0));
    serde_json::to_writer(&mut *bytes, document)?;
    // serde_json writes UTF-8 only.
    let text = String::from_utf8(std::mem::take(&mut *bytes)).map_err(|e| serde::ser::Error::custom(e.utf8_error()))?;
    Ok(Zeroizing::new(text))
}

fn read_secret(key_id: &str, secret_env: Option<&str>, secret_file: Option<&Path>, env: &EnvLookup) -> Result<Zeroizing<String>, ConfigError> {
    if let Some(name) = secret_env {
        return env(name)
            .map(Zeroizing::new)
            .ok_or_else(|| ConfigError::from_message(&format!("signed_requests: the secret of key id {key_id:?} is not set (environment variable {name})")));
    }
    if let Some(path) = secret_file {
        let mut text = Zeroizing::new(
            std::fs::read_to_string(path)
                .map_err(|e| ConfigError::from_message(&format!("signed_requests: cannot read the secret file of key id {key_id:?} ({}): {}", path.display(), e.kind())))?,
        );
        if text.ends_with('\n') {
            text.pop();
            if text.ends_with('\r') {
                text.pop();
            }
        }
        return Ok(text);
    }
    Err(ConfigError::from_message(&format!("signed_requests: key id {key_id:?} has no secret source")))
}

fn to_json(value: &toml::Value) -> Value {
    // A TOML value always has a JSON form (datetimes become strings).
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// A TOML error without the text it quotes (it could be a secret pasted
/// in the wrong place): the message and the line.
fn describe_toml_error(error: &toml::de::Error) -> String {
    let message = error.message();
    let position = error.span().map(|s| format!(" (at byte {})", s.start)).unwrap_or_default();
    format!("invalid configuration: {message}{position}")
}

/// Durations of the server section.
impl ServerConfig {
    /// `header_timeout_ms`.
    pub const fn header_timeout(&self) -> Duration {
        Duration::from_millis(self.header_timeout_ms)
    }

    /// `body_timeout_ms`.
    pub const fn body_timeout(&self) -> Duration {
        Duration::from_millis(self.body_timeout_ms)
    }

    /// `upstream_timeout_ms`.
    pub const fn upstream_timeout(&self) -> Duration {
        Duration::from_millis(self.upstream_timeout_ms)
    }

    /// `shutdown_grace_ms`.
    pub const fn shutdown_grace(&self) -> Duration {
        Duration::from_millis(self.shutdown_grace_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "[upstream]\nurl = \"http://127.0.0.1:9000\"\n";

    #[test]
    fn minimal_file_has_the_documented_defaults() {
        let config = FileConfig::parse(MINIMAL).unwrap();
        assert_eq!(config.server.max_body_bytes, 1024 * 1024);
        assert!(config.server.checks);
        assert_eq!(config.server.client_ip_header, ClientIpHeader::XForwardedFor);
        assert_eq!(config.store.sweep_interval_seconds, 60);
        assert_eq!(config.upstream.key_id_header, "x-payseal-key-id");
        assert!(!config.admin.settable_clock);
    }

    #[test]
    fn errors_name_the_field_not_the_value() {
        let e = FileConfig::parse("[upstream]\nurl = \"ftp://sk_live_secretvalue\"\n").unwrap_err();
        assert!(e.to_string().contains("upstream.url") && !e.to_string().contains("sk_live"), "{e}");
        let e = FileConfig::parse(&format!("{MINIMAL}[server]\ntrusted_proxies = [\"10.0.0.0/33\"]\n")).unwrap_err();
        assert!(e.to_string().contains("trusted_proxies[0]"), "{e}");
        let e = FileConfig::parse(&format!("{MINIMAL}[server]\nlisten_on = 1\n")).unwrap_err();
        assert!(e.to_string().contains("listen_on"), "{e}");
        let e = FileConfig::parse(&format!("{MINIMAL}[[signed_requests.keys]]\nkey_id = \"k\"\n")).unwrap_err();
        assert!(e.to_string().contains("exactly one"), "{e}");
        let e = FileConfig::parse(&format!("{MINIMAL}[plugin]\nfuel = 0\ntimeout_ms = 0\n")).unwrap_err();
        assert!(e.to_string().contains("plugin.fuel"), "{e}");
        assert!(FileConfig::parse(&format!("{MINIMAL}[plugin]\nfuel = 0\n")).is_ok(), "the deadline alone is a bound");
    }

    #[test]
    fn upstream_urls() {
        assert_eq!(Upstream::parse("http://h:1/base/").unwrap(), Upstream { scheme: "http", authority: "h:1".into(), base_path: "/base".into() });
        assert_eq!(Upstream::parse("http://h").unwrap().base_path, "");
        assert_eq!(Upstream::parse("https://api.psp.example").unwrap().scheme, "https");
        assert!(Upstream::parse("ftp://h").is_err());
        assert!(Upstream::parse("http://u@h").is_err());
        assert!(Upstream::parse("http:///x").is_err());
    }

    #[test]
    fn the_document_holds_sections_as_written_and_secrets_from_the_environment() {
        let text = format!(
            "{MINIMAL}[keys]\nheader = \"x-key\"\n[keys.policy]\naccepted_formats = [\"prefixed\"]\n\
             [[routes]]\nprefix = \"/pay\"\nsigned = true\n\
             [[signed_requests.keys]]\nkey_id = \"k\\\"1\"\nsecret_env = \"S1\"\n\
             [[signed_requests.keys]]\nkey_id = \"k\\\"1\"\nsecret_env = \"S2\"\n\
             [[signed_requests.rfc9421]]\nkey_id = \"k2\"\nkeyid = \"psk-1\"\nsecret_env = \"S2\"\n"
        );
        let config = FileConfig::parse(&text).unwrap();
        let env: EnvLookup = std::sync::Arc::new(|name| match name {
            "S1" => Some("se\"cret\n1".into()),
            "S2" => Some("two".into()),
            _ => None,
        });
        let document = config.plugin_document(&[], &env).unwrap();
        assert_eq!(document.capacity(), document.len(), "written into a buffer of its exact size, never reallocated");
        let parsed: Value = serde_json::from_str(&document).unwrap();
        assert_eq!(parsed["keys"]["policy"]["accepted_formats"], json!(["prefixed"]));
        assert_eq!(parsed["keys"]["header"], "x-key");
        assert_eq!(parsed["routes"][0]["signed"], true);
        assert_eq!(parsed["signed_requests"]["secrets"]["k\"1"], json!(["se\"cret\n1", "two"]));
        assert_eq!(parsed["signed_requests"]["rfc9421"], json!({ "k2": { "psk-1": "two" } }));
        assert!(parsed["limits"]["max_input_bytes"].as_u64().unwrap() > 3 * 1024 * 1024);
        let missing: EnvLookup = std::sync::Arc::new(|_| None);
        let e = config.plugin_document(&[], &missing).unwrap_err();
        assert!(e.to_string().contains("S1"), "{e}");
    }

    #[test]
    fn admin_tokens_and_the_listener() {
        let digest = "ab".repeat(32);
        let e = FileConfig::parse(&format!("{MINIMAL}[admin]\nlisten = \"0.0.0.0:9090\"\n")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("admin.listen"), "{e}");
        let open = FileConfig::parse(&format!("{MINIMAL}[admin]\nlisten = \"0.0.0.0:9090\"\n[[admin.tokens]]\nname = \"boot\"\nrole = \"admin\"\nsha256 = \"{digest}\"\n")).unwrap();
        assert_eq!(open.admin.tokens.len(), 1);
        assert!(FileConfig::parse(MINIMAL).is_ok(), "loopback without tokens starts (every request still needs a token)");
        for (body, field) in [
            (format!("name = \"a b\"\nrole = \"admin\"\nsha256 = \"{digest}\""), "admin.tokens[0].name"),
            (format!("name = \"a\"\nrole = \"root\"\nsha256 = \"{digest}\""), "admin.tokens[0].role"),
            ("name = \"a\"\nrole = \"admin\"".to_owned(), "admin.tokens[0]"),
            (format!("name = \"a\"\nrole = \"admin\"\nsha256 = \"{digest}\"\ntoken_env = \"T\""), "admin.tokens[0]"),
        ] {
            let e = FileConfig::parse(&format!("{MINIMAL}[[admin.tokens]]\n{body}\n")).unwrap_err();
            assert_eq!(e.field.as_deref(), Some(field), "{e}");
        }
        let e = FileConfig::parse(&format!("{MINIMAL}[[admin.tokens]]\nname = \"a\"\nrole = \"admin\"\nsha256 = \"zz\"\n")).unwrap_err();
        assert_eq!(e.field.as_deref(), Some("admin.tokens[0].sha256"), "{e}");
        let twice = format!("{MINIMAL}[[admin.tokens]]\nname = \"a\"\nrole = \"admin\"\nsha256 = \"{digest}\"\n[[admin.tokens]]\nname = \"a\"\nrole = \"viewer\"\nsha256 = \"{digest}\"\n");
        assert_eq!(FileConfig::parse(&twice).unwrap_err().field.as_deref(), Some("admin.tokens[1].name"));

        let from_env = FileConfig::parse(&format!("{MINIMAL}[[admin.tokens]]\nname = \"ci\"\nrole = \"viewer\"\ntoken_env = \"ADMIN_T\"\n")).unwrap();
        let long: EnvLookup = std::sync::Arc::new(|name| (name == "ADMIN_T").then(|| "t".repeat(40)));
        let access = from_env.admin.access(&long).unwrap();
        assert_eq!((access.bootstrap[0].name(), access.bootstrap[0].role()), ("ci", &crate::access::Role::Viewer));
        let short: EnvLookup = std::sync::Arc::new(|name| (name == "ADMIN_T").then(|| "short-secret".to_owned()));
        let e = from_env.admin.access(&short).unwrap_err();
        assert!(e.to_string().contains("ADMIN_T") && !e.to_string().contains("short-secret"), "{e}");
        let unset: EnvLookup = std::sync::Arc::new(|_| None);
        assert_eq!(from_env.admin.access(&unset).unwrap_err().field.as_deref(), Some("admin.tokens[0].token_env"));
    }
}
