//! Routes that ask more than the key check: a request signature (DVPay or
//! RFC 9421) and an idempotency key (`keys.md`, "Signed (financial)
//! requests"; `idempotency.md`).
//!
//! A gateway runs, in order: the key check ([`crate::keys`]), the route's
//! signature, then the idempotency decision ([`crate::idempotency`]). This
//! module says what a route requires, so every runtime (plugin, Envoy filter)
//! reads the same configuration the same way.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use crate::refusal::Refusal;
use crate::signing::{HeaderMap, field};

/// Whether a route takes an idempotency key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdempotencyMode {
    /// A request without the key is refused (400 `missing_idempotency_key`).
    Required,
    /// The key is honoured when sent with a method of [`IdempotencySettings::methods`].
    Optional,
    /// The key is ignored.
    Off,
}

/// A route's RFC 9421 requirement.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rfc9421Route {
    /// Components every accepted signature must cover, e.g. `["@method", "@path", "content-digest"]`.
    #[serde(default)]
    pub required: Vec<String>,
    /// Every accepted signature must carry a non-empty `nonce` parameter
    /// (else `insufficient_coverage`).
    #[serde(default, skip_serializing_if = "core::ops::Not::not")]
    pub require_nonce: bool,
}

/// A route with more than the key check.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// Path prefix, matched on whole segments of the canonical path without
    /// its query, any case (as scopes are).
    pub prefix: String,
    /// Methods it applies to, any case; empty for all.
    #[serde(default)]
    pub methods: Vec<String>,
    /// Requires a DVPay signature (`X-Timestamp`, `X-Signature`).
    #[serde(default)]
    pub signed: bool,
    /// Requires an RFC 9421 signature covering these components.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rfc9421: Option<Rfc9421Route>,
    /// Idempotency; default `required` on a signed route, else `optional`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotency: Option<IdempotencyMode>,
}

/// Which signature a route requires.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteSignature<'a> {
    /// DVPay, with the secrets of the key that called.
    Dvpay,
    /// RFC 9421, with the signing keys of the key that called.
    Rfc9421 {
        /// Components the signature must cover.
        required: &'a [String],
        /// Whether it must carry a `nonce` parameter.
        require_nonce: bool,
    },
}

/// Where idempotency keys travel and when they count.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdempotencySettings {
    /// Lifetime of a record, seconds (default 24 h).
    #[serde(default = "default_ttl")]
    pub ttl_seconds: u64,
    /// Headers carrying the key; the first present wins.
    #[serde(default = "default_headers")]
    pub headers: Vec<String>,
    /// Methods whose key is honoured on `optional` routes.
    #[serde(default = "default_methods")]
    pub methods: Vec<String>,
}

fn default_ttl() -> u64 {
    crate::idempotency::DEFAULT_TTL
}

fn default_headers() -> Vec<String> {
    alloc::vec![String::from("x-idempotent-key"), String::from("idempotency-key")]
}

fn default_methods() -> Vec<String> {
    ["POST", "PUT", "PATCH", "DELETE"].into_iter().map(String::from).collect()
}

impl Default for IdempotencySettings {
    fn default() -> Self {
        Self { ttl_seconds: default_ttl(), headers: default_headers(), methods: default_methods() }
    }
}

/// A route configuration that cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RouteError {
    /// A route asks for both DVPay and RFC 9421 signatures; names its prefix.
    TwoSignatures(String),
}

impl core::fmt::Display for RouteError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TwoSignatures(prefix) => {
                write!(f, "routes: {prefix:?} requires both a DVPay and an RFC 9421 signature; choose one")
            }
        }
    }
}

impl core::error::Error for RouteError {}

/// Whether a route given by `prefix` and `methods` (any case; empty for
/// all) covers `method` `path`: the canonical path without its query, on
/// whole segments, ASCII case-insensitively ([`crate::gate::prefix_covers`]).
/// The one matcher of every configured route list.
pub fn route_matches(prefix: &str, methods: &[String], method: &str, path: &str) -> bool {
    crate::gate::prefix_covers(prefix, path) && (methods.is_empty() || methods.iter().any(|m| m.eq_ignore_ascii_case(method)))
}

/// All routes and the idempotency settings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RoutePolicy {
    routes: Vec<Route>,
    idempotency: IdempotencySettings,
}

/// What a request must still pass once its key was accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct RoutePlan<'a> {
    /// The signature to verify first, if any.
    pub signature: Option<RouteSignature<'a>>,
    /// Then what to do about idempotency.
    pub idempotency: IdempotencyPlan,
}

/// The idempotency part of a [`RoutePlan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdempotencyPlan {
    /// No key, or one the route ignores: forward as is.
    None,
    /// Decide with this key ([`crate::idempotency::decide`]).
    Key(String),
    /// A required key is missing.
    Refuse(Refusal),
}

impl RoutePolicy {
    /// Validates and takes the routes.
    ///
    /// # Errors
    /// A route that asks for two signature schemes.
    pub fn new(routes: Vec<Route>, idempotency: IdempotencySettings) -> Result<Self, RouteError> {
        if let Some(route) = routes.iter().find(|r| r.signed && r.rfc9421.is_some()) {
            return Err(RouteError::TwoSignatures(route.prefix.clone()));
        }
        Ok(Self { routes, idempotency })
    }

    /// The routes, in configuration order.
    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The idempotency settings.
    pub fn idempotency(&self) -> &IdempotencySettings {
        &self.idempotency
    }

    /// The first route matching `method` and `path` (without its query).
    pub fn route(&self, method: &str, path: &str) -> Option<&Route> {
        self.routes.iter().find(|r| route_matches(&r.prefix, &r.methods, method, path))
    }

    /// What a request to `method` `path` with `headers` must still pass.
    ///
    /// A signed route requires an idempotency key unless it says otherwise;
    /// an `optional` route honours one sent with a method of
    /// [`IdempotencySettings::methods`]; an empty key counts as absent.
    pub fn plan(&self, method: &str, path: &str, headers: &(impl HeaderMap + ?Sized)) -> RoutePlan<'_> {
        let route = self.route(method, path);
        let signature = route.and_then(|r| match (&r.rfc9421, r.signed) {
            (Some(rfc), _) => Some(RouteSignature::Rfc9421 { required: &rfc.required, require_nonce: rfc.require_nonce }),
            (None, true) => Some(RouteSignature::Dvpay),
            (None, false) => None,
        });
        let default_mode = if signature.is_some() { IdempotencyMode::Required } else { IdempotencyMode::Optional };
        let mode = route.and_then(|r| r.idempotency).unwrap_or(default_mode);
        let key = self.idempotency.headers.iter().find_map(|name| field(headers, name));
        let honoured = match mode {
            IdempotencyMode::Required => true,
            IdempotencyMode::Optional => self.idempotency.methods.iter().any(|m| m.eq_ignore_ascii_case(method)),
            IdempotencyMode::Off => false,
        };
        let idempotency = match (mode, key) {
            (IdempotencyMode::Required, None) => IdempotencyPlan::Refuse(Refusal::MISSING_IDEMPOTENCY_KEY),
            (_, Some(key)) if honoured => IdempotencyPlan::Key(key),
            _ => IdempotencyPlan::None,
        };
        RoutePlan { signature, idempotency }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(json: &str) -> RoutePolicy {
        RoutePolicy::new(serde_json::from_str(json).unwrap(), IdempotencySettings::default()).unwrap()
    }

    #[test]
    fn routes_match_prefix_and_method_on_the_path() {
        let p = policy(r#"[{"prefix":"/pay/","methods":["post"],"signed":true}]"#);
        assert!(p.route("POST", "/pay/refund?x=1").is_some());
        assert!(p.route("GET", "/pay/refund").is_none());
        assert!(p.route("POST", "/other?/pay/").is_none());
        assert!(p.route("POST", "/PAY/refund").is_some(), "any case");
        assert!(p.route("POST", "/payx").is_none(), "whole segments");
    }

    #[test]
    fn signed_routes_require_a_key_by_default() {
        let p = policy(r#"[{"prefix":"/refund","signed":true},{"prefix":"/rfc","rfc9421":{"required":["@method"]}},{"prefix":"/free","idempotency":"off"}]"#);
        let none: [(&str, &str); 0] = [];
        let plan = p.plan("POST", "/refund", &none);
        assert_eq!(plan.signature, Some(RouteSignature::Dvpay));
        assert_eq!(plan.idempotency, IdempotencyPlan::Refuse(Refusal::MISSING_IDEMPOTENCY_KEY));
        let plan = p.plan("POST", "/rfc", &[("Idempotency-Key", " k1 ")]);
        assert!(matches!(plan.signature, Some(RouteSignature::Rfc9421 { required, require_nonce: false }) if required == ["@method"]));
        assert_eq!(plan.idempotency, IdempotencyPlan::Key("k1".into()));
        assert_eq!(p.plan("POST", "/free", &[("x-idempotent-key", "k")]).idempotency, IdempotencyPlan::None);
        assert_eq!(p.plan("GET", "/other", &[("x-idempotent-key", "k")]).idempotency, IdempotencyPlan::None);
        assert_eq!(p.plan("POST", "/other", &[("x-idempotent-key", "k")]).idempotency, IdempotencyPlan::Key("k".into()));
        assert_eq!(p.plan("POST", "/other", &[("x-idempotent-key", "")]).idempotency, IdempotencyPlan::None);
    }

    #[test]
    fn two_signatures_on_one_route_are_refused() {
        let routes = serde_json::from_str(r#"[{"prefix":"/x","signed":true,"rfc9421":{}}]"#).unwrap();
        assert_eq!(
            RoutePolicy::new(routes, IdempotencySettings::default()),
            Err(RouteError::TwoSignatures("/x".into()))
        );
    }
}
