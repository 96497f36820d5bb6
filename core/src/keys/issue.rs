//! Issuing keys: the text of a new key in each format, and key ids, from
//! random bytes the caller draws (the core has no RNG).

use alloc::string::String;

use zeroize::Zeroizing;

use super::KeyFormat;
use crate::Environment;

/// Random bytes behind one issued key: 256 bits for every format except
/// `uuid`, which uses the first 16 (122 of them random).
pub const KEY_RANDOM_BYTES: usize = 32;

/// Random bytes behind one key id.
pub const ID_RANDOM_BYTES: usize = 12;

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Characters of 256 bits in base 62: `62^43 > 2^256`.
const BASE62_LEN: usize = 43;

impl KeyFormat {
    /// The text of a new key of this format from `random`, which must come
    /// from a CSPRNG. `environment` names the prefix of a `prefixed` key.
    ///
    /// Every format keeps the full 256 bits (`uuid`: 122): `prefixed` writes
    /// them as 43 base-62 digits (a bijection, so no bias), `hex64` as 64
    /// lowercase hex digits, `base64-secret` as standard base64 with padding.
    /// The result passes this format's check.
    pub fn issue(self, environment: Environment, random: &[u8; KEY_RANDOM_BYTES]) -> Zeroizing<String> {
        match self {
            Self::Prefixed => {
                let mut text = Zeroizing::new(String::with_capacity(8 + BASE62_LEN));
                text.push_str(match environment {
                    Environment::Live => "sk_live_",
                    Environment::Test => "sk_test_",
                });
                push_base62(&mut text, random);
                text
            }
            Self::Hex64 => Zeroizing::new(hex::encode(random)),
            Self::Uuid => {
                let mut b = Zeroizing::new([0u8; 16]);
                b.copy_from_slice(&random[..16]);
                b[6] = (b[6] & 0x0f) | 0x40;
                b[8] = (b[8] & 0x3f) | 0x80;
                let h = Zeroizing::new(hex::encode(*b));
                let mut text = Zeroizing::new(String::with_capacity(36));
                for (i, range) in [0..8, 8..12, 12..16, 16..20, 20..32].into_iter().enumerate() {
                    if i > 0 {
                        text.push('-');
                    }
                    text.push_str(&h[range]);
                }
                text
            }
            Self::Base64Secret => Zeroizing::new(crate::encoding::encode_standard(random)),
        }
    }
}

/// Appends `bytes` (a big-endian number) as exactly [`BASE62_LEN`] base-62
/// digits, most significant first.
fn push_base62(out: &mut String, bytes: &[u8; KEY_RANDOM_BYTES]) {
    let mut number = Zeroizing::new(*bytes);
    let mut digits = Zeroizing::new([0u8; BASE62_LEN]);
    for digit in digits.iter_mut().rev() {
        // Long division of the whole number by 62; the remainder is the digit.
        let mut remainder = 0u32;
        for byte in number.iter_mut() {
            let value = (remainder << 8) | u32::from(*byte);
            *byte = u8::try_from(value / 62).unwrap_or(0);
            remainder = value % 62;
        }
        *digit = BASE62[usize::try_from(remainder).unwrap_or(0)];
    }
    out.extend(digits.iter().map(|&d| char::from(d)));
}

/// A key id (`key_` + 24 lowercase hex digits) from `random`. Ids are not
/// secret; they are random so they reveal nothing about order or count.
pub fn key_id(random: &[u8; ID_RANDOM_BYTES]) -> String {
    let mut id = String::from("key_");
    id.push_str(&hex::encode(random));
    id
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::format::classify;

    #[test]
    fn every_issued_key_passes_its_format_check() {
        for random in [[0u8; 32], [0xff; 32], core::array::from_fn(|i| u8::try_from(i * 37 % 256).unwrap())] {
            for format in [KeyFormat::Prefixed, KeyFormat::Hex64, KeyFormat::Uuid, KeyFormat::Base64Secret] {
                for environment in [Environment::Live, Environment::Test] {
                    let key = format.issue(environment, &random);
                    let named = classify(Some(&key), &[format]).unwrap_or_else(|e| panic!("{format:?}: {e}"));
                    if format == KeyFormat::Prefixed {
                        assert_eq!(named, Some(environment));
                        assert_eq!(key.len(), 8 + BASE62_LEN);
                    }
                }
            }
        }
    }

    #[test]
    fn base62_is_the_number_in_base_62() {
        let mut one = [0u8; 32];
        one[31] = 63;
        let key = KeyFormat::Prefixed.issue(Environment::Live, &one);
        assert_eq!(&key[8..], "0000000000000000000000000000000000000000011");
        let max = KeyFormat::Prefixed.issue(Environment::Test, &[0xff; 32]);
        // 2^256 - 1 in base 62 starts with 'y' (60): 62^42 * 60 < 2^256 < 62^42 * 61.
        assert!(max.starts_with("sk_test_y"), "{}", max.as_str());
    }

    #[test]
    fn different_bytes_give_different_keys() {
        let a = KeyFormat::Prefixed.issue(Environment::Live, &[1; 32]);
        let mut b_bytes = [1; 32];
        b_bytes[0] = 2;
        let b = KeyFormat::Prefixed.issue(Environment::Live, &b_bytes);
        assert_ne!(a.as_str(), b.as_str());
        assert_eq!(KeyFormat::Hex64.issue(Environment::Live, &[0xab; 32]).as_str(), "ab".repeat(32));
        assert_eq!(
            KeyFormat::Uuid.issue(Environment::Live, &[0xff; 32]).as_str(),
            "ffffffff-ffff-4fff-bfff-ffffffffffff"
        );
        assert_eq!(KeyFormat::Base64Secret.issue(Environment::Live, &[0; 32]).as_str(), "A".repeat(43) + "=");
    }

    #[test]
    fn key_ids() {
        assert_eq!(key_id(&[0xa5; 12]), "key_a5a5a5a5a5a5a5a5a5a5a5a5");
    }
}
