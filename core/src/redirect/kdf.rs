use sha2::{Digest as _, Sha256};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::OpenError;
use crate::secret::{Secret, check_common};

/// How the 32-byte key is derived from the client secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Kdf {
    /// SHA-256 of the secret's UTF-8 bytes, as given (the default).
    #[default]
    Sha256,
    /// The secret is 64 hex characters naming the key bytes.
    Hex,
    /// The secret is standard base64 of exactly 32 bytes.
    Base64,
}

impl Kdf {
    /// Parses `sha256`, `hex` or `base64`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "sha256" => Some(Self::Sha256),
            "hex" => Some(Self::Hex),
            "base64" => Some(Self::Base64),
            _ => None,
        }
    }
}

/// The derived AES-256 key; wiped on drop.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub(super) struct DerivedKey(pub(super) [u8; 32]);

pub(super) fn derive(kdf: Kdf, secret: &Secret) -> Result<DerivedKey, OpenError> {
    check_common(secret).map_err(OpenError::InvalidSecret)?;
    let text = || secret.expose_text().ok_or(OpenError::InvalidSecret("client secret is not UTF-8"));
    match kdf {
        Kdf::Sha256 => Ok(DerivedKey(Sha256::digest(secret.expose()).into())),
        Kdf::Hex => crate::encoding::decode_hex_array::<32>(text()?)
            .map(DerivedKey)
            .ok_or(OpenError::InvalidSecret("client secret is not 64 hex characters")),
        Kdf::Base64 => {
            let bytes = zeroize::Zeroizing::new(
                crate::encoding::decode_standard(text()?)
                    .ok_or(OpenError::InvalidSecret("client secret is not standard base64"))?,
            );
            <[u8; 32]>::try_from(bytes.as_slice())
                .map(DerivedKey)
                .map_err(|_| OpenError::InvalidSecret("client secret is not base64 of 32 bytes"))
        }
    }
}
