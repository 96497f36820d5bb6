//! The lifecycle's requests and answers: who acts, what is kept about a
//! key, and the bodies of the admin API. Only [`Issued`] and
//! [`RotatedSecret`] carry material, and only in the body shown once.

use payseal_core::Environment;
use payseal_core::keys::{IpNet, KeyFormat, KeyRecord};
use payseal_core::time::format_rfc3339;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Who acts: `token:<name>` (the admin credential, [`crate::access`]),
/// `account:<code>` (a merchant renewing). Only a short set of characters
/// is kept, so an actor cannot smuggle text into the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(String);

impl Actor {
    /// `text` cut to 64 characters of `[A-Za-z0-9:._@-]`; `fallback` when nothing is left.
    pub fn new(text: &str, fallback: &str) -> Self {
        let kept: String = text.chars().filter(|c| c.is_ascii_alphanumeric() || ":._@-".contains(*c)).take(64).collect();
        Self(if kept.is_empty() { fallback.to_owned() } else { kept })
    }

    /// The merchant account renewing its secret.
    pub fn account(code: &str) -> Self {
        Self::new(&format!("account:{code}"), "account")
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the lifecycle keeps about a key besides its record (no material).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyMeta {
    /// Unix seconds.
    pub created_at: u64,
    /// The format the key was issued in.
    pub format: KeyFormat,
    /// The actor that created it.
    pub created_by: String,
    /// The renewal account it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The key it replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

/// `POST /lifecycle/keys`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateRequest {
    /// `live` or `test`.
    pub environment: Environment,
    /// `prefixed`, `hex64`, `uuid` or `base64-secret` (`lifecycle.default_format` when absent).
    #[serde(default)]
    pub format: Option<KeyFormat>,
    /// Scope names.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Allowed client addresses and CIDR blocks.
    #[serde(default)]
    pub allowed_ips: Vec<IpNet>,
    /// Merchant the key is bound to.
    #[serde(default)]
    pub webcode: Option<String>,
    /// Lifetime from now; no expiry when absent.
    #[serde(default)]
    pub expires_in_seconds: Option<u64>,
}

/// `PATCH /lifecycle/keys/<id>`: the fields to replace.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EditRequest {
    /// New allow-list (empty: any address).
    #[serde(default)]
    pub allowed_ips: Option<Vec<IpNet>>,
    /// New scopes (empty: every route of the environment).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

/// `POST /lifecycle/keys/<id>/regenerate`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegenerateRequest {
    /// Grace of the old key (`lifecycle.grace_seconds` when absent), capped by its expiry.
    #[serde(default)]
    pub grace_seconds: Option<u64>,
    /// Lifetime of the new key from now; when absent the old key's
    /// lifetime is kept (no expiry if it had none).
    #[serde(default)]
    pub expires_in_seconds: Option<u64>,
}

/// A newly issued key: the only value that carries its text.
pub struct Issued {
    /// Its id.
    pub key_id: String,
    /// The key, shown once.
    pub key: Zeroizing<String>,
    /// Environment.
    pub environment: Environment,
    /// Format.
    pub format: KeyFormat,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub expires_at: Option<u64>,
    /// The environment's client secret, when this key created it (shown once).
    pub client_secret: Option<Zeroizing<String>>,
    /// The key it replaced, and when that one stops working.
    pub replaces: Option<(String, Option<u64>)>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").field("key_id", &self.key_id).field("environment", &self.environment).finish_non_exhaustive()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IssuedBody<'a> {
    key_id: &'a str,
    key: &'a str,
    status: &'static str,
    environment: Environment,
    format: KeyFormat,
    created_at: String,
    expiration_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replaces: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replaced_key_usable_until: Option<String>,
}

impl Issued {
    /// The answer that shows the key (and a new client secret) once:
    /// `{"keyId","key","status":"ACTIVE","environment","format","createdAt","expirationDate",…}`.
    pub fn body(&self) -> Zeroizing<Vec<u8>> {
        let body = IssuedBody {
            key_id: &self.key_id,
            key: &self.key,
            status: "ACTIVE",
            environment: self.environment,
            format: self.format,
            created_at: format_rfc3339(self.created_at),
            expiration_date: self.expires_at.map(format_rfc3339),
            client_secret: self.client_secret.as_deref().map(String::as_str),
            replaces: self.replaces.as_ref().map(|(id, _)| id.as_str()),
            replaced_key_usable_until: self.replaces.as_ref().and_then(|(_, until)| until.map(format_rfc3339)),
        };
        // Plain data: serializing it cannot fail.
        Zeroizing::new(serde_json::to_vec(&body).unwrap_or_default())
    }
}

/// A key as listed: every field except its material.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// Id.
    pub key_id: String,
    /// `ACTIVE`, `SUPERSEDED` (in grace), `ROTATED_OUT`, `REVOKED`, `EXPIRED`, `NOT_YET_VALID`.
    pub status: &'static str,
    /// Environment.
    pub environment: Environment,
    /// Format (absent for records stored without the lifecycle).
    pub format: Option<KeyFormat>,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Allow-list.
    pub allowed_ips: Vec<IpNet>,
    /// Webcode.
    pub webcode: Option<String>,
    /// RFC 3339.
    pub created_at: Option<String>,
    /// RFC 3339.
    pub expiration_date: Option<String>,
    /// RFC 3339.
    pub superseded_at: Option<String>,
    /// When it stops working for its age (expiry or end of grace), RFC 3339.
    pub usable_until: Option<String>,
    /// Creator.
    pub created_by: Option<String>,
    /// Renewal account.
    pub account: Option<String>,
    /// The key it replaced.
    pub replaces: Option<String>,
    /// When a request last used it, RFC 3339 ([`crate::last_used`]).
    pub last_used_at: Option<String>,
}

impl Listed {
    /// The listing of `record` at `now`, with its metadata when it has some.
    pub fn of(record: &KeyRecord, meta: Option<&KeyMeta>, now: u64) -> Self {
        Self {
            key_id: record.id.clone(),
            status: record.state_at(now).as_str(),
            environment: record.environment,
            format: meta.map(|m| m.format),
            scopes: record.scopes.clone(),
            allowed_ips: record.allowed_ips.clone(),
            webcode: record.webcode.clone(),
            created_at: meta.map(|m| format_rfc3339(m.created_at)),
            expiration_date: record.expires_at.map(format_rfc3339),
            superseded_at: record.superseded_at.map(format_rfc3339),
            usable_until: record.usable_until().map(format_rfc3339),
            created_by: meta.map(|m| m.created_by.clone()),
            account: meta.and_then(|m| m.account.clone()),
            replaces: meta.and_then(|m| m.replaces.clone()),
            last_used_at: None,
        }
    }
}

/// A rotated client secret, shown once.
pub struct RotatedSecret {
    /// Environment.
    pub environment: Environment,
    /// The new secret.
    pub client_secret: Zeroizing<String>,
    /// Unix seconds.
    pub rotated_at: u64,
}

impl RotatedSecret {
    /// `{"environment","clientSecret","rotatedAt"}`.
    pub fn body(&self) -> Zeroizing<Vec<u8>> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            environment: Environment,
            client_secret: &'a str,
            rotated_at: String,
        }
        let body = Body { environment: self.environment, client_secret: &self.client_secret, rotated_at: format_rfc3339(self.rotated_at) };
        Zeroizing::new(serde_json::to_vec(&body).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_keep_only_plain_characters() {
        assert_eq!(Actor::new("cli", "admin-api").as_str(), "cli");
        assert_eq!(Actor::new("", "admin-api").as_str(), "admin-api");
        assert_eq!(Actor::new("ops\n{\"x\":1} é", "admin-api").as_str(), "opsx:1");
        assert_eq!(Actor::new(&"a".repeat(100), "x").as_str().len(), 64);
        assert_eq!(Actor::account("ACC_PROD_001").as_str(), "account:ACC_PROD_001");
    }

    #[test]
    fn issued_body_shows_the_key_and_debug_does_not() {
        let issued = Issued {
            key_id: "key_1".into(),
            key: Zeroizing::new("sk_live_canary".into()),
            environment: Environment::Live,
            format: KeyFormat::Prefixed,
            created_at: 1_719_500_100,
            expires_at: None,
            client_secret: Some(Zeroizing::new("client-canary".into())),
            replaces: None,
        };
        let body: serde_json::Value = serde_json::from_slice(&issued.body()).unwrap();
        assert_eq!(body["key"], "sk_live_canary");
        assert_eq!(body["clientSecret"], "client-canary");
        assert_eq!(body["createdAt"], "2024-06-27T14:55:00Z");
        assert_eq!(body["expirationDate"], serde_json::Value::Null);
        let debug = format!("{issued:?}");
        assert!(!debug.contains("canary"), "{debug}");
    }
}
