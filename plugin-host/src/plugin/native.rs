//! The plugin's functions linked natively, for `scripts/bench-gateway.sh`
//! only (cargo feature `native-checks`): the ceiling the wasm host is
//! measured against, the same checks with no sandbox. Never in a release:
//! it has no memory limit, no deadline and no fuel.

use payseal_plugin::functions::{self, Reply};
use payseal_plugin::{Config, PluginError};

use super::{CallFailure, PoolError};

type Function = fn(&Config, &[u8]) -> Result<Reply, PluginError>;

/// The parsed configuration, as an instance holds it.
pub struct NativeChecks(Config);

impl NativeChecks {
    /// Parses `document` as the plugin's `describe` does.
    ///
    /// # Errors
    /// The plugin's rejection.
    pub fn new(document: &str) -> Result<Self, PoolError> {
        Config::parse(Some(document)).map(Self).map_err(|e| PoolError::Rejected(e.to_string()))
    }

    /// Calls `function` as an instance would.
    ///
    /// # Errors
    /// The plugin's typed error as its JSON, or an unknown function.
    pub fn call(&self, function: &str, input: &[u8]) -> Result<Vec<u8>, CallFailure> {
        let run: Function = match function {
            "check_request" => functions::check_request,
            "decide_idempotency" => functions::decide_idempotency,
            "finish_request" => functions::finish_request,
            "verify_webhook" => functions::verify_webhook,
            "open_redirect" => functions::open_redirect,
            "sign_request" => functions::sign_request,
            "describe" => functions::describe,
            other => return Err(CallFailure::NoSuchFunction(other.to_owned())),
        };
        run(&self.0, input).map(|reply| reply.json).map_err(|e| CallFailure::Plugin(e.to_json().into_bytes()))
    }
}
