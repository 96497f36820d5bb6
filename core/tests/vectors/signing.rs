//! `dvpay`, `stripe`, `standard_webhooks` and `cybersource` cases.

use payseal_core::signing::{Clock, SignatureError, cybersource, dvpay, standard_webhooks, stripe};
use payseal_core::Secret;
use serde_json::{Value, json};

use crate::case::{Case, body, error};

fn clock(case: &Case) -> Result<Clock, String> {
    Ok(Clock { now: case.u64("now")?, tolerance: case.u64("tolerance")? })
}

fn secrets(case: &Case) -> Result<Vec<Secret>, String> {
    Ok(case.strings("secrets", "secret")?.iter().map(|s| Secret::from_text(s)).collect())
}

fn verified(result: Result<payseal_core::Verified, SignatureError>) -> Value {
    match result {
        Ok(v) => json!({ "ok": true, "secret_index": v.secret_index }),
        Err(e) => error(e.code()),
    }
}

fn signed(result: Result<Value, SignatureError>) -> Value {
    result.unwrap_or_else(|e| error(e.code()))
}

pub fn dvpay_sign(case: &Case) -> Result<Value, String> {
    let signer = dvpay::Signer::new("", &Secret::from_text(case.str("secret")?));
    let signature = signer.signature(&body(case)?, case.u64("timestamp")?);
    Ok(signed(signature.map(|s| json!({ "ok": true, "signature": s }))))
}

pub fn dvpay_verify(case: &Case) -> Result<Value, String> {
    let secrets = secrets(case)?;
    let headers = [
        (dvpay::TIMESTAMP_HEADER, case.str("timestamp")?),
        (dvpay::SIGNATURE_HEADER, case.str("signature")?),
    ];
    Ok(verified(dvpay::Verifier::new(&secrets).verify(&body(case)?, &headers, clock(case)?)))
}

pub fn stripe_sign(case: &Case) -> Result<Value, String> {
    let header = stripe::Signer::new(&Secret::from_text(case.str("secret")?)).sign(&body(case)?, case.u64("timestamp")?);
    Ok(signed(header.map(|h| json!({ "ok": true, "header": h }))))
}

pub fn stripe_verify(case: &Case) -> Result<Value, String> {
    let secrets = secrets(case)?;
    let headers = [(stripe::SIGNATURE_HEADER, case.str("header")?)];
    Ok(verified(stripe::Verifier::new(&secrets).verify(&body(case)?, &headers, clock(case)?)))
}

pub fn standard_webhooks_sign(case: &Case) -> Result<Value, String> {
    let signer = standard_webhooks::Signer::new(&Secret::from_text(case.str("secret")?));
    let signature = signer.sign(case.str("id")?, case.u64("timestamp")?, &body(case)?);
    Ok(signed(signature.map(|s| json!({ "ok": true, "signature": s }))))
}

/// A headers object of string values, as `(name, value)` pairs.
pub fn header_pairs(value: &Value) -> Result<Vec<(String, String)>, String> {
    value
        .as_object()
        .ok_or("headers is not an object")?
        .iter()
        .map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())).ok_or_else(|| format!("header {k:?} is not a string")))
        .collect()
}

pub fn standard_webhooks_verify(case: &Case) -> Result<Value, String> {
    let secrets = secrets(case)?;
    let headers = header_pairs(case.get("headers"))?;
    Ok(verified(standard_webhooks::Verifier::new(&secrets).verify(&body(case)?, &headers, clock(case)?)))
}

pub fn cybersource_sign(case: &Case) -> Result<Value, String> {
    let secret = Secret::from_text(case.str("secret")?);
    let body = case.opt_str("body")?.map(str::as_bytes);
    let request = cybersource::Request {
        host: case.str("host")?,
        method: case.str("method")?,
        target: case.str("target")?,
        date: case.str("date")?,
        merchant_id: case.str("merchantId")?,
        body,
    };
    let signed_headers = cybersource::Signer::new(case.str("keyId")?, &secret).sign(&request);
    Ok(signed(signed_headers.map(|h| json!({ "ok": true, "signature": h.signature, "digest": h.digest }))))
}

pub fn cybersource_verify(case: &Case) -> Result<Value, String> {
    let secrets = secrets(case)?;
    let key_id = case.str("keyId")?;
    let keys = secrets.iter().map(|secret| cybersource::Key { key_id, secret });
    let mut headers = vec![
        ("host", case.str("host")?),
        ("date", case.str("date")?),
        ("v-c-merchant-id", case.str("merchantId")?),
        ("signature", case.str("signature")?),
    ];
    if let Some(digest) = case.opt_str("digest")? {
        headers.push(("digest", digest));
    }
    let verifier = cybersource::Verifier::new(keys);
    Ok(verified(verifier.verify(case.str("method")?, case.str("target")?, &headers, &body(case)?, clock(case)?)))
}
