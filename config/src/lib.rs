//! The JSON configuration document shared by payseal's Extism plugin and its
//! Envoy filter, which read the same sections (`keys`, `routes`,
//! `signed_requests`, `idempotency`) the same way.
//!
//! Two promises live here once: a parse error names the bad field and never
//! quotes a value from the document (a value may be a secret), and a secret
//! read from the document is moved into a [`Secret`], its text wiped, and shown
//! as `"[redacted]"` when the document is written back out.
//!
//! The sections both guests read are declared and prepared here too, one
//! module each ([`keys`], [`signed_requests`], [`routes`]): a guest's own
//! document embeds them and keeps only its own sections (the plugin's
//! `webhooks`, `limits`…, the filter's `envoy`).

pub mod keys;
pub mod routes;
mod section_error;
pub mod signed_requests;

pub use section_error::SectionError;

use payseal_core::Secret;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroize as _;

/// Why a JSON document did not parse: where, and what kind of problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonError {
    /// Path of the bad field (`keys.records[0].key_sha256`), or `.` for the document.
    pub field: String,
    /// What is wrong, in serde's words without the quoted value.
    pub message: String,
}

/// Parses `text` as `T`, naming the bad field on failure and never its value.
///
/// # Errors
/// A [`JsonError`] for invalid JSON, trailing text, or a field of the wrong
/// type, value, or name.
pub fn parse<'de, T: Deserialize<'de>>(text: &'de [u8]) -> Result<T, JsonError> {
    // The plain parse first: it is what a valid input (every request a
    // gateway checks) costs. Tracking the path costs on every field, so it
    // is paid only to describe a failure, by parsing the same text again.
    if let Ok(value) = serde_json::from_slice(text) {
        return Ok(value);
    }
    let mut de = serde_json::Deserializer::from_slice(text);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| JsonError { field: e.path().to_string(), message: describe(e.inner()) })?;
    // Text after the document is a syntax error too.
    de.end().map_err(|e| JsonError { field: ".".into(), message: describe(&e) })?;
    Ok(value)
}

fn describe(error: &serde_json::Error) -> String {
    use serde_json::error::Category;
    match error.classify() {
        Category::Io => "unreadable".into(),
        Category::Syntax => format!("not valid JSON (line {}, column {})", error.line(), error.column()),
        Category::Eof => "the JSON ends too early".into(),
        Category::Data => data_message(&error.to_string()),
    }
}

/// serde's data errors, without the value they quote.
fn data_message(text: &str) -> String {
    // serde_json appends the position; it says nothing about the field.
    let text = text.rsplit_once(" at line ").map_or(text, |(head, _)| head);
    // These name a field, never a value.
    for kept in ["missing field `", "unknown field `", "duplicate field `"] {
        if let Some(rest) = text.strip_prefix(kept)
            && let Some((name, _)) = rest.split_once('`')
        {
            return format!("{kept}{name}`");
        }
    }
    let what = ["invalid type", "invalid value", "invalid length", "unknown variant"]
        .into_iter()
        .find(|prefix| text.starts_with(prefix))
        .unwrap_or("invalid value");
    // `expected …` comes from the type being read, not from the document;
    // the last occurrence is serde's own (a quoted value may contain the words).
    match text.rsplit_once(", expected ") {
        Some((_, expected)) => format!("{what}, expected {expected}"),
        None => what.into(),
    }
}

/// A secret as configured: read from a JSON string whose text is then wiped,
/// and written back as `"[redacted]"`.
pub struct ConfigSecret(pub Secret);

impl<'de> Deserialize<'de> for ConfigSecret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut text = String::deserialize(d)?;
        let secret = Secret::from_text(&text);
        text.zeroize();
        Ok(Self(secret))
    }
}

impl Serialize for ConfigSecret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("[redacted]")
    }
}

impl core::fmt::Debug for ConfigSecret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        self.0.fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Doc {
        name: String,
        count: u64,
        #[serde(default)]
        items: Vec<u64>,
    }

    fn error(text: &str) -> (String, String) {
        let e = parse::<Doc>(text.as_bytes()).unwrap_err();
        (e.field, e.message)
    }

    #[test]
    fn names_the_field_and_hides_the_value() {
        let (field, message) = error(r#"{"name":"n","count":"sk_live_canary"}"#);
        assert_eq!(field, "count");
        assert_eq!(message, "invalid type, expected u64");
        let (field, message) = error(r#"{"name":"n","count":1,"items":[1,"canary, expected x"]}"#);
        assert_eq!(field, "items[1]");
        assert!(!message.contains("canary"), "{message}");
        let (_, message) = error(r#"{"name":"n"}"#);
        assert_eq!(message, "missing field `count`");
        let (field, message) = error(r#"{"name":"n","count":1,"extra":true}"#);
        assert_eq!((field.as_str(), message.as_str()), ("extra", "unknown field `extra`"));
    }

    #[test]
    fn syntax_errors_have_no_text() {
        let (_, message) = error(r#"{"name":"canary"#);
        assert_eq!(message, "the JSON ends too early");
        let (_, message) = error(r#"{"name":"n","count":1} trailing-canary"#);
        assert!(message.starts_with("not valid JSON"), "{message}");
        assert!(!message.contains("canary"));
    }

    #[test]
    fn secrets_are_redacted_both_ways() {
        let secret: ConfigSecret = serde_json::from_str(r#""whsec_canary""#).unwrap();
        assert_eq!(serde_json::to_string(&secret).unwrap(), r#""[redacted]""#);
        assert_eq!(format!("{secret:?}"), "Secret([redacted])");
    }
}
