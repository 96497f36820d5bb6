//! Any text as a request target, and a configured prefix, through the
//! request gate's `CanonicalTarget::parse` and `prefix_covers`. No panic, and
//! (`gate.md`, "Canonical request target"):
//!
//! - acceptance agrees with a reference of the spec's rules written here;
//! - canonical form is a fixed point: it parses to itself (`is_as_sent`);
//! - a canonical path is `/`-rooted printable ASCII with no `\`, `;`, `#` or
//!   `?`, no empty segment but a trailing one, no `.` or `..` segment, and
//!   every `%XX` has uppercase hex and encodes a byte that is neither
//!   unreserved nor refused;
//! - it means the same bytes: percent-decoded, the canonical path and the
//!   path as sent are equal; the query is kept as sent;
//! - `prefix_covers` on a canonical path agrees with a whole-segment,
//!   ASCII case-insensitive comparison written here.
//!
//! Input: line the target, then the prefix (the rest).

#![no_main]

use libfuzzer_sys::fuzz_target;
use payseal_core::gate::{CanonicalTarget, MAX_TARGET_BYTES, prefix_covers};
use payseal_core_fuzz::{hex_digit, lines, percent_decode};

const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Encoded bytes a canonical path may not carry.
const fn is_refused_encoding(b: u8) -> bool {
    matches!(b, b'/' | b'\\' | b';' | b'%' | 0 | b'?' | b'#')
}

/// Whether `raw` has a canonical form, by the spec's rules.
fn reference_accepts(raw: &str) -> bool {
    if raw.len() > MAX_TARGET_BYTES || !raw.starts_with('/') || !raw.bytes().all(|b| b.is_ascii_graphic()) || raw.contains('#') {
        return false;
    }
    let path = raw.split_once('?').map_or(raw, |(p, _)| p);
    if path.contains(['\\', ';']) {
        return false;
    }
    // Each segment decoded on its own: an encoded `/` is refused anyway.
    path[1..].split('/').enumerate().all(|(i, segment)| {
        let last = i == path[1..].split('/').count() - 1;
        let Some(decoded) = percent_decode(segment.as_bytes()) else { return false };
        let encoded = segment.bytes().enumerate().filter(|&(_, b)| b == b'%').map(|(j, _)| {
            let pair = &segment.as_bytes()[j + 1..j + 3];
            hex_digit(pair[0]).unwrap_or(0) << 4 | hex_digit(pair[1]).unwrap_or(0)
        });
        !encoded.clone().any(is_refused_encoding)
            && decoded != b"."
            && decoded != b".."
            && (last || !decoded.is_empty())
    })
}

fn check_canonical_path(path: &str) {
    assert!(path.starts_with('/') && path.bytes().all(|b| b.is_ascii_graphic()), "{path:?}");
    assert!(!path.contains(['\\', ';', '#', '?']), "{path:?}");
    let segments: Vec<&str> = path[1..].split('/').collect();
    for (i, segment) in segments.iter().enumerate() {
        assert!(!segment.is_empty() || i == segments.len() - 1, "empty segment in {path:?}");
        assert!(*segment != "." && *segment != "..", "dot segment in {path:?}");
    }
    let bytes = path.as_bytes();
    for (i, _) in path.match_indices('%') {
        let pair = &bytes[i + 1..i + 3];
        assert!(pair.iter().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(b)), "{path:?}");
        let value = hex_digit(pair[0]).unwrap() << 4 | hex_digit(pair[1]).unwrap();
        assert!(!is_unreserved(value) && !is_refused_encoding(value), "{path:?} keeps %{value:02X}");
    }
}

/// Whether `prefix` covers `path` segment by segment, any ASCII case.
fn reference_covers(prefix: &str, path: &str) -> bool {
    let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
    let wanted: Vec<&str> = prefix.split('/').collect();
    let have: Vec<&str> = path.split('/').collect();
    wanted.len() <= have.len() && wanted.iter().zip(&have).all(|(w, h)| w.eq_ignore_ascii_case(h))
}

fuzz_target!(|data: &[u8]| {
    let Some(([raw], prefix)) = lines::<1>(data) else { return };
    let Ok(prefix) = core::str::from_utf8(prefix) else { return };
    let parsed = CanonicalTarget::parse(raw);
    assert_eq!(parsed.is_ok(), reference_accepts(raw), "{raw:?}: {parsed:?}");
    let Ok(target) = parsed else { return };

    let text = target.as_str();
    assert_eq!(CanonicalTarget::parse(text).as_ref(), Ok(&target), "not a fixed point: {raw:?} -> {text:?}");
    assert!(target.is_as_sent(text));
    let path = target.path();
    check_canonical_path(path);
    let (raw_path, raw_query) = raw.split_once('?').map_or((raw, None), |(p, q)| (p, Some(q)));
    assert_eq!(target.query(), raw_query);
    let whole = match raw_query {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    };
    assert_eq!(text, whole);
    assert_eq!(percent_decode(path.as_bytes()), percent_decode(raw_path.as_bytes()), "{raw:?} changed meaning");

    assert_eq!(prefix_covers(prefix, path), reference_covers(prefix, path), "prefix {prefix:?}, path {path:?}");
    assert_eq!(prefix_covers(prefix, text), reference_covers(prefix, path), "the query is not part of the path");
});
