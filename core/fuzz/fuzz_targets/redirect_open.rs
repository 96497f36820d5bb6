//! Any text as a redirect `data` parameter, opened by a `v1` opener (and a
//! legacy-CBC one) with the public vectors' secrets: no panic, and the
//! transport decoding agrees with a reference written here from
//! `redirect.md` (percent-decoded once when it holds a `%`, trailing `=`
//! dropped, space and `-` read as `+`, `_` as `/`, then standard base64):
//!
//! - text the reference cannot decode is `malformed` (or `too_large`);
//! - decoded bytes not starting with `0x01` are `unsupported_version`, a `v1`
//!   token too short for nonce and tag is `malformed`;
//! - no forgery: a token that opens (or gets past the tag) decodes to the
//!   bytes of a token the vectors sealed, and opens to its payload.

#![no_main]

use libfuzzer_sys::fuzz_target;
use payseal_core::redirect::{Kdf, MAX_TOKEN_LEN, OpenError, Opener, Profile};
use payseal_core::{Environment, Secret};
use payseal_core_fuzz::{BASE64, base64_decode, percent_decode};

/// The vectors' `open-sha256-live-0` and `open-standard-base64-padded`: two
/// tokens sealing one payload.
const SEALED: [&str; 2] = [
    "AULpP2DVFpZH4LwTLpbZ5Js9F9pNqV0dn1adSyt1y4GgADEmwPxln1xnaOioJCVZXhxI_hcHznB6UHQFg95GUsZ1SfXeHnmMhaVVj1MmQEEqLseFFOnQLb60wsn9knlpluhxYpaHrAX2gufyN5KJQ8egJmyQtq6MPykLkKWSt4v43T4oUEaMA95u2AggdRwxPLDvdO1FwiJ4wLYAlrZ9EHlI3k-hBlM",
    "ATy3LVRHMAAAf30JmZ9yIzX75+d7a+BJNaczp6aGEML11aaCTZwuG4Zb3+w/C+UFYfPbM3THKoR2UprYZBP32D0yr0WxdpqBIfBPr/jd4cS2Y2pEkXshLX4QaG7aDtQ0fKnZ6N4QBcu+KIzeb9iZjFJujaDLIGqTo3fQpD1KledxrTScCnmubaXmpGBXkA/Eyp0LsROdMNbf1ugh22bYGWtmnMuCrME=",
];
const PAYLOAD: &str = r#"{"sessionId":"SHOP01-EXT-1719500000","status":"completed","paymentReference":"KVGQSN3K2SKFNVNS","amount":{"value":10000,"currency":"EUR"}}"#;
const NOW: u64 = 1_719_500_100;

/// The token bytes `data` carries, per `redirect.md`; `None` when it carries none.
fn reference_decode(data: &str) -> Option<Vec<u8>> {
    let text = if data.contains('%') { String::from_utf8(percent_decode(data.as_bytes())?).ok()? } else { data.into() };
    let normalized: String = text
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            ' ' | '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    base64_decode(&normalized, BASE64).filter(|d| d.canonical).map(|d| d.bytes)
}

fuzz_target!(|data: &[u8]| {
    let Ok(data) = core::str::from_utf8(data) else { return };
    let v1 = Opener::new(Environment::Live, Profile::V1, Kdf::Sha256, &Secret::from_text("cs_live_4f8a1c2e9b7d6a5f3e2d1c0b"))
        .expect("the vectors' secret is usable");
    let outcome = v1.open(data, NOW);
    let legacy =
        Opener::new(Environment::Test, Profile::LegacyCbc, Kdf::Sha256, &Secret::from_text("cs_test_000000000000000000000000"))
            .expect("the vectors' secret is usable")
            .open(data, NOW);
    if data.len() > MAX_TOKEN_LEN {
        assert_eq!(outcome.err(), Some(OpenError::TooLarge));
        assert_eq!(legacy.err(), Some(OpenError::TooLarge));
        return;
    }
    let Some(token) = reference_decode(data) else {
        assert_eq!(outcome.err(), Some(OpenError::Malformed), "the reference cannot decode {data:?}");
        assert_eq!(legacy.err(), Some(OpenError::Malformed), "the reference cannot decode {data:?}");
        return;
    };
    assert_ne!(legacy.as_ref().err(), Some(&OpenError::Malformed), "the reference decodes {data:?}");
    match token.first() {
        None => assert_eq!(outcome.err(), Some(OpenError::Malformed)),
        Some(&version) if version != 0x01 => assert_eq!(outcome.err(), Some(OpenError::UnsupportedVersion)),
        Some(_) if token.len() < 1 + 12 + 16 => assert_eq!(outcome.err(), Some(OpenError::Malformed)),
        Some(_) => match outcome {
            Err(OpenError::Authentication) => {}
            other => {
                // Past the tag: only the vectors' sealed bytes get here.
                let sealed = SEALED.map(|t| reference_decode(t).expect("a vector token decodes"));
                assert!(sealed.contains(&token), "{data:?} got past the tag: {other:?}");
                let opened = other.expect("a sealed token opens");
                assert_eq!(serde_json::Value::Object(opened.fields), serde_json::from_str::<serde_json::Value>(PAYLOAD).unwrap());
            }
        },
    }
});
