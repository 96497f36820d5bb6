//! The framed call input: the call's JSON and its body side by side, so a
//! body travels as raw bytes instead of a JSON string.
//!
//! A body inside the JSON (`body` or `body_base64`) costs the plugin a JSON
//! unescape or a base64 decode, and the host an escape or an encode, on
//! every call; for a large request body that is most of the call. A frame
//! carries the body after the JSON, untouched:
//!
//! ```text
//! offset 0      4 bytes   MAGIC, 00 70 73 66 (b"\0psf")
//! offset 4      4 bytes   n: u32 big-endian, length of the JSON part
//! offset 8      n bytes   the call's JSON input object, without its body fields
//! offset 8+n    the rest  the body, raw bytes (may be empty)
//! ```
//!
//! JSON text never starts with NUL, so the first byte tells the two forms
//! apart: `0x00` is a frame, anything else (including an empty input) is
//! plain JSON, read exactly as before frames existed. A frame always
//! carries a body, possibly empty; a call without one is sent as plain
//! JSON. Where the body goes is each function's business
//! ([`crate::wire::body`] holds the rule "frame or JSON fields, not both").

use crate::error::PluginError;

/// The first four bytes of a frame. The leading NUL is what no JSON text
/// starts with; `psf` ("payseal frame") catches a stray binary input.
pub const MAGIC: [u8; 4] = *b"\0psf";

/// Bytes before the JSON part: [`MAGIC`] and the JSON length.
pub const HEADER_LEN: usize = 8;

/// A call input taken apart: the JSON to parse and, for a frame, the body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallInput<'a> {
    /// The JSON input object: the whole input when it is plain JSON.
    pub json: &'a [u8],
    /// The framed body, borrowed from the input; `None` for plain JSON.
    pub body: Option<&'a [u8]>,
}

/// Splits a call input into its JSON part and its framed body. Plain JSON
/// (any input not starting with `0x00`) comes back whole, with no body.
///
/// # Errors
/// An input starting with `0x00` that is shorter than the header, has
/// another magic, or whose JSON length runs past its end: an
/// `invalid_input` error at field `frame`.
pub fn split(input: &[u8]) -> Result<CallInput<'_>, PluginError> {
    if input.first() != Some(&0) {
        return Ok(CallInput { json: input, body: None });
    }
    let Some((header, rest)) = input.split_first_chunk::<HEADER_LEN>() else {
        return Err(PluginError::input("frame", "shorter than the 8-byte frame header"));
    };
    let (magic, length) = header.split_at(MAGIC.len());
    if magic != MAGIC {
        return Err(PluginError::input("frame", "does not start with the frame magic 00 70 73 66"));
    }
    let length = <[u8; 4]>::try_from(length).map(u32::from_be_bytes).ok().and_then(|n| usize::try_from(n).ok());
    let Some((json, body)) = length.and_then(|n| rest.split_at_checked(n)) else {
        return Err(PluginError::input("frame", "the JSON length runs past the end of the input"));
    };
    Ok(CallInput { json, body: Some(body) })
}

/// The frame of `json` (the input object without its body fields) and
/// `body`, for a host that already holds the JSON as bytes.
///
/// # Panics
/// `json` longer than `u32::MAX` bytes, which no frame can carry (and no
/// plugin would accept: `limits.max_input_bytes` is far below).
pub fn encode(json: &[u8], body: &[u8]) -> Vec<u8> {
    let framed: Result<Vec<u8>, core::convert::Infallible> = encode_with(body, |buffer| {
        buffer.reserve(json.len() + body.len());
        buffer.extend_from_slice(json);
        Ok(())
    });
    let Ok(framed) = framed;
    framed
}

/// The frame of the JSON `write_json` appends to the buffer it is given and
/// `body`: the header is reserved first and its length patched afterwards,
/// so a host serializing with serde (`serde_json::to_writer`) writes its
/// JSON straight into the frame, with no copy of it.
///
/// # Errors
/// The error of `write_json`, as it returned it.
///
/// # Panics
/// The JSON written is longer than `u32::MAX` bytes, which no frame can
/// carry.
pub fn encode_with<E>(body: &[u8], write_json: impl FnOnce(&mut Vec<u8>) -> Result<(), E>) -> Result<Vec<u8>, E> {
    let mut frame = Vec::with_capacity(HEADER_LEN + 256 + body.len());
    frame.extend_from_slice(&MAGIC);
    frame.extend_from_slice(&[0; 4]);
    write_json(&mut frame)?;
    let json_len = frame.len().saturating_sub(HEADER_LEN);
    let length = u32::try_from(json_len);
    assert!(length.is_ok(), "a frame's JSON part is at most u32::MAX bytes");
    let length = length.unwrap_or(u32::MAX).to_be_bytes();
    if let Some(slot) = frame.get_mut(MAGIC.len()..HEADER_LEN) {
        slot.copy_from_slice(&length);
    }
    frame.extend_from_slice(body);
    Ok(frame)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame_error(message: &str) -> PluginError {
        PluginError::input("frame", message)
    }

    #[test]
    fn round_trip() {
        let framed = encode(br#"{"now":1}"#, b"\x00raw \"body\"\xff");
        assert_eq!(&framed[..8], b"\0psf\0\0\0\x09");
        let call = split(&framed).unwrap();
        assert_eq!(call.json, br#"{"now":1}"#);
        assert_eq!(call.body, Some(&b"\x00raw \"body\"\xff"[..]));
    }

    #[test]
    fn encode_with_writes_the_json_in_place() {
        let framed = encode_with(b"body", |buffer| serde_json::to_writer(buffer, &serde_json::json!({"a": 1}))).unwrap();
        assert_eq!(framed, encode(br#"{"a":1}"#, b"body"));
        let failed = encode_with(b"", |_| Err("no json"));
        assert_eq!(failed, Err("no json"));
    }

    #[test]
    fn an_empty_body_and_an_empty_json() {
        let framed = encode(b"{}", b"");
        assert_eq!(framed, b"\0psf\0\0\0\x02{}");
        assert_eq!(split(&framed).unwrap(), CallInput { json: b"{}", body: Some(b"") });
        assert_eq!(split(b"\0psf\0\0\0\0").unwrap(), CallInput { json: b"", body: Some(b"") });
    }

    #[test]
    fn plain_json_is_untouched() {
        for input in [&br#"{"now":1,"body":"x"}"#[..], b" {}", b"", b"\x01psf"] {
            assert_eq!(split(input).unwrap(), CallInput { json: input, body: None });
        }
    }

    #[test]
    fn a_bad_frame_is_an_input_error() {
        let short = frame_error("shorter than the 8-byte frame header");
        assert_eq!(split(b"\0").unwrap_err(), short);
        assert_eq!(split(b"\0psf\0\0\0").unwrap_err(), short);
        let magic = frame_error("does not start with the frame magic 00 70 73 66");
        assert_eq!(split(b"\0psg\0\0\0\0{}").unwrap_err(), magic);
        assert_eq!(split(b"\0\0\0\0\0\0\0\0").unwrap_err(), magic);
        let past = frame_error("the JSON length runs past the end of the input");
        assert_eq!(split(b"\0psf\0\0\0\x03{}").unwrap_err(), past);
        assert_eq!(split(b"\0psf\xff\xff\xff\xff{}").unwrap_err(), past);
        assert_eq!(split(b"\0psf\0\0\0\x02{}").unwrap(), CallInput { json: b"{}", body: Some(b"") });
    }
}
