//! Undoing what URLs and forms do to a base64 token, once.

use alloc::string::String;
use alloc::vec::Vec;

use base64::Engine as _;

use super::OpenError;

/// Decodes a token in any of the dialects seen on return URLs: base64url or
/// standard base64, padded or not, with `+` turned into a space by form
/// decoding, or still percent-encoded once (`%2B`, `%2F`, `%3D`).
pub(super) fn decode(data: &str) -> Result<Vec<u8>, OpenError> {
    let unescaped = if data.contains('%') { percent_decode(data)? } else { String::from(data) };
    let mut normalized = String::with_capacity(unescaped.len());
    for c in unescaped.trim_end_matches('=').chars() {
        normalized.push(match c {
            ' ' | '-' => '+',
            '_' => '/',
            'A'..='Z' | 'a'..='z' | '0'..='9' | '+' | '/' => c,
            _ => return Err(OpenError::Malformed),
        });
    }
    crate::encoding::STANDARD_NO_PAD.decode(normalized).map_err(|_| OpenError::Malformed)
}

fn percent_decode(data: &str) -> Result<String, OpenError> {
    let bytes = data.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or(OpenError::Malformed)?;
            let mut byte = [0u8; 1];
            hex::decode_to_slice(hex, &mut byte).map_err(|_| OpenError::Malformed)?;
            out.push(byte[0]);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| OpenError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects_agree() {
        let want = alloc::vec![0xfb, 0xff, 0xbf, 0x01];
        for input in ["+/+/AQ", "-_-_AQ", "+/+/AQ==", " /+/AQ", "%2B%2F%2B%2FAQ%3D%3D", "-_-_AQ=="] {
            assert_eq!(decode(input).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn refuses_garbage() {
        for input in ["!!!not*base64!!!", "%zz", "%2", "AQ=A", "A"] {
            assert_eq!(decode(input), Err(OpenError::Malformed), "{input}");
        }
    }
}
