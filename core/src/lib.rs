#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]

extern crate alloc;

mod encoding;
mod mac;
pub mod rfc9421;
mod secret;
pub mod signing;
pub mod time;

pub use secret::Secret;
pub use signing::{Clock, HeaderMap, SignatureError, Verified};
