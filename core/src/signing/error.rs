use core::fmt;

/// Why a signature did not verify (or could not be produced).
///
/// Variants are listed in the order the checks run; the first failing check
/// decides. [`SignatureError::code`] is the stable reason string of the spec.
/// No variant carries request data or key material: the `&'static str`
/// details are fixed descriptions written in this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SignatureError {
    /// A required header or parameter is absent or empty.
    MissingSignature(&'static str),
    /// A header that is present cannot be parsed.
    MalformedHeader(&'static str),
    /// No presented signature names a configured key (RFC 9421 `keyid`).
    UnknownKey,
    /// A configured secret is unusable for the scheme.
    InvalidSecret(&'static str),
    /// The signature does not cover a component the policy requires.
    InsufficientCoverage,
    /// The signature's time is outside the tolerance, or it has expired.
    StaleTimestamp,
    /// A body digest header does not match the body.
    BadDigest,
    /// No presented signature matches.
    BadSignature,
}

impl SignatureError {
    /// The spec's reason string, stable across releases and runtimes.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::MissingSignature(_) => "missing_signature",
            Self::MalformedHeader(_) => "malformed_header",
            Self::UnknownKey => "unknown_key",
            Self::InvalidSecret(_) => "invalid_secret",
            Self::InsufficientCoverage => "insufficient_coverage",
            Self::StaleTimestamp => "stale_timestamp",
            Self::BadDigest => "bad_digest",
            Self::BadSignature => "bad_signature",
        }
    }
}

impl fmt::Display for SignatureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingSignature(what) => write!(f, "missing signature: {what}"),
            Self::MalformedHeader(what) => write!(f, "malformed header: {what}"),
            Self::UnknownKey => f.write_str("no signature names a configured key id"),
            Self::InvalidSecret(what) => write!(f, "configured secret is unusable: {what}"),
            Self::InsufficientCoverage => {
                f.write_str("signature does not cover every required component")
            }
            Self::StaleTimestamp => f.write_str("signature timestamp is outside the tolerance"),
            Self::BadDigest => f.write_str("body digest does not match the body"),
            Self::BadSignature => f.write_str("no signature matches"),
        }
    }
}

impl core::error::Error for SignatureError {}
