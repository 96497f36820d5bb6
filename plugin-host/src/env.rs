//! Where secrets named by `secret_env` come from. A leaf: the
//! configuration, the lifecycle and the composition root share it.

use std::sync::Arc;

/// Where a secret named by `secret_env` is looked up: the process
/// environment, or (for the demo and tests) a map in front of it.
pub type EnvLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The process environment.
pub fn process_env() -> EnvLookup {
    Arc::new(|name| std::env::var(name).ok())
}
