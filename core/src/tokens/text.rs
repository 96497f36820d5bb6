//! Token text: what a client holds, and the digests the gateway stores.
//!
//! An access token is `at_` and the unpadded base64url of its family id (16
//! bytes) and 32 random bytes. A refresh token is `rt_` and the unpadded
//! base64url of its family id, the family secret (32 bytes, the same in
//! every refresh token of the family) and 32 random bytes of its own.
//!
//! The family secret is what makes reuse detection safe: a token that
//! carries the family secret was issued by the gateway to this family, so a
//! digest that is not the current one is an *older* token of the family
//! (reuse: revoke), while a token that only names a family id (which is no
//! secret: audit events show it) is a guess and revokes nothing.
//!
//! The gateway keeps SHA-256 digests only: of the whole token text, and of
//! the family secret. The random bytes come from the caller.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::encoding::URL_SAFE_NO_PAD;

/// The prefix of an access token.
pub const ACCESS_PREFIX: &str = "at_";
/// The prefix of a refresh token.
pub const REFRESH_PREFIX: &str = "rt_";

const FAMILY_LEN: usize = 16;
const SECRET_LEN: usize = 32;
const ACCESS_LEN: usize = FAMILY_LEN + SECRET_LEN;
const REFRESH_LEN: usize = FAMILY_LEN + 2 * SECRET_LEN;

/// A token family: every token issued from one client-credentials grant
/// and its refreshes. Not a secret (it names the family in audit events and
/// store keys); written as 32 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FamilyId([u8; FAMILY_LEN]);

impl FamilyId {
    /// The family id made of these bytes.
    pub const fn from_bytes(bytes: [u8; FAMILY_LEN]) -> Self {
        Self(bytes)
    }

    /// Parses 32 hex characters.
    pub fn parse(text: &str) -> Option<Self> {
        crate::encoding::decode_hex_array(text).map(Self)
    }
}

impl fmt::Display for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for FamilyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FamilyId({self})")
    }
}

impl Serialize for FamilyId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for FamilyId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        Self::parse(&text).ok_or_else(|| serde::de::Error::custom("a token family id is 32 hex characters"))
    }
}

/// SHA-256 of a token or of a client or family secret; lowercase hex when
/// serialized. Equality is constant-time, so `==` on digests is safe.
#[derive(Clone, Copy)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        Self(Sha256::digest(bytes).into())
    }

    /// Lowercase hex, for store keys.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl PartialEq for TokenDigest {
    fn eq(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl Eq for TokenDigest {}

// A digest is not a token, but it is a lookup key for one: keep it out of Debug.
impl fmt::Debug for TokenDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenDigest(..)")
    }
}

impl Serialize for TokenDigest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for TokenDigest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        crate::encoding::decode_hex_array::<32>(&text)
            .map(Self)
            .ok_or_else(|| serde::de::Error::custom("a SHA-256 digest is 64 hex characters"))
    }
}

/// A token as issued: shown once, in the token endpoint's answer, and
/// wiped when dropped. No `Display`, no `Serialize`; `Debug` is redacted.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct TokenText(String);

impl TokenText {
    /// The text, for the one answer that hands the token to its client.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The digest the gateway stores instead of the token.
    pub fn digest(&self) -> TokenDigest {
        TokenDigest::of(self.0.as_bytes())
    }
}

impl fmt::Debug for TokenText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenText([redacted])")
    }
}

/// The random bytes one issue or one refresh needs, from the caller's
/// cryptographic random source. A refresh uses `refresh` and `access` only.
#[derive(Default, Zeroize, ZeroizeOnDrop)]
pub struct TokenEntropy {
    /// The family id of a new family.
    pub family: [u8; FAMILY_LEN],
    /// The family secret of a new family.
    pub family_secret: [u8; SECRET_LEN],
    /// The refresh token's own bytes.
    pub refresh: [u8; SECRET_LEN],
    /// The access token's bytes.
    pub access: [u8; SECRET_LEN],
}

impl TokenEntropy {
    /// Fills every field with `fill` (e.g. `getrandom::fill`).
    ///
    /// # Errors
    /// `fill`'s error: no token can be made without randomness.
    pub fn fill_with<E>(mut fill: impl FnMut(&mut [u8]) -> Result<(), E>) -> Result<Self, E> {
        let mut entropy = Self::default();
        fill(&mut entropy.family)?;
        fill(&mut entropy.family_secret)?;
        fill(&mut entropy.refresh)?;
        fill(&mut entropy.access)?;
        Ok(entropy)
    }
}

impl fmt::Debug for TokenEntropy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenEntropy([redacted])")
    }
}

fn encode(prefix: &str, parts: &[&[u8]]) -> TokenText {
    let bytes: Zeroizing<Vec<u8>> = Zeroizing::new(parts.concat());
    let mut text = String::with_capacity(prefix.len() + bytes.len().div_ceil(3) * 4);
    text.push_str(prefix);
    URL_SAFE_NO_PAD.encode_string(&*bytes, &mut text);
    TokenText(text)
}

fn decode<const N: usize>(prefix: &str, text: &str) -> Option<Zeroizing<[u8; N]>> {
    let b64 = text.strip_prefix(prefix)?;
    // Exact length first: nothing longer is decoded.
    if b64.len() != (N * 4).div_ceil(3) {
        return None;
    }
    let mut out = Zeroizing::new([0u8; N]);
    let decoded = Zeroizing::new(URL_SAFE_NO_PAD.decode(b64).ok()?);
    if decoded.len() != N {
        return None;
    }
    out.copy_from_slice(&decoded);
    Some(out)
}

pub(super) fn access_token(family: FamilyId, entropy: &TokenEntropy) -> TokenText {
    encode(ACCESS_PREFIX, &[&family.0, &entropy.access])
}

pub(super) fn refresh_token(family: FamilyId, family_secret: &[u8; SECRET_LEN], entropy: &TokenEntropy) -> TokenText {
    encode(REFRESH_PREFIX, &[&family.0, family_secret, &entropy.refresh])
}

pub(super) fn secret_digest(family_secret: &[u8; SECRET_LEN]) -> TokenDigest {
    TokenDigest::of(family_secret)
}

/// A presented access token, reduced to what the check needs; the text is
/// not kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PresentedAccess {
    /// The family it names (where its record is stored).
    pub family: FamilyId,
    /// The digest of the whole text (its record's key).
    pub digest: TokenDigest,
}

impl PresentedAccess {
    /// Reads an `ACCESS-TOKEN` value; `None` when it is not an access token.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = decode::<ACCESS_LEN>(ACCESS_PREFIX, text)?;
        let mut family = [0u8; FAMILY_LEN];
        family.copy_from_slice(&bytes[..FAMILY_LEN]);
        Some(Self { family: FamilyId(family), digest: TokenDigest::of(text.as_bytes()) })
    }
}

/// A presented refresh token: the family it names, the family secret it
/// carries (needed to build the next token of the family; wiped when
/// dropped) and digests. The text itself is not kept.
pub struct PresentedRefresh {
    /// The family it names.
    pub family: FamilyId,
    secret: Zeroizing<[u8; SECRET_LEN]>,
    /// The digest of the family secret it carries.
    pub secret_sha256: TokenDigest,
    /// The digest of the whole text.
    pub digest: TokenDigest,
}

impl PresentedRefresh {
    /// Reads a `refresh_token` value; `None` when it is not a refresh token.
    pub fn parse(text: &str) -> Option<Self> {
        let bytes = decode::<REFRESH_LEN>(REFRESH_PREFIX, text)?;
        let mut family = [0u8; FAMILY_LEN];
        family.copy_from_slice(&bytes[..FAMILY_LEN]);
        let mut secret = Zeroizing::new([0u8; SECRET_LEN]);
        secret.copy_from_slice(&bytes[FAMILY_LEN..FAMILY_LEN + SECRET_LEN]);
        let secret_sha256 = secret_digest(&secret);
        Some(Self { family: FamilyId(family), secret, secret_sha256, digest: TokenDigest::of(text.as_bytes()) })
    }

    /// The next refresh token of this token's family.
    pub(super) fn next_token(&self, entropy: &TokenEntropy) -> TokenText {
        refresh_token(self.family, &self.secret, entropy)
    }
}

impl fmt::Debug for PresentedRefresh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresentedRefresh").field("family", &self.family).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    fn entropy(seed: u8) -> TokenEntropy {
        let mut n = seed;
        TokenEntropy::fill_with(|buf: &mut [u8]| {
            for b in buf {
                *b = n;
                n = n.wrapping_add(1);
            }
            Ok::<(), ()>(())
        })
        .unwrap()
    }

    #[test]
    fn tokens_round_trip_through_their_parsers() {
        let e = entropy(7);
        let family = FamilyId::from_bytes(e.family);
        let access = access_token(family, &e);
        assert!(access.expose().starts_with("at_") && access.expose().len() == 3 + 64);
        let parsed = PresentedAccess::parse(access.expose()).unwrap();
        assert_eq!(parsed, PresentedAccess { family, digest: access.digest() });
        let refresh = refresh_token(family, &e.family_secret, &e);
        assert!(refresh.expose().starts_with("rt_") && refresh.expose().len() == 3 + 107);
        let parsed = PresentedRefresh::parse(refresh.expose()).unwrap();
        assert_eq!((parsed.family, parsed.secret_sha256, parsed.digest), (family, secret_digest(&e.family_secret), refresh.digest()));
        let next = parsed.next_token(&entropy(50));
        let next = PresentedRefresh::parse(next.expose()).unwrap();
        assert_eq!((next.family, next.secret_sha256), (family, secret_digest(&e.family_secret)), "the family secret stays");
        assert_ne!(next.digest, parsed.digest);
    }

    #[test]
    fn other_text_is_not_a_token() {
        let e = entropy(1);
        let family = FamilyId::from_bytes(e.family);
        let access = access_token(family, &e);
        let refresh = refresh_token(family, &e.family_secret, &e);
        assert!(PresentedRefresh::parse(access.expose()).is_none(), "an access token is no refresh token");
        assert_eq!(PresentedAccess::parse(refresh.expose()), None, "and the other way round");
        let body = &access.expose()[3..];
        for bad in [String::new(), "at_".into(), format!("AT_{body}"), format!("at_{body}A"), format!("at_{}", &body[1..]), format!("at_{}=", &body[..63]), format!("at_{}+", &body[..63])] {
            assert_eq!(PresentedAccess::parse(&bad), None, "{bad}");
        }
    }

    #[test]
    fn nothing_secret_in_debug() {
        let e = entropy(3);
        let family = FamilyId::from_bytes(e.family);
        let access = access_token(family, &e);
        assert_eq!(format!("{access:?}"), "TokenText([redacted])");
        assert_eq!(format!("{e:?}"), "TokenEntropy([redacted])");
        let refresh = PresentedRefresh::parse(refresh_token(family, &e.family_secret, &e).expose()).unwrap();
        assert_eq!(format!("{refresh:?}"), "PresentedRefresh { family: FamilyId(030405060708090a0b0c0d0e0f101112), .. }");
        assert_eq!(format!("{:?}", access.digest()), "TokenDigest(..)");
        assert_eq!(format!("{family}"), "030405060708090a0b0c0d0e0f101112");
        assert_eq!(FamilyId::parse(&format!("{family}")), Some(family));
    }

    #[test]
    fn digests_serialize_as_hex_and_compare_by_value() {
        let d = TokenDigest::of(b"abc");
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"");
        assert_eq!(serde_json::from_str::<TokenDigest>(&json).unwrap(), d);
        assert_ne!(TokenDigest::of(b"abd"), d);
        assert!(serde_json::from_str::<TokenDigest>("\"abc\"").is_err());
    }
}
