#![doc = include_str!("../README.md")]

pub mod access;
pub mod admin;
pub mod audit;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod config_error;
pub mod console;
pub mod demo;
pub mod env;
pub mod exit;
pub mod gateway;
pub mod http;
pub mod idempotency_admin;
pub mod last_used;
pub mod lifecycle;
pub mod metrics;
#[cfg(feature = "otlp")]
pub mod otlp;
pub mod plugin;
pub mod proxy;
pub mod server;
pub mod store;
pub mod tokens;
pub mod traffic;
pub mod trace;
pub mod upstream;
pub mod store_config;
pub mod store_watch;
pub mod stored_list;
pub mod throttle;
pub mod tls;

pub use config::{ConfigError, FileConfig};
pub use gateway::{ConfigSource, Shared};
pub use server::{Running, start, start_with_store};
pub use plugin::{CallError, PluginLimits, PluginPool};
pub use store::{Claim, RedbStore, Store, StoreError, StoreErrorKind};
