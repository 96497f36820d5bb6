//! What the upstream receives (`gate.md`, "What the upstream receives"):
//! the headers a client may not set for the upstream, and the ones the
//! gateway writes in their place.

use alloc::format;
use alloc::string::String;
use core::net::IpAddr;

/// Client-sent fields that speak for the gateway (who the client is, which
/// scheme, host or method the upstream should believe): removed before
/// forwarding, whatever their value. Every `x-forwarded-*` field is too
/// ([`is_client_forwarding_header`]).
pub const CLIENT_FORWARDING_HEADERS: &[&str] = &[
    "forwarded",
    "x-real-ip",
    "x-client-ip",
    "true-client-ip",
    "x-original-url",
    "x-rewrite-url",
    "x-http-method-override",
    "x-method-override",
    "x-http-method",
];

/// Whether the client-sent field `name` must not reach the upstream
/// (any case).
pub fn is_client_forwarding_header(name: &str) -> bool {
    let lower_starts = name.len() >= 12 && name[..12].eq_ignore_ascii_case("x-forwarded-");
    lower_starts || CLIENT_FORWARDING_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// Fields that belong to one connection (RFC 9110 section 7.6.1): never
/// forwarded, stored or replayed. Names listed in `Connection` are too.
pub const HOP_BY_HOP_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether `name` (any case) belongs to one connection.
pub fn is_hop_by_hop(name: &str) -> bool {
    HOP_BY_HOP_HEADERS.iter().any(|h| h.eq_ignore_ascii_case(name))
}

/// The field every runtime adds to an answer replayed from the idempotency
/// store, and its value (Stripe's `Idempotent-Replayed: true`): a client
/// can tell a replay from a first execution. A first execution never has it.
pub const REPLAYED_MARKER: (&str, &str) = ("idempotent-replayed", "true");

/// Whether a response field is kept in an idempotency record and sent again
/// on a replay: not the fields that describe one transfer (hop-by-hop,
/// `Content-Length`, `Date`, `Server`, pseudo-headers, a proxy's own
/// `x-envoy-*`), which the replaying runtime writes for its own answer, nor
/// an upstream's own [`REPLAYED_MARKER`] (the runtime writes the marker).
pub fn is_replayed_response_header(name: &str) -> bool {
    let lower_starts = |prefix: &str| name.len() >= prefix.len() && name[..prefix.len()].eq_ignore_ascii_case(prefix);
    !(is_hop_by_hop(name)
        || name.starts_with(':')
        || lower_starts("x-envoy-")
        || ["content-length", "date", "server", REPLAYED_MARKER.0].iter().any(|h| h.eq_ignore_ascii_case(name)))
}

/// The `X-Forwarded-For` value the gateway writes: the resolved client alone.
pub fn x_forwarded_for(client: IpAddr) -> String {
    format!("{client}")
}

/// The `Forwarded` value the gateway writes (RFC 7239): `for=` the resolved
/// client, an IPv6 address quoted and bracketed as the RFC requires.
pub fn forwarded(client: IpAddr) -> String {
    match client {
        IpAddr::V4(v4) => format!("for={v4}"),
        IpAddr::V6(v6) => format!("for=\"[{v6}]\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn client_forwarding_headers_in_any_case() {
        for name in ["Forwarded", "X-Forwarded-For", "x-forwarded-host", "X-FORWARDED-PROTO", "X-Real-IP", "X-HTTP-Method-Override", "x-method-override", "X-Http-Method"] {
            assert!(is_client_forwarding_header(name), "{name}");
        }
        for name in ["x-api-key", "x-forwarded", "content-type", "x-idempotent-key"] {
            assert!(!is_client_forwarding_header(name), "{name}");
        }
    }

    #[test]
    fn replayed_response_headers() {
        for kept in ["content-type", "x-request-id", "Location", "set-cookie"] {
            assert!(is_replayed_response_header(kept), "{kept}");
        }
        for dropped in [":status", "Content-Length", "transfer-encoding", "Connection", "date", "server", "x-envoy-upstream-service-time", "Keep-Alive", "Idempotent-Replayed"] {
            assert!(!is_replayed_response_header(dropped), "{dropped}");
        }
    }

    #[test]
    fn written_values() {
        assert_eq!(x_forwarded_for("203.0.113.7".parse().unwrap()), "203.0.113.7");
        assert_eq!(forwarded("203.0.113.7".parse().unwrap()), "for=203.0.113.7");
        assert_eq!(forwarded("2001:db8::1".parse().unwrap()), "for=\"[2001:db8::1]\"");
    }
}
