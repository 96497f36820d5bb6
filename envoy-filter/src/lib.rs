#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod config;
pub mod gate;
pub mod store;

#[cfg(target_arch = "wasm32")]
mod filter;

pub use config::{Config, ConfigError};
