//! The exit codes of the `payseal` command, in one place, and the one error
//! type its commands return.
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | done |
//! | 1 | the command ran and its check failed (the demo session, a store that fails verification) |
//! | 2 | usage: an unknown flag or value, a missing argument, an unknown scope |
//! | 3 | configuration: the file cannot be read or is invalid, a secret is missing |
//! | 4 | unavailable: the admin listener cannot be reached, an address is in use, the store cannot be opened |
//! | 5 | refused: the gateway answered the operation with an error (unknown key, invalid request) |
//! | 6 | internal: an I/O error of the command itself (stdout closed, no runtime) |

use std::fmt;

/// A documented exit code of `payseal`.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: done.
    Ok,
    /// 1: the command ran and what it checked failed.
    Failed,
    /// 2: the command line is wrong.
    Usage,
    /// 3: the configuration is wrong or incomplete.
    Config,
    /// 4: something the command needs cannot be reached or opened.
    Unavailable,
    /// 5: the gateway refused the operation.
    Refused,
    /// 6: the command could not do its own work.
    Internal,
}

impl Exit {
    /// The process exit code.
    pub const fn code(self) -> u8 {
        match self {
            Self::Ok => 0,
            Self::Failed => 1,
            Self::Usage => 2,
            Self::Config => 3,
            Self::Unavailable => 4,
            Self::Refused => 5,
            Self::Internal => 6,
        }
    }

    /// A stable name for scripts (`--json` errors carry it).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Failed => "failed",
            Self::Usage => "usage",
            Self::Config => "configuration",
            Self::Unavailable => "unavailable",
            Self::Refused => "refused",
            Self::Internal => "internal",
        }
    }
}

/// The exit code table, as `payseal --help` prints it.
pub const EXIT_CODES_HELP: &str = "Exit codes: 0 ok, 1 check failed, 2 usage, 3 configuration, 4 unavailable, 5 refused by the gateway, 6 internal";

/// Why a command failed: the exit code it maps to and a message that never
/// holds a secret (it names variables and fields, never values).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CliError {
    /// The exit code.
    pub exit: Exit,
    /// A stable code for scripts (`store_key_missing`, `unknown_scope`, …).
    pub code: String,
    /// What went wrong and what to do.
    pub message: String,
}

impl CliError {
    /// An error with `exit`, `code` and `message`.
    pub fn new(exit: Exit, code: impl Into<String>, message: impl Into<String>) -> Self {
        Self { exit, code: code.into(), message: message.into() }
    }

    /// Exit 2.
    pub fn usage(code: &str, message: impl Into<String>) -> Self {
        Self::new(Exit::Usage, code, message)
    }

    /// Exit 3.
    pub fn config(message: impl Into<String>) -> Self {
        Self::new(Exit::Config, "invalid_configuration", message)
    }

    /// Exit 4.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(Exit::Unavailable, "unavailable", message)
    }

    /// Exit 6.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Exit::Internal, "internal", message)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_documented() {
        let all = [Exit::Ok, Exit::Failed, Exit::Usage, Exit::Config, Exit::Unavailable, Exit::Refused, Exit::Internal];
        for (i, exit) in all.iter().enumerate() {
            assert_eq!(usize::from(exit.code()), i);
            assert!(EXIT_CODES_HELP.contains(&format!("{} ", exit.code())), "{exit:?}");
        }
        assert_eq!(CliError::usage("x", "m").exit.code(), 2);
        assert_eq!(CliError::config("m").exit.code(), 3);
    }
}
