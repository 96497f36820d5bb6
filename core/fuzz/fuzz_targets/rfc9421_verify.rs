//! Arbitrary `Signature`, `Signature-Input`, `Content-Digest`, URL, method
//! and body given to `Verifier::verify`: it must return, never panic.
//!
//! Input: lines `signature`, `signature-input`, `content-digest`, `url`,
//! `method`, then the body (the rest, newlines included). Missing lines are
//! empty; an input whose lines are not UTF-8 is skipped. The configured keys
//! and clock match the public vectors, so seeds made from them reach the MAC
//! check.

#![no_main]

use libfuzzer_sys::fuzz_target;
use payseal_core::rfc9421::{Verifier, VerifyRequest};
use payseal_core::{Clock, Secret};
use payseal_core_fuzz::lines;

fuzz_target!(|data: &[u8]| {
    let Some(([signature, signature_input, content_digest, url, method], body)) = lines::<5>(data) else { return };
    let headers = [
        ("content-type", "application/json"),
        ("signature", signature),
        ("signature-input", signature_input),
        ("content-digest", content_digest),
    ];
    let new = Secret::from_text("oTi/maBUu4/4XtTo5JrJgHJkglvkb0tIgG/sgAVFGQY=");
    let old = Secret::from_text("sx5r52GkfiaVN9f5ZbwBpPmvrMrFTzSijfRZ/G/nvfg=");
    let unusable = Secret::from_text("c2hvcnQ=");
    let verifier = Verifier::new([("psk-live-2025", &new), ("psk-live-2024", &old), ("k", &unusable)]);
    let request = VerifyRequest { method, url, headers: &headers, body };
    let outcome =
        verifier.verify(&request, &["@method", "content-digest"], Clock { now: 1_719_500_010, tolerance: 300 });
    if let Ok(verified) = outcome {
        // Only a configured, usable key can vouch for a request.
        assert!(["psk-live-2025", "psk-live-2024"].contains(&verified.key_id.as_str()));
    }
});
