//! What the filter asks the core about a request: the core's request gate
//! ([`payseal_core::gate`], `shared/spec/gate.md`), translated. The filter
//! sequences no check of its own; it collects what Envoy knows, asks
//! [`Gate::head`] and [`Gate::body`], and maps Envoy's facts (its header list,
//! `source.address`, `response.code_details`) to the core's types.
//!
//! Envoy forwards `:path` as sent and the filter cannot rewrite it, so the
//! gate runs with `forwards_as_sent`: the core refuses a target that is not
//! already canonical (`gate.md`: "a runtime that cannot rewrite the target
//! refuses any request whose target is not already canonical").

use std::net::{IpAddr, SocketAddr};

use payseal_core::Refusal;
use payseal_core::gate::{Admitted, Forward, Gate, Head, ReplayGuard, forward};
use payseal_core::idempotency::{StoredResponse, UpstreamOutcome};

use crate::config::Config;
use crate::store::MarkClaim;

/// What Envoy told the filter about a request before its body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `:method`.
    pub method: String,
    /// `:path`, with its query, as sent (and as Envoy forwards it).
    pub path: String,
    /// `:scheme://:authority`: the origin an RFC 9421 signature covers.
    pub origin: String,
    /// Every request header, pseudo-headers included, in Envoy's order.
    pub headers: Vec<(String, String)>,
    /// The client's address as Envoy determined it (`source.address`).
    pub client_ip: Option<IpAddr>,
    /// Unix seconds.
    pub now: u64,
}

impl Request {
    /// The request whose headers (pseudo-headers included) are `headers`.
    pub fn new(headers: Vec<(String, String)>, client_ip: Option<IpAddr>, now: u64) -> Self {
        let pseudo = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let (method, path) = (pseudo(":method"), pseudo(":path"));
        let origin = format!("{}://{}", pseudo(":scheme"), pseudo(":authority"));
        Self { method, path, origin, headers, client_ip, now }
    }

    fn head(&self) -> Head<'_, [(String, String)]> {
        Head {
            method: &self.method,
            target: &self.path,
            headers: &self.headers,
            client_ip: self.client_ip,
            origin: Some(&self.origin),
            now: self.now,
        }
    }
}

/// The core's gate over the prepared configuration.
pub fn gate(config: &Config) -> Gate<'_> {
    Gate {
        keys: &config.keys.set,
        policy: &config.keys.policy,
        key_header: &config.keys.header,
        webcode_header: config.envoy.webcode_header.as_deref(),
        single_valued: &[],
        routes: &config.routes,
        signed: &config.signed_requests,
        forwards_as_sent: true,
    }
}

/// The head checks of [`Gate::head`]; a target not canonical as sent is
/// refused first (the gate's `forwards_as_sent`).
///
/// # Errors
/// The core's refusal for the first failing check.
pub fn head(config: &Config, request: &Request) -> Result<Admitted, Refusal> {
    gate(config).head(&request.head())
}

/// The body checks of [`Gate::body`] for an admitted request. On a signed
/// route the [`Forward`] carries the signature's [`ReplayGuard`]: its mark
/// is claimed ([`crate::store::claim_mark`]) and judged ([`replay_verdict`])
/// before the idempotency claim.
///
/// # Errors
/// The core's refusal for the first failing check.
pub fn body(config: &Config, request: &Request, admitted: Admitted, body: &[u8]) -> Result<Forward, Refusal> {
    gate(config).body(&request.head(), admitted, body)
}

/// What a claim of `guard`'s mark means for the request: claimed, or a held
/// mark the guard lets through (the same request retried with the same
/// idempotency key) → go on to the idempotency claim; a held mark it does
/// not → the core's `replayed_signature`; a claim that could not be written
/// → [`Refusal::IDEMPOTENCY_UNAVAILABLE`] (fail closed: a signed request is
/// never forwarded unguarded).
///
/// # Errors
/// [`Refusal::REPLAYED_SIGNATURE`] or [`Refusal::IDEMPOTENCY_UNAVAILABLE`].
pub fn replay_verdict(guard: &ReplayGuard, claim: MarkClaim) -> Result<(), Refusal> {
    match claim {
        MarkClaim::Claimed => Ok(()),
        MarkClaim::Held(held) => guard.judge(&held),
        MarkClaim::Failed => Err(Refusal::IDEMPOTENCY_UNAVAILABLE),
    }
}

/// The address in Envoy's `source.address` property: `ip:port`,
/// `[v6]:port`, or a bare address; `None` for anything else (a pipe).
pub fn parse_address(bytes: &[u8]) -> Option<IpAddr> {
    let text = core::str::from_utf8(bytes).ok()?;
    text.parse::<SocketAddr>().map(|s| s.ip()).or_else(|_| text.parse::<IpAddr>()).ok()
}

/// `X-Forwarded-Proto` as the filter sees it is Envoy's decision, like the
/// client address: before any filter runs, the connection manager writes it
/// from the downstream connection (`use_remote_address: true` and no trusted
/// hop overwrites a client's) or keeps the one the trusted proxies in front
/// sent (`xff_num_trusted_hops` > 0). Envoy's router matches no route
/// without it.
pub const ENVOY_FORWARDED_PROTO: &str = "x-forwarded-proto";

/// The request-header edits before an admitted request is forwarded
/// (`gate.md`, "What the upstream receives"), in order: every header the
/// core names in [`forward::is_client_forwarding_header`] removed (`None`),
/// but Envoy's own [`ENVOY_FORWARDED_PROTO`]; then `x-forwarded-for` and
/// `forwarded` written from the client address Envoy resolved, when it
/// resolved one.
pub fn forwarding_edits(headers: &[(String, String)], client_ip: Option<IpAddr>, caller: &Caller<'_>) -> Vec<(String, Option<String>)> {
    let mut edits: Vec<(String, Option<String>)> = Vec::new();
    if !caller.forward_api_key {
        edits.push((caller.key_header.to_ascii_lowercase(), None));
    }
    // Set, not appended: any client-sent copy is replaced.
    edits.push((caller.key_id_header.to_ascii_lowercase(), Some(caller.key_id.to_owned())));
    for (name, _) in headers {
        let name = name.to_ascii_lowercase();
        if forward::is_client_forwarding_header(&name)
            && name != ENVOY_FORWARDED_PROTO
            && !edits.iter().any(|(n, _)| *n == name)
        {
            edits.push((name, None));
        }
    }
    if let Some(ip) = client_ip {
        edits.push(("x-forwarded-for".to_owned(), Some(forward::x_forwarded_for(ip))));
        edits.push(("forwarded".to_owned(), Some(forward::forwarded(ip))));
    }
    edits
}

/// Who called, as the upstream learns it: the key id in its header, the API
/// key itself removed unless configured otherwise.
#[derive(Clone, Copy, Debug)]
pub struct Caller<'a> {
    /// The header carrying the API key.
    pub key_header: &'a str,
    /// Whether the API key header is forwarded.
    pub forward_api_key: bool,
    /// The header the key id is written to.
    pub key_id_header: &'a str,
    /// The key that called.
    pub key_id: &'a str,
}

impl<'a> Caller<'a> {
    /// The caller of an admitted request under `config`.
    pub fn of(config: &'a Config, key_id: &'a str) -> Self {
        Self {
            key_header: &config.keys.header,
            forward_api_key: config.envoy.forward_api_key,
            key_id_header: &config.envoy.key_id_header,
            key_id,
        }
    }
}

/// What of the upstream's answer to a claimed request passed the filter.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Seen {
    /// A whole answer: status, headers and every byte of the body.
    Whole(StoredResponse),
    /// A whole answer over `envoy.max_stored_response_bytes`: not kept.
    TooLarge,
    /// A status, then the stream ended before the answer did.
    CutOff,
    /// No answer at all.
    Nothing,
}

/// `response.code_details` of an answer that came from the upstream.
pub const VIA_UPSTREAM: &str = "via_upstream";

/// Envoy's reset reasons (`upstream_reset_before_response_started{…}`)
/// that mean the request never reached the upstream: no connection, a
/// circuit breaker, or a stream the upstream refused unprocessed
/// (HTTP/2 `REFUSED_STREAM`, RFC 9113 §8.7).
const NOT_SENT_RESETS: &[&str] = &[
    "connection_failure",
    "local_connection_failure",
    "remote_connection_failure",
    "connection_timeout",
    "overflow",
    "local_refused_stream_reset",
    "remote_refused_stream_reset",
];

/// Envoy's local-reply details that mean no upstream was picked at all.
const NOT_SENT_REPLIES: &[&str] =
    &["no_healthy_upstream", "route_not_found", "cluster_not_found", "no_route", "maintenance_mode", "direct_response"];

/// Whether `response.code_details` says the request certainly never reached
/// the upstream. Anything else that is not an upstream answer (a timeout, a
/// reset or closed connection after sending, a client that went away) may
/// have executed.
pub fn never_sent(code_details: &str) -> bool {
    if let Some(reason) = code_details.strip_prefix("upstream_reset_before_response_started{") {
        // `{reason}` or `{reason|transport failure}` (`,` in older Envoys).
        let reason = reason.trim_end_matches('}').split(['|', ',']).next().unwrap_or_default();
        return NOT_SENT_RESETS.contains(&reason);
    }
    NOT_SENT_REPLIES.contains(&code_details)
}

/// The core's [`UpstreamOutcome`] of a claimed request, from what passed the
/// filter and Envoy's `response.code_details` (`None`: unreadable). Only an
/// answer from the upstream that passed whole is an answer; only a request
/// Envoy certainly never sent is released; everything else is kept as
/// outcome unknown (`idempotency.md`, "When the upstream's outcome is not
/// known").
pub fn upstream_outcome(code_details: Option<&str>, seen: Seen) -> UpstreamOutcome {
    match (code_details, seen) {
        (Some(VIA_UPSTREAM), Seen::Whole(response)) => UpstreamOutcome::Answered(response),
        (Some(details), _) if never_sent(details) => UpstreamOutcome::NotSent,
        _ => UpstreamOutcome::NoAnswer,
    }
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

    /// A POST to `path` with Envoy's pseudo-headers and `pairs`.
    fn request(path: &str, pairs: &[(&str, &str)]) -> Request {
        let pseudo = [(":method", "POST"), (":path", path), (":scheme", "http"), (":authority", "h")];
        let headers = pseudo.iter().chain(pairs).map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect();
        Request::new(headers, None, 1_719_500_000)
    }

    fn refused(config: &Config, request: &Request) -> Refusal {
        match head(config, request) {
            Err(refusal) => refusal,
            Ok(admitted) => body(config, request, admitted, b"{}").unwrap_err(),
        }
    }

    #[test]
    fn pseudo_headers_make_the_request() {
        let r = request("/v1?x=1", &[]);
        assert_eq!((r.method.as_str(), r.path.as_str(), r.origin.as_str()), ("POST", "/v1?x=1", "http://h"));
        assert_eq!(r.headers.len(), 4, "pseudo-headers stay in the list the gate reads");
    }

    #[test]
    fn key_header_and_webcode_header() {
        let c = config("");
        let admitted = head(&c, &request("/v1", &[("x-api-key", LIVE), ("x-webcode", "SHOP01")])).unwrap();
        assert_eq!((admitted.allowed.key_id.as_str(), admitted.needs_body), ("k", false));
        assert_eq!(admitted.target.as_str(), "/v1");
        let r = request("/v1", &[("x-api-key", LIVE), ("x-webcode", "SHOP02")]);
        assert_eq!(head(&c, &r).unwrap_err().reason, "webcode_mismatch");
        assert_eq!(head(&c, &request("/v1", &[("X-Webcode", "SHOP01")])).unwrap_err().reason, "missing_key");
    }

    #[test]
    fn single_valued_fields_sent_twice_are_refused() {
        let c = config(r#","routes":[{"prefix":"/pay","idempotency":"required"}]"#);
        for pairs in [
            &[("x-api-key", LIVE), ("x-webcode", "SHOP01"), ("X-Webcode", "SHOP01")][..],
            &[("x-api-key", LIVE), ("x-webcode", "SHOP01, VICTIM")],
            &[("x-api-key", LIVE), ("x-api-key", LIVE)],
            &[("x-api-key", LIVE), ("x-idempotent-key", "a"), ("x-idempotent-key", "b")],
            &[("x-api-key", LIVE), ("x-timestamp", "1"), ("x-timestamp", "1")],
        ] {
            let refusal = head(&c, &request("/pay", pairs)).unwrap_err();
            assert_eq!(refusal, Refusal::DUPLICATE_FIELD, "{pairs:?}");
            assert_eq!((refusal.status, refusal.code, refusal.reason), (400, "INVALID_REQUEST", "duplicate_field"));
        }
    }

    #[test]
    fn targets_not_canonical_as_sent_are_refused() {
        let c = config(r#","routes":[{"prefix":"/order/refund","signed":true}]"#);
        for path in [
            "/order/%72efund",
            "/order/refund%2f",
            "/order/%52EFUND",
            "/order/refund/%7e",
            "/a%2fb",
            "/order/refund;x=1",
            "/x/..;/order/refund",
            "//order/refund",
            "/order//refund",
            "/order/%2e%2e/order/refund",
            "/order/./refund",
            "/order/refund#f",
            "order/refund",
            "",
        ] {
            // Even with a valid key: path form is the first check.
            let refusal = head(&c, &request(path, &[("x-api-key", LIVE)])).unwrap_err();
            assert_eq!(refusal, Refusal::PATH_NOT_CANONICAL, "{path:?}");
            assert_eq!((refusal.status, refusal.reason), (400, "path_not_canonical"), "{path:?}");
            let refusal = head(&c, &request(path, &[])).unwrap_err();
            assert_eq!(refusal, Refusal::PATH_NOT_CANONICAL, "{path:?} without a key");
        }
        // Canonical already: uppercase hex of a reserved byte, a query as sent.
        for path in ["/order/a%20b", "/order/x?y=%2f&z=%72"] {
            assert!(head(&c, &request(path, &[("x-api-key", LIVE)])).is_ok(), "{path}");
        }
    }

    #[test]
    fn every_encoded_letter_of_a_signed_route_is_refused() {
        let c = config(r#","routes":[{"prefix":"/order/refund","signed":true}]"#);
        let route = "/order/refund";
        for (i, letter) in route.char_indices().filter(|(_, ch)| ch.is_ascii_alphabetic()) {
            for encoded in [letter.to_ascii_lowercase(), letter.to_ascii_uppercase()].map(|l| format!("%{:02X}", u32::from(l))) {
                let path = format!("{}{encoded}{}", &route[..i], &route[i + 1..]);
                assert_eq!(head(&c, &request(&path, &[("x-api-key", LIVE)])).unwrap_err(), Refusal::PATH_NOT_CANONICAL, "{path}");
            }
        }
    }

    #[test]
    fn a_signed_route_matches_in_any_case() {
        let c = config(r#","routes":[{"prefix":"/order/refund","signed":true}]"#);
        for path in ["/order/refund", "/ORDER/Refund", "/order/refund/1"] {
            let r = request(path, &[("x-api-key", LIVE)]);
            let admitted = head(&c, &r).unwrap();
            assert!(admitted.needs_body, "{path}");
            assert_eq!(body(&c, &r, admitted, b"{}").unwrap_err().reason, "missing_signature", "{path}");
        }
        let r = request("/order/refundx", &[("x-api-key", LIVE)]);
        assert!(!head(&c, &r).unwrap().needs_body, "whole segments only");
    }

    #[test]
    fn signed_route_steps() {
        let c = config(r#","routes":[{"prefix":"/pay","signed":true}],"signed_requests":{"secrets":{"k":["dvp_sec_7Hq2Lm9Xc4Rt8Vb1"]}}"#);
        let r = request("/pay", &[("x-api-key", LIVE)]);
        assert!(head(&c, &r).unwrap().needs_body);
        let other = request("/other", &[("x-api-key", LIVE)]);
        let admitted = head(&c, &other).unwrap();
        assert!(!admitted.needs_body);
        let forward = body(&c, &other, admitted, b"").unwrap();
        assert_eq!((forward.key_id.as_str(), forward.target.as_str(), forward.idempotency_key), ("k", "/other", None));
        assert_eq!(refused(&c, &r).reason, "missing_signature");
        let payload = br#"{"orderId":123,"refundAmount":10.5}"#;
        let signed = [
            ("x-api-key", LIVE),
            ("x-timestamp", "1719500000"),
            ("x-signature", "9fc39e440c4b1641d797d37db464c9f736185cdedcfbf05483352ba66160b350"),
        ];
        let r = request("/pay", &signed);
        let admitted = head(&c, &r).unwrap();
        let refusal = body(&c, &r, admitted, payload).unwrap_err();
        assert_eq!(refusal.reason, "missing_idempotency_key", "signature first, then the idempotency key");
        let bad = body(&c, &r, head(&c, &r).unwrap(), b"{}").unwrap_err();
        assert_eq!(bad.reason, "bad_signature");
        let keyed = request("/pay", &[signed[0], signed[1], signed[2], ("x-idempotent-key", "k1")]);
        let forward = body(&c, &keyed, head(&c, &keyed).unwrap(), payload).unwrap();
        assert_eq!(forward.idempotency_key.as_deref(), Some("k1"));
        assert_eq!(forward.target.as_str(), "/pay");
    }

    #[test]
    fn a_signed_request_is_accepted_once() {
        let c = config(r#","routes":[{"prefix":"/pay","signed":true}],"signed_requests":{"secrets":{"k":["dvp_sec_7Hq2Lm9Xc4Rt8Vb1"]}}"#);
        let payload = br#"{"orderId":123,"refundAmount":10.5}"#;
        let sent = |signature: &str, idempotency_key: &str| {
            let r = request("/pay", &[
                ("x-api-key", LIVE),
                ("x-timestamp", "1719500000"),
                ("x-signature", signature),
                ("x-idempotent-key", idempotency_key),
            ]);
            body(&c, &r, head(&c, &r).unwrap(), payload).unwrap().replay.expect("a signed route's guard")
        };
        let mac = "9fc39e440c4b1641d797d37db464c9f736185cdedcfbf05483352ba66160b350";
        let store = crate::store::memory::Memory::default();
        let claim = |guard: &ReplayGuard| replay_verdict(guard, crate::store::claim_mark(&store, guard, 1_719_500_000));
        assert_eq!(claim(&sent(mac, "k1")), Ok(()), "first use");
        assert_eq!(claim(&sent(mac, "k1")), Ok(()), "retried with its idempotency key: the idempotency answer decides");
        assert_eq!(claim(&sent(mac, "k2")), Err(Refusal::REPLAYED_SIGNATURE), "under a fresh idempotency key");
        assert_eq!(claim(&sent(&mac.to_ascii_uppercase(), "k3")), Err(Refusal::REPLAYED_SIGNATURE), "in other hex case");
        assert_eq!(replay_verdict(&sent(mac, "k1"), MarkClaim::Failed), Err(Refusal::IDEMPOTENCY_UNAVAILABLE), "fails closed");
        // An unsigned route has nothing to guard.
        let other = request("/other", &[("x-api-key", LIVE)]);
        assert_eq!(body(&c, &other, head(&c, &other).unwrap(), b"").unwrap().replay, None);
    }

    #[test]
    fn unsigned_route_without_required_key_is_refused_before_the_body() {
        let c = config(r#","routes":[{"prefix":"/pay","idempotency":"required"}]"#);
        let refusal = head(&c, &request("/pay", &[("x-api-key", LIVE)])).unwrap_err();
        assert_eq!(refusal, Refusal::MISSING_IDEMPOTENCY_KEY);
        let admitted = head(&c, &request("/pay", &[("x-api-key", LIVE), ("x-idempotent-key", "k1")])).unwrap();
        assert!(admitted.needs_body, "the fingerprint covers the body");
    }

    #[test]
    fn missing_secrets_are_the_gateways_fault() {
        let c = config(r#","routes":[{"prefix":"/pay","signed":true},{"prefix":"/rfc","rfc9421":{}}]"#);
        let r = request("/pay", &[("x-api-key", LIVE), ("x-timestamp", "1719500000"), ("x-signature", "00")]);
        let refusal = refused(&c, &r);
        assert_eq!((refusal.status, refusal.reason), (500, "invalid_secret"));
        let r =
            request("/rfc", &[("x-api-key", LIVE), ("signature-input", "sig1=();keyid=\"a\""), ("signature", "sig1=:AA==:")]);
        assert_eq!(refused(&c, &r).status, 500);
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
    fn client_forwarding_headers_are_replaced() {
        let r = request(
            "/v1",
            &[
                ("forwarded", "for=1.2.3.4"),
                ("x-forwarded-for", "1.2.3.4, 127.0.0.1"),
                ("x-forwarded-host", "evil"),
                ("X-Real-IP", "1.2.3.4"),
                ("x-http-method-override", "DELETE"),
                ("x-forwarded-host", "evil2"),
                ("x-forwarded-proto", "http"),
                ("x-api-key", LIVE),
            ],
        );
        let caller = Caller { key_header: "X-Api-Key", forward_api_key: false, key_id_header: "x-payseal-key-id", key_id: "k" };
        let edits = forwarding_edits(&r.headers, Some("203.0.113.7".parse().unwrap()), &caller);
        let expected: Vec<(String, Option<String>)> = [
            ("x-api-key", None),
            ("x-payseal-key-id", Some("k")),
            ("forwarded", None),
            ("x-forwarded-for", None),
            ("x-forwarded-host", None),
            ("x-real-ip", None),
            ("x-http-method-override", None),
            ("x-forwarded-for", Some("203.0.113.7")),
            ("forwarded", Some("for=203.0.113.7")),
        ]
        .iter()
        .map(|(n, v)| ((*n).to_owned(), v.map(str::to_owned)))
        .collect();
        assert_eq!(edits, expected);
        let forwarding = Caller { forward_api_key: true, ..caller };
        let edits = forwarding_edits(&request("/v1", &[("x-method-override", "GET")]).headers, None, &forwarding);
        let expected = vec![("x-payseal-key-id".to_owned(), Some("k".to_owned())), ("x-method-override".to_owned(), None)];
        assert_eq!(edits, expected, "the key forwarded when configured; no address: nothing written");
    }

    fn answer(status: u16) -> StoredResponse {
        StoredResponse { status, headers: Vec::new(), body: b"{}".to_vec() }
    }

    #[test]
    fn what_happened_upstream() {
        use UpstreamOutcome::{Answered, NoAnswer, NotSent};
        assert_eq!(upstream_outcome(Some("via_upstream"), Seen::Whole(answer(201))), Answered(answer(201)));
        assert_eq!(upstream_outcome(Some("via_upstream"), Seen::Whole(answer(503))), Answered(answer(503)));
        // Sent, and no whole answer: it may have executed.
        for (details, seen) in [
            (Some("via_upstream"), Seen::CutOff),
            (Some("via_upstream"), Seen::TooLarge),
            (Some("upstream_response_timeout"), Seen::Whole(answer(504))),
            (Some("upstream_per_try_timeout"), Seen::Whole(answer(504))),
            (Some("upstream_reset_before_response_started{connection_termination}"), Seen::Whole(answer(503))),
            (Some("upstream_reset_before_response_started{remote_reset}"), Seen::Whole(answer(503))),
            (Some("upstream_reset_after_response_started{remote_reset}"), Seen::CutOff),
            (Some("downstream_remote_disconnect"), Seen::Nothing),
            (Some("request_payload_too_large"), Seen::Whole(answer(413))),
            (Some(""), Seen::Nothing),
            (None, Seen::Whole(answer(200))),
            (None, Seen::Nothing),
        ] {
            assert_eq!(upstream_outcome(details, seen.clone()), NoAnswer, "{details:?} {seen:?}");
        }
        // Never sent: released.
        for details in [
            "upstream_reset_before_response_started{remote_connection_failure|delayed_connect_error:_Connection_refused}",
            "upstream_reset_before_response_started{connection_failure,delayed_connect_error:_111}",
            "upstream_reset_before_response_started{connection_timeout}",
            "upstream_reset_before_response_started{overflow}",
            "upstream_reset_before_response_started{remote_refused_stream_reset}",
            "no_healthy_upstream",
            "route_not_found",
            "cluster_not_found",
        ] {
            assert_eq!(upstream_outcome(Some(details), Seen::Whole(answer(503))), NotSent, "{details}");
            assert_eq!(upstream_outcome(Some(details), Seen::Nothing), NotSent, "{details}");
        }
    }

    #[test]
    fn adapter_refusals_are_the_cores() {
        assert_eq!(
            Refusal::BODY_TOO_LARGE.body(),
            r#"{"status":413,"code":"PAYLOAD_TOO_LARGE","message":"The request body is larger than this gateway accepts."}"#
        );
        assert_eq!(Refusal::INVALID_CONFIGURATION.status, 500);
        assert_eq!(Refusal::IDEMPOTENCY_UNAVAILABLE.status, 503);
    }
}
