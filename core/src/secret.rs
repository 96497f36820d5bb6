//! Secret key material that cannot be printed, serialized or read back.

use alloc::vec::Vec;
use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// Bytes of a secret (an API secret, a webhook signing secret, a client secret).
///
/// A `Secret` has no `Display`, no `Serialize`, and a `Debug` that prints
/// `Secret([redacted])`. The bytes are wiped when it is dropped. Only this
/// crate can read them, at the one place each scheme uses them, so a caller
/// cannot leak a secret through payseal's API by accident.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Secret {
    bytes: Vec<u8>,
}

impl Secret {
    /// Takes ownership of the secret's bytes.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Self { bytes: bytes.into() }
    }

    /// Takes a secret given as text (its UTF-8 bytes, exactly as written).
    pub fn from_text(text: &str) -> Self {
        Self::new(text.as_bytes())
    }

    /// Number of bytes, for validation messages that must not show the bytes.
    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The one way to read the bytes; crate-private on purpose.
    pub(crate) fn expose(&self) -> &[u8] {
        &self.bytes
    }

    /// The bytes as UTF-8 text, when they are.
    pub(crate) fn expose_text(&self) -> Option<&str> {
        core::str::from_utf8(&self.bytes).ok()
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Self::from_text(text)
    }
}

impl From<Vec<u8>> for Secret {
    fn from(bytes: Vec<u8>) -> Self {
        Self::new(bytes)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The usability rule every scheme shares: non-empty, no surrounding whitespace.
///
/// Returns a static description of what is wrong, never the bytes.
pub(crate) fn check_common(secret: &Secret) -> Result<(), &'static str> {
    let bytes = secret.expose();
    match (bytes.first(), bytes.last()) {
        (None, _) | (_, None) => Err("secret is empty"),
        (Some(first), _) if first.is_ascii_whitespace() => Err("secret has leading whitespace"),
        (_, Some(last)) if last.is_ascii_whitespace() => Err("secret has trailing whitespace"),
        _ => Ok(()),
    }
}

/// An HMAC key given as standard base64 (padding optional) of at least
/// `min_len` bytes, after an optional `prefix` such as `whsec_`: the rule of
/// Cybersource, Standard Webhooks and RFC 9421 shared secrets.
pub(crate) fn base64_mac_key(
    secret: &Secret,
    prefix: &str,
    min_len: usize,
    too_short: &'static str,
) -> Result<crate::mac::MacKey, &'static str> {
    base64_mac_key_with(secret, prefix, min_len, too_short, crate::encoding::decode_standard)
}

/// As [`base64_mac_key`], ignoring non-zero trailing bits in the last
/// base64 character (the Standard Webhooks rule: secrets made by libraries
/// that do not write canonical base64 are accepted as the reference
/// libraries accept them).
pub(crate) fn base64_mac_key_ignoring_trailing_bits(
    secret: &Secret,
    prefix: &str,
    min_len: usize,
    too_short: &'static str,
) -> Result<crate::mac::MacKey, &'static str> {
    base64_mac_key_with(secret, prefix, min_len, too_short, crate::encoding::decode_standard_ignoring_trailing_bits)
}

fn base64_mac_key_with(
    secret: &Secret,
    prefix: &str,
    min_len: usize,
    too_short: &'static str,
    decode: fn(&str) -> Option<alloc::vec::Vec<u8>>,
) -> Result<crate::mac::MacKey, &'static str> {
    check_common(secret)?;
    let text = secret.expose_text().ok_or("secret is not base64 text")?;
    let b64 = text.strip_prefix(prefix).unwrap_or(text);
    let key = zeroize::Zeroizing::new(decode(b64).ok_or("secret is not standard base64")?);
    if key.len() < min_len {
        return Err(too_short);
    }
    Ok(crate::mac::MacKey::new(&key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn debug_is_redacted() {
        let s = Secret::from_text("whsec_canary");
        assert_eq!(format!("{s:?}"), "Secret([redacted])");
        assert_eq!(format!("{s:#?}"), "Secret([redacted])");
    }

    #[test]
    fn zeroize_clears_bytes() {
        let mut s = Secret::from_text("abc");
        s.zeroize();
        assert!(s.expose().iter().all(|b| *b == 0) || s.is_empty());
    }

    #[test]
    fn common_rule() {
        assert!(check_common(&Secret::from_text("ok")).is_ok());
        assert_eq!(check_common(&Secret::from_text("")), Err("secret is empty"));
        assert_eq!(check_common(&Secret::from_text(" a")), Err("secret has leading whitespace"));
        assert_eq!(check_common(&Secret::from_text("a\n")), Err("secret has trailing whitespace"));
    }
}
