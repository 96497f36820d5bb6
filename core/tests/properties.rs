//! Property tests across schemes: every signer's output verifies, any change
//! to the body or time is refused, and no header input panics a parser.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use payseal_core::Secret;
use payseal_core::signing::{Clock, cybersource, dvpay, standard_webhooks, stripe};
use proptest::prelude::*;

fn secret_text() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_]{1,48}"
}

fn b64_secret() -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<u8>(), 16..64).prop_map(|b| base64::Engine::encode(&base64::engine::general_purpose::STANDARD, b))
}

const T0: u64 = 1_719_500_000;

proptest! {
    #[test]
    fn dvpay_round_trip(secret in secret_text(), body in any::<Vec<u8>>(), ts in T0..T0 + 1_000, skew in 0u64..=300) {
        let s = Secret::from_text(&secret);
        let sig = dvpay::Signer::new("ak", &s).signature(&body, ts).unwrap();
        let ts_text = ts.to_string();
        let headers = [("X-Timestamp", ts_text.as_str()), ("X-Signature", sig.as_str())];
        let v = dvpay::Verifier::new([&s]);
        prop_assert!(v.verify(&body, &headers, Clock::at(ts + skew)).is_ok());
        let mut changed = body.clone();
        changed.push(0);
        prop_assert_eq!(v.verify(&changed, &headers, Clock::at(ts)).unwrap_err().code(), "bad_signature");
    }

    #[test]
    fn stripe_round_trip(secret in secret_text(), body in any::<Vec<u8>>(), ts in T0..T0 + 1_000) {
        let s = Secret::from_text(&format!("whsec_{secret}"));
        let header = stripe::Signer::new(&s).sign(&body, ts).unwrap();
        let v = stripe::Verifier::new([&Secret::from_text("whsec_other"), &s]);
        prop_assert_eq!(v.verify_header(&body, &header, Clock::at(ts)).unwrap().secret_index, 1);
        prop_assert_eq!(v.verify_header(&body, &header, Clock::at(ts + 301)).unwrap_err().code(), "stale_timestamp");
    }

    #[test]
    fn standard_webhooks_round_trip(secret in b64_secret(), id in "[a-z0-9_]{1,20}", body in any::<Vec<u8>>(), ts in T0..T0 + 1_000) {
        let s = Secret::from_text(&format!("whsec_{secret}"));
        let sig = standard_webhooks::Signer::new(&s).sign(&id, ts, &body).unwrap();
        let ts_text = ts.to_string();
        let headers = [("webhook-id", id.as_str()), ("webhook-timestamp", ts_text.as_str()), ("webhook-signature", sig.as_str())];
        prop_assert!(standard_webhooks::Verifier::new([&s]).verify(&body, &headers, Clock::at(ts)).is_ok());
        let other_id = format!("{id}x");
        let headers = [("webhook-id", other_id.as_str()), ("webhook-timestamp", ts_text.as_str()), ("webhook-signature", sig.as_str())];
        prop_assert_eq!(standard_webhooks::Verifier::new([&s]).verify(&body, &headers, Clock::at(ts)).unwrap_err().code(), "bad_signature");
    }

    #[test]
    fn cybersource_round_trip(secret in b64_secret(), body in any::<Vec<u8>>(), method in prop::sample::select(vec!["GET", "POST", "PUT", "PATCH", "DELETE"]), ts in T0..T0 + 100_000, path in "/[a-z0-9/]{0,30}") {
        let s = Secret::from_text(&secret);
        let date = payseal_core::time::format_imf_fixdate(ts);
        let request = cybersource::Request { host: "api.example", method, target: &path, date: &date, merchant_id: "mid", body: Some(&body) };
        let signed = cybersource::Signer::new("kid", &s).sign(&request).unwrap();
        let mut headers = vec![("host", "api.example"), ("date", date.as_str()), ("v-c-merchant-id", "mid"), ("signature", signed.signature.as_str())];
        if let Some(d) = &signed.digest {
            headers.push(("digest", d.as_str()));
        }
        let v = cybersource::Verifier::new([cybersource::Key { key_id: "kid", secret: &s }]);
        let sent_body: &[u8] = if signed.digest.is_some() { &body } else { b"" };
        prop_assert!(v.verify(method, &path, &headers, sent_body, Clock::at(ts)).is_ok());
        let other = format!("{path}x");
        prop_assert_eq!(v.verify(method, &other, &headers, sent_body, Clock::at(ts)).unwrap_err().code(), "bad_signature");
    }

    #[test]
    fn header_parsers_never_panic(value in ".{0,300}", ts in ".{0,20}", method in "[A-Z]{0,8}") {
        let s = Secret::from_text("c2VjcmV0c2VjcmV0c2VjcmV0");
        let clock = Clock::at(T0);
        let _ = dvpay::Verifier::new([&s]).verify(b"", &[("x-timestamp", ts.as_str()), ("x-signature", value.as_str())], clock);
        let _ = stripe::Verifier::new([&s]).verify_header(b"", &value, clock);
        let _ = standard_webhooks::Verifier::new([&s]).verify(b"", &[("webhook-id", "i"), ("webhook-timestamp", ts.as_str()), ("webhook-signature", value.as_str())], clock);
        let headers = [("host", "h"), ("date", ts.as_str()), ("v-c-merchant-id", "m"), ("digest", value.as_str()), ("signature", value.as_str())];
        let _ = cybersource::Verifier::new([cybersource::Key { key_id: "k", secret: &s }]).verify(&method, &value, &headers, b"", clock);
    }
}
