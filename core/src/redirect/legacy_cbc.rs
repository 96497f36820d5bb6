//! Profile `legacy-cbc`: `base64(iv(16) ‖ AES-256-CBC-PKCS7(plaintext))`, no AAD.
//!
//! Unauthenticated, so every failure after decoding is the one error
//! `authentication`, and the padding is checked without branching on secret
//! data (a padding oracle would decrypt tokens byte by byte).

use alloc::vec::Vec;

use aes::Aes256;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use subtle::{ConstantTimeEq, ConstantTimeGreater};

use super::OpenError;
use super::kdf::DerivedKey;

const BLOCK: usize = 16;
const BLOCK_U8: u8 = 16;

pub(super) fn open(key: &DerivedKey, token: &[u8]) -> Result<Vec<u8>, OpenError> {
    if token.len() < 2 * BLOCK || !token.len().is_multiple_of(BLOCK) {
        return Err(OpenError::Authentication);
    }
    let (iv, ciphertext) = token.split_at(BLOCK);
    let mut decryptor =
        cbc::Decryptor::<Aes256>::new_from_slices(&key.0, iv).map_err(|_| OpenError::Authentication)?;
    let mut plaintext = Vec::from(ciphertext);
    for chunk in plaintext.chunks_exact_mut(BLOCK) {
        let block: &mut aes::Block = chunk.try_into().map_err(|_| OpenError::Authentication)?;
        decryptor.decrypt_block(block);
    }
    let pad_len = constant_time_pkcs7(&plaintext).ok_or(OpenError::Authentication)?;
    plaintext.truncate(plaintext.len() - pad_len);
    Ok(plaintext)
}

/// The PKCS#7 padding length of the last block, checked in constant time.
fn constant_time_pkcs7(plaintext: &[u8]) -> Option<usize> {
    let last_block = &plaintext[plaintext.len() - BLOCK..];
    let pad = last_block[BLOCK - 1];
    // 1 <= pad <= 16
    let mut valid = !pad.ct_eq(&0) & !pad.ct_gt(&BLOCK_U8);
    // Positions count from the block's end: 16 for the first byte, 1 for the last.
    for (byte, position_from_end) in last_block.iter().zip((1..=BLOCK_U8).rev()) {
        // A byte is padding when it lies within the last `pad` bytes.
        let is_padding = !position_from_end.ct_gt(&pad);
        let matches = byte.ct_eq(&pad);
        valid &= !is_padding | matches;
    }
    bool::from(valid).then_some(usize::from(pad))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkcs7_rules() {
        let mut block = [0u8; 16];
        block[15] = 1;
        assert_eq!(constant_time_pkcs7(&block), Some(1));
        let full = [16u8; 16];
        assert_eq!(constant_time_pkcs7(&full), Some(16));
        let mut bad = [3u8; 16];
        bad[14] = 2;
        assert_eq!(constant_time_pkcs7(&bad), None);
        assert_eq!(constant_time_pkcs7(&[0u8; 16]), None);
        assert_eq!(constant_time_pkcs7(&[17u8; 16]), None);
    }
}
