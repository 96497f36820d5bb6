#![doc = include_str!("../README.md")]

pub mod admin;
pub mod audit;
pub mod client_ip;
pub mod clock;
pub mod config;
pub mod demo;
pub mod gateway;
pub mod lifecycle;
pub mod metrics;
pub mod plugin;
pub mod proxy;
pub mod store;
pub mod tokens;
pub mod store_config;
pub mod store_watch;

pub use config::{ConfigError, FileConfig};
pub use gateway::{ConfigSource, Running, Shared, start, start_with_store};
pub use plugin::{CallError, PluginLimits, PluginPool};
pub use store::{Claim, RedbStore, Store, StoreError};
