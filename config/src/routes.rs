//! The `routes` and `idempotency` sections, which the core reads together
//! into one [`RoutePolicy`]. They are two top-level fields of the document
//! (not one section), so each guest's document declares them and hands both here.

use payseal_core::routes::{IdempotencySettings, Route, RoutePolicy};

use crate::SectionError;

/// The routes with more than the key check, and the idempotency settings, prepared.
///
/// # Errors
/// [`SectionError::Routes`] for a route the core cannot apply.
pub fn prepare(routes: Vec<Route>, idempotency: IdempotencySettings) -> Result<RoutePolicy, SectionError> {
    RoutePolicy::new(routes, idempotency).map_err(SectionError::Routes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes(text: &str) -> Vec<Route> {
        crate::parse(text.as_bytes()).unwrap()
    }

    #[test]
    fn routes_are_the_cores() {
        let policy = prepare(routes(r#"[{"prefix":"/pay/","methods":["post"],"signed":true}]"#), IdempotencySettings::default()).unwrap();
        assert!(policy.route("POST", "/pay/refund?x=1").is_some());
        assert!(policy.route("GET", "/pay/refund").is_none());
        assert_eq!(policy.idempotency().ttl_seconds, payseal_core::idempotency::DEFAULT_TTL);
    }

    #[test]
    fn a_route_with_two_signatures_names_routes() {
        let e = prepare(routes(r#"[{"prefix":"/x","signed":true,"rfc9421":{}}]"#), IdempotencySettings::default()).unwrap_err();
        assert_eq!((e.field(), e.code()), ("routes", "invalid_routes"));
        assert_eq!(e.to_string(), r#"routes: "/x" requires both a DVPay and an RFC 9421 signature; choose one"#);
    }
}
