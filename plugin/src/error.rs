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

/// Parses `text` as `T`, naming the bad field on failure and never its value.
pub(crate) fn parse<'de, T: serde::Deserialize<'de>>(text: &'de [u8], source: Source) -> Result<T, PluginError> {
    let error = |field: String, inner: &serde_json::Error| {
        let message = describe(inner);
        match source {
            Source::Config => PluginError::InvalidConfig { field, message },
            Source::Input => PluginError::InvalidInput { field, message },
        }
    };
    let mut de = serde_json::Deserializer::from_slice(text);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| error(e.path().to_string(), e.inner()))?;
    // Text after the document is a syntax error too.
    de.end().map_err(|e| error(".".into(), &e))?;
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

    fn input_error(text: &str) -> (String, String) {
        match parse::<Doc>(text.as_bytes(), Source::Input) {
            Err(PluginError::InvalidInput { field, message }) => (field, message),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn names_the_field_and_hides_the_value() {
        let (field, message) = input_error(r#"{"name":"n","count":"sk_live_canary"}"#);
        assert_eq!(field, "count");
        assert_eq!(message, "invalid type, expected u64");
        let (field, message) = input_error(r#"{"name":"n","count":1,"items":[1,"canary, expected x"]}"#);
        assert_eq!(field, "items[1]");
        assert!(!message.contains("canary"), "{message}");
        let (_, message) = input_error(r#"{"name":"n"}"#);
        assert_eq!(message, "missing field `count`");
        let (field, message) = input_error(r#"{"name":"n","count":1,"extra":true}"#);
        assert_eq!((field.as_str(), message.as_str()), ("extra", "unknown field `extra`"));
    }

    #[test]
    fn syntax_errors_have_no_text() {
        let (_, message) = input_error(r#"{"name":"canary"#);
        assert_eq!(message, "the JSON ends too early");
        let (_, message) = input_error(r#"{"name":"n","count":1} trailing-canary"#);
        assert!(message.starts_with("not valid JSON"), "{message}");
        assert!(!message.contains("canary"));
    }

    #[test]
    fn serializes_with_a_kind() {
        let e = PluginError::input("now", "invalid type, expected u64");
        assert_eq!(e.to_json(), r#"{"kind":"invalid_input","field":"now","message":"invalid type, expected u64"}"#);
        assert_eq!(PluginError::InputTooLarge { limit: 3 }.to_json(), r#"{"kind":"input_too_large","limit":3}"#);
    }
}
