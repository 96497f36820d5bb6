//! Any bytes as the configuration document the Extism plugin and the Envoy
//! filter share (`keys`, `routes`, `idempotency`, `signed_requests`), read
//! with `payseal_config::parse` and prepared. No panic, and:
//!
//! - parse, serialize, parse: what parses writes out as JSON that parses
//!   and writes out identically (secrets as `"[redacted]"` both times);
//! - a refusal never quotes a value: no string value of the document
//!   carrying one of `#|@$^` (a mark no field name or serde expectation
//!   has) appears in the error message, unless it is part of a field name.

#![no_main]

use libfuzzer_sys::fuzz_target;
use payseal_config::keys::KeysSection;
use payseal_config::signed_requests::SignedRequestsSection;
use payseal_core::routes::{IdempotencySettings, Route};
use serde::{Deserialize, Serialize};

/// The sections both guests read, as a guest's document embeds them.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default = "empty_keys")]
    keys: KeysSection,
    #[serde(default)]
    routes: Vec<Route>,
    #[serde(default)]
    idempotency: IdempotencySettings,
    #[serde(default)]
    signed_requests: SignedRequestsSection,
}

fn empty_keys() -> KeysSection {
    payseal_config::parse(b"{}").expect("an empty keys section parses")
}

/// Object keys and string values of a JSON value, recursively.
fn strings(value: &serde_json::Value, keys: &mut Vec<String>, values: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => values.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, keys, values)),
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                keys.push(k.clone());
                strings(v, keys, values);
            }
        }
        _ => {}
    }
}

fuzz_target!(|data: &[u8]| {
    match payseal_config::parse::<Document>(data) {
        Ok(document) => {
            let written = serde_json::to_string(&document).expect("a parsed document serializes");
            let again: Document = payseal_config::parse(written.as_bytes()).expect("a written document parses");
            assert_eq!(serde_json::to_string(&again).ok().as_deref(), Some(written.as_str()), "writing is not stable");
            let _ = document.keys.prepare();
            let _ = payseal_config::routes::prepare(document.routes, document.idempotency);
            let _ = document.signed_requests.prepare();
        }
        Err(error) => {
            let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
            let (mut keys, mut values) = (Vec::new(), Vec::new());
            strings(&value, &mut keys, &mut values);
            for value in values.iter().filter(|v| v.contains(['#', '|', '@', '$', '^'])) {
                if keys.iter().any(|k| k.contains(value.as_str())) {
                    continue;
                }
                assert!(!error.message.contains(value.as_str()), "{:?} quotes {value:?}", error.message);
            }
        }
    }
});
