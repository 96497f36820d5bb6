use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::*;
use crate::Secret;
use crate::keys::KeyRecord;
use crate::routes::{IdempotencySettings, Route};

const LIVE: &str = "sk_live_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5Yg0Jk2";
const TEST: &str = "sk_test_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5Yg0Jk2";
const SECRET: &str = "dvp_sec_7Hq2Lm9Xc4Rt8Vb1";
const NOW: u64 = 1_719_500_000;

struct Fixture {
    keys: KeySet,
    policy: Policy,
    routes: RoutePolicy,
    signed: SignedRequests,
}

impl Fixture {
    fn new() -> Self {
        let mut live = KeyRecord::new("k_live", LIVE, Environment::Live);
        live.webcode = Some("SHOP01".into());
        live.scopes = vec!["payments".into()];
        let test = KeyRecord::new("k_test", TEST, Environment::Test);
        let mut policy = Policy::default();
        policy.scope_routes.insert("payments".into(), vec!["/api/v1/".into()]);
        let routes: Vec<Route> = serde_json::from_str(
            r#"[{"prefix":"/api/v1/order/refund","methods":["POST"],"signed":true},
                {"prefix":"/api/v1/pay","idempotency":"required"}]"#,
        )
        .unwrap();
        let mut signed = SignedRequests::default();
        signed.dvpay.insert("k_live".into(), dvpay::Verifier::new([&Secret::from_text(SECRET)]));
        Self {
            keys: KeySet::new(vec![live, test]).unwrap(),
            policy,
            routes: RoutePolicy::new(routes, IdempotencySettings::default()).unwrap(),
            signed,
        }
    }

    fn gate(&self) -> Gate<'_> {
        Gate {
            keys: &self.keys,
            policy: &self.policy,
            key_header: "x-api-key",
            webcode_header: Some("x-webcode"),
            single_valued: &["access-token"],
            routes: &self.routes,
            signed: &self.signed,
            forwards_as_sent: false,
        }
    }
}

fn head<'a>(target: &'a str, headers: &'a [(String, String)]) -> Head<'a, [(String, String)]> {
    Head { method: "POST", target, headers, client_ip: None, origin: None, now: NOW }
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
}

fn signed(body: &[u8], idempotency_key: &str) -> Vec<(String, String)> {
    let made = dvpay::Signer::new(LIVE, &Secret::from_text(SECRET)).sign(body, NOW, idempotency_key).unwrap();
    made.headers.into_iter().map(|(n, v)| (n.to_owned(), v)).collect()
}

#[test]
fn encoded_spellings_of_a_signed_route_are_the_signed_route() {
    let f = Fixture::new();
    let gate = f.gate();
    let h = pairs(&[("x-api-key", LIVE)]);
    for target in ["/api/v1/order/%72efund", "/api/v1/order/Refund", "/API/V1/ORDER/REFUND", "/api/v1/%6Frder/refund/1"] {
        let admitted = gate.head(&head(target, &h)).unwrap();
        assert!(admitted.needs_body, "{target}");
        let refused = gate.body(&head(target, &h), admitted, b"{}").unwrap_err();
        assert_eq!(refused.reason, "missing_signature", "{target}");
    }
    for target in ["/api/v1/order;x=1/refund", "/api/v1/x/..;/order/refund", "/api/v1/x/../order/refund", "/api/v1//order/refund"] {
        assert_eq!(gate.head(&head(target, &h)), Err(Refusal::PATH_NOT_CANONICAL), "{target}");
    }
}

#[test]
fn the_forwarded_target_is_the_checked_one() {
    let f = Fixture::new();
    let body = br#"{"orderId":1}"#;
    let h = signed(body, "r-1");
    let forward = f.gate().check(&head("/api/v1/order/%72efund?a=%2f", &h), body).unwrap();
    assert_eq!(forward.target.as_str(), "/api/v1/order/refund?a=%2f");
    assert_eq!((forward.key_id.as_str(), forward.idempotency_key.as_deref()), ("k_live", Some("r-1")));
    // A signed route names the mark its signature leaves; the same signature
    // under another idempotency key is a replay.
    let guard = forward.replay.expect("a signed route has a replay guard");
    let mut again = h.clone();
    again.retain(|(n, _)| n != "X-Idempotent-Key");
    again.push(("X-Idempotent-Key".into(), "r-2".into()));
    let replayed = f.gate().check(&head("/api/v1/order/refund", &again), body).unwrap().replay.unwrap();
    assert_eq!(replayed.storage_key, guard.storage_key);
    assert_eq!(replayed.judge(&guard.mark), Err(Refusal::REPLAYED_SIGNATURE));
    assert_eq!(guard.judge(&guard.mark), Ok(()));
    let plain = f.gate().check(&Head { method: "GET", ..head("/api/v1/other", &h) }, b"").unwrap();
    assert_eq!(plain.replay, None);
}

#[test]
fn test_and_scope_rules_match_the_canonical_path() {
    let f = Fixture::new();
    let live = pairs(&[("x-api-key", LIVE)]);
    let test = pairs(&[("x-api-key", TEST)]);
    let method = |target, h| f.gate().head(&Head { method: "GET", ..head(target, h) }).map(|a| a.allowed.key_id);
    assert_eq!(method("/external/v1/%74est/x", &live), Err(Refusal::from(crate::keys::KeyRejection::EnvironmentMismatch)));
    assert_eq!(method("/external/v1/TEST/x", &test), Ok("k_test".into()));
    assert_eq!(method("/external/v1/test/..;/refund", &test), Err(Refusal::PATH_NOT_CANONICAL));
    assert_eq!(method("/api/v10/x", &live), Err(Refusal::from(crate::keys::KeyRejection::ScopeDenied)));
}

#[test]
fn doubled_single_valued_fields_are_refused_before_the_key() {
    let f = Fixture::new();
    for list in [
        &[("x-api-key", LIVE), ("x-webcode", "SHOP01"), ("X-Webcode", "VICTIM")][..],
        &[("x-api-key", LIVE), ("x-api-key", "sk_live_other")],
        &[("x-api-key", LIVE), ("access-token", "a"), ("access-token", "b")],
        &[("x-api-key", LIVE), ("x-idempotent-key", "k1"), ("idempotency-key", "k1"), ("idempotency-key", "k2")],
        &[("x-timestamp", "1"), ("x-timestamp", "2")],
    ] {
        let h = pairs(list);
        assert_eq!(f.gate().head(&head("/api/v1/pay", &h)), Err(Refusal::DUPLICATE_FIELD), "{list:?}");
    }
    let h = pairs(&[("x-api-key", LIVE), ("x-webcode", "VICTIM")]);
    assert_eq!(f.gate().head(&head("/api/v1/x", &h)).unwrap_err().reason, "webcode_mismatch");
}

#[test]
fn a_missing_idempotency_key_is_refused_on_the_head_when_nothing_is_verified_first() {
    let f = Fixture::new();
    let h = pairs(&[("x-api-key", LIVE)]);
    assert_eq!(f.gate().head(&head("/api/v1/pay", &h)), Err(Refusal::MISSING_IDEMPOTENCY_KEY));
    let plain = f.gate().head(&Head { method: "GET", ..head("/api/v1/other", &h) }).unwrap();
    assert!(!plain.needs_body, "a plain GET streams its body");
}

#[test]
fn a_runtime_that_forwards_as_sent_refuses_other_spellings_first() {
    let f = Fixture::new();
    let gate = Gate { forwards_as_sent: true, ..f.gate() };
    let none: [(String, String); 0] = [];
    // Refused as a path before the (missing) key is looked at.
    assert_eq!(gate.head(&head("/api/v1/order/%72efund", &none)), Err(Refusal::PATH_NOT_CANONICAL));
    let h = pairs(&[("x-api-key", LIVE)]);
    assert!(gate.head(&head("/api/v1/order/refund", &h)).is_ok());
}

#[test]
fn refusals_before_the_key_check_name_the_path_first() {
    let f = Fixture::new();
    let none: [(String, String); 0] = [];
    assert_eq!(f.gate().head(&head("/a/%2e%2e/b", &none)), Err(Refusal::PATH_NOT_CANONICAL));
    assert_eq!(f.gate().head(&head("/a", &none)).unwrap_err().reason, "missing_key");
}
