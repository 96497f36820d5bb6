//! A canary secret through every failing path: no error's `Display` or
//! `Debug`, and no holder's `Debug`, may contain it in any encoding.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::fmt::{Debug, Display};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use payseal_core::keys::{KeyRecord, KeySet, Policy, Request};
use payseal_core::redirect::{Kdf, Opener, Profile};
use payseal_core::signing::{Clock, cybersource, dvpay, standard_webhooks, stripe};
use payseal_core::{Environment, Secret};

const CANARY: &str = "CanarySecretValue0123456789XyZ";

/// Every way the canary could be written out.
fn forms() -> Vec<String> {
    let b = CANARY.as_bytes();
    vec![
        CANARY.to_owned(),
        CANARY.to_lowercase(),
        hex::encode(b),
        STANDARD.encode(b),
        URL_SAFE_NO_PAD.encode(b),
        format!("{b:?}"),
    ]
}

#[derive(Default)]
struct Seen {
    codes: BTreeSet<&'static str>,
}

impl Seen {
    fn error<E: Display + Debug>(&mut self, code: &'static str, e: &E) {
        self.codes.insert(code);
        assert_clean(&format!("{e}"));
        assert_clean(&format!("{e:?}"));
        assert_clean(&format!("{e:#?}"));
    }
}

fn assert_clean(text: &str) {
    for form in forms() {
        assert!(!text.contains(&form), "leaked {form:?} in {text:?}");
    }
}

fn signing_codes() -> BTreeSet<&'static str> {
    ["missing_signature", "malformed_header", "invalid_secret", "stale_timestamp", "bad_signature"].into()
}

#[test]
fn secret_debug_is_redacted() {
    let s = Secret::from_text(CANARY);
    assert_eq!(format!("{s:?}"), "Secret([redacted])");
    assert_clean(&format!("{s:#?}"));
}

type DvpayCase<'v> = (&'v dvpay::Verifier, Vec<(&'static str, String)>, u64);

#[test]
fn dvpay_failures() {
    let good = Secret::from_text(CANARY);
    let bad = Secret::from_text(&format!("{CANARY}\n"));
    let v = dvpay::Verifier::new([&good]);
    let signature = dvpay::Signer::new("ak", &good).signature(b"b", 1_000).unwrap();
    let mut seen = Seen::default();
    let cases: Vec<DvpayCase<'_>> = vec![
        (&v, vec![("x-timestamp", "1000".into())], 1_000),
        (&v, vec![("x-timestamp", "1000000000000".into()), ("x-signature", signature.clone())], 1_000),
        (&v, vec![("x-timestamp", "1000".into()), ("x-signature", signature.clone())], 9_000),
        (&v, vec![("x-timestamp", "1001".into()), ("x-signature", signature.clone())], 1_000),
    ];
    for (verifier, headers, now) in &cases {
        let e = verifier.verify(b"b", headers, Clock::at(*now)).unwrap_err();
        seen.error(e.code(), &e);
    }
    let invalid = dvpay::Verifier::new([&bad]);
    let e = invalid.verify(b"b", &[("x-timestamp", "1000"), ("x-signature", &signature)], Clock::at(1_000)).unwrap_err();
    seen.error(e.code(), &e);
    let e = dvpay::Signer::new("ak", &bad).signature(b"b", 1).unwrap_err();
    seen.error(e.code(), &e);
    assert_clean(&format!("{v:?} {invalid:?} {:?}", dvpay::Signer::new("ak", &good)));
    assert_eq!(seen.codes, signing_codes());
}

#[test]
fn stripe_failures() {
    let good = Secret::from_text(&format!("whsec_{CANARY}"));
    let bad = Secret::from_text(&format!(" whsec_{CANARY}"));
    let header = stripe::Signer::new(&good).sign(b"b", 1_000).unwrap();
    let v = stripe::Verifier::new([&good]);
    let mut seen = Seen::default();
    for (verifier, h, now) in [
        (&v, "", 1_000),
        (&v, "v1=00", 1_000),
        (&v, header.as_str(), 9_000),
        (&stripe::Verifier::new([&bad]), header.as_str(), 1_000),
        (&v, "t=1000,v1=00", 1_000),
    ] {
        let e = verifier.verify(b"b", &[("stripe-signature", h)], Clock::at(now)).unwrap_err();
        seen.error(e.code(), &e);
    }
    assert_clean(&format!("{v:?} {:?}", stripe::Signer::new(&good)));
    assert_eq!(seen.codes, signing_codes());
}

#[test]
fn standard_webhooks_failures() {
    let good = Secret::from_text(&format!("whsec_{}", STANDARD.encode(CANARY)));
    let bad = Secret::from_text(&format!("whsec_{CANARY}!"));
    let signature = standard_webhooks::Signer::new(&good).sign("m", 1_000, b"b").unwrap();
    let v = standard_webhooks::Verifier::new([&good]);
    let mut seen = Seen::default();
    let headers = |ts: &str, sig: &str| vec![("webhook-id", "m".to_owned()), ("webhook-timestamp", ts.to_owned()), ("webhook-signature", sig.to_owned())];
    for (verifier, h, now) in [
        (&v, vec![("webhook-id", "m".to_owned())], 1_000),
        (&v, headers("soon", &signature), 1_000),
        (&standard_webhooks::Verifier::new([&bad]), headers("1000", &signature), 1_000),
        (&v, headers("1000", &signature), 9_000),
        (&v, headers("1001", &signature), 1_000),
    ] {
        let e = verifier.verify(b"b", &h, Clock::at(now)).unwrap_err();
        seen.error(e.code(), &e);
    }
    assert_clean(&format!("{v:?}"));
    assert_eq!(seen.codes, signing_codes());
}

#[test]
fn cybersource_failures() {
    let good = Secret::from_text(&STANDARD.encode(CANARY));
    let bad = Secret::from_text(CANARY);
    let date = "Thu, 27 Jun 2024 13:07:17 GMT";
    let now = 1_719_493_637;
    let request = cybersource::Request { host: "h", method: "POST", target: "/p", date, merchant_id: "m", body: Some(b"b") };
    let signed = cybersource::Signer::new("k", &good).sign(&request).unwrap();
    let digest = signed.digest.clone().unwrap();
    let headers = |sig: &str, digest: &str, date: &str| {
        vec![("host", "h".to_owned()), ("date", date.to_owned()), ("v-c-merchant-id", "m".to_owned()), ("digest", digest.to_owned()), ("signature", sig.to_owned())]
    };
    let v = cybersource::Verifier::new([cybersource::Key { key_id: "k", secret: &good }]);
    let invalid = cybersource::Verifier::new([cybersource::Key { key_id: "k", secret: &bad }]);
    let mut seen = Seen::default();
    for (verifier, h, body, at) in [
        (&v, headers("", &digest, date), &b"b"[..], now),
        (&v, headers(&signed.signature, &digest, "yesterday"), b"b", now),
        (&invalid, headers(&signed.signature, &digest, date), b"b", now),
        (&v, headers(&signed.signature, &digest, date), b"b", now + 301),
        (&v, headers(&signed.signature, &digest, date), b"changed", now),
        (&v, headers(&signed.signature.replace("keyid=\"k\"", "keyid=\"j\""), &digest, date), b"b", now),
    ] {
        let e = verifier.verify("POST", "/p", &h, body, Clock::at(at)).unwrap_err();
        seen.error(e.code(), &e);
    }
    assert_clean(&format!("{v:?} {invalid:?}"));
    let mut want = signing_codes();
    want.insert("bad_digest");
    assert_eq!(seen.codes, want);
}

#[test]
fn redirect_failures() {
    let secret = Secret::from_text(CANARY);
    let opener = Opener::new(Environment::Live, Profile::V1, Kdf::Sha256, &secret).unwrap();
    let token = opener.seal(r#"{"sessionId":"s","status":"completed","exp":10}"#, [3; 12]).unwrap();
    let not_json = opener.seal(r#"{"sessionId":"s","status":"completed"}"#, [3; 12]).unwrap();
    let other = Opener::new(Environment::Test, Profile::V1, Kdf::Sha256, &secret).unwrap();
    let mut seen = Seen::default();
    for (o, t, now) in [
        (&opener, "x".repeat(20_000), 0),
        (&opener, "!!".to_owned(), 0),
        // 33 bytes of 0x02: a version byte v1 does not know.
        (&opener, "AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgIC".to_owned(), 0),
        (&other, token.clone(), 0),
        (&opener, token.clone(), 11),
    ] {
        let e = o.open(&t, now).unwrap_err();
        seen.error(e.code(), &e);
    }
    let e = opener.seal("[]", [0; 12]).unwrap_err();
    seen.error(e.code(), &e);
    let e = Opener::new(Environment::Live, Profile::V1, Kdf::Hex, &secret).unwrap_err();
    seen.error(e.code(), &e);
    assert!(opener.open(&not_json, 0).is_ok());
    assert_clean(&format!("{opener:?}"));
    let want: BTreeSet<_> =
        ["too_large", "malformed", "unsupported_version", "authentication", "expired", "invalid_payload", "invalid_secret"]
            .into();
    assert_eq!(seen.codes, want);
}

#[test]
fn key_rejections() {
    let key = format!("sk_live_{CANARY}");
    let mut record = KeyRecord::new("k", &key, Environment::Live);
    record.allowed_ips = vec!["10.0.0.0/8".parse().unwrap()];
    record.webcode = Some("SHOP".into());
    let keys = KeySet::new(vec![record.clone()]).unwrap();
    assert_clean(&format!("{keys:?} {record:?}"));
    let policy = Policy::default();
    let mut seen = Seen::default();
    let presented = [
        format!(" {key}"),
        format!("{key}\n"),
        format!("Bearer {key}"),
        format!("{key}x"),
        format!("sk_live_{CANARY}!"),
    ];
    for k in &presented {
        let r = Request { api_key: Some(k), method: "GET", path: "/v1", client_ip: None, webcode: None };
        let e = keys.check(&r, &policy, 0).unwrap_err();
        seen.error(e.reason(), &e);
        assert_clean(&e.body());
    }
    for (path, ip, webcode) in [("/external/v1/test/x", "10.1.1.1", "SHOP"), ("/v1", "11.0.0.1", "SHOP"), ("/v1", "10.0.0.1", "OTHER")] {
        let r = Request { api_key: Some(&key), method: "GET", path, client_ip: ip.parse().ok(), webcode: Some(webcode) };
        let e = keys.check(&r, &policy, 0).unwrap_err();
        seen.error(e.reason(), &e);
        assert_clean(&e.body());
    }
    let want: BTreeSet<_> = ["malformed_key", "unknown_key", "environment_mismatch", "ip_not_allowed", "webcode_mismatch"].into();
    assert_eq!(seen.codes, want);
}

#[test]
fn rfc9421_failures() {
    use payseal_core::rfc9421::{ParamValue, SignRequest, Signer, VerifyRequest, Verifier};
    let good = Secret::from_text(&STANDARD.encode(CANARY));
    let bad = Secret::from_text(CANARY);
    let url = "https://api.example/v1/pay?x=1";
    let body = br#"{"amount":1}"#;
    let components = ["@method", "@authority", "@path", "content-digest"];
    let params = [("created", ParamValue::Integer(1_000)), ("keyid", ParamValue::from("kid"))];
    let signed = Signer::new(&good)
        .sign(&SignRequest { method: "POST", url, headers: &[("x", "y")], body, label: "sig1", components: &components, params: &params })
        .unwrap();
    let digest = signed.content_digest.clone().unwrap();
    let headers = |input: &str, sig: &str| vec![("signature-input", input.to_owned()), ("signature", sig.to_owned()), ("content-digest", digest.clone())];
    let ok = headers(&signed.signature_input, &signed.signature);
    let v = Verifier::new([("kid", &good)]);
    let mut seen = Seen::default();
    let verify = |v: &Verifier, h: &Vec<(&str, String)>, body: &[u8], required: &[&str], now: u64| {
        v.verify(&VerifyRequest { method: "POST", url, headers: h, body }, required, Clock::at(now)).unwrap_err()
    };
    for e in [
        verify(&v, &headers(&signed.signature_input, ""), body, &[], 1_000),
        verify(&v, &headers(&signed.signature_input, "sig1=\"text\""), body, &[], 1_000),
        verify(&Verifier::new([("other", &good)]), &ok, body, &[], 1_000),
        verify(&Verifier::new([("kid", &bad)]), &ok, body, &[], 1_000),
        verify(&v, &ok, body, &["@query"], 1_000),
        verify(&v, &ok, body, &[], 9_000),
        verify(&v, &ok, b"changed", &[], 1_000),
        verify(&v, &headers(&signed.signature_input, "sig1=:AAAA:"), body, &[], 1_000),
    ] {
        seen.error(e.code(), &e);
    }
    assert_clean(&format!("{v:?} {:?}", Signer::new(&good)));
    let want: BTreeSet<_> = [
        "missing_signature", "malformed_header", "unknown_key", "invalid_secret",
        "insufficient_coverage", "stale_timestamp", "bad_digest", "bad_signature",
    ]
    .into();
    assert_eq!(seen.codes, want);
}
