//! The typed error a call returns instead of an output.
//!
//! A decision (allow, refuse, replay, a signature that does not verify) is an
//! output. An error means the plugin could not decide: its configuration or
//! the call input is unusable. The host receives it as the Extism error of the
//! call, serialized as JSON (`{"kind":…,"field":…,"message":…}`), so it can
//! tell a bad field from a bad request without parsing prose.
//!
//! No error carries a value from the configuration or the input: serde's
//! messages quote the offending value (`invalid type: string "whsec_…"`), so
//! they are cut down to what names the field and the expected type.

use core::fmt;

use serde::Serialize;

/// Why the plugin could not answer a call.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum PluginError {
    /// The manifest's `payseal` config entry is not JSON or has a bad field.
    /// Every call of the instance fails with this error until the
    /// configuration is fixed.
    InvalidConfig {
        /// Path of the bad field in the configuration document, e.g.
        /// `webhooks.stripe.tolerance`; `.` for the document itself.
        field: String,
        /// What is wrong, without the field's value.
        message: String,
    },
    /// The call input is not JSON or has a bad field.
    InvalidInput {
        /// Path of the bad field in the input, e.g. `headers` or `now`.
        field: String,
        /// What is wrong, without the field's value.
        message: String,
    },
    /// The input is larger than `limits.max_input_bytes`.
    InputTooLarge {
        /// The configured limit, in bytes.
        limit: usize,
    },
    /// The call names a configuration section or entry that does not exist.
    NotConfigured {
        /// The missing section or entry, e.g. `keys` or `webhooks.<name>`
        /// (the name the input gave is not repeated).
        field: String,
    },
}

impl PluginError {
    pub(crate) fn input(field: impl Into<String>, message: &str) -> Self {
        Self::InvalidInput { field: field.into(), message: message.into() }
    }

    pub(crate) fn config(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::InvalidConfig { field: field.into(), message: message.into() }
    }

    pub(crate) fn not_configured(field: impl Into<String>) -> Self {
        Self::NotConfigured { field: field.into() }
    }

    /// The stable kind (`invalid_config`, `invalid_input`, …).
    pub const fn kind(&self) -> &'static str {
        match self {
            Self::InvalidConfig { .. } => "invalid_config",
            Self::InvalidInput { .. } => "invalid_input",
            Self::InputTooLarge { .. } => "input_too_large",
            Self::NotConfigured { .. } => "not_configured",
        }
    }

    /// The JSON the host receives as the call's error message.
    pub fn to_json(&self) -> String {
        // A derived `Serialize` of strings and integers cannot fail; the
        // fallback still names the kind.
        serde_json::to_string(self).unwrap_or_else(|_| format!("{{\"kind\":\"{}\"}}", self.kind()))
    }
}

/// A shared section the core refused (`keys.records`, `routes`): an invalid
/// configuration naming that field, in the core's words.
impl From<payseal_config::SectionError> for PluginError {
    fn from(e: payseal_config::SectionError) -> Self {
        Self::config(e.field(), e.to_string())
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidConfig { field, message } => write!(f, "invalid config at {field}: {message}"),
            Self::InvalidInput { field, message } => write!(f, "invalid input at {field}: {message}"),
            Self::InputTooLarge { limit } => write!(f, "input is larger than {limit} bytes"),
            Self::NotConfigured { field } => write!(f, "{field} is not configured"),
        }
    }
}

impl core::error::Error for PluginError {}

/// Which document a parse error is about.
#[derive(Clone, Copy)]
pub(crate) enum Source {
    Config,
    Input,
}

/// Parses `text` as `T`, naming the bad field on failure and never its value
/// (the rule of `payseal-config`, shared with the Envoy filter).
pub(crate) fn parse<'de, T: serde::Deserialize<'de>>(text: &'de [u8], source: Source) -> Result<T, PluginError> {
    payseal_config::parse(text).map_err(|payseal_config::JsonError { field, message }| match source {
        Source::Config => PluginError::InvalidConfig { field, message },
        Source::Input => PluginError::InvalidInput { field, message },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_errors_keep_their_source() {
        match parse::<u64>(b"\"canary\"", Source::Input) {
            Err(PluginError::InvalidInput { field, message }) => {
                assert_eq!((field.as_str(), message.as_str()), (".", "invalid type, expected u64"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(parse::<u64>(b"x", Source::Config), Err(PluginError::InvalidConfig { .. })));
    }

    #[test]
    fn serializes_with_a_kind() {
        let e = PluginError::input("now", "invalid type, expected u64");
        assert_eq!(e.to_json(), r#"{"kind":"invalid_input","field":"now","message":"invalid type, expected u64"}"#);
        assert_eq!(PluginError::InputTooLarge { limit: 3 }.to_json(), r#"{"kind":"input_too_large","limit":3}"#);
    }
}
