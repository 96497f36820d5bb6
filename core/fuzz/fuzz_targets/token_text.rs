//! Any text as an access token, a refresh token, a token family id and a
//! stored digest: no panic, and each parser accepts exactly one spelling. A
//! token parses iff it is its prefix and the canonical unpadded base64url of
//! the right number of bytes (checked with a decoder written here); the
//! family it names is its first 16 bytes and its digest that of the whole
//! text. A family id or digest parses iff it is hex of the right length, and
//! prints back as that hex in lowercase.

#![no_main]

use libfuzzer_sys::fuzz_target;
use payseal_core::tokens::{ACCESS_PREFIX, FamilyId, PresentedAccess, PresentedRefresh, REFRESH_PREFIX, TokenDigest};
use payseal_core_fuzz::{BASE64URL, base64_decode, base64url};

/// The bytes a token carries after `prefix` when `text` is the one spelling
/// of exactly `len` bytes.
fn reference(text: &str, prefix: &str, len: usize) -> Option<Vec<u8>> {
    let decoded = base64_decode(text.strip_prefix(prefix)?, BASE64URL)?;
    (decoded.bytes.len() == len && decoded.canonical).then_some(decoded.bytes)
}

fn family(bytes: &[u8]) -> FamilyId {
    FamilyId::from_bytes(bytes[..16].try_into().expect("16 bytes"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = core::str::from_utf8(data) else { return };
    let digest = TokenDigest::of(text.as_bytes());

    let access = PresentedAccess::parse(text);
    let bytes = reference(text, ACCESS_PREFIX, 16 + 32);
    assert_eq!(access.is_some(), bytes.is_some(), "access token {text:?}");
    if let (Some(access), Some(bytes)) = (access, bytes) {
        assert_eq!(format!("{ACCESS_PREFIX}{}", base64url(&bytes)), text);
        assert_eq!(access, PresentedAccess { family: family(&bytes), digest });
    }

    let refresh = PresentedRefresh::parse(text);
    let bytes = reference(text, REFRESH_PREFIX, 16 + 32 + 32);
    assert_eq!(refresh.is_some(), bytes.is_some(), "refresh token {text:?}");
    if let (Some(refresh), Some(bytes)) = (refresh, bytes) {
        assert_eq!(format!("{REFRESH_PREFIX}{}", base64url(&bytes)), text);
        assert_eq!((refresh.family, refresh.digest), (family(&bytes), digest));
        assert_eq!(refresh.secret_sha256, TokenDigest::of(&bytes[16..48]), "the family secret is bytes 16 to 48");
    }

    let is_hex = |len: usize| text.len() == len && text.bytes().all(|b| b.is_ascii_hexdigit());
    let id = FamilyId::parse(text);
    assert_eq!(id.is_some(), is_hex(32), "family id {text:?}");
    if let Some(id) = id {
        assert_eq!(id.to_string(), text.to_ascii_lowercase());
        assert_eq!(serde_json::from_str::<FamilyId>(&serde_json::to_string(&id).unwrap()).ok(), Some(id));
    }
    let stored = serde_json::to_string(text).ok().and_then(|json| serde_json::from_str::<TokenDigest>(&json).ok());
    assert_eq!(stored.is_some(), is_hex(64), "digest {text:?}");
    if let Some(stored) = stored {
        assert_eq!(stored.to_hex(), text.to_ascii_lowercase());
    }
});
