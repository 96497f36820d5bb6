//! What the fuzz targets share: the line-based input layout, the HTTP field
//! combination the verifiers apply, the "no forgery" check, and small
//! reference decoders written independently of the core, so a target can
//! compare the core's answer with a second opinion instead of only watching
//! for panics.

use payseal_core::Clock;

/// Splits `data` into `N` lines (each UTF-8, without its `\n`) and the rest
/// (the body, newlines included). Missing lines are empty; `None` when a line
/// is not UTF-8, since header values reach the core as `&str`.
pub fn lines<const N: usize>(data: &[u8]) -> Option<([&str; N], &[u8])> {
    let mut out = [""; N];
    let mut rest = data;
    for slot in &mut out {
        let (line, after) = match rest.iter().position(|&b| b == b'\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, &[][..]),
        };
        *slot = core::str::from_utf8(line).ok()?;
        rest = after;
    }
    Some((out, rest))
}

/// `(name, value)` pairs for a request: each line's `\r` separates repeated
/// fields of one name, so a line `a\rb` sends the field twice.
pub fn headers<'a>(fields: &[(&'static str, &'a str)]) -> Vec<(&'static str, &'a str)> {
    fields.iter().flat_map(|&(name, line)| line.split('\r').map(move |value| (name, value))).collect()
}

/// The value a recipient reads for `name`, combined as HTTP combines repeated
/// fields (each trimmed of spaces and tabs, joined by `", "`); `None` when
/// absent or empty. Written here from RFC 9110, not taken from the core.
pub fn combined(headers: &[(&str, &str)], name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim_matches([' ', '\t']))
        .collect();
    let joined = values.join(", ");
    (!values.is_empty() && !joined.is_empty()).then_some(joined)
}

/// A clock at `now` with the default tolerance (300 s).
pub const fn clock(now: u64) -> Clock {
    Clock::at(now)
}

/// The no-forgery invariant: the fuzzer cannot compute a MAC, so a verifier
/// with fixed secrets may accept only what the seeds' signers signed. When
/// `accepted`, the parts the MAC covered, as the verifier read them
/// (`covered`), must equal one signed message's parts. A mismatch means two
/// different messages share one MAC input: a forgery by re-spelling.
pub fn assert_only_signed(accepted: bool, covered: &[&[u8]], signed: &[&[&[u8]]]) {
    if accepted {
        assert!(
            signed.contains(&covered),
            "accepted a message no fixture signed: {:?}",
            covered.iter().map(|p| String::from_utf8_lossy(p)).collect::<Vec<_>>()
        );
    }
}

/// Value of one hex digit, either case.
pub const fn hex_digit(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes every `%XX` once; `None` for a `%` without two hex digits.
pub fn percent_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i] == b'%' {
            let high = hex_digit(*text.get(i + 1)?)?;
            let low = hex_digit(*text.get(i + 2)?)?;
            out.push(high << 4 | low);
            i += 3;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The base64url alphabet (RFC 4648 §5).
pub const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/// The standard base64 alphabet (RFC 4648 §4).
pub const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Unpadded base64url of `bytes`.
pub fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..=chunk.len() {
            out.push(char::from(BASE64URL[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

/// Bytes decoded from unpadded base64 text.
pub struct Decoded {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// Whether the unused low bits of the last character were zero: only
    /// then is the text the one spelling of `bytes`.
    pub canonical: bool,
}

/// Decodes unpadded base64 in `alphabet`; `None` for a character outside it
/// or a length of 4n+1.
pub fn base64_decode(text: &str, alphabet: &[u8; 64]) -> Option<Decoded> {
    if text.len() % 4 == 1 {
        return None;
    }
    let mut bytes = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in text.bytes() {
        let value = alphabet.iter().position(|&a| a == c)?;
        acc = acc << 6 | value as u32;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            bytes.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(Decoded { bytes, canonical: acc == 0 })
}
