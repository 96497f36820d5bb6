use core::fmt;

/// Why a `data` parameter did not open.
///
/// Messages are fixed text: no key material, no token bytes, no plaintext.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpenError {
    /// The client secret does not fit the configured key derivation.
    InvalidSecret(&'static str),
    /// The parameter is longer than 16 KiB.
    TooLarge,
    /// Not base64 in any accepted dialect, or too short to be a token.
    Malformed,
    /// The first (version) byte is not `0x01`: a token of a format this
    /// version of payseal does not know. The byte is not secret, so naming it
    /// tells an attacker nothing, and it tells the merchant to upgrade.
    UnsupportedVersion,
    /// Wrong key, wrong environment, or a token that was changed.
    Authentication,
    /// The decrypted data is not a UTF-8 JSON object with the required fields.
    InvalidPayload(&'static str),
    /// `exp` has passed.
    Expired,
    /// Sealing is only defined for profile `v1`.
    UnsupportedProfile,
}

impl OpenError {
    /// The spec's reason string.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InvalidSecret(_) => "invalid_secret",
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::UnsupportedVersion => "unsupported_version",
            Self::Authentication => "authentication",
            Self::InvalidPayload(_) => "invalid_payload",
            Self::Expired => "expired",
            Self::UnsupportedProfile => "unsupported_profile",
        }
    }
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidSecret(why) => write!(f, "client secret is unusable: {why}"),
            Self::TooLarge => f.write_str("redirect data is larger than 16 KiB"),
            Self::Malformed => f.write_str("redirect data is not a token"),
            Self::UnsupportedVersion => f.write_str("redirect data has a version this payseal cannot open"),
            Self::Authentication => f.write_str("redirect data did not authenticate"),
            Self::InvalidPayload(why) => write!(f, "redirect data payload is invalid: {why}"),
            Self::Expired => f.write_str("redirect data has expired"),
            Self::UnsupportedProfile => f.write_str("only profile v1 can seal"),
        }
    }
}

impl core::error::Error for OpenError {}
