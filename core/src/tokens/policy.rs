//! The `[tokens]` configuration and the token endpoint's requests and
//! errors (RFC 6749 §4.4, §6 and §5.2).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::access::{AccessRecord, AccessRejection, check_access};
use super::family::{self, FamilyRecord, Issued, Lifetimes, RefreshDecision};
use super::text::{PresentedAccess, PresentedRefresh, TokenDigest, TokenEntropy};
use crate::refusal::Refusal;

/// Default token endpoint path.
pub const DEFAULT_PATH: &str = "/api/v1/auth/token";
/// Default header carrying the access token.
pub const DEFAULT_HEADER: &str = "ACCESS-TOKEN";
/// Default access-token lifetime: one hour.
pub const DEFAULT_ACCESS_TTL: u64 = 3_600;
/// Default refresh-token lifetime: 30 days.
pub const DEFAULT_REFRESH_TTL: u64 = 30 * 86_400;

/// A client allowed to ask for tokens: its id and the SHA-256 of its
/// secret (hex). The secret must be random (at least 128 bits, e.g. 32
/// random bytes as base64url): an unsalted digest does not protect a
/// guessable password.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenClient {
    /// The `client_id`.
    pub id: String,
    /// SHA-256 of the `client_secret`'s UTF-8 bytes.
    pub secret_sha256: TokenDigest,
    /// The API-key records (ids) this client's access tokens work with: a
    /// token presented with any other API key is refused, so one merchant's
    /// token never opens another merchant's key. At least one.
    #[serde(default)]
    pub key_ids: Vec<String>,
}

/// A route that requires an access token: the core's route shape (`prefix`
/// and `methods`) and matcher ([`crate::routes::route_matches`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRoute {
    /// Path prefix, matched on the path without its query.
    pub prefix: String,
    /// Methods it applies to, any case; empty for all.
    #[serde(default)]
    pub methods: Vec<String>,
}

fn default_path() -> String {
    DEFAULT_PATH.into()
}

fn default_header() -> String {
    DEFAULT_HEADER.into()
}

const fn default_access_ttl() -> u64 {
    DEFAULT_ACCESS_TTL
}

const fn default_refresh_ttl() -> u64 {
    DEFAULT_REFRESH_TTL
}

/// The token endpoint and the routes that require its access tokens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenPolicy {
    /// Path of the token endpoint (`POST` only).
    #[serde(default = "default_path")]
    pub path: String,
    /// Header carrying the access token on routes that require one.
    #[serde(default = "default_header")]
    pub header: String,
    /// Access-token lifetime, seconds.
    #[serde(default = "default_access_ttl")]
    pub access_ttl_seconds: u64,
    /// Refresh-token lifetime, seconds; each refresh starts a new one.
    #[serde(default = "default_refresh_ttl")]
    pub refresh_ttl_seconds: u64,
    /// The clients.
    #[serde(default)]
    pub clients: Vec<TokenClient>,
    /// Routes that require a valid access token besides the API key.
    #[serde(default)]
    pub routes: Vec<TokenRoute>,
}

/// A `[tokens]` section that cannot be used; names the field, never a value.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenPolicyError {
    /// `path` does not start with `/` or has a query.
    Path,
    /// `header` is not an HTTP header name.
    Header,
    /// A lifetime is 0; names the field.
    Lifetime(&'static str),
    /// No client is configured.
    NoClients,
    /// A client id is empty or repeated; its index.
    ClientId(usize),
    /// A client names no API key its tokens work with; its index.
    ClientKeys(usize),
    /// A route prefix does not start with `/`; its index.
    RoutePrefix(usize),
}

impl fmt::Display for TokenPolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Path => f.write_str("tokens.path: must start with / and have no query"),
            Self::Header => f.write_str("tokens.header: not an HTTP header name"),
            Self::Lifetime(field) => write!(f, "tokens.{field}: must be above 0"),
            Self::NoClients => f.write_str("tokens.clients: at least one client is needed"),
            Self::ClientId(i) => write!(f, "tokens.clients[{i}].id: empty or used twice"),
            Self::ClientKeys(i) => write!(f, "tokens.clients[{i}].key_ids: name the API keys (record ids) its tokens work with"),
            Self::RoutePrefix(i) => write!(f, "tokens.routes[{i}].prefix: must start with /"),
        }
    }
}

impl core::error::Error for TokenPolicyError {}

/// An error of the token endpoint (RFC 6749 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GrantError {
    /// 400 `invalid_request`: a required parameter is missing, or the body is unreadable.
    InvalidRequest,
    /// 401 `invalid_client`: client authentication failed.
    InvalidClient,
    /// 400 `invalid_grant`: the refresh token is invalid, expired or revoked.
    InvalidGrant(GrantRefused),
    /// 400 `unsupported_grant_type`.
    UnsupportedGrantType,
    /// 429 `slow_down` (RFC 8628's code): the client id or address is
    /// locked out after repeated failed authentication
    /// ([`crate::throttle`]); sent with `Retry-After`, before the client
    /// secret is checked.
    Throttled,
}

/// Why a refresh token was refused (the `error_description`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GrantRefused {
    /// Not a token of a stored family.
    Invalid,
    /// Past its expiry.
    Expired,
    /// Its family is revoked.
    Revoked,
    /// An older token of its family: the family is now revoked.
    Reused,
}

impl GrantError {
    /// HTTP status.
    pub const fn status(self) -> u16 {
        match self {
            Self::InvalidClient => 401,
            Self::Throttled => 429,
            _ => 400,
        }
    }

    /// The RFC 6749 `error` code.
    pub const fn error(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant(_) => "invalid_grant",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::Throttled => "slow_down",
        }
    }

    /// payseal's typed reason (logs and metrics).
    pub const fn reason(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant(GrantRefused::Invalid) => "invalid_refresh_token",
            Self::InvalidGrant(GrantRefused::Expired) => "refresh_token_expired",
            Self::InvalidGrant(GrantRefused::Revoked) => "refresh_token_revoked",
            Self::InvalidGrant(GrantRefused::Reused) => "refresh_token_reused",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::Throttled => "throttled",
        }
    }

    /// The `error_description`: fixed text, never a value.
    pub const fn description(self) -> &'static str {
        match self {
            Self::InvalidRequest => "The request is missing a parameter or cannot be read.",
            Self::InvalidClient => "Client authentication failed.",
            Self::InvalidGrant(GrantRefused::Invalid) => "The refresh token is not valid.",
            Self::InvalidGrant(GrantRefused::Expired) => "The refresh token has expired.",
            Self::InvalidGrant(GrantRefused::Revoked | GrantRefused::Reused) => "The refresh token has been revoked.",
            Self::UnsupportedGrantType => "The grant type is not supported.",
            Self::Throttled => "Too many failed attempts; retry after the time in Retry-After.",
        }
    }

    /// The body: `{"error":"…","error_description":"…"}`.
    pub fn body(self) -> String {
        #[derive(Serialize)]
        struct Body {
            error: &'static str,
            error_description: &'static str,
        }
        // Two static strings: serializing cannot fail.
        serde_json::to_string(&Body { error: self.error(), error_description: self.description() }).unwrap_or_default()
    }
}

impl From<GrantError> for Refusal {
    fn from(e: GrantError) -> Self {
        Self { status: e.status(), code: e.error(), reason: e.reason(), message: e.description() }
    }
}

/// The token endpoint's parameters, from a JSON or form body; the secrets
/// among them are wiped when dropped. Other parameters are ignored (RFC
/// 6749 §3.2).
#[derive(Default, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct GrantFields {
    /// `client_credentials` or `refresh_token`.
    #[serde(default)]
    pub grant_type: Option<String>,
    /// The client id.
    #[serde(default)]
    pub client_id: Option<String>,
    /// The client secret.
    #[serde(default)]
    pub client_secret: Option<String>,
    /// The refresh token.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

impl fmt::Debug for GrantFields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GrantFields").field("grant_type", &self.grant_type).field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// An authenticated grant request.
#[derive(Debug)]
pub enum Grant<'a> {
    /// Issue a new family to this client.
    ClientCredentials(&'a TokenClient),
    /// Refresh with this token; `client` when the request authenticated one.
    Refresh {
        /// The presented refresh token.
        token: PresentedRefresh,
        /// The authenticated client, when credentials were sent.
        client: Option<&'a TokenClient>,
    },
}

impl TokenPolicy {
    /// Checks the section.
    ///
    /// # Errors
    /// The first unusable field.
    pub fn validate(&self) -> Result<(), TokenPolicyError> {
        if !self.path.starts_with('/') || self.path.contains(['?', '#']) {
            return Err(TokenPolicyError::Path);
        }
        let token_char = |b: u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b);
        if self.header.is_empty() || !self.header.bytes().all(token_char) {
            return Err(TokenPolicyError::Header);
        }
        if self.access_ttl_seconds == 0 {
            return Err(TokenPolicyError::Lifetime("access_ttl_seconds"));
        }
        if self.refresh_ttl_seconds == 0 {
            return Err(TokenPolicyError::Lifetime("refresh_ttl_seconds"));
        }
        if self.clients.is_empty() {
            return Err(TokenPolicyError::NoClients);
        }
        for (i, client) in self.clients.iter().enumerate() {
            if client.id.is_empty() || self.clients[..i].iter().any(|c| c.id == client.id) {
                return Err(TokenPolicyError::ClientId(i));
            }
            if client.key_ids.is_empty() {
                return Err(TokenPolicyError::ClientKeys(i));
            }
        }
        if let Some(i) = self.routes.iter().position(|r| !r.prefix.starts_with('/')) {
            return Err(TokenPolicyError::RoutePrefix(i));
        }
        Ok(())
    }

    /// The lifetimes.
    pub const fn lifetimes(&self) -> Lifetimes {
        Lifetimes { access_seconds: self.access_ttl_seconds, refresh_seconds: self.refresh_ttl_seconds }
    }

    /// Whether the canonical `path` is the token endpoint (any method: the
    /// endpoint answers 405 to all but `POST`), compared as every rule
    /// compares paths: any case, a trailing `/` aside.
    pub fn is_endpoint(&self, path: &str) -> bool {
        let path = path.split_once('?').map_or(path, |(p, _)| p);
        let trim = |p: &str| -> usize { p.strip_suffix('/').map_or(p.len(), str::len) };
        let (a, b) = (&path[..trim(path)], &self.path[..trim(&self.path)]);
        a.eq_ignore_ascii_case(b) && (!a.is_empty() || path == self.path)
    }

    /// Whether `method` `path` requires an access token.
    pub fn requires_token(&self, method: &str, path: &str) -> bool {
        self.routes.iter().any(|r| crate::routes::route_matches(&r.prefix, &r.methods, method, path))
    }

    /// The configured client `id`, if it is one.
    pub fn client(&self, id: &str) -> Option<&TokenClient> {
        self.clients.iter().find(|c| c.id == id)
    }

    /// Authenticates a client by id and secret; the digests are compared
    /// in constant time, and an unknown id costs the same digest.
    ///
    /// # Errors
    /// [`GrantError::InvalidClient`].
    pub fn authenticate(&self, id: &str, secret: &str) -> Result<&TokenClient, GrantError> {
        let presented = TokenDigest::of(secret.as_bytes());
        match self.client(id) {
            Some(client) if client.secret_sha256 == presented => Ok(client),
            Some(_) => Err(GrantError::InvalidClient),
            None => {
                // Same work as a known id, so timing does not tell ids apart.
                let _ = TokenDigest::of(&[]) == presented;
                Err(GrantError::InvalidClient)
            }
        }
    }

    /// Reads and authenticates a token request.
    ///
    /// `client_credentials` needs `client_id` and `client_secret`;
    /// `refresh_token` needs `refresh_token`, and when it also sends client
    /// credentials they must authenticate (and, at the refresh, match the
    /// family's client).
    ///
    /// # Errors
    /// The RFC 6749 error to answer.
    pub fn grant(&self, fields: &GrantFields) -> Result<Grant<'_>, GrantError> {
        let credentials = || match (fields.client_id.as_deref(), fields.client_secret.as_deref()) {
            (Some(id), Some(secret)) => self.authenticate(id, secret).map(Some),
            (None, None) => Ok(None),
            _ => Err(GrantError::InvalidClient),
        };
        match fields.grant_type.as_deref() {
            None => Err(GrantError::InvalidRequest),
            Some("client_credentials") => credentials()?.map(Grant::ClientCredentials).ok_or(GrantError::InvalidClient),
            Some("refresh_token") => {
                let text = fields.refresh_token.as_deref().ok_or(GrantError::InvalidRequest)?;
                let client = credentials()?;
                let token = PresentedRefresh::parse(text).ok_or(GrantError::InvalidGrant(GrantRefused::Invalid))?;
                Ok(Grant::Refresh { token, client })
            }
            Some(_) => Err(GrantError::UnsupportedGrantType),
        }
    }

    /// A new family for `client` at `now`.
    pub fn issue(&self, client: &TokenClient, entropy: &TokenEntropy, now: u64) -> Issued {
        family::issue(&client.id, self.lifetimes(), entropy, now)
    }

    /// Decides a refresh (see [`family::refresh`]); a family whose client is
    /// no longer configured is [`RefreshDecision::Invalid`].
    pub fn refresh(&self, family: Option<&FamilyRecord>, token: &PresentedRefresh, client: Option<&TokenClient>, entropy: &TokenEntropy, now: u64) -> RefreshDecision {
        let family = family.filter(|f| self.client(&f.client_id).is_some());
        family::refresh(family, token, client.map(|c| c.id.as_str()), self.lifetimes(), entropy, now)
    }

    /// Checks an access token (see [`check_access`]); a token of a client
    /// no longer configured is [`AccessRejection::Invalid`].
    ///
    /// The token is good only with an API key its client names: `key_id` is
    /// the id of the key the request was admitted with (checked first).
    ///
    /// # Errors
    /// The reason it is refused.
    pub fn check_access(&self, presented: &PresentedAccess, record: Option<&AccessRecord>, family: Option<&FamilyRecord>, now: u64, key_id: &str) -> Result<(), AccessRejection> {
        let record = record.filter(|r| self.client(&r.client_id).is_some_and(|c| c.key_ids.iter().any(|k| k == key_id)));
        check_access(presented, record, family, now)
    }
}

impl RefreshDecision {
    /// The refusal of a decision that refuses (`None` for a rotation).
    pub fn refusal(&self) -> Option<GrantError> {
        let why = match self {
            Self::Rotate(_) => return None,
            Self::Reused(_) => GrantRefused::Reused,
            Self::Expired => GrantRefused::Expired,
            Self::Revoked => GrantRefused::Revoked,
            Self::Invalid => GrantRefused::Invalid,
        };
        Some(GrantError::InvalidGrant(why))
    }
}
