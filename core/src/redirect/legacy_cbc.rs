//! Profile `legacy-cbc`: `base64(iv(16) ‖ AES-256-CBC-PKCS7(plaintext))`, no AAD.
//!
//! Unauthenticated, so every failure after decoding is the one error
//! `authentication`, and the padding is checked without branching on secret
//! data (a padding oracle would decrypt tokens byte by byte).
//!
//! Checking the padding in constant time is not enough on its own: if a bad
//! padding returned at once while a good one went on to UTF-8 validation and
//! JSON parsing, the time taken would still tell them apart. So after
//! decryption `open` always does the same steps, whatever the padding: it
//! computes the padding's validity as a `Choice`, picks the length to parse
//! without branching, validates and parses that many decrypted bytes, and only
//! then combines both outcomes into one answer. The remaining differences come
//! from the plaintext itself (a JSON parser stops at the first error), which is
//! why the profile stays opt-in.

use alloc::vec::Vec;

use aes::Aes256;
use cbc::cipher::{BlockModeDecrypt, KeyIvInit};
use subtle::{Choice, ConditionallySelectable, ConstantTimeEq, ConstantTimeGreater};

use super::OpenError;
use super::kdf::DerivedKey;
use super::payload::RedirectData;

const BLOCK: usize = 16;
const BLOCK_U8: u8 = 16;

pub(super) fn open(key: &DerivedKey, token: &[u8]) -> Result<Vec<u8>, OpenError> {
    // The token's length is public: refusing it early leaks nothing.
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
    let (padding_ok, pad_len) = constant_time_pkcs7(&plaintext);
    // No early return on bad padding: the payload checks run either way, over
    // the decrypted bytes less `pad_len` (one byte when the padding is bad), and
    // their verdict is combined with the padding's only at the end, with `&`
    // rather than a short-circuiting `&&`. `RedirectData::parse` is UTF-8
    // validation plus the JSON parse, the same steps `Opener::open` runs next.
    let unpadded_len = plaintext.len() - pad_len;
    let payload_ok = Choice::from(u8::from(RedirectData::parse(&plaintext[..unpadded_len]).is_ok()));
    if bool::from(padding_ok & payload_ok) {
        plaintext.truncate(unpadded_len);
        Ok(plaintext)
    } else {
        Err(OpenError::Authentication)
    }
}

/// The PKCS#7 padding of the last block, checked in constant time: whether it
/// is valid, and the number of bytes to strip (the padding length when valid,
/// 1 otherwise, so the caller can go on without branching).
fn constant_time_pkcs7(plaintext: &[u8]) -> (Choice, usize) {
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
    (valid, usize::from(u8::conditional_select(&1, &pad, valid)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use cbc::cipher::BlockModeEncrypt;

    fn checked(block: &[u8]) -> Option<usize> {
        let (valid, len) = constant_time_pkcs7(block);
        if bool::from(valid) {
            Some(len)
        } else {
            assert_eq!(len, 1, "an invalid padding strips one byte");
            None
        }
    }

    #[test]
    fn pkcs7_rules() {
        let mut block = [0u8; 16];
        block[15] = 1;
        assert_eq!(checked(&block), Some(1));
        let full = [16u8; 16];
        assert_eq!(checked(&full), Some(16));
        let mut bad = [3u8; 16];
        bad[14] = 2;
        assert_eq!(checked(&bad), None);
        assert_eq!(checked(&[0u8; 16]), None);
        assert_eq!(checked(&[17u8; 16]), None);
        assert_eq!(checked(&[255u8; 16]), None);
    }

    fn seal(key: &DerivedKey, iv: [u8; 16], padded: &[u8]) -> Vec<u8> {
        let mut encryptor = cbc::Encryptor::<Aes256>::new_from_slices(&key.0, &iv).unwrap();
        let mut out = Vec::from(iv);
        let mut body = Vec::from(padded);
        for chunk in body.chunks_exact_mut(BLOCK) {
            encryptor.encrypt_block(chunk.try_into().unwrap());
        }
        out.extend_from_slice(&body);
        out
    }

    fn pkcs7(plaintext: &[u8]) -> Vec<u8> {
        let pad = BLOCK - plaintext.len() % BLOCK;
        let mut v = Vec::from(plaintext);
        v.resize(plaintext.len() + pad, u8::try_from(pad).unwrap());
        v
    }

    #[test]
    fn valid_tokens_open_and_every_failure_is_authentication() {
        let key = DerivedKey([7; 32]);
        let payload = br#"{"sessionId":"S-1","status":"completed"}"#;
        assert_eq!(open(&key, &seal(&key, [1; 16], &pkcs7(payload))).unwrap(), payload);
        // A full block of padding.
        let sixteen = br#"{"sessionId":"S-2","status":"failed","p":"0123"}"#;
        assert_eq!(sixteen.len() % BLOCK, 0);
        assert_eq!(open(&key, &seal(&key, [2; 16], &pkcs7(sixteen))).unwrap(), sixteen);
        // Bad padding.
        let mut bad_pad = pkcs7(payload);
        *bad_pad.last_mut().unwrap() = 0;
        assert_eq!(open(&key, &seal(&key, [3; 16], &bad_pad)), Err(OpenError::Authentication));
        // Good padding, not JSON; good padding, not UTF-8; good JSON, not a payload.
        for wrong in [&b"not json at all"[..], &[0xff, 0xfe, b'{'][..], &br#"{"sessionId":"S"}"#[..]] {
            assert_eq!(open(&key, &seal(&key, [4; 16], &pkcs7(wrong))), Err(OpenError::Authentication));
        }
        // Wrong length.
        assert_eq!(open(&key, &[0; 31]), Err(OpenError::Authentication));
        assert_eq!(open(&key, &[0; 40]), Err(OpenError::Authentication));
    }
}
