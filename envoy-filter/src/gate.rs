//! What the filter asks the core about a request, in the Extism plugin's
//! order: the key check of `keys.md`, then the route's signature, then the
//! idempotency plan. Pure functions over the prepared [`Config`]: the proxy-wasm
//! glue only collects the request's facts and acts on the answer.

use std::net::{IpAddr, SocketAddr};

use payseal_core::keys::{Allowed, Request};
use payseal_core::routes::{IdempotencyPlan, RouteSignature};
use payseal_core::signing::{Clock, SignatureError, dvpay};
use payseal_core::{HeaderMap, Refusal, rfc9421};

use crate::config::Config;

/// What Envoy told the filter about a request before its body.
#[derive(Clone, Copy, Debug)]
pub struct Head<'a> {
    /// `:method`.
    pub method: &'a str,
    /// `:path`, with its query, as sent.
    pub path: &'a str,
    /// `:scheme://:authority:path`, the URL an RFC 9421 signature covers.
    pub url: &'a str,
    /// Every request header, pseudo-headers included, in Envoy's order.
    pub headers: &'a [(String, String)],
    /// The client's address as Envoy determined it (`source.address`).
    pub client_ip: Option<IpAddr>,
    /// Unix seconds.
    pub now: u64,
}

/// The values of `name`, joined as HTTP combines a repeated field (`, `) and
/// not trimmed: the key check must see the key exactly as sent.
pub fn combined(headers: &[(String, String)], name: &str) -> Option<String> {
    let mut joined: Option<String> = None;
    headers.for_each_value(name, &mut |value| match joined.as_mut() {
        Some(acc) => {
            acc.push_str(", ");
            acc.push_str(value);
        }
        None => joined = Some(value.to_owned()),
    });
    joined
}

/// The address in Envoy's `source.address` property: `ip:port`,
/// `[v6]:port`, or a bare address; `None` for anything else (a pipe).
pub fn parse_address(bytes: &[u8]) -> Option<IpAddr> {
    let text = core::str::from_utf8(bytes).ok()?;
    text.parse::<SocketAddr>().map(|s| s.ip()).or_else(|_| text.parse::<IpAddr>()).ok()
}

/// The key check of `keys.md`, first failure deciding.
///
/// # Errors
/// The core's refusal for the first failing check.
pub fn admit(config: &Config, head: &Head<'_>) -> Result<Allowed, Refusal> {
    let keys = &config.keys;
    let api_key = combined(head.headers, &keys.header);
    let webcode = config.envoy.webcode_header.as_deref().and_then(|name| combined(head.headers, name));
    let request = Request {
        api_key: api_key.as_deref(),
        method: head.method,
        path: head.path,
        client_ip: head.client_ip,
        webcode: webcode.as_deref(),
    };
    keys.set.check(&request, &keys.policy, head.now).map_err(Refusal::from)
}

/// What to do with an admitted request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Step {
    /// The route needs the body (a signature, or an idempotency fingerprint):
    /// buffer it and ask again.
    NeedBody,
    /// Answer with this refusal; do not forward.
    Refuse(Refusal),
    /// Forward; with an idempotency key, claim it first.
    Forward(Option<String>),
}

/// The route's signature and idempotency plan for an admitted request;
/// `body` is `None` until the body was buffered.
pub fn route_step(config: &Config, head: &Head<'_>, allowed: &Allowed, body: Option<&[u8]>) -> Step {
    let plan = config.routes.plan(head.method, head.path, head.headers);
    let needs_body = plan.signature.is_some() || matches!(plan.idempotency, IdempotencyPlan::Key(_));
    let Some(body) = body else {
        return match plan.idempotency {
            // Nothing to verify first: refuse at once.
            IdempotencyPlan::Refuse(refusal) if plan.signature.is_none() => Step::Refuse(refusal),
            _ if needs_body => Step::NeedBody,
            _ => Step::Forward(None),
        };
    };
    if let Some(signature) = plan.signature
        && let Err(e) = verify(config, head, allowed, signature, body)
    {
        return Step::Refuse(e.into());
    }
    match plan.idempotency {
        IdempotencyPlan::Refuse(refusal) => Step::Refuse(refusal),
        IdempotencyPlan::Key(key) => Step::Forward(Some(key)),
        IdempotencyPlan::None => Step::Forward(None),
    }
}

/// The route's signature with the secrets of the key that called. A key
/// without configured secrets gets the core's `invalid_secret` (a 500: the
/// gateway's configuration, not the client, is at fault), as in the plugin.
fn verify(
    config: &Config,
    head: &Head<'_>,
    allowed: &Allowed,
    signature: RouteSignature<'_>,
    body: &[u8],
) -> Result<(), SignatureError> {
    let signed = &config.signed_requests;
    let clock = Clock { now: head.now, tolerance: signed.tolerance };
    match signature {
        RouteSignature::Dvpay => match signed.dvpay.get(&allowed.key_id) {
            Some(verifier) => verifier.verify(body, head.headers, clock).map(drop),
            None => dvpay::Verifier::new([]).verify(body, head.headers, clock).map(drop),
        },
        RouteSignature::Rfc9421 { required } => {
            let request = rfc9421::VerifyRequest { method: head.method, url: head.url, headers: head.headers, body };
            let required: Vec<&str> = required.iter().map(String::as_str).collect();
            match signed.rfc9421.get(&allowed.key_id) {
                Some(verifier) => verifier.verify(&request, &required, clock).map(drop),
                None => Err(SignatureError::InvalidSecret("no RFC 9421 key is configured for this API key")),
            }
        }
    }
}

/// Refusals of the adapter itself: built from the core's [`Refusal`] so the
/// body has the one shape (`Refusal::body`).
pub mod adapter {
    use payseal_core::Refusal;

    /// The filter's configuration could not be read: every request is refused.
    pub const INVALID_CONFIGURATION: Refusal = Refusal {
        status: 500,
        code: "CONFIGURATION_ERROR",
        reason: "invalid_config",
        message: "The payseal filter configuration is invalid.",
    };

    /// The body of a signed or idempotent route is over `envoy.max_body_bytes`.
    pub const BODY_TOO_LARGE: Refusal = Refusal {
        status: 413,
        code: "PAYLOAD_TOO_LARGE",
        reason: "body_too_large",
        message: "The request body is larger than this gateway accepts.",
    };

    /// The idempotency claim could not be written (contention past the retry
    /// bound, or an unreadable record): the request is not forwarded.
    pub const IDEMPOTENCY_UNAVAILABLE: Refusal = Refusal {
        status: 503,
        code: "IDEMPOTENCY_UNAVAILABLE",
        reason: "idempotency_unavailable",
        message: "The idempotency store cannot take this request now; retry it.",
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIVE: &str = "sk_live_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5Yg0Jk2";
    const LIVE_SHA: &str = "b9221c5bfc900f3541492a62e14a7662976b0e845a60358d60e351628a9f6110";

    fn config(extra: &str) -> Config {
        let text = format!(
            r#"{{"keys":{{"records":[{{"id":"k","key_sha256":"{LIVE_SHA}","environment":"live","webcode":"SHOP01"}}]}},
                "envoy":{{"webcode_header":"x-webcode"}}{extra}}}"#
        );
        Config::parse(text.as_bytes()).unwrap()
    }

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    fn head<'a>(path: &'a str, headers: &'a [(String, String)]) -> Head<'a> {
        Head { method: "POST", path, url: "http://h/x", headers, client_ip: None, now: 1_719_500_000 }
    }

    #[test]
    fn key_header_and_webcode_header() {
        let c = config("");
        let h = headers(&[("x-api-key", LIVE), ("x-webcode", "SHOP01")]);
        assert_eq!(admit(&c, &head("/v1", &h)).unwrap().key_id, "k");
        let h = headers(&[("x-api-key", LIVE), ("x-webcode", "SHOP02")]);
        assert_eq!(admit(&c, &head("/v1", &h)).unwrap_err().reason, "webcode_mismatch");
        let h = headers(&[("X-Webcode", "SHOP01")]);
        assert_eq!(admit(&c, &head("/v1", &h)).unwrap_err().reason, "missing_key");
        // A repeated key header is one value, which no format accepts.
        let h = headers(&[("x-api-key", LIVE), ("x-api-key", LIVE)]);
        assert_eq!(admit(&c, &head("/v1", &h)).unwrap_err().reason, "malformed_key");
    }

    #[test]
    fn signed_route_steps() {
        let c = config(r#","routes":[{"prefix":"/pay","signed":true}],"signed_requests":{"secrets":{"k":["dvp_sec_7Hq2Lm9Xc4Rt8Vb1"]}}"#);
        let h = headers(&[("x-api-key", LIVE)]);
        let allowed = admit(&c, &head("/pay", &h)).unwrap();
        assert_eq!(route_step(&c, &head("/pay", &h), &allowed, None), Step::NeedBody);
        assert_eq!(route_step(&c, &head("/other", &h), &allowed, None), Step::Forward(None));
        let Step::Refuse(r) = route_step(&c, &head("/pay", &h), &allowed, Some(b"{}")) else { panic!() };
        assert_eq!(r.reason, "missing_signature");
        let body = br#"{"orderId":123,"refundAmount":10.5}"#;
        let signed = headers(&[
            ("x-api-key", LIVE),
            ("x-timestamp", "1719500000"),
            ("x-signature", "9fc39e440c4b1641d797d37db464c9f736185cdedcfbf05483352ba66160b350"),
        ]);
        let Step::Refuse(r) = route_step(&c, &head("/pay", &signed), &allowed, Some(body)) else { panic!() };
        assert_eq!(r.reason, "missing_idempotency_key", "signature first, then the idempotency key");
        let mut keyed = signed.clone();
        keyed.push(("x-idempotent-key".into(), "k1".into()));
        assert_eq!(route_step(&c, &head("/pay", &keyed), &allowed, Some(body)), Step::Forward(Some("k1".into())));
    }

    #[test]
    fn unsigned_route_without_required_key_is_refused_before_the_body() {
        let c = config(r#","routes":[{"prefix":"/pay","idempotency":"required"}]"#);
        let h = headers(&[("x-api-key", LIVE)]);
        let allowed = admit(&c, &head("/pay", &h)).unwrap();
        assert_eq!(route_step(&c, &head("/pay", &h), &allowed, None), Step::Refuse(Refusal::MISSING_IDEMPOTENCY_KEY));
    }

    #[test]
    fn missing_secrets_are_the_gateways_fault() {
        let c = config(r#","routes":[{"prefix":"/pay","signed":true},{"prefix":"/rfc","rfc9421":{}}]"#);
        let h = headers(&[("x-api-key", LIVE), ("x-timestamp", "1719500000"), ("x-signature", "00")]);
        let allowed = admit(&c, &head("/pay", &h)).unwrap();
        let Step::Refuse(r) = route_step(&c, &head("/pay", &h), &allowed, Some(b"")) else { panic!() };
        assert_eq!((r.status, r.reason), (500, "invalid_secret"));
        let h = headers(&[("x-api-key", LIVE), ("signature-input", "sig1=();keyid=\"a\""), ("signature", "sig1=:AA==:")]);
        let Step::Refuse(r) = route_step(&c, &head("/rfc", &h), &allowed, Some(b"")) else { panic!() };
        assert_eq!(r.status, 500);
    }

    #[test]
    fn source_addresses() {
        assert_eq!(parse_address(b"203.0.113.45:0"), Some("203.0.113.45".parse().unwrap()));
        assert_eq!(parse_address(b"[::ffff:198.51.100.7]:5"), Some("::ffff:198.51.100.7".parse().unwrap()));
        assert_eq!(parse_address(b"2001:db8::1"), Some("2001:db8::1".parse().unwrap()));
        assert_eq!(parse_address(b"/tmp/sock"), None);
        assert_eq!(parse_address(b"\xff"), None);
    }

    #[test]
    fn adapter_refusals_have_the_core_shape() {
        assert_eq!(
            adapter::BODY_TOO_LARGE.body(),
            r#"{"status":413,"code":"PAYLOAD_TOO_LARGE","message":"The request body is larger than this gateway accepts."}"#
        );
    }
}
