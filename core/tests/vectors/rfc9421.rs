//! RFC 9421 `sign` and `verify` cases.

use payseal_core::Secret;
use payseal_core::rfc9421::{ParamValue, SignRequest, Signer, VerifyRequest, Verifier};
use payseal_core::signing::Clock;
use serde_json::{Value, json};

use crate::case::{Case, body, error};
use crate::signing::header_pairs;

fn strings(value: &Value, what: &str) -> Result<Vec<String>, String> {
    value
        .as_array()
        .ok_or_else(|| format!("{what} is not a list"))?
        .iter()
        .map(|v| v.as_str().map(str::to_owned).ok_or_else(|| format!("{what} holds a non-string")))
        .collect()
}

/// `params`: an ordered list of `[name, value]`, value an integer or a string.
fn params(value: &Value) -> Result<Vec<(String, ParamValue)>, String> {
    value
        .as_array()
        .ok_or("params is not a list")?
        .iter()
        .map(|pair| match pair.as_array().map(Vec::as_slice) {
            Some([Value::String(name), Value::Number(n)]) => {
                n.as_i64().map(|n| (name.clone(), ParamValue::Integer(n))).ok_or_else(|| format!("param {name} is not an integer"))
            }
            Some([Value::String(name), Value::String(s)]) => Ok((name.clone(), ParamValue::String(s.clone()))),
            _ => Err(format!("param {pair} is not [name, integer|string]")),
        })
        .collect()
}

pub fn sign(case: &Case) -> Result<Value, String> {
    let secret = Secret::from_text(case.str("secret")?);
    let headers = header_pairs(case.get("headers"))?;
    let body = body(case)?;
    let components = strings(case.get("components"), "components")?;
    let components: Vec<&str> = components.iter().map(String::as_str).collect();
    let params = params(case.get("params"))?;
    let params: Vec<(&str, ParamValue)> = params.iter().map(|(n, v)| (n.as_str(), v.clone())).collect();
    let request = SignRequest {
        method: case.str("method")?,
        url: case.str("url")?,
        headers: &headers,
        body: &body,
        label: case.str("label")?,
        components: &components,
        params: &params,
    };
    Ok(match Signer::new(&secret).sign(&request) {
        Ok(fields) => json!({
            "ok": true,
            "signature-input": fields.signature_input,
            "signature": fields.signature,
            "content-digest": fields.content_digest,
        }),
        Err(e) => error(e.code()),
    })
}

pub fn verify(case: &Case) -> Result<Value, String> {
    let keys: Vec<(String, Secret)> = case
        .get("keys")
        .as_object()
        .ok_or("keys is not an object")?
        .iter()
        .map(|(id, s)| s.as_str().map(|s| (id.clone(), Secret::from_text(s))).ok_or_else(|| format!("key {id} is not a string")))
        .collect::<Result<_, String>>()?;
    let verifier = Verifier::new(keys.iter().map(|(id, s)| (id.as_str(), s)));
    let headers = header_pairs(case.get("headers"))?;
    let body = body(case)?;
    let required = strings(case.get("required"), "required")?;
    let required: Vec<&str> = required.iter().map(String::as_str).collect();
    let request = VerifyRequest { method: case.str("method")?, url: case.str("url")?, headers: &headers, body: &body };
    let clock = Clock { now: case.u64("now")?, tolerance: case.u64("tolerance")? };
    Ok(match verifier.verify(&request, &required, clock) {
        Ok(v) => json!({ "ok": true, "label": v.label, "keyid": v.key_id }),
        Err(e) => error(e.code()),
    })
}
