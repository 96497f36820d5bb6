#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark: a failed setup should stop it loudly
//! Verification cost per scheme, as a ratio to raw HMAC-SHA256 over the same
//! bytes (a fresh `Hmac::new_from_slice` per message, as a hand-written
//! verifier does), measured in the same run.
//!
//! `cargo bench -p payseal-core --bench verify` prints criterion's own output,
//! then a ratio table built from the medians criterion just recorded.

use std::fmt::Write as _;
use std::hint::black_box;

use aes_gcm::aead::Aead;
use criterion::{Criterion, Throughput, criterion_group};
use hmac::{Hmac, KeyInit, Mac};
use payseal_core::keys::{KeyRecord, KeySet, Policy, Request};
use payseal_core::redirect::{Kdf, Opener, Profile};
use payseal_core::rfc9421::{self, ParamValue, SignRequest, VerifyRequest};
use payseal_core::signing::{Clock, cybersource, dvpay, standard_webhooks, stripe};
use payseal_core::{Environment, Secret};
use sha2::{Digest, Sha256};

mod common;

use common::median_ns;

const NOW: u64 = 1_719_500_000;
const NOW_SIGNED: i64 = 1_719_500_000;
const SIZES: [(usize, &str); 3] = [(64, "64B"), (1024, "1KiB"), (65_536, "64KiB")];
const SECRET_B64: &str = "4o0bmF1eTd1ZmONmX6igz5A6QpHErVvCCZU97s/ua1I=";

fn raw_hmac(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("any key length");
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

fn signatures(c: &mut Criterion) {
    for (size, label) in SIZES {
        let body = vec![b'x'; size];
        let mut group = c.benchmark_group(format!("verify/{label}"));
        group.throughput(Throughput::Bytes(size as u64));
        let ts = NOW.to_string();

        group.bench_function("baseline_raw_hmac", |b| {
            let presented = raw_hmac(b"dvp_sec_7Hq2Lm9Xc4Rt8Vb1", &[&body, ts.as_bytes()]);
            b.iter(|| {
                let tag = raw_hmac(b"dvp_sec_7Hq2Lm9Xc4Rt8Vb1", &[black_box(&body), ts.as_bytes()]);
                black_box(subtle::ConstantTimeEq::ct_eq(&tag[..], &presented[..]))
            });
        });

        let secret = Secret::from_text("dvp_sec_7Hq2Lm9Xc4Rt8Vb1");
        let sig = dvpay::Signer::new("ak", &secret).signature(&body, NOW).expect("secret");
        let headers = [("x-timestamp", ts.as_str()), ("x-signature", sig.as_str())];
        let verifier = dvpay::Verifier::new([&secret]);
        group.bench_function("dvpay", |b| b.iter(|| verifier.verify(black_box(&body), &headers, Clock::at(NOW))));

        let secret = Secret::from_text("whsec_test_secret_9a8b7c6d5e4f");
        let header = stripe::Signer::new(&secret).sign(&body, NOW).expect("secret");
        let headers = [("stripe-signature", header.as_str())];
        let verifier = stripe::Verifier::new([&secret]);
        group.bench_function("stripe", |b| b.iter(|| verifier.verify(black_box(&body), &headers, Clock::at(NOW))));

        let secret = Secret::from_text("whsec_og4xBW8CGGdLiQWc1nR6Snk6BR849ZFr");
        let sig = standard_webhooks::Signer::new(&secret).sign("msg_1", NOW, &body).expect("secret");
        let headers = [("webhook-id", "msg_1"), ("webhook-timestamp", ts.as_str()), ("webhook-signature", sig.as_str())];
        let verifier = standard_webhooks::Verifier::new([&secret]);
        group.bench_function("standard_webhooks", |b| b.iter(|| verifier.verify(black_box(&body), &headers, Clock::at(NOW))));

        let secret = Secret::from_text(SECRET_B64);
        let date = payseal_core::time::format_imf_fixdate(NOW);
        let request = cybersource::Request { host: "api.cybersource.com", method: "POST", target: "/pts/v2/payments", date: &date, merchant_id: "mid", body: Some(&body) };
        let signed = cybersource::Signer::new("kid", &secret).sign(&request).expect("secret");
        let digest = signed.digest.clone().unwrap_or_default();
        let headers = [("host", "api.cybersource.com"), ("date", date.as_str()), ("v-c-merchant-id", "mid"), ("digest", digest.as_str()), ("signature", signed.signature.as_str())];
        let verifier = cybersource::Verifier::new([cybersource::Key { key_id: "kid", secret: &secret }]);
        group.bench_function("cybersource", |b| {
            b.iter(|| verifier.verify("POST", "/pts/v2/payments", &headers, black_box(&body), Clock::at(NOW)));
        });
        let secret = Secret::from_text(SECRET_B64);
        let url = "https://api.example-psp.com/v1/payments?expand=charges";
        let components = ["@method", "@authority", "@path", "@query", "content-digest"];
        let params = [("created", ParamValue::Integer(NOW_SIGNED)), ("keyid", ParamValue::from("psk-1"))];
        let sign_headers: [(&str, &str); 0] = [];
        let request = SignRequest { method: "POST", url, headers: &sign_headers, body: &body, label: "sig1", components: &components, params: &params };
        let fields = rfc9421::Signer::new(&secret).sign(&request).expect("secret");
        let digest = fields.content_digest.clone().unwrap_or_default();
        let headers = [("signature-input", fields.signature_input.as_str()), ("signature", fields.signature.as_str()), ("content-digest", digest.as_str())];
        let verifier = rfc9421::Verifier::new([("psk-1", &secret)]);
        group.bench_function("rfc9421", |b| {
            b.iter(|| {
                let request = VerifyRequest { method: "POST", url, headers: &headers, body: black_box(&body) };
                verifier.verify(&request, &["@method", "@authority", "content-digest"], Clock::at(NOW))
            });
        });
        group.finish();
    }
}

fn redirect(c: &mut Criterion) {
    let mut group = c.benchmark_group("redirect_open/512B");
    let secret = Secret::from_text("cs_live_4f8a1c2e9b7d6a5f3e2d1c0b");
    let opener = Opener::new(Environment::Live, Profile::V1, Kdf::Sha256, &secret).expect("secret");
    let mut payload = String::from(r#"{"sessionId":"SHOP01-EXT-1","status":"completed","pad":""#);
    payload.push_str(&"p".repeat(512 - payload.len() - 2));
    payload.push_str("\"}");
    let token = opener.seal(&payload, [9; 12]).expect("payload");
    let key: [u8; 32] = Sha256::digest(b"cs_live_4f8a1c2e9b7d6a5f3e2d1c0b").into();
    let cipher = aes_gcm::Aes256Gcm::new(&key.into());
    let sealed = cipher.encrypt(&[9u8; 12].into(), payload.as_bytes()).expect("encrypt");
    group.bench_function("baseline_raw_aes_gcm", |b| {
        b.iter(|| cipher.decrypt(&[9u8; 12].into(), black_box(sealed.as_slice())));
    });
    group.bench_function("open", |b| b.iter(|| opener.open(black_box(&token), NOW)));
    group.finish();
}

fn key_check(c: &mut Criterion) {
    let mut group = c.benchmark_group("key_check/10000_records");
    let records: Vec<KeyRecord> =
        (0..10_000).map(|i| KeyRecord::new(format!("k{i}"), &format!("sk_live_{i:0>32}"), Environment::Live)).collect();
    let keys = KeySet::new(records).expect("unique");
    let policy = Policy::default();
    let presented = format!("sk_live_{:0>32}", 9_999);
    group.bench_function("baseline_raw_sha256", |b| b.iter(|| Sha256::digest(black_box(presented.as_bytes()))));
    let request = Request { api_key: Some(&presented), method: "POST", path: "/external/v1/x", client_ip: None, webcode: None };
    group.bench_function("check", |b| b.iter(|| keys.check(black_box(&request), &policy, NOW)));
    group.finish();
}

criterion_group!(benches, signatures, redirect, key_check);

fn print_ratios() {
    println!("\npayseal-core verify cost as a multiple of raw HMAC-SHA256 (same run, medians; lower is better)");
    println!("{:<20} {:>12} {:>12} {:>12}", "scheme", "64B", "1KiB", "64KiB");
    for scheme in ["dvpay", "stripe", "standard_webhooks", "cybersource", "rfc9421"] {
        let mut row = format!("{scheme:<20}");
        for (_, label) in SIZES {
            let group = format!("verify/{label}");
            let cell = match (median_ns(&group, scheme), median_ns(&group, "baseline_raw_hmac")) {
                (Some(s), Some(b)) => format!("x{:.2} ({:.0} ns)", s / b, s),
                _ => "n/a".to_owned(),
            };
            let _ = write!(row, " {cell:>12}");
        }
        println!("{row}");
    }
    for (group, function, baseline, what) in [
        ("redirect_open/512B", "open", "baseline_raw_aes_gcm", "redirect open 512 B vs raw AES-256-GCM decrypt"),
        ("key_check/10000_records", "check", "baseline_raw_sha256", "key check, 10 000 records, vs one SHA-256 of the key"),
    ] {
        match (median_ns(group, function), median_ns(group, baseline)) {
            (Some(s), Some(b)) => println!("{what}: x{:.2} ({s:.0} ns vs {b:.0} ns)", s / b),
            _ => println!("{what}: n/a"),
        }
    }
}

fn main() {
    benches();
    let measuring = std::env::args().any(|a| a == "--bench");
    Criterion::default().configure_from_args().final_summary();
    if measuring {
        print_ratios();
    }
}
