//! Any bytes as the configuration document the Extism plugin and the Envoy
//! filter share (`keys`, `routes`, `idempotency`, `signed_requests`), read
//! with `payseal_config::parse` and prepared. No panic, and:
//!
//! - parse, serialize, parse: what parses writes out as JSON that parses
//!   and writes out identically (secrets as `"[redacted]"` both times);
//! - a refusal never quotes a value: turning each of `#|@$^` in the
//!   document's string values into another of them (which no rule of the
//!   document tells apart) leaves the error, field and message, unchanged.

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

/// Turns each of `#|@$^` in every string value (not in field names) into
/// the next of them: no rule of the document accepts one and refuses the
/// other, so only an error that quotes a value can tell them apart.
fn remark(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(s) => {
            *s = s.chars().map(|c| match c {
                '#' => '|',
                '|' => '@',
                '@' => '$',
                '$' => '^',
                '^' => '#',
                c => c,
            }).collect();
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(remark),
        serde_json::Value::Object(map) => map.values_mut().for_each(remark),
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
        Err(_) => {
            // Read back from a JSON value, so both documents list fields alike.
            let Ok(mut value) = serde_json::from_slice::<serde_json::Value>(data) else { return };
            let original = value.to_string();
            remark(&mut value);
            let remarked = value.to_string();
            let read = |text: &str| payseal_config::parse::<Document>(text.as_bytes()).err();
            assert_eq!(read(&original), read(&remarked), "the refusal of {original} depends on the text of its values");
        }
    }
});
