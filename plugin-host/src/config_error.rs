//! The error of a configuration that cannot be used. A leaf: every
//! section (the file's, the store's, the lifecycle's) reports with it.

use std::fmt;

/// A configuration that cannot be used: the field (a dotted path such as
/// `server.max_body_bytes` or `lifecycle.accounts[0].code_url`) and what is
/// wrong with it. Neither ever holds the field's value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    /// The field; `None` for the configuration as a whole (a file that
    /// cannot be read or parsed).
    pub field: Option<String>,
    /// What is wrong with it.
    pub problem: String,
}

impl ConfigError {
    /// `field` has `problem`.
    pub fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self { field: Some(field.into()), problem: problem.into() }
    }

    /// From a message written as `field: problem` (TOML and serde name the
    /// field first); a message that names no field is about the whole.
    pub fn from_message(message: &str) -> Self {
        match message.split_once(": ") {
            Some((field, problem)) if !field.is_empty() && !field.contains(' ') => Self::new(field, problem),
            _ => Self { field: None, problem: message.to_owned() },
        }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{field}: {}", self.problem),
            None => f.write_str(&self.problem),
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::ConfigError;

    #[test]
    fn messages_name_the_field_first() {
        let e = ConfigError::from_message("server.max_body_bytes: must be above 0");
        assert_eq!((e.field.as_deref(), e.problem.as_str()), (Some("server.max_body_bytes"), "must be above 0"));
        assert_eq!(e.to_string(), "server.max_body_bytes: must be above 0");
        let whole = ConfigError::from_message("cannot read /etc/payseal.toml: not found");
        assert_eq!((whole.field.as_deref(), whole.to_string()), (None, "cannot read /etc/payseal.toml: not found".to_owned()));
    }
}
