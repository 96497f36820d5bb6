//! The gateway's HTTP answers, one body shape for every surface: the
//! response body type, JSON answers, the core's refusals, and a
//! value-free description of a bad JSON body. A leaf: it imports nothing of
//! the crate, so the proxy, the admin router, the lifecycle and the tokens
//! all answer through it without importing each other.

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt as _, Full};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Response, StatusCode};
use payseal_core::Refusal;
use serde::Serialize;

/// Error type of response bodies.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;
/// Response body: a buffer or the upstream's stream.
pub type ResponseBody = BoxBody<Bytes, BoxError>;

/// A buffered body.
pub fn full(bytes: impl Into<Bytes>) -> ResponseBody {
    Full::new(bytes.into()).map_err(|never| match never {}).boxed()
}

/// A JSON response.
pub fn json_response(status: u16, body: impl Into<Bytes>) -> Response<ResponseBody> {
    let mut response = Response::new(full(body));
    *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    response.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// An answer of the gateway itself (not a payseal refusal): same shape.
pub fn gateway_error(status: u16, code: &str, message: &str) -> Response<ResponseBody> {
    #[derive(Serialize)]
    struct Body<'a> {
        status: u16,
        code: &'a str,
        message: &'a str,
    }
    json_response(status, serde_json::to_vec(&Body { status, code, message }).unwrap_or_default())
}

/// The core's refusal as the answer: its status and its one body shape.
pub fn refusal_response(refusal: Refusal) -> Response<ResponseBody> {
    json_response(refusal.status, refusal.body())
}

/// 503 `STORE_UNAVAILABLE`: the store failed, nothing was forwarded.
pub fn store_unavailable() -> Response<ResponseBody> {
    refusal_response(Refusal::STORE_UNAVAILABLE)
}

/// serde's message for a bad admin request body without the value it
/// quotes: the field name of a missing or unknown field, else the category
/// and position (a body may hold no secret, but its values are not echoed
/// either). The lifecycle API answers with the same text.
pub fn value_free_message(error: &serde_json::Error) -> String {
    let text = error.to_string();
    for kept in ["missing field `", "unknown field `"] {
        if let Some(rest) = text.split(kept).nth(1)
            && let Some((name, _)) = rest.split_once('`')
        {
            return format!("{kept}{name}`");
        }
    }
    let what = match error.classify() {
        serde_json::error::Category::Data => "invalid value",
        _ => "invalid JSON",
    };
    format!("{what} at line {} column {}", error.line(), error.column())
}

#[cfg(test)]
mod tests {
    use super::value_free_message;

    #[test]
    fn bad_bodies_are_described_without_their_values() {
        let missing = serde_json::from_str::<payseal_core::keys::KeyRecord>(r#"{"id":"sk_live_Secret"}"#).unwrap_err();
        assert_eq!(value_free_message(&missing), "missing field `key_sha256`");
        let value = serde_json::from_str::<payseal_core::keys::KeyRecord>(r#"{"id":"k","key_sha256":"sk_live_Secret","environment":"live"}"#).unwrap_err();
        let text = value_free_message(&value);
        assert!(text.starts_with("invalid value at line 1 column ") && !text.contains("sk_live"), "{text}");
        let syntax = serde_json::from_str::<serde_json::Value>("{\"a\": sk_live_Secret}").unwrap_err();
        assert!(value_free_message(&syntax).starts_with("invalid JSON at line 1 column "));
    }
}
