#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![warn(clippy::std_instead_of_core, clippy::std_instead_of_alloc, clippy::alloc_instead_of_core)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

extern crate alloc;

mod encoding;
mod environment;
pub mod gate;
pub mod idempotency;
pub mod keys;
mod mac;
pub mod rfc9421;
pub mod redirect;
pub mod refusal;
pub mod routes;
mod secret;
pub mod signing;
pub mod throttle;
pub mod time;
pub mod tokens;

pub use environment::Environment;
pub use refusal::Refusal;
pub use secret::Secret;
pub use signing::{Clock, HeaderMap, SignatureError, Verified, VerifiedWebhook};
