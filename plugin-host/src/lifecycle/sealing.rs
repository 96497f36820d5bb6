//! Secrets the gateway must use again later (client secrets, shared
//! secrets of `base64-secret` keys) are stored sealed: AES-256-GCM under a
//! key-encryption key from the environment, a random 96-bit nonce per
//! seal, and the store entry's name as associated data, so a sealed value
//! copied under another name does not open.

use std::fmt;

use aes_gcm::aead::{Aead as _, KeyInit as _, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::LifecycleError;

/// The key-encryption key. It never leaves this type: no `Debug` of its
/// bytes, wiped on drop.
pub struct StoreKey(Zeroizing<[u8; 32]>);

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey(..)")
    }
}

/// Why a store key cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreKeyError {
    /// Not 64 hex digits nor base64 of 32 bytes.
    Malformed,
}

impl StoreKey {
    /// Parses 64 hex digits or the standard base64 of 32 bytes (surrounding
    /// whitespace ignored).
    ///
    /// # Errors
    /// [`StoreKeyError::Malformed`].
    pub fn parse(text: &str) -> Result<Self, StoreKeyError> {
        let text = text.trim();
        let mut key = Zeroizing::new([0u8; 32]);
        if text.len() == 64 && hex::decode_to_slice(text, key.as_mut_slice()).is_ok() {
            return Ok(Self(key));
        }
        let decoded = Zeroizing::new(STANDARD.decode(text).map_err(|_| StoreKeyError::Malformed)?);
        if decoded.len() != 32 {
            return Err(StoreKeyError::Malformed);
        }
        key.copy_from_slice(&decoded);
        Ok(Self(key))
    }

    /// Seals `secret` for the store entry `name`.
    ///
    /// # Errors
    /// The system RNG failed.
    pub fn seal(&self, name: &str, secret: &[u8]) -> Result<Vec<u8>, LifecycleError> {
        let mut nonce = [0u8; 12];
        getrandom::fill(&mut nonce).map_err(|_| LifecycleError::Random)?;
        let cipher = Aes256Gcm::new(&(*self.0).into());
        let ciphertext = cipher
            .encrypt(&Nonce::from(nonce), Payload { msg: secret, aad: name.as_bytes() })
            .map_err(|_| LifecycleError::Sealing)?;
        let sealed = Sealed { v: 1, nonce: STANDARD.encode(nonce), ciphertext: STANDARD.encode(ciphertext) };
        serde_json::to_vec(&sealed).map_err(|_| LifecycleError::Sealing)
    }

    /// Opens what [`StoreKey::seal`] made for `name`.
    ///
    /// # Errors
    /// [`LifecycleError::Sealing`] for any failure (wrong key, wrong name,
    /// tampered bytes): one opaque error, as AEADs have.
    pub fn open(&self, name: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, LifecycleError> {
        let sealed: Sealed = serde_json::from_slice(sealed).map_err(|_| LifecycleError::Sealing)?;
        let nonce: [u8; 12] = STANDARD
            .decode(&sealed.nonce)
            .ok()
            .and_then(|n| n.try_into().ok())
            .filter(|_| sealed.v == 1)
            .ok_or(LifecycleError::Sealing)?;
        let ciphertext = STANDARD.decode(&sealed.ciphertext).map_err(|_| LifecycleError::Sealing)?;
        let cipher = Aes256Gcm::new(&(*self.0).into());
        cipher
            .decrypt(&Nonce::from(nonce), Payload { msg: &ciphertext, aad: name.as_bytes() })
            .map(Zeroizing::new)
            .map_err(|_| LifecycleError::Sealing)
    }
}

/// The stored form: version, nonce and ciphertext (with its tag), base64.
#[derive(Serialize, Deserialize)]
struct Sealed {
    v: u8,
    nonce: String,
    ciphertext: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open() {
        let key = StoreKey::parse(&"11".repeat(32)).unwrap();
        let sealed = key.seal("lifecycle/client-secret/live", b"the secret").unwrap();
        assert!(!String::from_utf8_lossy(&sealed).contains("the secret"));
        assert_eq!(key.open("lifecycle/client-secret/live", &sealed).unwrap().as_slice(), b"the secret");
        assert_eq!(key.open("lifecycle/client-secret/test", &sealed).unwrap_err(), LifecycleError::Sealing);
        let other = StoreKey::parse(&STANDARD.encode([0x22; 32])).unwrap();
        assert_eq!(other.open("lifecycle/client-secret/live", &sealed).unwrap_err(), LifecycleError::Sealing);
        assert_ne!(key.seal("n", b"x").unwrap(), key.seal("n", b"x").unwrap(), "a fresh nonce per seal");
        assert_eq!(format!("{key:?}"), "StoreKey(..)");
    }

    #[test]
    fn store_key_forms() {
        assert!(StoreKey::parse(&"ab".repeat(32)).is_ok());
        assert!(StoreKey::parse(&format!(" {} \n", STANDARD.encode([7; 32]))).is_ok());
        for bad in ["", "ab", &"zz".repeat(32), &STANDARD.encode([7; 31])] {
            assert_eq!(StoreKey::parse(bad).unwrap_err(), StoreKeyError::Malformed);
        }
    }
}
