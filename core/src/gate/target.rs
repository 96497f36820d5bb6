//! The canonical request target (`gate.md`, "Canonical request target").
//!
//! An upstream decodes `%72efund` to `refund`, ignores `;x=1`, resolves
//! `..` and may compare paths without case. A rule that matched the target
//! as sent would then guard one spelling while the upstream executes
//! another. So the target is brought to one form first, every rule matches
//! that form, and the gateway forwards exactly it.

use alloc::string::String;

use crate::refusal::Refusal;

/// Longest request target accepted, in bytes. Longer ones are refused before
/// any decoding, so the work per request is bounded.
pub const MAX_TARGET_BYTES: usize = 8 * 1024;

/// A request target in canonical form: a path (`/`-rooted, unreserved
/// characters decoded, other encodings with uppercase hex, no dot or empty
/// segment) and the query exactly as sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalTarget {
    text: String,
    path_len: usize,
}

impl CanonicalTarget {
    /// Brings `raw` (path and query, as on the request line) to canonical
    /// form.
    ///
    /// # Errors
    /// [`Refusal::PATH_NOT_CANONICAL`] for a target that has no canonical
    /// form: not `/`-rooted, a byte that is not printable ASCII, an encoded
    /// `/`, `\`, `;`, `%`, NUL, `?` or `#`, a raw `\` or `;`, a dot segment in any
    /// spelling, an empty segment, a fragment, or over [`MAX_TARGET_BYTES`].
    pub fn parse(raw: &str) -> Result<Self, Refusal> {
        const REFUSED: Refusal = Refusal::PATH_NOT_CANONICAL;
        if raw.len() > MAX_TARGET_BYTES || !raw.starts_with('/') {
            return Err(REFUSED);
        }
        // Printable ASCII only, query included: a space, a control byte or
        // a non-ASCII byte is read differently by different parsers.
        if !raw.bytes().all(|b| b.is_ascii_graphic()) || raw.contains('#') {
            return Err(REFUSED);
        }
        let (path, query) = match raw.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (raw, None),
        };
        let mut text = String::with_capacity(raw.len());
        let bytes = path.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            match b {
                b'%' => {
                    let value = bytes.get(i + 1..i + 3).and_then(hex_pair).ok_or(REFUSED)?;
                    if is_unreserved(value) {
                        text.push(char::from(value));
                    } else if matches!(value, b'/' | b'\\' | b';' | b'%' | 0 | b'?' | b'#') {
                        // `?` and `#` too (beyond `gate.md`): an upstream that
                        // decodes the path before splitting it would read
                        // `/refund%3Fx` as the route `/refund`, which no rule
                        // here matched.
                        return Err(REFUSED);
                    } else {
                        text.push('%');
                        text.push(char::from(HEX_UPPER[usize::from(value >> 4)]));
                        text.push(char::from(HEX_UPPER[usize::from(value & 0x0f)]));
                    }
                    i += 3;
                }
                // `\` is a separator on some servers; `;` starts path
                // parameters that some upstreams strip before routing.
                b'\\' | b';' => return Err(REFUSED),
                _ => {
                    text.push(char::from(b));
                    i += 1;
                }
            }
        }
        check_segments(&text)?;
        let path_len = text.len();
        if let Some(query) = query {
            text.push('?');
            text.push_str(query);
        }
        Ok(Self { text, path_len })
    }

    /// Path and query, as forwarded.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The path alone: what every rule matches.
    pub fn path(&self) -> &str {
        &self.text[..self.path_len]
    }

    /// The query as sent, without its `?`; `None` when there is none.
    pub fn query(&self) -> Option<&str> {
        self.text.get(self.path_len + 1..).filter(|_| self.text.len() > self.path_len)
    }

    /// Whether the target was already canonical as sent: what a runtime that
    /// cannot rewrite the target (the Envoy filter) requires.
    pub fn is_as_sent(&self, raw: &str) -> bool {
        self.text == raw
    }
}

impl core::fmt::Display for CanonicalTarget {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.text)
    }
}

/// No `.` or `..` segment, and no empty segment but a trailing one (`/a/`
/// is a common spelling of a collection; `//` is not).
fn check_segments(path: &str) -> Result<(), Refusal> {
    let mut segments = path[1..].split('/').peekable();
    while let Some(segment) = segments.next() {
        let last = segments.peek().is_none();
        if segment == "." || segment == ".." || (segment.is_empty() && !last) {
            return Err(Refusal::PATH_NOT_CANONICAL);
        }
    }
    Ok(())
}

const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

fn hex_pair(pair: &[u8]) -> Option<u8> {
    let digit = |b: u8| char::from(b).to_digit(16).and_then(|d| u8::try_from(d).ok());
    Some(digit(pair[0])? << 4 | digit(pair[1])?)
}

/// RFC 3986 unreserved: `A–Z a–z 0–9 - . _ ~`.
const fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

/// Whether a configured `prefix` covers the canonical `path`: whole
/// segments, ASCII case-insensitively. `/order/refund` (or `/order/refund/`)
/// covers `/order/refund` and `/order/refund/…`, never `/order/refundx`; `/`
/// covers everything. The one prefix matcher of every rule (routes, test
/// routes, scopes, token routes).
pub fn prefix_covers(prefix: &str, path: &str) -> bool {
    let prefix = prefix.strip_suffix('/').unwrap_or(prefix);
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let Some(head) = path.get(..prefix.len()) else { return false };
    head.eq_ignore_ascii_case(prefix) && (path.len() == prefix.len() || path.as_bytes()[prefix.len()] == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canonical(raw: &str) -> Option<String> {
        CanonicalTarget::parse(raw).ok().map(|t| String::from(t.as_str()))
    }

    #[test]
    fn unreserved_encodings_are_decoded_others_uppercased() {
        assert_eq!(canonical("/order/%72efund").as_deref(), Some("/order/refund"));
        assert_eq!(canonical("/%7e%2D%5f%41").as_deref(), Some("/~-_A"));
        assert_eq!(canonical("/a%20b%c3%a9").as_deref(), Some("/a%20b%C3%A9"));
        assert_eq!(canonical("/").as_deref(), Some("/"));
        assert_eq!(canonical("/a/b/").as_deref(), Some("/a/b/"), "a trailing slash stays");
    }

    #[test]
    fn the_query_is_kept_as_sent() {
        let t = CanonicalTarget::parse("/p%61y?x=%2f&y=%41;z").unwrap();
        assert_eq!((t.path(), t.query(), t.as_str()), ("/pay", Some("x=%2f&y=%41;z"), "/pay?x=%2f&y=%41;z"));
        assert_eq!(CanonicalTarget::parse("/pay?").unwrap().query(), Some(""));
        assert_eq!(CanonicalTarget::parse("/pay").unwrap().query(), None);
        assert!(CanonicalTarget::parse("/pay").unwrap().is_as_sent("/pay"));
        assert!(!CanonicalTarget::parse("/p%61y").unwrap().is_as_sent("/p%61y"));
    }

    #[test]
    fn targets_without_a_canonical_form_are_refused() {
        for raw in [
            "", "*", "pay", "http://h/pay", "/a//b", "//a", "/a/./b", "/a/../b", "/..", "/.", "/a/%2e%2e/b", "/a/%2E/b",
            "/a/.%2e/b", "/a%2fb", "/a%2Fb", "/a%5cb", "/a%3bb", "/a%25b", "/a%00", "/refund%3Fx=1", "/refund%23x", "/a\\b", "/a;x=1/b", "/x/..;/refund",
            "/a b", "/a\tb", "/a\u{e9}", "/a%", "/a%4", "/a%zz", "/a#frag", "/a?b#c", "/a?b c", "/a\u{7f}",
        ] {
            assert_eq!(CanonicalTarget::parse(raw), Err(Refusal::PATH_NOT_CANONICAL), "{raw:?}");
        }
        let long = alloc::format!("/{}", "a".repeat(MAX_TARGET_BYTES));
        assert!(CanonicalTarget::parse(&long).is_err());
    }

    #[test]
    fn every_encoded_letter_decodes_to_the_letter() {
        for b in (b'A'..=b'Z').chain(b'a'..=b'z') {
            let raw = alloc::format!("/x/%{b:02X}/%{b:02x}");
            let expected = alloc::format!("/x/{0}/{0}", char::from(b));
            assert_eq!(canonical(&raw), Some(expected));
        }
    }

    #[test]
    fn prefixes_cover_whole_segments_in_any_case() {
        assert!(prefix_covers("/order/refund", "/order/refund"));
        assert!(prefix_covers("/order/refund", "/order/refund/1"));
        assert!(prefix_covers("/order/refund/", "/order/refund"));
        assert!(prefix_covers("/order/refund", "/Order/REFUND?x=1"));
        assert!(!prefix_covers("/order/refund", "/order/refundx"));
        assert!(!prefix_covers("/external/v1/", "/external/v10/payment"));
        assert!(!prefix_covers("/order/refund", "/order"));
        assert!(prefix_covers("/", "/anything"));
        assert!(prefix_covers("", "/anything"));
        assert!(!prefix_covers("/pay", "/x?/pay"));
    }
}
