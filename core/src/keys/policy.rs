//! The gateway's policy: accepted formats, route environments, scopes.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};

use super::KeyFormat;
use crate::Environment;
use crate::gate::prefix_covers;

/// Configuration shared by every key (`keys.md`, "Policy").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    /// Formats a presented key may have.
    #[serde(default = "default_formats")]
    pub accepted_formats: Vec<KeyFormat>,
    /// A path starting with one of these is a test route.
    #[serde(default = "default_test_prefixes")]
    pub test_route_prefixes: Vec<String>,
    /// Scope name → path prefixes it covers.
    #[serde(default)]
    pub scope_routes: BTreeMap<String, Vec<String>>,
    /// Seconds of clock skew allowed on `not_before` / `expires_at` (default 0).
    #[serde(default)]
    pub clock_skew: u64,
}

fn default_formats() -> Vec<KeyFormat> {
    vec![KeyFormat::Prefixed]
}

fn default_test_prefixes() -> Vec<String> {
    vec![String::from("/external/v1/test/")]
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            accepted_formats: default_formats(),
            test_route_prefixes: default_test_prefixes(),
            scope_routes: BTreeMap::new(),
            clock_skew: 0,
        }
    }
}

/// The path without its query string: routes are matched on the path alone.
fn path_only(path: &str) -> &str {
    path.split_once('?').map_or(path, |(p, _)| p)
}

impl Policy {
    /// The environment a route belongs to: test when a test prefix covers
    /// the canonical path ([`prefix_covers`]).
    pub fn route_environment(&self, path: &str) -> Environment {
        let path = path_only(path);
        if self.test_route_prefixes.iter().any(|p| prefix_covers(p, path)) {
            Environment::Test
        } else {
            Environment::Live
        }
    }

    /// Whether a key with `scopes` may call `path`. Prefixes match whole
    /// segments of the canonical path, any case, so `/external/v1/` does not
    /// cover `/external/v10/` ([`prefix_covers`]). A key without scopes covers every
    /// route of its environment; an unknown scope name covers nothing.
    pub fn scopes_allow(&self, scopes: &[String], path: &str) -> bool {
        let path = path_only(path);
        scopes.is_empty()
            || scopes.iter().any(|scope| {
                self.scope_routes
                    .get(scope)
                    .is_some_and(|prefixes| prefixes.iter().any(|p| prefix_covers(p, path)))
            })
    }
}
