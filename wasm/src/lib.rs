//! WebAssembly bindings of `payseal-core` for the npm package `payseal`.
//!
//! Every export here only translates: JS values in, one core call, JS values
//! out. No payment rule lives in this crate (nor in the hand-written JS layer
//! of `js/`); when a rule is missing, it is added to the core. The JS layer
//! validates argument types before calling in, so a wrong type is a
//! `TypeError`, never a Wasm trap.
//!
//! Secrets cross the boundary once, when a holder is built: the `String`
//! wasm-bindgen hands over becomes a [`payseal_core::Secret`] without a copy,
//! the holder keeps only the prepared key, and everything is wiped when the
//! holder is freed (`free()`, `Symbol.dispose`, or the finalization registry
//! wasm-bindgen generates).

// wasm-bindgen hands optional strings and lists over as owned values
// (`Option<String>`, `Vec<String>`); there is no borrowed form to take instead.
#![allow(clippy::needless_pass_by_value)]

// A subpath build (one feature) leaves some shared helpers unused.
#![cfg_attr(
    not(all(feature = "webhooks", feature = "signing", feature = "redirect", feature = "keys")),
    allow(dead_code, unused_imports)
)]

mod errors;
mod headers;
#[cfg(feature = "keys")]
mod idempotency;
#[cfg(feature = "keys")]
mod keys;
#[cfg(feature = "redirect")]
mod redirect;
#[cfg(feature = "keys")]
mod renewal;
#[cfg(feature = "signing")]
mod rfc9421;
#[cfg(any(feature = "webhooks", feature = "signing"))]
mod signing;

pub use errors::set_error_class;
#[cfg(feature = "keys")]
pub use idempotency::{decide, finish, storage_key};
#[cfg(feature = "keys")]
pub use keys::{KeyChecker, create_key_record, should_renew};
#[cfg(feature = "redirect")]
pub use redirect::RedirectOpener;
#[cfg(feature = "keys")]
pub use renewal::{RenewalSchedule, RenewedSecret};
#[cfg(feature = "signing")]
pub use rfc9421::{HttpMessageSigner, HttpMessageVerifier, content_digest};
#[cfg(feature = "signing")]
pub use signing::{CybersourceSigner, CybersourceVerifier, DvpaySigner};
#[cfg(any(feature = "webhooks", feature = "signing"))]
pub use signing::{HeaderVerifier, StandardWebhooksSigner, StripeSigner, replayed_signature};

use payseal_core::Secret;
use zeroize::Zeroize as _;

/// Unix seconds (or any count) handed over as a JS number.
///
/// The JS layer has already checked that the value is a non-negative safe
/// integer; `as` saturates anything else instead of trapping.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
pub(crate) fn whole(value: f64) -> u64 {
    value as u64
}

/// Turns the strings wasm-bindgen copied into Wasm memory into secrets,
/// moving each buffer (no second copy is left behind).
pub(crate) fn secrets(texts: Vec<String>) -> Vec<Secret> {
    texts
        .into_iter()
        .map(|text| Secret::new(text.into_bytes()))
        .collect()
}

/// One secret from its text; the buffer moves into the secret.
pub(crate) fn secret(text: String) -> Secret {
    Secret::new(text.into_bytes())
}

/// Wipes a string that held key material before its memory is released.
pub(crate) fn wipe(mut text: String) {
    text.zeroize();
}
