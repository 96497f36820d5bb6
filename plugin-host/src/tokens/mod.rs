//! The token endpoint and the `ACCESS-TOKEN` check (`[tokens]`): the
//! gateway's half of the core's [`payseal_core::tokens`] rules. It reads
//! and writes the records (digests only) with the store's compare-and-swap
//! entries, draws the random bytes, writes the audit events, and answers.
//!
//! Both run before the plugin: a request to the token endpoint is answered
//! by the gateway and never forwarded; a request to a route that requires
//! an access token is refused (401) without one, and otherwise goes on to
//! the plugin's key check. The access-token header never reaches the
//! upstream. A store error fails closed (503).
//!
//! Store keys: `tok:{<family>}:family` and `tok:{<family>}:at:<sha256>`,
//! with the family id as a Redis Cluster hash tag so a family's entries
//! live on one shard.

mod check;
mod endpoint;

use hyper::Response;
use hyper::header::HeaderName;
use hyper::http::request::Parts;
use payseal_core::tokens::{FamilyId, TokenDigest, TokenPolicy};

use crate::gateway::Shared;
use crate::proxy::ResponseBody;

/// The `[tokens]` section, ready to serve.
#[derive(Debug)]
pub struct Tokens {
    /// The core's rules and the configured clients and routes.
    pub policy: TokenPolicy,
    /// The access-token header.
    pub header: HeaderName,
}

impl Tokens {
    /// Checks the section.
    ///
    /// # Errors
    /// The field that cannot be used.
    pub fn new(policy: &TokenPolicy) -> Result<Self, String> {
        policy.validate().map_err(|e| e.to_string())?;
        let header = HeaderName::from_bytes(policy.header.as_bytes()).map_err(|_| "tokens.header: not a header name".to_owned())?;
        Ok(Self { policy: policy.clone(), header })
    }
}

/// What the gateway answered itself, for the request log and metrics.
pub(crate) struct Answered {
    pub response: Response<ResponseBody>,
    pub outcome: &'static str,
    pub reason: &'static str,
}

/// The token endpoint's answer, or the refusal of a route that requires
/// an access token; `None`: the request goes on to the plugin.
pub(crate) async fn gate(shared: &Shared, tokens: Option<&Tokens>, parts: &Parts, body: &[u8]) -> Option<Answered> {
    let tokens = tokens?;
    let path = parts.uri.path();
    if tokens.policy.is_endpoint(path) {
        return Some(endpoint::answer(shared, tokens, parts, body).await);
    }
    if tokens.policy.requires_token(parts.method.as_str(), path) {
        return check::refusal(shared, tokens, parts).await;
    }
    None
}

fn family_key(family: FamilyId) -> String {
    format!("tok:{{{family}}}:family")
}

fn access_key(family: FamilyId, digest: &TokenDigest) -> String {
    format!("tok:{{{family}}}:at:{}", digest.to_hex())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_share_the_family_hash_tag() {
        let family = FamilyId::from_bytes([0xab; 16]);
        assert_eq!(family_key(family), "tok:{abababababababababababababababab}:family");
        let digest = TokenDigest::of(b"x");
        assert_eq!(access_key(family, &digest), format!("tok:{{abababababababababababababababab}}:at:{}", digest.to_hex()));
    }
}
