//! The admin listener's refusals: one typed error with a stable code and
//! status, answered in the one problem shape of every admin answer,
//! `{"status","code","message"}` ([`crate::http::gateway_error`]). Messages
//! are fixed texts or name a token by its name; never a token, a digest or
//! a header value.

use std::fmt;

use hyper::Response;
use hyper::header::{HeaderValue, WWW_AUTHENTICATE};

use crate::http::{ResponseBody, gateway_error};

/// A refused or failed admin request.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AdminError {
    /// No `Authorization: Bearer` credential, or one no token matches: 401.
    Unauthenticated,
    /// The credential's role does not allow the route: 403.
    Forbidden,
    /// The `Host` header names none of the admin listener's names (DNS
    /// rebinding): 421.
    UnknownHost,
    /// A state-changing request from another origin (CSRF): 403.
    CrossOrigin,
    /// A body sent without `Content-Type: application/json`: 415.
    UnsupportedMediaType,
    /// A body over the admin limit: 413.
    BodyTooLarge,
    /// No such route: 404.
    NotFound,
    /// The route exists with other methods: 405.
    MethodNotAllowed,
    /// The request is invalid; the message names the field.
    InvalidRequest(String),
    /// A token of this name exists (in the file or the store): 409.
    TokenExists(String),
    /// No token of this name (or none the caller may see): 404.
    TokenNotFound(String),
    /// The token is a bootstrap token of the configuration file: 409.
    TokenInConfig(String),
    /// Another change of the stored tokens won a race: 409.
    Conflict,
    /// A token client or renewal account of this id exists (in the file or
    /// the store): 409.
    CredentialExists(CredentialKind, String),
    /// No token client or renewal account of this id (or none the caller
    /// may see): 404.
    CredentialNotFound(CredentialKind, String),
    /// The token client or renewal account is configured in the file: 409.
    CredentialInConfig(CredentialKind, String),
    /// Token clients need a `[tokens]` section: 409.
    TokensNotConfigured,
    /// The change is stored, but the reload that applies it failed: 500.
    ReloadFailed,
    /// The store failed: 503.
    StoreUnavailable,
    /// The operating system's random generator failed: 500.
    Random,
}

impl AdminError {
    /// HTTP status.
    pub const fn status(&self) -> u16 {
        match self {
            Self::Unauthenticated => 401,
            Self::Forbidden | Self::CrossOrigin => 403,
            Self::UnknownHost => 421,
            Self::UnsupportedMediaType => 415,
            Self::BodyTooLarge => 413,
            Self::NotFound | Self::TokenNotFound(_) | Self::CredentialNotFound(..) => 404,
            Self::MethodNotAllowed => 405,
            Self::InvalidRequest(_) => 400,
            Self::TokenExists(_) | Self::TokenInConfig(_) | Self::Conflict | Self::CredentialExists(..) | Self::CredentialInConfig(..) | Self::TokensNotConfigured => 409,
            Self::StoreUnavailable => 503,
            Self::Random | Self::ReloadFailed => 500,
        }
    }

    /// Stable code (snake case, as the lifecycle's).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::UnknownHost => "unknown_host",
            Self::CrossOrigin => "cross_origin",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::BodyTooLarge => "body_too_large",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::InvalidRequest(_) => "invalid_request",
            Self::TokenExists(_) => "token_exists",
            Self::TokenNotFound(_) => "token_not_found",
            Self::TokenInConfig(_) => "token_in_config",
            Self::Conflict => "concurrent_change",
            Self::CredentialExists(CredentialKind::TokenClient, _) => "token_client_exists",
            Self::CredentialExists(CredentialKind::RenewalAccount, _) => "renewal_account_exists",
            Self::CredentialNotFound(CredentialKind::TokenClient, _) => "token_client_not_found",
            Self::CredentialNotFound(CredentialKind::RenewalAccount, _) => "renewal_account_not_found",
            Self::CredentialInConfig(CredentialKind::TokenClient, _) => "token_client_in_config",
            Self::CredentialInConfig(CredentialKind::RenewalAccount, _) => "renewal_account_in_config",
            Self::TokensNotConfigured => "tokens_not_configured",
            Self::ReloadFailed => "reload_failed",
            Self::StoreUnavailable => "store_unavailable",
            Self::Random => "random_failed",
        }
    }

    /// The answer.
    pub fn response(&self) -> Response<ResponseBody> {
        let mut response = gateway_error(self.status(), self.code(), &self.to_string());
        if *self == Self::Unauthenticated {
            response.headers_mut().insert(WWW_AUTHENTICATE, HeaderValue::from_static("Bearer realm=\"payseal-admin\""));
        }
        response
    }
}

impl fmt::Display for AdminError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unauthenticated => f.write_str("the admin API needs a valid token: send Authorization: Bearer <token>"),
            Self::Forbidden => f.write_str("this token's role does not allow this request"),
            Self::UnknownHost => f.write_str("the Host header names none of this admin listener's names (admin.hosts)"),
            Self::CrossOrigin => f.write_str("a state-changing request from another origin is refused (admin.origins)"),
            Self::UnsupportedMediaType => f.write_str("the body must be sent with Content-Type: application/json"),
            Self::BodyTooLarge => f.write_str("the body is larger than the admin API accepts"),
            Self::NotFound => f.write_str("not found"),
            Self::MethodNotAllowed => f.write_str("method not allowed"),
            Self::InvalidRequest(why) => write!(f, "invalid request: {why}"),
            Self::TokenExists(name) => write!(f, "a token named {name:?} exists"),
            Self::TokenNotFound(name) => write!(f, "no token is named {name:?}"),
            Self::TokenInConfig(name) => write!(f, "the token {name:?} is configured in the file (admin.tokens): remove it there and reload"),
            Self::Conflict => f.write_str("a concurrent change won; retry"),
            Self::CredentialExists(kind, id) => write!(f, "a {kind} {id:?} exists"),
            Self::CredentialNotFound(kind, id) => write!(f, "no {kind} is named {id:?}"),
            Self::CredentialInConfig(kind, id) => write!(f, "the {kind} {id:?} is configured in the file: remove it there and reload"),
            Self::TokensNotConfigured => f.write_str("token clients need a [tokens] section in the configuration file (its endpoint and routes)"),
            Self::ReloadFailed => f.write_str("the change is stored but the reload that applies it failed; see the gateway's log"),
            Self::StoreUnavailable => f.write_str("the gateway's store is unavailable"),
            Self::Random => f.write_str("the system random generator failed"),
        }
    }
}

impl std::error::Error for AdminError {}

/// What a credential error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CredentialKind {
    /// A client of the token endpoint (`[[tokens.clients]]` or stored).
    TokenClient,
    /// A renewal account (`[[lifecycle.accounts]]` or stored).
    RenewalAccount,
}

impl fmt::Display for CredentialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::TokenClient => "token client",
            Self::RenewalAccount => "renewal account",
        })
    }
}

impl From<crate::store::StoreError> for AdminError {
    fn from(error: crate::store::StoreError) -> Self {
        tracing::error!(%error, "admin API: the store failed");
        Self::StoreUnavailable
    }
}

#[cfg(test)]
mod tests {
    use super::AdminError;

    #[test]
    fn refusals_have_one_shape_and_a_challenge_when_unauthenticated() {
        let response = AdminError::Unauthenticated.response();
        assert_eq!(response.status(), 401);
        assert_eq!(response.headers()["www-authenticate"], "Bearer realm=\"payseal-admin\"");
        assert_eq!(AdminError::UnknownHost.response().status(), 421);
        assert!(AdminError::CrossOrigin.response().headers().get("www-authenticate").is_none());
        assert_eq!((AdminError::TokenInConfig("boot".into()).status(), AdminError::TokenInConfig("boot".into()).code()), (409, "token_in_config"));
    }
}
