//! Any text as a presented API key, checked against a key set holding that
//! very key, with the accepted formats chosen by the first input byte: no
//! panic, and the verdict agrees with a reference of `keys.md`'s format table
//! written here. Empty is `missing_key`; a key matching an accepted format is
//! allowed (its record and route agree); anything else, surrounding
//! whitespace and `Bearer ` included, is `malformed_key`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use payseal_core::Environment;
use payseal_core::keys::{KeyFormat, KeyRecord, KeyRejection, KeySet, Policy, Request};
use payseal_core_fuzz::{BASE64, base64_decode};

fn is_prefixed(key: &str) -> bool {
    let rest = key.strip_prefix("sk_live_").or_else(|| key.strip_prefix("sk_test_"));
    rest.is_some_and(|r| (24..=128).contains(&r.len()) && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

fn is_uuid(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| if [8, 13, 18, 23].contains(&i) { c == b'-' } else { c.is_ascii_hexdigit() })
        && (b'1'..=b'8').contains(&b[14])
        && b"89abAB".contains(&b[19])
}

/// Standard base64 of at least 32 bytes, with its padding, part of it, or
/// none (the core reads secrets with `DecodePaddingMode::Indifferent`: they
/// are pasted every way; a key's digest is of its text, so another spelling
/// is another key, never a match).
fn is_base64_secret(key: &str) -> bool {
    let body = key.trim_end_matches('=');
    let full_padding = (4 - body.len() % 4) % 4;
    key.len() - body.len() <= full_padding && base64_decode(body, BASE64).is_some_and(|d| d.canonical && d.bytes.len() >= 32)
}

fn reference(format: KeyFormat, key: &str) -> bool {
    match format {
        KeyFormat::Prefixed => is_prefixed(key),
        KeyFormat::Hex64 => key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()),
        KeyFormat::Uuid => is_uuid(key),
        KeyFormat::Base64Secret => is_base64_secret(key),
        _ => unreachable!("a format this target does not know"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&mask, key)) = data.split_first() else { return };
    let Ok(key) = core::str::from_utf8(key) else { return };
    let all = [KeyFormat::Prefixed, KeyFormat::Hex64, KeyFormat::Uuid, KeyFormat::Base64Secret];
    let accepted: Vec<KeyFormat> = all.into_iter().enumerate().filter(|(i, _)| mask >> i & 1 == 1).map(|(_, f)| f).collect();
    let environment = if key.starts_with("sk_test_") { Environment::Test } else { Environment::Live };
    let set = KeySet::new(vec![KeyRecord::new("k", key, environment)]).expect("one record");
    let policy = Policy { accepted_formats: accepted.clone(), ..Policy::default() };
    let path = if environment == Environment::Test { "/external/v1/test/pay" } else { "/external/v1/pay" };
    let request = Request { api_key: Some(key), method: "POST", path, client_ip: None, webcode: None };
    let verdict = set.check(&request, &policy, 1_719_500_000).map(|allowed| (allowed.key_id, allowed.environment));
    let expected = if key.is_empty() {
        Err(KeyRejection::MissingKey)
    } else if accepted.iter().any(|&f| reference(f, key)) {
        Ok((String::from("k"), environment))
    } else {
        Err(KeyRejection::MalformedKey(""))
    };
    match (&verdict, &expected) {
        (Err(KeyRejection::MalformedKey(_)), Err(KeyRejection::MalformedKey(_))) => {}
        _ => assert_eq!(verdict, expected, "formats {accepted:?}, key {key:?}"),
    }
});
