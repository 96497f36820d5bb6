//! The token endpoint and the `ACCESS-TOKEN` check (`[tokens]`): the
//! gateway's half of the core's [`payseal_core::tokens`] rules. It reads
//! and writes the records (digests only) with the store's compare-and-swap
//! entries, draws the random bytes, writes the audit events, and answers.
//!
//! A request to the token endpoint (on the canonical path) is answered by
//! the gateway and never forwarded. On a route that requires an access
//! token, the token is checked after the API key (`gate.md`, "Order") and
//! must belong to a client that names that key (`key_ids`); without one the
//! request is refused (401). The access-token header never reaches the
//! upstream. A store error fails closed (503).
//!
//! Store keys: `tok:{<family>}:family` and `tok:{<family>}:at:<sha256>`,
//! with the family id as a Redis Cluster hash tag so a family's entries
//! live on one shard.

mod check;
pub mod clients;
mod endpoint;
pub(crate) mod gate;

use hyper::Response;
use hyper::header::HeaderName;
use payseal_core::tokens::{FamilyId, TokenDigest, TokenPolicy};

use crate::http::ResponseBody;

/// The `[tokens]` section, ready to serve.
#[derive(Debug)]
pub struct Tokens {
    /// The core's rules and the configured clients and routes.
    pub policy: TokenPolicy,
    /// The access-token header.
    pub header: HeaderName,
    /// The section as the file wrote it (without the stored clients).
    pub file_policy: TokenPolicy,
}

impl Tokens {
    /// Checks the section.
    ///
    /// # Errors
    /// The field that cannot be used.
    pub fn new(policy: &TokenPolicy) -> Result<Self, String> {
        Self::with_stored(policy, &[])
    }

    /// Checks the file's section and adds the clients created through the
    /// admin API ([`clients::merged`]).
    ///
    /// # Errors
    /// The field that cannot be used.
    pub fn with_stored(file: &TokenPolicy, stored: &[clients::StoredClient]) -> Result<Self, String> {
        file.validate().map_err(|e| e.to_string())?;
        let policy = clients::merged(file, stored);
        policy.validate().map_err(|e| e.to_string())?;
        let header = HeaderName::from_bytes(policy.header.as_bytes()).map_err(|_| "tokens.header: not a header name".to_owned())?;
        Ok(Self { policy, header, file_policy: file.clone() })
    }
}

/// What the gateway answered itself, for the request log and metrics.
pub(crate) struct Answered {
    pub response: Response<ResponseBody>,
    pub outcome: &'static str,
    pub reason: &'static str,
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

    /// The commented `[tokens]` section of the example configuration, uncommented.
    fn example_section() -> String {
        let example = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/payseal.toml")).unwrap();
        let start = example.find("\n# [tokens]\n").unwrap();
        // The section ends at the next separator line (or the end of the file).
        let section = &example[start + 1..];
        let section = section.find("\n# ----").map_or(section, |end| &section[..end]);
        section.lines().map(|line| line.strip_prefix("# ").unwrap_or(line.trim_start_matches('#'))).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn the_example_section_is_a_valid_configuration() {
        let text = format!("[upstream]\nurl = \"http://127.0.0.1:9000\"\n{}\n", example_section());
        let config = crate::FileConfig::parse(&text).unwrap();
        let tokens = Tokens::new(config.tokens.as_ref().unwrap()).unwrap();
        assert_eq!(tokens.header, "access-token");
        assert_eq!(tokens.policy.lifetimes(), payseal_core::tokens::Lifetimes { access_seconds: 3_600, refresh_seconds: 2_592_000 });
        let client = tokens.policy.authenticate("demo-shop", "cs_DemoClientSecret000000000000000000000").unwrap();
        assert_eq!(client.id, "demo-shop");
        assert!(tokens.policy.requires_token("POST", "/api/v1/payment-gateway/order"));
    }

    #[test]
    fn a_bad_section_fails_the_start_naming_the_field() {
        let text = "[upstream]\nurl = \"http://127.0.0.1:9000\"\n[tokens]\naccess_ttl_seconds = 0\n[[tokens.clients]]\nid = \"a\"\nsecret_sha256 = \"4f74890f1d2c4ebac8c5cce92d9765dd65e07c12e74c1333230679d9550fc7be\"\n";
        let error = crate::FileConfig::parse(text).unwrap_err();
        assert_eq!(error.to_string(), "tokens.access_ttl_seconds: must be above 0");
        let text = "[upstream]\nurl = \"http://127.0.0.1:9000\"\n[tokens]\n[[tokens.clients]]\nid = \"a\"\nsecret_sha256 = \"sk_live_oops\"\n";
        let error = crate::FileConfig::parse(text).unwrap_err();
        assert!(!error.to_string().contains("sk_live_oops"), "{error}");
    }

    #[test]
    fn keys_share_the_family_hash_tag() {
        let family = FamilyId::from_bytes([0xab; 16]);
        assert_eq!(family_key(family), "tok:{abababababababababababababababab}:family");
        let digest = TokenDigest::of(b"x");
        assert_eq!(access_key(family, &digest), format!("tok:{{abababababababababababababababab}}:at:{}", digest.to_hex()));
    }
}
