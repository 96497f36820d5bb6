//! The `store` setting: which store the gateway opens.
//!
//! ```toml
//! store = "redis://10.0.0.5:6379/0"      # top level, before any [table]
//! ```
//!
//! or the table, for the embedded file or Redis with its options:
//!
//! ```toml
//! [store]
//! path = "payseal.redb"                  # embedded (the default)
//! # url = "redis://10.0.0.5:6379/0"      # Redis instead of the file
//! # cluster = ["redis://10.0.0.5:7000", "redis://10.0.0.6:7000"]  # or a Redis Cluster's seed nodes
//! # prefix = "payseal"                   # namespace of every Redis key
//! # command_timeout_ms = 500             # Redis down or slow fails closed after this
//! # key_sync_interval_ms = 250           # version poll, besides pub/sub
//! # key_stale_after_ms = 2000            # the revocation bound
//! # [store.tls]                          # with rediss://: TLS to Redis (every cluster node)
//! # ca_file = "redis-ca.pem"             # replaces the system's roots
//! # client_cert = "gw.pem"               # a client certificate, with client_key
//! sweep_interval_seconds = 60
//! audit_retention_events = 100000       # the newest audit events kept; older ones are trimmed at each sweep
//! ```

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use std::path::PathBuf;

use crate::config_error::ConfigError;
use crate::store::{ClusterSeeds, RedbStore, RedisOptions, RedisStore, RedisTarget, RedisUrl, Store};

fn default_store_path() -> PathBuf {
    PathBuf::from("payseal.redb")
}

const fn default_sweep_interval() -> u64 {
    60
}

const fn default_audit_retention() -> u64 {
    100_000
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// The redb file (relative paths are relative to the config file);
    /// unused with `url`.
    #[serde(default = "default_store_path")]
    pub path: PathBuf,
    /// How often expired idempotency records are deleted.
    #[serde(default = "default_sweep_interval")]
    pub sweep_interval_seconds: u64,
    /// How many of the newest audit events are kept; each sweep deletes
    /// the older ones, oldest first (the log stays bounded).
    #[serde(default = "default_audit_retention")]
    pub audit_retention_events: u64,
    /// With a `rediss://` URL: the CA file (it replaces the system's roots)
    /// and a client certificate.
    #[serde(default)]
    pub tls: crate::tls::ClientTlsConfig,
    /// Redis (`redis[s]://[user:password@]host:port/db`) shared by several
    /// gateways, instead of the redb file.
    #[serde(default)]
    pub url: Option<crate::store::RedisUrl>,
    /// A Redis Cluster instead of one server: its seed nodes (the client
    /// discovers the other nodes from them). Not together with `url`.
    #[serde(default)]
    pub cluster: Option<ClusterSeeds>,
    /// With `url`: the namespace of every Redis key.
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// With `url`: the longest wait for one Redis command.
    #[serde(default = "default_command_timeout")]
    pub command_timeout_ms: u64,
    /// With `url`: how often the key records' version is read (besides
    /// the pub/sub push).
    #[serde(default = "default_sync_interval")]
    pub key_sync_interval_ms: u64,
    /// With `url`: the bound. A gateway that has not confirmed its key
    /// records are current for this long refuses checked requests (503).
    #[serde(default = "default_stale_after")]
    pub key_stale_after_ms: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self {
            path: default_store_path(),
            sweep_interval_seconds: default_sweep_interval(),
            audit_retention_events: default_audit_retention(),
            tls: crate::tls::ClientTlsConfig::default(),
            url: None,
            cluster: None,
            prefix: default_prefix(),
            command_timeout_ms: default_command_timeout(),
            key_sync_interval_ms: default_sync_interval(),
            key_stale_after_ms: default_stale_after(),
        }
    }
}

pub(crate) fn default_prefix() -> String {
    "payseal".into()
}

pub(crate) const fn default_command_timeout() -> u64 {
    500
}

pub(crate) const fn default_sync_interval() -> u64 {
    250
}

pub(crate) const fn default_stale_after() -> u64 {
    2_000
}

/// `store = "redis://…"` or a `[store]` table.
pub(crate) fn deserialize<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<StoreConfig, D::Error> {
    match toml::Value::deserialize(deserializer)? {
        toml::Value::String(text) => {
            let text = zeroize::Zeroizing::new(text);
            let url = RedisUrl::parse(&text, "store").map_err(serde::de::Error::custom)?;
            Ok(StoreConfig { url: Some(url), ..StoreConfig::default() })
        }
        table @ toml::Value::Table(_) => StoreConfig::deserialize(table).map_err(|e| serde::de::Error::custom(format!("store.{}", e.message()))),
        _ => Err(serde::de::Error::custom("store: a redis:// URL or a [store] table")),
    }
}

impl StoreConfig {
    /// Checks the Redis options.
    ///
    /// # Errors
    /// A bad prefix, a zero duration, a bound shorter than one poll and one
    /// command, or both a server and a cluster.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.url.is_some() && self.cluster.is_some() {
            return Err(ConfigError::new("store.cluster", "one Redis: either url (a server) or cluster (seed nodes), not both"));
        }
        crate::store::redis::check_prefix(&self.prefix, "store.prefix").map_err(|e| ConfigError::from_message(&e))?;
        for (field, value) in [
            ("store.command_timeout_ms", self.command_timeout_ms),
            ("store.key_sync_interval_ms", self.key_sync_interval_ms),
            ("store.audit_retention_events", self.audit_retention_events),
        ] {
            if value == 0 {
                return Err(ConfigError::from_message(&format!("{field}: must be above 0")));
            }
        }
        if self.key_stale_after_ms < self.key_sync_interval_ms.saturating_add(self.command_timeout_ms) {
            return Err(ConfigError::new("store.key_stale_after_ms", "must be at least key_sync_interval_ms + command_timeout_ms"));
        }
        Ok(())
    }

    /// The Redis of `url` or `cluster`, if any.
    fn redis_target(&self) -> Option<RedisTarget> {
        self.url.clone().map(RedisTarget::Server).or_else(|| self.cluster.clone().map(RedisTarget::Cluster))
    }

    /// With `url` or `cluster`: how Redis is reached.
    pub fn redis_options(&self) -> Option<RedisOptions> {
        self.redis_target().map(|target| RedisOptions {
            target,
            prefix: self.prefix.clone(),
            command_timeout: Duration::from_millis(self.command_timeout_ms),
            tls: self.tls.clone(),
        })
    }

    /// What logs may name: the file, or the Redis URLs without their user part.
    pub fn describe(&self) -> String {
        self.redis_target().map_or_else(|| self.path.display().to_string(), |target| format!("{} (prefix {})", target.redacted(), self.prefix))
    }
}

/// Opens the configured store: Redis with `url` or `cluster`, else the redb file.
///
/// # Errors
/// The store cannot be opened or reached; the message never holds a password.
pub async fn open(config: &StoreConfig) -> Result<Arc<dyn Store>, String> {
    if let Some(options) = config.redis_options() {
        let store = RedisStore::connect(options).await.map_err(|e| format!("cannot open the store {}: {e}", config.describe()))?;
        return Ok(Arc::new(store));
    }
    let path = config.path.clone();
    let store = tokio::task::spawn_blocking(move || RedbStore::open(&path))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot open the store {}: {e}", config.path.display()))?;
    Ok(Arc::new(store))
}

#[cfg(test)]
mod tests {
    use crate::config::FileConfig;

    const UPSTREAM: &str = "[upstream]\nurl = \"http://127.0.0.1:9000\"\n";

    #[test]
    fn a_top_level_url_or_a_table_selects_redis() {
        let config = FileConfig::parse(&format!("store = \"redis://:hunter2pw@10.0.0.5:6379/1\"\n{UPSTREAM}")).unwrap();
        let options = config.store.redis_options().unwrap();
        assert_eq!((options.prefix.as_str(), options.command_timeout.as_millis()), ("payseal", 500));
        assert_eq!(config.store.key_stale_after_ms, 2000);
        assert_eq!(config.store.describe(), "redis://10.0.0.5:6379/1 (prefix payseal)");
        assert!(!format!("{config:?}").contains("hunter2pw"), "Debug shows the password");
        let table = FileConfig::parse(&format!("{UPSTREAM}[store]\nurl = \"redis://h:1\"\nprefix = \"prod-eu\"\ncommand_timeout_ms = 100\n")).unwrap();
        assert_eq!(table.store.redis_options().unwrap().prefix, "prod-eu");
        let redb = FileConfig::parse(&format!("{UPSTREAM}[store]\npath = \"x.redb\"\n")).unwrap();
        assert!(redb.store.redis_options().is_none());
    }

    #[test]
    fn the_redis_example_parses_with_the_documented_defaults() {
        let config = FileConfig::parse(include_str!("../examples/payseal-redis.toml")).unwrap();
        let defaults = crate::config::StoreConfig::default();
        let store = &config.store;
        assert_eq!(store.url.as_ref().unwrap().redacted(), "redis://127.0.0.1:6379/0");
        assert_eq!(
            (&store.prefix, store.command_timeout_ms, store.key_sync_interval_ms, store.key_stale_after_ms, store.sweep_interval_seconds),
            (&defaults.prefix, defaults.command_timeout_ms, defaults.key_sync_interval_ms, defaults.key_stale_after_ms, defaults.sweep_interval_seconds)
        );
    }

    #[test]
    fn the_tls_cluster_example_names_a_cluster_over_tls() {
        let config = FileConfig::parse(include_str!("../examples/payseal-tls-cluster.toml")).unwrap();
        let options = config.store.redis_options().unwrap();
        let crate::store::RedisTarget::Cluster(seeds) = &options.target else { panic!("not a cluster: {:?}", options.target) };
        assert_eq!((seeds.urls().len(), seeds.is_tls(), options.prefix.as_str()), (3, true, "payseal-prod"));
        assert!(config.store.tls.ca_file.is_some() && config.server.tls.is_some() && config.admin.tls.is_some());
        assert!(config.store.describe().starts_with("cluster rediss://redis-0.internal.example:6380, ") && !config.store.describe().contains("REDIS_PASSWORD"));
    }

    #[test]
    fn a_cluster_is_a_list_of_seeds_and_excludes_url() {
        let config = FileConfig::parse(&format!("{UPSTREAM}[store]\ncluster = [\"redis://10.0.0.1:7000\", \"redis://10.0.0.2:7000\"]\n")).unwrap();
        assert_eq!(config.store.describe(), "cluster redis://10.0.0.1:7000, redis://10.0.0.2:7000 (prefix payseal)");
        for (text, message) in [
            (format!("{UPSTREAM}[store]\nurl = \"redis://h:1\"\ncluster = [\"redis://h:2\"]\n"), "store.cluster: one Redis: either url"),
            (format!("{UPSTREAM}[store]\ncluster = [\"redis://h:1\", \"redis://:hunter2pw@h:2/3\"]\n"), "store.cluster[1]: a cluster has only database 0"),
            (format!("{UPSTREAM}[store]\ncluster = []\n"), "store.cluster: needs at least one seed node"),
            (format!("{UPSTREAM}[store]\ncluster = \"redis://h:1\"\n"), "store.cluster: a list of redis:// or rediss:// URLs"),
        ] {
            let e = FileConfig::parse(&text).unwrap_err().to_string();
            assert!(e.contains(message) && !e.contains("store.store") && !e.contains("hunter2pw"), "{text}: {e}");
        }
    }

    #[test]
    fn errors_name_the_field_and_never_the_password() {
        for (text, field) in [
            (format!("store = \"http://:hunter2pw@h\"\n{UPSTREAM}"), "store: must start with redis://"),
            (format!("store = 5\n{UPSTREAM}"), "store: a redis:// URL"),
            (format!("{UPSTREAM}[store]\nurl = \"redis://:hunter2pw@\"\n"), "invalid configuration: store.url: needs a host"),
            (format!("{UPSTREAM}[store]\nurl = \"redis://h\"\nprefix = \"a{{b}}\"\n"), "store.prefix"),
            (format!("{UPSTREAM}[store]\nurl = \"redis://h\"\nkey_stale_after_ms = 100\n"), "store.key_stale_after_ms"),
            (format!("{UPSTREAM}[store]\nurl = \"redis://h\"\ncommand_timeout_ms = 0\n"), "store.command_timeout_ms"),
            (format!("{UPSTREAM}[store]\nhost = \"h\"\n"), "host"),
            (format!("{UPSTREAM}[store]\naudit_retention_events = 0\n"), "store.audit_retention_events: must be above 0"),
        ] {
            let e = FileConfig::parse(&text).unwrap_err();
            assert!(e.to_string().contains(field) && !e.to_string().contains("hunter2pw"), "{text}: {e}");
        }
    }
}
