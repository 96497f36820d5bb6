//! Where the proxy meets the tokens: the endpoint the gateway answers
//! itself, and the access-token check of a route that requires one, both on
//! the canonical path (`gate.md`).

use hyper::http::request::Parts;

pub(crate) use super::endpoint::Caller;
use super::{Answered, Tokens, check, endpoint};
use crate::gateway::Shared;

/// Whether `path` (canonical) is the token endpoint, which the gateway
/// answers itself.
pub(crate) fn is_endpoint(tokens: Option<&Tokens>, path: &str) -> bool {
    tokens.is_some_and(|t| t.policy.is_endpoint(path))
}

/// Answers a call of the token endpoint.
pub(crate) async fn endpoint(shared: &Shared, tokens: &Tokens, parts: &Parts, caller: Caller<'_>, body: &[u8]) -> Answered {
    endpoint::answer(shared, tokens, parts, caller, body).await
}

/// The access-token check of a route that requires one, on the canonical
/// `path`, for the request the API key `key_id` was admitted with (a token
/// works only with the keys its client names): `None` when the route needs
/// none or the token is valid.
pub(crate) async fn require_token(shared: &Shared, tokens: Option<&Tokens>, parts: &Parts, path: &str, key_id: &str) -> Option<Answered> {
    let tokens = tokens?;
    if tokens.policy.requires_token(parts.method.as_str(), path) {
        return check::refusal(shared, tokens, parts, key_id).await;
    }
    None
}
