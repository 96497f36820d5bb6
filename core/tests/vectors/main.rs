//! Native conformance runner: every case of every file in `tests/vectors/`,
//! read at run time (`shared/spec/vectors.md`).
//!
//! A case passes when every field of its `expected` equals the field this
//! runner produced. An op, scheme or input field the runner does not use is a
//! failure, not a skip, so a vector format change cannot pass unnoticed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod case;
mod idempotency;
mod keys;
mod redirect;
mod rfc9421;
mod signing;

use std::path::PathBuf;
use std::process::ExitCode;

use case::{Case, Outcome};
use serde_json::Value;

fn vectors_dir() -> PathBuf {
    std::env::var_os("PAYSEAL_VECTORS")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/vectors"), PathBuf::from)
}

fn run_case(scheme: &str, file: &Value, case: &Case) -> Result<Value, String> {
    match (scheme, case.op()?) {
        ("dvpay", "sign") => signing::dvpay_sign(case),
        ("dvpay", "verify") => signing::dvpay_verify(case),
        ("stripe", "sign") => signing::stripe_sign(case),
        ("stripe", "verify") => signing::stripe_verify(case),
        ("standard_webhooks", "sign") => signing::standard_webhooks_sign(case),
        ("standard_webhooks", "verify") => signing::standard_webhooks_verify(case),
        ("cybersource", "sign") => signing::cybersource_sign(case),
        ("cybersource", "verify") => signing::cybersource_verify(case),
        ("rfc9421", "sign") => rfc9421::sign(case),
        ("rfc9421", "verify") => rfc9421::verify(case),
        ("redirect", "open") => redirect::open(case),
        ("keys", "check") => keys::check(file, case),
        ("idempotency", "idempotency") => idempotency::run(case),
        (scheme, op) => Err(format!("runner does not know op {op:?} of scheme {scheme:?}")),
    }
}

fn main() -> ExitCode {
    let dir = vectors_dir();
    let mut files: Vec<PathBuf> = match std::fs::read_dir(&dir) {
        Ok(entries) => entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect(),
        Err(e) => {
            eprintln!("cannot read {}: {e}", dir.display());
            return ExitCode::FAILURE;
        }
    };
    files.sort();
    let (mut passed, mut failed) = (0usize, 0usize);
    for path in &files {
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let file: Value = match std::fs::read_to_string(path).map_err(|e| e.to_string()).and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string())) {
            Ok(v) => v,
            Err(e) => {
                println!("FAIL {name}: unreadable: {e}");
                failed += 1;
                continue;
            }
        };
        let scheme = file["scheme"].as_str().unwrap_or_default().to_owned();
        let cases = file["cases"].as_array().cloned().unwrap_or_default();
        if cases.is_empty() {
            println!("FAIL {name}: no cases");
            failed += 1;
        }
        let (mut file_passed, mut file_failed) = (0, 0);
        for raw in cases {
            let case = Case::new(raw);
            match Outcome::judge(&case, run_case(&scheme, &file, &case)) {
                Outcome::Pass => file_passed += 1,
                Outcome::Fail(why) => {
                    println!("FAIL {name} / {}: {why}", case.name());
                    file_failed += 1;
                }
            }
        }
        println!("{name}: {file_passed} passed, {file_failed} failed");
        passed += file_passed;
        failed += file_failed;
    }
    println!("payseal-summary: native-vectors {passed} passed, {failed} failed");
    if failed == 0 && passed > 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
}
