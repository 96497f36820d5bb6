//! A request's identity for logs and for the services around the gateway:
//! `X-Request-Id` (the client's when it is a sane token, else a new one)
//! and the W3C Trace Context `traceparent` (the client's trace continued
//! with the gateway's own span id when the field is valid, else a new
//! trace). Both are forwarded upstream and returned to the client, and the
//! request's tracing span carries them, so every log line of the request
//! names them.
//!
//! A leaf: imports nothing from the crate.

use hyper::HeaderMap;
use hyper::header::{HeaderName, HeaderValue};

/// `x-request-id`.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
/// `traceparent` (W3C Trace Context).
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// Longest request id kept from a client.
const MAX_REQUEST_ID: usize = 128;

/// The ids of one request (no secret: all of it is sent on).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestTrace {
    /// The request id (the client's, or 32 new hex digits).
    pub request_id: String,
    /// The trace id, 32 lowercase hex digits.
    pub trace_id: String,
    /// The gateway's span id in the trace, 16 lowercase hex digits.
    pub span_id: String,
    /// The parent span id the client sent, when it sent a valid `traceparent`.
    pub parent_id: Option<String>,
    /// The trace flags, 2 lowercase hex digits.
    pub flags: String,
}

/// A client's `traceparent`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    /// 32 lowercase hex digits, not all zero.
    pub trace_id: String,
    /// 16 lowercase hex digits, not all zero.
    pub parent_id: String,
    /// 2 lowercase hex digits.
    pub flags: String,
}

fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len && text.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Parses a `traceparent` as W3C Trace Context level 1 says a receiver
/// must: `version-traceid-parentid-flags`, lowercase hex, version `ff`
/// invalid, all-zero ids invalid; a version above `00` may carry more
/// fields after a `-`, version `00` none.
pub fn parse_traceparent(value: &str) -> Option<TraceParent> {
    let mut parts = value.splitn(5, '-');
    let (version, trace_id, parent_id, flags) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    let rest = parts.next();
    if !is_lower_hex(version, 2) || version == "ff" || (version == "00" && rest.is_some()) {
        return None;
    }
    if !is_lower_hex(trace_id, 32) || !is_lower_hex(parent_id, 16) || !is_lower_hex(flags, 2) {
        return None;
    }
    if trace_id.bytes().all(|b| b == b'0') || parent_id.bytes().all(|b| b == b'0') {
        return None;
    }
    Some(TraceParent { trace_id: trace_id.to_owned(), parent_id: parent_id.to_owned(), flags: flags.to_owned() })
}

/// Whether a client's request id is kept: 1 to 128 characters of
/// `A-Z a-z 0-9 - _ . : / + =` (a UUID, a ULID, a base64 token).
pub fn is_valid_request_id(value: &str) -> bool {
    !value.is_empty() && value.len() <= MAX_REQUEST_ID && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:/+=".contains(&b))
}

/// `N` random bytes as lowercase hex, from this thread's [`IdSource`].
fn random_hex<const N: usize>() -> String {
    let mut bytes = [0u8; N];
    ID_SOURCE.with(|source| source.borrow_mut().fill(&mut bytes));
    hex::encode(bytes)
}

thread_local! {
    static ID_SOURCE: std::cell::RefCell<IdSource> = std::cell::RefCell::new(IdSource::seeded());
}

/// Where new ids come from: xoshiro256** seeded once per thread from the
/// OS. A request needs three ids; asking the OS for each was three
/// `getrandom` syscalls per request, on the hot path, for values that are
/// for correlation only (unique and unguessable enough, never secrets:
/// every one is sent on in clear).
struct IdSource([u64; 4]);

impl IdSource {
    fn seeded() -> Self {
        let mut seed = [0u8; 32];
        if getrandom::fill(&mut seed).is_err() || seed.iter().all(|b| *b == 0) {
            // A failing OS generator: the time and the thread, never all zero.
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(1, |d| d.as_nanos());
            let thread = std::hash::BuildHasher::hash_one(&std::collections::hash_map::RandomState::new(), std::thread::current().id());
            seed[..16].copy_from_slice(&nanos.to_le_bytes());
            seed[16..24].copy_from_slice(&thread.to_le_bytes());
            seed[24] |= 1;
        }
        let word = |i: usize| u64::from_le_bytes(seed[i * 8..i * 8 + 8].try_into().unwrap_or([1; 8]));
        Self([word(0), word(1), word(2), word(3)])
    }

    fn next(&mut self) -> u64 {
        let s = &mut self.0;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Fills `bytes`; never all zero (W3C: an all-zero id is invalid).
    fn fill(&mut self, bytes: &mut [u8]) {
        loop {
            for chunk in bytes.chunks_mut(8) {
                let word = self.next().to_le_bytes();
                chunk.copy_from_slice(&word[..chunk.len()]);
            }
            if bytes.iter().any(|b| *b != 0) {
                return;
            }
        }
    }
}

impl RequestTrace {
    /// The ids of a request with these headers: a single valid
    /// `x-request-id` is kept, and a single valid `traceparent` continued;
    /// anything else is replaced by new ids.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let single = |name: &HeaderName| {
            let mut values = headers.get_all(name).iter();
            match (values.next(), values.next()) {
                (Some(value), None) => value.to_str().ok(),
                _ => None,
            }
        };
        let request_id = single(&REQUEST_ID).filter(|v| is_valid_request_id(v)).map_or_else(random_hex::<16>, str::to_owned);
        let span_id = random_hex::<8>();
        match single(&TRACEPARENT).and_then(parse_traceparent) {
            Some(parent) => Self { request_id, trace_id: parent.trace_id, span_id, parent_id: Some(parent.parent_id), flags: parent.flags },
            None => Self { request_id, trace_id: random_hex::<16>(), span_id, parent_id: None, flags: "00".into() },
        }
    }

    /// The `traceparent` the gateway sends on: the trace, with its own span
    /// as the parent of the upstream's.
    pub fn traceparent(&self) -> String {
        format!("00-{}-{}-{}", self.trace_id, self.span_id, self.flags)
    }

    /// Sets both fields in `headers` (replacing what the client sent).
    pub fn write(&self, headers: &mut HeaderMap) {
        if let Ok(value) = HeaderValue::from_str(&self.request_id) {
            headers.insert(REQUEST_ID, value);
        }
        if let Ok(value) = HeaderValue::from_str(&self.traceparent()) {
            headers.insert(TRACEPARENT, value);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn traceparent_as_the_spec_parses_it() {
        let parsed = parse_traceparent(VALID).unwrap();
        assert_eq!((parsed.trace_id.as_str(), parsed.parent_id.as_str(), parsed.flags.as_str()), ("4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "01"));
        assert!(parse_traceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future").is_some(), "a later version may add fields");
        for invalid in [
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "",
        ] {
            assert_eq!(parse_traceparent(invalid), None, "{invalid}");
        }
    }

    #[test]
    fn ids_are_kept_or_made() {
        let mut headers = HeaderMap::new();
        headers.insert(REQUEST_ID, HeaderValue::from_static("req-123"));
        headers.insert(TRACEPARENT, HeaderValue::from_static(VALID));
        let trace = RequestTrace::from_headers(&headers);
        assert_eq!(trace.request_id, "req-123");
        assert_eq!(trace.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(trace.parent_id.as_deref(), Some("00f067aa0ba902b7"));
        assert!(trace.traceparent().starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && trace.traceparent().ends_with("-01"));
        assert_ne!(trace.span_id, "00f067aa0ba902b7", "the gateway's own span");
        assert!(parse_traceparent(&trace.traceparent()).is_some());

        let mut bad = HeaderMap::new();
        bad.insert(REQUEST_ID, HeaderValue::from_static("has space"));
        bad.insert(TRACEPARENT, HeaderValue::from_static("00-zz-00f067aa0ba902b7-01"));
        let made = RequestTrace::from_headers(&bad);
        assert!(is_lower_hex(&made.request_id, 32) && made.parent_id.is_none() && is_lower_hex(&made.trace_id, 32));
        assert_ne!(made.trace_id, RequestTrace::from_headers(&bad).trace_id, "new ids each time");
        assert!(!is_valid_request_id(&"a".repeat(129)) && is_valid_request_id(&"a".repeat(128)));
        let ids: std::collections::HashSet<String> = (0..1000).map(|_| random_hex::<8>()).collect();
        assert_eq!(ids.len(), 1000, "no repeats");
        let elsewhere = std::thread::spawn(random_hex::<16>).join().unwrap();
        assert_ne!(elsewhere, random_hex::<16>(), "each thread has its own seed");

        let mut twice = HeaderMap::new();
        twice.append(REQUEST_ID, HeaderValue::from_static("one"));
        twice.append(REQUEST_ID, HeaderValue::from_static("two"));
        assert!(is_lower_hex(&RequestTrace::from_headers(&twice).request_id, 32), "two ids: neither is believed");

        let mut written = HeaderMap::new();
        written.append(REQUEST_ID, HeaderValue::from_static("old"));
        trace.write(&mut written);
        assert_eq!(written.get_all(REQUEST_ID).iter().count(), 1);
        assert_eq!(written[TRACEPARENT], trace.traceparent().as_str());
    }
}
