//! The filter's configuration: the `configuration` string of the Envoy Wasm
//! filter, a JSON document parsed once per plugin (root context) into the
//! core's prepared objects.
//!
//! The sections `keys`, `routes`, `signed_requests` and `idempotency` have the
//! shape of the Extism plugin's configuration (`plugin/README.md`), so an
//! operator writes one format; `envoy` holds what only this adapter needs.
//! Unknown fields are errors. Secrets are read into [`Secret`]s at once and
//! the text they came in is wiped; no error names a value.

use payseal_config::SectionError;
use payseal_config::keys::KeysSection;
use payseal_config::signed_requests::SignedRequestsSection;
use payseal_core::routes::{IdempotencySettings, Route, RoutePolicy};
use serde::Deserialize;

pub use payseal_config::keys::Keys;
pub use payseal_config::signed_requests::SignedRequests;

/// Largest request body buffered for a signed or idempotent route by default: 1 MiB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;

/// Largest upstream response kept for idempotent replay by default: 64 KiB.
pub const DEFAULT_MAX_STORED_RESPONSE_BYTES: usize = 64 * 1024;

/// Why a configuration was refused: the path of the bad field and what is
/// wrong with it, never its value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// E.g. `keys.records[0].key_sha256`; `.` for the document itself.
    pub field: String,
    /// What is wrong, without the field's value.
    pub message: String,
}

impl ConfigError {
    fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self { field: field.into(), message: message.into() }
    }
}

impl core::fmt::Display for ConfigError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "invalid configuration at {}: {}", self.field, self.message)
    }
}

impl core::error::Error for ConfigError {}

/// A shared section the core refused (`keys.records`, `routes`), in the
/// core's words.
impl From<SectionError> for ConfigError {
    fn from(e: SectionError) -> Self {
        Self::new(e.field(), e.to_string())
    }
}

fn default_max_body() -> usize {
    DEFAULT_MAX_BODY_BYTES
}

fn default_max_stored_response() -> usize {
    DEFAULT_MAX_STORED_RESPONSE_BYTES
}

/// The document, as written.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    keys: KeysSection,
    #[serde(default)]
    routes: Vec<Route>,
    #[serde(default)]
    signed_requests: SignedRequestsSection,
    #[serde(default)]
    idempotency: IdempotencySettings,
    #[serde(default)]
    envoy: EnvoySettings,
    #[cfg(feature = "test-clock")]
    #[serde(default)]
    clock: Option<TestClock>,
}

/// What only the Envoy adapter needs (the `envoy` section).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvoySettings {
    /// The request header carrying the merchant's webcode; `None` (the
    /// default): requests name no webcode.
    #[serde(default)]
    pub webcode_header: Option<String>,
    /// Largest request body buffered on a signed or idempotent route; a
    /// larger one is refused with 413.
    #[serde(default = "default_max_body")]
    pub max_body_bytes: usize,
    /// Largest upstream response body kept for an idempotent replay; a larger
    /// answer leaves its key "outcome unknown" until the record expires (it
    /// is never executed twice, and never replayed cut short).
    #[serde(default = "default_max_stored_response")]
    pub max_stored_response_bytes: usize,
    /// The header the upstream learns the caller's key id from; a
    /// client-sent copy is replaced (`gate.md`, "What the upstream receives").
    #[serde(default = "default_key_id_header")]
    pub key_id_header: String,
    /// Forward the API key header to the upstream (default: removed).
    #[serde(default)]
    pub forward_api_key: bool,
}

fn default_key_id_header() -> String {
    "x-payseal-key-id".into()
}

impl Default for EnvoySettings {
    fn default() -> Self {
        Self {
            webcode_header: None,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            max_stored_response_bytes: DEFAULT_MAX_STORED_RESPONSE_BYTES,
            key_id_header: default_key_id_header(),
            forward_api_key: false,
        }
    }
}

/// Test builds only: a fixed `now` instead of Envoy's clock.
#[cfg(feature = "test-clock")]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct TestClock {
    fixed_now: u64,
}

/// The whole configuration, prepared once per plugin.
pub struct Config {
    /// API keys.
    pub keys: Keys,
    /// Routes with more than the key check, and idempotency settings.
    pub routes: RoutePolicy,
    /// Secrets of signed routes.
    pub signed_requests: SignedRequests,
    /// Adapter settings.
    pub envoy: EnvoySettings,
    /// A fixed `now` (test builds with `clock.fixed_now` only).
    pub fixed_now: Option<u64>,
}

impl Config {
    /// Parses and prepares the plugin configuration.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first bad field (and never its value).
    pub fn parse(text: &[u8]) -> Result<Self, ConfigError> {
        let raw: RawConfig = parse(text)?;
        let keys = raw.keys.prepare()?;
        let routes = payseal_config::routes::prepare(raw.routes, raw.idempotency)?;
        let signed_requests = raw.signed_requests.prepare();
        if raw.envoy.webcode_header.as_deref().is_some_and(str::is_empty) {
            return Err(ConfigError::new("envoy.webcode_header", "must name a header"));
        }
        #[cfg(feature = "test-clock")]
        let fixed_now = raw.clock.map(|c| c.fixed_now);
        #[cfg(not(feature = "test-clock"))]
        let fixed_now = None;
        Ok(Self { keys, routes, signed_requests, envoy: raw.envoy, fixed_now })
    }
}

/// Parses `text` as `T`, naming the bad field on failure and never its value
/// (the rule of `payseal-config`, shared with the Extism plugin).
fn parse<'de, T: Deserialize<'de>>(text: &'de [u8]) -> Result<T, ConfigError> {
    payseal_config::parse(text).map_err(|e| ConfigError::new(e.field, e.message))
}

#[cfg(test)]
mod tests {
    use super::*;

    const RECORD: &str = r#"{"id":"a","key_sha256":"b9221c5bfc900f3541492a62e14a7662976b0e845a60358d60e351628a9f6110","environment":"live"}"#;

    fn error(text: &str) -> ConfigError {
        match Config::parse(text.as_bytes()) {
            Err(e) => e,
            Ok(_) => panic!("parsed"),
        }
    }

    #[test]
    fn minimal_config() {
        let config = Config::parse(format!(r#"{{"keys":{{"records":[{RECORD}]}}}}"#).as_bytes()).unwrap();
        assert_eq!(config.keys.header, "x-api-key");
        assert_eq!(config.envoy, EnvoySettings::default());
        assert_eq!(config.signed_requests.tolerance, payseal_core::signing::DEFAULT_TOLERANCE);
        assert_eq!(config.fixed_now, None);
    }

    #[test]
    fn keys_are_required() {
        let e = error("{}");
        assert_eq!((e.field.as_str(), e.message.as_str()), (".", "missing field `keys`"));
    }

    #[test]
    fn bad_fields_are_named_without_their_values() {
        let e = error(r#"{"keys":{"records":[{"id":"a","key_sha256":"sk_live_canary","environment":"live"}]}}"#);
        assert_eq!(e.field, "keys.records[0].key_sha256");
        assert!(!e.message.contains("canary"), "{e}");
        let e = error(r#"{"keys":{},"signed_requests":{"secrets":{"a":["dvp_canary"]},"tolerance":"dvp_canary2"}}"#);
        assert_eq!(e.field, "signed_requests.tolerance");
        assert!(!e.to_string().contains("canary"), "{e}");
        let e = error(r#"{"keys":{},"signed_requests":{"secrets":{"a":"dvp_canary"}}}"#);
        assert_eq!(e.field, "signed_requests.secrets.a");
        assert!(!e.to_string().contains("canary"), "{e}");
        let e = error(r#"{"keys":{},"envoy":{"max_body":1}}"#);
        assert_eq!((e.field.as_str(), e.message.as_str()), ("envoy.max_body", "unknown field `max_body`"));
        let e = error(r#"{"keys":{},"envoy":{"webcode_header":""}}"#);
        assert_eq!(e.field, "envoy.webcode_header");
        let e = error(r#"{"keys":{},"routes":[{"prefix":"/x","signed":true,"rfc9421":{}}]}"#);
        assert_eq!(e.field, "routes");
        let e = error(&format!(r#"{{"keys":{{"records":[{RECORD},{RECORD}]}}}}"#));
        assert_eq!(e.field, "keys.records");
        let e = error(r#"{"keys":{}} trailing-canary"#);
        assert!(!e.message.contains("canary"), "{e}");
    }

    #[test]
    fn plugin_only_sections_are_refused() {
        let e = error(r#"{"keys":{},"webhooks":{}}"#);
        assert_eq!(e.message, "unknown field `webhooks`");
    }

    #[cfg(not(feature = "test-clock"))]
    #[test]
    fn release_build_refuses_the_test_clock() {
        let e = error(r#"{"keys":{},"clock":{"fixed_now":1}}"#);
        assert_eq!((e.field.as_str(), e.message.as_str()), ("clock", "unknown field `clock`"));
    }

    #[cfg(feature = "test-clock")]
    #[test]
    fn test_build_reads_the_test_clock() {
        let config = Config::parse(br#"{"keys":{},"clock":{"fixed_now":7}}"#).unwrap();
        assert_eq!(config.fixed_now, Some(7));
    }
}
