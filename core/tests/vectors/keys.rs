//! Key `check` cases against the file's policy and records.

use payseal_core::keys::{KeyRecord, KeySet, Policy, Request};
use serde_json::{Value, json};

use crate::case::Case;

pub fn check(file: &Value, case: &Case) -> Result<Value, String> {
    let policy: Policy = serde_json::from_value(file["policy"].clone()).map_err(|e| format!("policy: {e}"))?;
    let records: Vec<KeyRecord> =
        serde_json::from_value(file["records"].clone()).map_err(|e| format!("records: {e}"))?;
    let keys = KeySet::new(records).map_err(|e| e.to_string())?;
    let request = case.get("request");
    let known = ["api_key", "method", "path", "client_ip", "webcode", "now"];
    if let Some(extra) = request.as_object().and_then(|o| o.keys().find(|k| !known.contains(&k.as_str()))) {
        return Err(format!("runner does not understand request field {extra:?}"));
    }
    let text = |f: &str| match &request[f] {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.as_str())),
        _ => Err(format!("request.{f} is not a string or null")),
    };
    let client_ip = text("client_ip")?
        .map(|ip| ip.parse().map_err(|_| format!("request.client_ip {ip:?} is not an address")))
        .transpose()?;
    let req = Request {
        api_key: text("api_key")?,
        method: text("method")?.ok_or("request.method missing")?,
        path: text("path")?.ok_or("request.path missing")?,
        client_ip,
        webcode: text("webcode")?,
    };
    let now = request["now"].as_u64().ok_or("request.now missing")?;
    Ok(match keys.check(&req, &policy, now) {
        Ok(allowed) => json!({ "ok": true, "key_id": allowed.key_id }),
        Err(r) => json!({ "ok": false, "reason": r.reason(), "status": r.status(), "code": r.code(), "body": r.body() }),
    })
}
