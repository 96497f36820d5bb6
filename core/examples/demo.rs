//! A short tour of payseal-core's main job on embedded data: sign and verify
//! a DVPay refund and a webhook, open redirect data, check API keys, and
//! decide idempotent retries. Run with `cargo run -p payseal-core --example demo`.

#![allow(clippy::expect_used)] // a demo on fixed, valid data

use payseal_core::idempotency::{self, Completion, Decision, IdempotentRequest, StoredResponse};
use payseal_core::keys::{KeyRecord, KeySet, Policy, Request};
use payseal_core::redirect::{Kdf, Opener, Profile};
use payseal_core::signing::{Clock, dvpay, stripe};
use payseal_core::{Environment, Secret};

const NOW: u64 = 1_719_500_000;

fn main() {
    // 1. A merchant signs a DVPay refund; the provider's gateway verifies it.
    let secret = Secret::from_text("dvp_sec_7Hq2Lm9Xc4Rt8Vb1");
    let body = br#"{"orderId":123,"refundAmount":10.5}"#;
    let signed = dvpay::Signer::new("ak_live_1", &secret)
        .sign(body, NOW, "4b8d0a2e-5a1f-4c59-9f5e-0b6d3c1a7e21")
        .expect("usable secret");
    println!("dvpay headers:");
    for (name, value) in &signed.headers {
        println!("  {name}: {value}");
    }
    let verifier = dvpay::Verifier::new([&secret]);
    println!("dvpay verify, on time:     {:?}", verifier.verify(body, &signed.headers, Clock::at(NOW + 5)));
    println!(
        "dvpay verify, body edited: {:?}",
        verifier.verify(br#"{"orderId":123,"refundAmount":99}"#, &signed.headers, Clock::at(NOW + 5)).map_err(|e| e.code())
    );
    println!(
        "dvpay verify, replayed 10 min later: {:?}",
        verifier.verify(body, &signed.headers, Clock::at(NOW + 600)).map_err(|e| e.code())
    );

    // 2. A Stripe-style webhook during a secret rotation.
    let old = Secret::from_text("whsec_old_0000");
    let new = Secret::from_text("whsec_new_1111");
    let event = br#"{"id":"evt_1","type":"payment_intent.succeeded"}"#;
    let header = stripe::Signer::new(&new).sign(event, NOW).expect("usable secret");
    let webhooks = stripe::Verifier::new([&old, &new]);
    println!("stripe verify (matched secret #): {:?}", webhooks.verify_header(event, &header, Clock::at(NOW)));

    // 3. The hosted payment page sends the customer back with encrypted data.
    let client_secret = Secret::from_text("cs_live_4f8a1c2e9b7d6a5f3e2d1c0b");
    let opener = Opener::new(Environment::Live, Profile::V1, Kdf::Sha256, &client_secret).expect("secret");
    let token = opener
        .seal(r#"{"sessionId":"SHOP01-EXT-1","status":"completed","amount":{"value":10000,"currency":"EUR"}}"#, [7; 12])
        .expect("valid payload");
    let data = opener.open(&token, NOW).expect("opens");
    println!("redirect data: session {} is {:?}, amount {:?}", data.session_id, data.status, data.amount);
    let test_opener = Opener::new(Environment::Test, Profile::V1, Kdf::Sha256, &client_secret).expect("secret");
    println!("same token opened as test: {:?}", test_opener.open(&token, NOW).map_err(|e| e.code()));

    // 4. The gateway checks API keys against stored digests.
    let live_key = "sk_live_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5Yg0Jk2";
    let mut record = KeyRecord::new("k_live", live_key, Environment::Live);
    record.allowed_ips = vec!["203.0.113.0/24".parse().expect("cidr")];
    let keys = KeySet::new(vec![record]).expect("unique records");
    let policy = Policy::default();
    for (label, key, path, ip) in [
        ("allowed", Some(live_key), "/external/v1/payment/session", "203.0.113.45"),
        ("no key", None, "/external/v1/payment/session", "203.0.113.45"),
        ("test route", Some(live_key), "/external/v1/test/payment/session", "203.0.113.45"),
        ("foreign IP", Some(live_key), "/external/v1/payment/session", "198.51.100.1"),
    ] {
        let request = Request { api_key: key, method: "POST", path, client_ip: ip.parse().ok(), webcode: None };
        match keys.check(&request, &policy, NOW) {
            Ok(allowed) => println!("key check, {label}: allowed as {}", allowed.key_id),
            Err(refusal) => println!("key check, {label}: {} {}", refusal.status(), refusal.body()),
        }
    }

    // 5. Idempotency: a retried charge is replayed, a changed one is refused.
    let charge = |body: &'static [u8]| IdempotentRequest {
        key: "order-12345-payment",
        method: "POST",
        path: "/external/v1/payment/session",
        body,
        environment: Environment::Live,
        key_id: "k_live",
    };
    let first = charge(br#"{"amount":10000}"#);
    let Decision::Execute(claim) = idempotency::decide(None, &first, NOW, idempotency::DEFAULT_TTL) else {
        unreachable!("a fresh key executes")
    };
    println!("idempotency, first call: execute");
    let response = StoredResponse { status: 201, headers: vec![], body: br#"{"id":"pay_1"}"#.to_vec() };
    let Completion::Store(stored) = idempotency::finish(claim, idempotency::UpstreamOutcome::Answered(response)) else { unreachable!("201 is kept") };
    for (label, request) in [("retry", first), ("changed body", charge(br#"{"amount":99999}"#))] {
        match idempotency::decide(Some(&stored), &request, NOW + 1, idempotency::DEFAULT_TTL) {
            Decision::Replay(r) => println!("idempotency, {label}: replay {} {}", r.status, String::from_utf8_lossy(&r.body)),
            Decision::Conflict(c) => println!("idempotency, {label}: {} {}", c.status(), c.message()),
            Decision::Execute(_) => println!("idempotency, {label}: execute"),
        }
    }
}
