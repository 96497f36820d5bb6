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

/// Standard alphabet, no padding accepted or written.
pub(crate) const STANDARD_NO_PAD: GeneralPurpose = base64::engine::general_purpose::STANDARD_NO_PAD;

/// URL-safe alphabet without padding, the redirect token's wire form.
pub(crate) const URL_SAFE_NO_PAD: GeneralPurpose = base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// Decodes standard base64 with or without padding.
pub(crate) fn decode_standard(text: &str) -> Option<Vec<u8>> {
    STANDARD_LENIENT_PADDING.decode(text).ok()
}

/// Encodes with the standard alphabet and padding.
pub(crate) fn encode_standard(bytes: &[u8]) -> alloc::string::String {
    STANDARD.encode(bytes)
}

/// Decodes hex of either case into exactly `N` bytes.
pub(crate) fn decode_hex_array<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    hex::decode_to_slice(text, &mut out).ok()?;
    Some(out)
}
