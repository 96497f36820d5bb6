//! Encrypted redirect data: the `data` parameter on a hosted payment page's
//! return URL (`shared/spec/redirect.md`).
//!
//! Forgiving about transport (base64 dialects, padding, a `+` turned into a
//! space, one leftover layer of percent-encoding), strict about crypto: the
//! tag is checked before any plaintext is looked at, and a wrong key and a
//! tampered token give the same `authentication` error. Only a version byte
//! other than `0x01` is told apart (`unsupported_version`): it is public, and
//! the merchant needs to know to upgrade.

mod error;
mod kdf;
mod legacy_cbc;
mod payload;
mod transport;
mod v1;

use alloc::string::String;

pub use error::OpenError;
pub use kdf::Kdf;
pub use payload::{Amount, PaymentStatus, RedirectData};

pub use crate::environment::Environment;
use crate::secret::Secret;

/// Largest accepted `data` parameter, checked before any decoding.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// Which envelope a provider uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Profile {
    /// AES-256-GCM, environment bound in the AAD (the default).
    V1,
    /// AES-256-CBC with PKCS#7, unauthenticated; opt-in for legacy providers.
    LegacyCbc,
}

impl Profile {
    /// Parses `v1` or `legacy-cbc`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "v1" => Some(Self::V1),
            "legacy-cbc" => Some(Self::LegacyCbc),
            _ => None,
        }
    }
}

/// Opens `data` parameters for one environment with its client secret.
///
/// Built once (the key is derived at construction) and reused.
#[derive(Clone)]
pub struct Opener {
    environment: Environment,
    profile: Profile,
    key: kdf::DerivedKey,
    clock_skew: u64,
}

impl core::fmt::Debug for Opener {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Opener")
            .field("environment", &self.environment)
            .field("profile", &self.profile)
            .field("key", &"[redacted]")
            .field("clock_skew", &self.clock_skew)
            .finish()
    }
}

impl Opener {
    /// An opener for `environment`, deriving the key from `client_secret` with `kdf`.
    ///
    /// # Errors
    /// `invalid_secret` when the secret does not fit the key derivation.
    pub fn new(
        environment: Environment,
        profile: Profile,
        kdf: Kdf,
        client_secret: &Secret,
    ) -> Result<Self, OpenError> {
        Ok(Self { environment, profile, key: kdf::derive(kdf, client_secret)?, clock_skew: 0 })
    }

    /// Accepts tokens up to `seconds` after their `exp` (default 0).
    #[must_use]
    pub fn with_clock_skew(mut self, seconds: u64) -> Self {
        self.clock_skew = seconds;
        self
    }

    /// Decodes, decrypts and validates a `data` parameter at time `now`.
    ///
    /// # Errors
    /// `too_large`, `malformed`, `unsupported_version`, `authentication`,
    /// `invalid_payload`, `expired`, in that order, except that a `v1` token
    /// is judged on its version byte before its length: a token of a newer
    /// format is `unsupported_version` whatever its size.
    pub fn open(&self, data: &str, now: u64) -> Result<RedirectData, OpenError> {
        if data.len() > MAX_TOKEN_LEN {
            return Err(OpenError::TooLarge);
        }
        let token = transport::decode(data)?;
        let plaintext = match self.profile {
            Profile::V1 => v1::open(&self.key, self.environment, &token)?,
            Profile::LegacyCbc => legacy_cbc::open(&self.key, &token)?,
        };
        let data = match self.profile {
            Profile::V1 => RedirectData::parse(&plaintext),
            // Unauthenticated: a payload error could be an oracle, so it is one error.
            Profile::LegacyCbc => {
                RedirectData::parse(&plaintext).map_err(|_| OpenError::Authentication)
            }
        }?;
        if let Some(exp) = data.exp
            && now > exp.saturating_add(self.clock_skew)
        {
            return Err(OpenError::Expired);
        }
        Ok(data)
    }

    /// Seals a JSON payload as a `v1` token (the provider side, or a test
    /// double). The caller supplies a fresh random `nonce` for every call.
    ///
    /// # Errors
    /// `invalid_payload` when `payload` is not a JSON object with `sessionId`
    /// and a known `status`; `unsupported_profile` for a legacy-CBC opener.
    pub fn seal(&self, payload: &str, nonce: [u8; 12]) -> Result<String, OpenError> {
        if self.profile != Profile::V1 {
            return Err(OpenError::UnsupportedProfile);
        }
        // Refuse to seal what no opener would accept.
        let _ = RedirectData::parse(payload.as_bytes())?;
        Ok(v1::seal(&self.key, self.environment, payload.as_bytes(), nonce))
    }
}

#[cfg(test)]
mod tests;
