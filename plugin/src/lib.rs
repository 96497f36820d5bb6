#![doc = include_str!("../README.md")]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing))]

pub mod config;
pub mod error;
pub mod frame;
pub mod functions;
pub mod protocol;
pub mod wire;

#[cfg(target_arch = "wasm32")]
mod exports;

pub use config::{CONFIG_KEY, Config};
pub use error::PluginError;
pub use functions::Reply;
