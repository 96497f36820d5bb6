//! Profile `v1`: `base64url(0x01 ‖ nonce(12) ‖ AES-256-GCM(ct ‖ tag(16)))`.

use alloc::string::String;
use alloc::vec::Vec;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use base64::Engine as _;

use super::kdf::DerivedKey;
use super::{Environment, OpenError};

const VERSION: u8 = 0x01;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;

fn aad(environment: Environment) -> Vec<u8> {
    let mut aad = Vec::from(&b"payseal-redirect-v1|"[..]);
    aad.extend_from_slice(environment.as_str().as_bytes());
    aad
}

pub(super) fn open(key: &DerivedKey, environment: Environment, token: &[u8]) -> Result<Vec<u8>, OpenError> {
    let Some((&version, rest)) = token.split_first() else {
        return Err(OpenError::Malformed);
    };
    // The version byte is public and not covered by the tag: another value
    // is a format this code does not know (whatever its length), not
    // tampering. Every other changed bit fails the tag: `authentication`.
    if version != VERSION {
        return Err(OpenError::UnsupportedVersion);
    }
    if rest.len() < NONCE_LEN + TAG_LEN {
        return Err(OpenError::Malformed);
    }
    let (nonce, rest) = rest.split_at(NONCE_LEN);
    let (ciphertext, tag) = rest.split_at(rest.len() - TAG_LEN);
    let cipher = Aes256Gcm::new(&key.0.into());
    let nonce = Nonce::try_from(nonce).map_err(|_| OpenError::Malformed)?;
    let tag = Tag::try_from(tag).map_err(|_| OpenError::Malformed)?;
    let mut plaintext = Vec::from(ciphertext);
    // The tag is verified before the buffer is decrypted.
    cipher
        .decrypt_inout_detached(&nonce, &aad(environment), plaintext.as_mut_slice().into(), &tag)
        .map_err(|_| OpenError::Authentication)?;
    Ok(plaintext)
}

pub(super) fn seal(key: &DerivedKey, environment: Environment, plaintext: &[u8], nonce: [u8; 12]) -> String {
    let cipher = Aes256Gcm::new(&key.0.into());
    let mut token = Vec::with_capacity(1 + NONCE_LEN + plaintext.len() + TAG_LEN);
    token.push(VERSION);
    token.extend_from_slice(&nonce);
    let start = token.len();
    token.extend_from_slice(plaintext);
    // Only a plaintext over 64 GiB fails; `seal`'s callers pass a parsed payload.
    let Ok(tag) = cipher.encrypt_inout_detached(&nonce.into(), &aad(environment), token[start..].as_mut().into())
    else {
        return String::new();
    };
    token.extend_from_slice(&tag);
    crate::encoding::URL_SAFE_NO_PAD.encode(token)
}
