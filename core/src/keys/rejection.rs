use alloc::string::String;
use core::fmt;

/// Why a request's key was refused (`keys.md`, "Order of checks").
///
/// Each reason maps to the HTTP status and code the gateway answers with;
/// [`KeyRejection::body`] is the exact JSON body, so every host answers alike.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRejection {
    /// 1: no key header, or an empty one.
    MissingKey,
    /// 2: the key has no accepted format; the detail says what is wrong.
    MalformedKey(&'static str),
    /// 3: no record has the key's digest.
    UnknownKey,
    /// 4: the key was revoked.
    RevokedKey,
    /// 5: before `not_before`.
    NotYetValid,
    /// 5: at or after `expires_at`.
    ExpiredKey,
    /// 6: superseded and past its grace period.
    RotatedOut,
    /// 7: a live key on a test route or the reverse.
    EnvironmentMismatch,
    /// 8: the key's scopes do not cover the route.
    ScopeDenied,
    /// 9: the client address is outside the allow-list.
    IpNotAllowed,
    /// 10: the request names another merchant.
    WebcodeMismatch,
}

impl KeyRejection {
    /// The typed reason, as in the spec (`missing_key`, …).
    pub const fn reason(&self) -> &'static str {
        match self {
            Self::MissingKey => "missing_key",
            Self::MalformedKey(_) => "malformed_key",
            Self::UnknownKey => "unknown_key",
            Self::RevokedKey => "revoked_key",
            Self::NotYetValid => "not_yet_valid",
            Self::ExpiredKey => "expired_key",
            Self::RotatedOut => "rotated_out",
            Self::EnvironmentMismatch => "environment_mismatch",
            Self::ScopeDenied => "scope_denied",
            Self::IpNotAllowed => "ip_not_allowed",
            Self::WebcodeMismatch => "webcode_mismatch",
        }
    }

    /// HTTP status of the refusal.
    pub const fn status(&self) -> u16 {
        match self {
            Self::MissingKey
            | Self::MalformedKey(_)
            | Self::UnknownKey
            | Self::RevokedKey
            | Self::NotYetValid
            | Self::ExpiredKey
            | Self::RotatedOut => 401,
            Self::EnvironmentMismatch
            | Self::ScopeDenied
            | Self::IpNotAllowed
            | Self::WebcodeMismatch => 403,
        }
    }

    /// The provider's error code carried in the body.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::EnvironmentMismatch | Self::ScopeDenied => "SCOPE_DENIED",
            Self::IpNotAllowed => "IP_NOT_ALLOWED",
            Self::WebcodeMismatch => "WEBCODE_MISMATCH",
            _ => "AUTHENTICATION_FAILED",
        }
    }

    /// A message naming the failed check; never the key, secret or digest.
    pub const fn message(&self) -> &'static str {
        match self {
            Self::MissingKey => "The API key is missing.",
            Self::MalformedKey(why) => why,
            Self::UnknownKey => "The API key is not valid.",
            Self::RevokedKey => "The API key has been revoked.",
            Self::NotYetValid => "The API key is not valid yet.",
            Self::ExpiredKey => "The API key has expired.",
            Self::RotatedOut => "The API key was replaced by a newer key and its grace period has ended.",
            Self::EnvironmentMismatch => "The API key belongs to another environment than this route.",
            Self::ScopeDenied => "The API key's scopes do not cover this route.",
            Self::IpNotAllowed => "The client address is not allowed for this API key.",
            Self::WebcodeMismatch => "The API key is bound to another merchant.",
        }
    }

    /// The response body: `{"status":…,"code":"…","message":"…"}`.
    pub fn body(&self) -> String {
        crate::refusal::body(self.status(), self.code(), self.message())
    }
}

impl fmt::Display for KeyRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.reason(), self.message())
    }
}

impl core::error::Error for KeyRejection {}
