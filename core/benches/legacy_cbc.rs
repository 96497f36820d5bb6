#![allow(clippy::expect_used, clippy::unwrap_used)] // a benchmark: a failed setup should stop it loudly
//! Timing of the opt-in `legacy-cbc` open by outcome, as a ratio to opening a
//! valid token of the same length, measured in the same run (the padding
//! oracle question: does a bad padding answer sooner than a good one?).
//!
//! `cargo bench -p payseal-core --bench legacy_cbc` prints criterion's own
//! output, then the ratios built from the medians criterion just recorded.

use std::hint::black_box;

use aes::Aes256;
use base64::Engine as _;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use criterion::{Criterion, criterion_group};
use payseal_core::redirect::{Kdf, Opener, Profile};
use payseal_core::{Environment, Secret};
use sha2::{Digest, Sha256};

mod common;

use common::median_ns;

const NOW: u64 = 1_719_500_000;
const SECRET: &str = "cs_live_4f8a1c2e9b7d6a5f3e2d1c0b";
const GROUP: &str = "legacy_cbc_open";
/// A typical payload: 91 bytes, 96 once padded (six blocks with the IV).
const PAYLOAD: &str = r#"{"sessionId":"SHOP01-EXT-1","status":"completed","amount":{"value":10000,"currency":"EUR"}}"#;
/// (function, what it measures); the last is the baseline.
const CASES: [(&str, &str); 5] = [
    ("bad_padding", "(a) bad padding, payload otherwise valid"),
    ("bad_padding_garbage", "(a') bad padding, random plaintext"),
    ("bad_json", "(b) good padding, JSON broken at its last byte"),
    ("bad_json_garbage", "(b') good padding, random plaintext"),
    ("valid", "(c) valid token"),
];

/// `base64(iv ‖ AES-256-CBC(padded))`, with the padding already applied (or not).
fn token(key: &[u8; 32], padded: &[u8]) -> String {
    assert_eq!(padded.len() % 16, 0);
    let iv = [0x5a_u8; 16];
    let mut encryptor = cbc::Encryptor::<Aes256>::new_from_slices(key, &iv).expect("sizes");
    let mut body = padded.to_vec();
    for chunk in body.chunks_exact_mut(16) {
        encryptor.encrypt_block(chunk.try_into().expect("one block"));
    }
    let mut raw = iv.to_vec();
    raw.extend_from_slice(&body);
    base64::engine::general_purpose::STANDARD.encode(raw)
}

fn pkcs7(plaintext: &[u8]) -> Vec<u8> {
    let pad = 16 - plaintext.len() % 16;
    let mut v = plaintext.to_vec();
    v.resize(plaintext.len() + pad, u8::try_from(pad).expect("at most 16"));
    v
}

/// Deterministic bytes that are neither UTF-8 text nor JSON.
fn garbage(len: usize) -> Vec<u8> {
    (0..len).map(|i| u8::try_from((i * 151 + 89) % 256).expect("byte")).collect()
}

fn tokens() -> Vec<(&'static str, String)> {
    let key: [u8; 32] = Sha256::digest(SECRET.as_bytes()).into();
    let valid = pkcs7(PAYLOAD.as_bytes());
    let mut bad_padding = valid.clone();
    *bad_padding.last_mut().expect("non-empty") = 0;
    let mut broken = PAYLOAD.as_bytes().to_vec();
    *broken.last_mut().expect("non-empty") = b']';
    let mut garbage_bad = garbage(valid.len());
    *garbage_bad.last_mut().expect("non-empty") = 0;
    let garbage_good = pkcs7(&garbage(PAYLOAD.len()));
    let all = vec![
        ("bad_padding", token(&key, &bad_padding)),
        ("bad_padding_garbage", token(&key, &garbage_bad)),
        ("bad_json", token(&key, &pkcs7(&broken))),
        ("bad_json_garbage", token(&key, &garbage_good)),
        ("valid", token(&key, &valid)),
    ];
    assert!(all.iter().all(|(_, t)| t.len() == all[0].1.len()), "every token has the same length");
    all
}

fn legacy_open(c: &mut Criterion) {
    let opener = Opener::new(Environment::Live, Profile::LegacyCbc, Kdf::Sha256, &Secret::from_text(SECRET)).expect("secret");
    let mut group = c.benchmark_group(GROUP);
    for (name, token) in tokens() {
        // The setup is right: only the valid token opens.
        assert_eq!(opener.open(&token, NOW).is_ok(), name == "valid", "{name}");
        group.bench_function(name, |b| b.iter(|| opener.open(black_box(&token), NOW)));
    }
    group.finish();
}

criterion_group!(benches, legacy_open);

fn print_ratios() {
    println!("\nlegacy-cbc open, {}-byte payload, as a multiple of opening a valid token (same run, medians)", PAYLOAD.len());
    let baseline = median_ns(GROUP, "valid");
    for (function, what) in CASES {
        match (median_ns(GROUP, function), baseline) {
            (Some(s), Some(b)) => println!("{what:<50} x{:.2} ({s:.0} ns)", s / b),
            _ => println!("{what:<50} n/a"),
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
