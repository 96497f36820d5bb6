//! The HTTP answer to a refused request, decided in one place so every
//! runtime (plugin, gateway, Envoy filter) sends the same status and body.

use alloc::string::String;

use crate::idempotency::Conflict;
use crate::keys::KeyRejection;
use crate::signing::SignatureError;

/// A refusal: status, the provider's code, payseal's typed reason and a
/// message that names the failed check and never a key, secret or digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Refusal {
    /// HTTP status.
    pub status: u16,
    /// The provider's error code (`AUTHENTICATION_FAILED`, `SCOPE_DENIED`, …).
    pub code: &'static str,
    /// payseal's typed reason (`missing_key`, `bad_signature`, …).
    pub reason: &'static str,
    /// Human-readable, fixed text.
    pub message: &'static str,
}

impl Refusal {
    /// A signed route called without `X-Idempotent-Key`: 400 (`keys.md`).
    pub const MISSING_IDEMPOTENCY_KEY: Self = Self {
        status: 400,
        code: "INVALID_REQUEST",
        reason: "missing_idempotency_key",
        message: "This endpoint requires an idempotency key header.",
    };

    /// The request target has no canonical form (`gate.md`): 400.
    pub const PATH_NOT_CANONICAL: Self = Self {
        status: 400,
        code: "INVALID_REQUEST",
        reason: "path_not_canonical",
        message: "The request path is not in canonical form.",
    };

    /// A single-valued field was sent more than once (`gate.md`): 400.
    pub const DUPLICATE_FIELD: Self = Self {
        status: 400,
        code: "INVALID_REQUEST",
        reason: "duplicate_field",
        message: "A header that must appear once was sent more than once.",
    };

    /// A request signature used a second time (`signing.md`): 401.
    pub const REPLAYED_SIGNATURE: Self = Self {
        status: 401,
        code: "AUTHENTICATION_FAILED",
        reason: "replayed_signature",
        message: "The request signature was already used.",
    };

    /// 429 `TOO_MANY_ATTEMPTS`: the client or the credential it tried is
    /// locked out after repeated failed authentication
    /// ([`crate::throttle`]); sent with `Retry-After`.
    pub const THROTTLED: Self = Self {
        status: 429,
        code: "TOO_MANY_ATTEMPTS",
        reason: "throttled",
        message: "Too many failed attempts; retry after the time in Retry-After.",
    };

    /// 403 `CLIENT_CERTIFICATE_REQUIRED`: the route needs a client
    /// certificate (mutual TLS) and the connection presented none.
    pub const CLIENT_CERTIFICATE_REQUIRED: Self = Self {
        status: 403,
        code: "CLIENT_CERTIFICATE_REQUIRED",
        reason: "client_certificate_required",
        message: "This route requires a client certificate.",
    };

    /// The body is over the runtime's limit: 413, before anything is checked
    /// with it.
    pub const BODY_TOO_LARGE: Self = Self {
        status: 413,
        code: "PAYLOAD_TOO_LARGE",
        reason: "body_too_large",
        message: "The request body is larger than this gateway accepts.",
    };

    /// The body did not arrive within the runtime's body timeout: 408.
    pub const BODY_TIMEOUT: Self = Self {
        status: 408,
        code: "REQUEST_TIMEOUT",
        reason: "body_timeout",
        message: "The request body did not arrive in time.",
    };

    /// The body could not be read (a bad `Content-Length`, a broken chunk): 400.
    pub const BAD_BODY: Self = Self {
        status: 400,
        code: "INVALID_REQUEST",
        reason: "bad_body",
        message: "The request body could not be read.",
    };

    /// The runtime holds as many request bodies as it may: 503, retry later.
    pub const BODIES_LIMIT: Self = Self {
        status: 503,
        code: "GATEWAY_BUSY",
        reason: "bodies_limit",
        message: "The gateway holds as many request bodies as it may; retry later.",
    };

    /// The runtime's store failed or cannot confirm the key set: 503, nothing
    /// forwarded.
    pub const STORE_UNAVAILABLE: Self = Self {
        status: 503,
        code: "STORE_UNAVAILABLE",
        reason: "store_unavailable",
        message: "The gateway's store is unavailable; the request was not forwarded.",
    };

    /// The idempotency claim could not be written (contention past the retry
    /// bound, or an unreadable record): 503, nothing forwarded.
    pub const IDEMPOTENCY_UNAVAILABLE: Self = Self {
        status: 503,
        code: "IDEMPOTENCY_UNAVAILABLE",
        reason: "idempotency_unavailable",
        message: "The idempotency store cannot take this request now; retry it.",
    };

    /// The checks could not run (a plugin trap, timeout or unreadable
    /// answer): 503, nothing forwarded.
    pub const GATEWAY_UNAVAILABLE: Self = Self {
        status: 503,
        code: "GATEWAY_UNAVAILABLE",
        reason: "checks_unavailable",
        message: "The request could not be checked; it was not forwarded.",
    };

    /// The runtime's configuration could not be read: every request is
    /// refused (500) rather than let through unchecked.
    pub const INVALID_CONFIGURATION: Self = Self {
        status: 500,
        code: "CONFIGURATION_ERROR",
        reason: "invalid_config",
        message: "The payseal configuration is invalid.",
    };

    /// The response body: `{"status":…,"code":"…","message":"…"}`.
    pub fn body(&self) -> String {
        body(self.status, self.code, self.message)
    }
}

impl From<KeyRejection> for Refusal {
    fn from(r: KeyRejection) -> Self {
        Self { status: r.status(), code: r.code(), reason: r.reason(), message: r.message() }
    }
}

impl From<Conflict> for Refusal {
    fn from(c: Conflict) -> Self {
        let reason = match c {
            Conflict::DifferentBody => "idempotency_body_mismatch",
            Conflict::DifferentEndpoint => "idempotency_endpoint_mismatch",
            Conflict::InProgress => "idempotency_in_progress",
            Conflict::OutcomeUnknown => "idempotency_outcome_unknown",
        };
        Self { status: c.status(), code: c.code(), reason, message: c.message() }
    }
}

impl From<SignatureError> for Refusal {
    /// A signed route whose signature failed: 401, except an unusable
    /// configured secret, which is the server's fault (500) and must not be
    /// blamed on the client.
    fn from(e: SignatureError) -> Self {
        let (status, code, message) = match e {
            SignatureError::InvalidSecret(_) => {
                (500, "CONFIGURATION_ERROR", "The signing secret configured for this route is unusable.")
            }
            SignatureError::MissingSignature(_) => (401, "AUTHENTICATION_FAILED", "The request signature is missing."),
            SignatureError::MalformedHeader(_) => (401, "AUTHENTICATION_FAILED", "A signature header is malformed."),
            SignatureError::UnknownKey => (401, "AUTHENTICATION_FAILED", "The signature names an unknown key."),
            SignatureError::InsufficientCoverage => {
                (401, "AUTHENTICATION_FAILED", "The signature does not cover every required component.")
            }
            SignatureError::StaleTimestamp => {
                (401, "AUTHENTICATION_FAILED", "The request timestamp is outside the allowed window.")
            }
            SignatureError::BadDigest => (401, "AUTHENTICATION_FAILED", "The body digest does not match the body."),
            SignatureError::BadSignature => (401, "AUTHENTICATION_FAILED", "The request signature does not match."),
        };
        Self { status, code, reason: e.code(), message }
    }
}

/// Field order is the spec's; a struct keeps it (a JSON map would sort keys).
#[derive(serde::Serialize)]
struct Body<'a> {
    status: u16,
    code: &'a str,
    message: &'a str,
}

pub(crate) fn body(status: u16, code: &str, message: &str) -> String {
    // Serializing three plain fields to a string cannot fail.
    serde_json::to_string(&Body { status, code, message }).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_order_is_the_specs() {
        assert_eq!(
            body(401, "AUTHENTICATION_FAILED", "The \"key\" is missing."),
            r#"{"status":401,"code":"AUTHENTICATION_FAILED","message":"The \"key\" is missing."}"#
        );
    }

    #[test]
    fn signed_route_statuses() {
        assert_eq!(Refusal::from(SignatureError::MissingSignature("X-Signature")).status, 401);
        assert_eq!(Refusal::from(SignatureError::BadSignature).reason, "bad_signature");
        assert_eq!(Refusal::from(SignatureError::InvalidSecret("x")).status, 500);
        assert_eq!(Refusal::MISSING_IDEMPOTENCY_KEY.status, 400);
        let r = Refusal::from(KeyRejection::IpNotAllowed);
        assert_eq!((r.status, r.code, r.reason), (403, "IP_NOT_ALLOWED", "ip_not_allowed"));
        assert_eq!(Refusal::from(Conflict::InProgress).body(), Conflict::InProgress.body());
    }
}
