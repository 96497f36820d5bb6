//! Base64 and hex in the exact dialects the schemes use.

use alloc::vec::Vec;

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::alphabet;

/// Standard alphabet, padding written on encode.
pub(crate) const STANDARD: GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Standard alphabet; padding optional on decode (secrets are pasted both ways).
pub(crate) const STANDARD_LENIENT_PADDING: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// As [`STANDARD_LENIENT_PADDING`], and non-zero trailing bits in the last
/// character are ignored (Python's `b64decode`, Go's non-strict decoder).
const STANDARD_LENIENT_TRAILING_BITS: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Standard alphabet, no padding accepted or written.
pub(crate) const STANDARD_NO_PAD: GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;

/// URL-safe alphabet without padding, the redirect token's wire form.
pub(crate) const URL_SAFE_NO_PAD: GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Decodes standard base64 with or without padding.
pub(crate) fn decode_standard(text: &str) -> Option<Vec<u8>> {
    STANDARD_LENIENT_PADDING.decode(text).ok()
}

/// Decodes standard base64 with or without padding, ignoring non-zero
/// trailing bits (for secrets only: a presented MAC is compared as decoded
/// by [`decode_standard`]).
pub(crate) fn decode_standard_ignoring_trailing_bits(text: &str) -> Option<Vec<u8>> {
    STANDARD_LENIENT_TRAILING_BITS.decode(text).ok()
}

/// Encodes with the standard alphabet and padding.
pub(crate) fn encode_standard(bytes: &[u8]) -> alloc::string::String {
    STANDARD.encode(bytes)
}

/// Serde for bytes stored as standard base64 text (stored responses: JSON
/// arrays of numbers would make every record three to four times larger).
pub(crate) mod serde_base64 {
    use alloc::string::String;
    use alloc::vec::Vec;

    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::encode_standard(bytes))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        super::decode_standard(&text).ok_or_else(|| serde::de::Error::custom("body_base64 is not standard base64"))
    }
}

/// Decodes hex of either case into exactly `N` bytes.
pub(crate) fn decode_hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}
