//! RFC 9530 `Content-Digest` with `sha-256` and `sha-512`.

use alloc::string::String;
use alloc::vec::Vec;

use sha2::{Digest as _, Sha256, Sha512};

use super::sf::{self, BareItem, Item, Member};
use crate::mac::tags_equal;

/// A `Content-Digest` hash algorithm payseal produces and checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// `sha-256`, what [`super::Signer`] produces.
    Sha256,
    /// `sha-512`, as in RFC 9421 Appendix B.
    Sha512,
}

impl DigestAlgorithm {
    /// The algorithm's key in `Content-Digest` (the RFC 9530 registry name).
    pub const fn key(self) -> &'static str {
        match self {
            Self::Sha256 => "sha-256",
            Self::Sha512 => "sha-512",
        }
    }

    fn from_key(key: &str) -> Option<Self> {
        [Self::Sha256, Self::Sha512].into_iter().find(|a| a.key() == key)
    }

    fn hash(self, body: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha256 => Sha256::digest(body).to_vec(),
            Self::Sha512 => Sha512::digest(body).to_vec(),
        }
    }
}

/// The `Content-Digest` field value for `body`, e.g. `sha-256=:<base64>:`.
pub fn content_digest(algorithm: DigestAlgorithm, body: &[u8]) -> String {
    alloc::format!("{}=:{}:", algorithm.key(), crate::encoding::encode_standard(&algorithm.hash(body)))
}

/// The digests a `Content-Digest` field presents for the algorithms payseal
/// knows; members of other algorithms are dropped.
pub(super) struct Presented {
    digests: Vec<(DigestAlgorithm, Vec<u8>)>,
}

impl Presented {
    /// Parses the field: an RFC 8941 dictionary whose members are all byte
    /// sequences (parameters on them are allowed and ignored).
    pub(super) fn parse(value: &str) -> Result<Self, &'static str> {
        let dictionary =
            sf::parse_dictionary(value).map_err(|_| "Content-Digest is not a structured-field dictionary")?;
        let mut digests = Vec::new();
        for (key, member) in &dictionary {
            let Member::Item(Item { bare_item: BareItem::ByteSequence(bytes), .. }) = member else {
                return Err("a Content-Digest member is not a byte sequence");
            };
            if let Some(algorithm) = DigestAlgorithm::from_key(key) {
                digests.push((algorithm, bytes.clone()));
            }
        }
        Ok(Self { digests })
    }

    /// Whether one of the known digests is the body's. Dictionary keys are
    /// unique, so each algorithm hashes the body at most once.
    pub(super) fn matches(&self, body: &[u8]) -> bool {
        self.digests.iter().any(|(algorithm, presented)| tags_equal(&algorithm.hash(body), presented))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 9530 Appendix B / RFC 9421 Appendix B.2.5's request body.
    const BODY: &[u8] = br#"{"hello": "world"}"#;
    const SHA512: &str =
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:";

    #[test]
    fn produces_rfc_values() {
        assert_eq!(content_digest(DigestAlgorithm::Sha512, BODY), SHA512);
        assert_eq!(
            content_digest(DigestAlgorithm::Sha256, BODY),
            "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:"
        );
        assert_eq!(
            content_digest(DigestAlgorithm::Sha256, b""),
            "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:"
        );
    }

    #[test]
    fn one_known_member_must_match() {
        assert!(Presented::parse(SHA512).unwrap().matches(BODY));
        assert!(!Presented::parse(SHA512).unwrap().matches(b"{}"));
        let both = alloc::format!("sha-256=:AAAA:, {SHA512}");
        assert!(Presented::parse(&both).unwrap().matches(BODY), "a wrong sha-256 beside a right sha-512");
        // Unknown algorithms are ignored, so they cannot vouch for the body.
        assert!(!Presented::parse("md5=:AAAA:, unixsum=:AAAA:").unwrap().matches(BODY));
        assert!(!Presented::parse("").unwrap().matches(BODY));
        // Parameters on a member are ignored.
        assert!(Presented::parse(&alloc::format!("{SHA512};x=1")).unwrap().matches(BODY));
    }

    #[test]
    fn refuses_what_is_not_a_dictionary_of_byte_sequences() {
        for bad in [
            "sha-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=",
            "SHA-256=:AAAA:",
            "sha-256=:AAAA:, md5=\"x\"",
            "sha-256=(:AAAA:)",
            "sha-256",
        ] {
            assert!(Presented::parse(bad).is_err(), "{bad}");
        }
    }
}
