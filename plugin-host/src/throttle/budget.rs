//! The failed-authentication budgets of one configuration
//! (`[server.throttle]`), read by the core's rule.

use payseal_core::throttle::{FailureBudget, Subject};
use serde::Deserialize;

use crate::config_error::ConfigError;

/// `[server.throttle]`: on by default.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ThrottleConfig {
    /// `false` turns throttling off (not for production).
    pub enabled: bool,
    /// Failures a credential (key id, renewal `codeUrl`, token client) may
    /// have in a window; the last of them locks it out.
    pub failures: u32,
    /// Failures one client address (IPv6: one /64) may have in a window.
    pub address_failures: u32,
    /// The window, in seconds.
    pub window_seconds: u64,
    /// The first lock-out, in seconds; each further one doubles.
    pub lockout_seconds: u64,
    /// The longest lock-out, in seconds.
    pub max_lockout_seconds: u64,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        let c = FailureBudget::CREDENTIAL;
        Self {
            enabled: true,
            failures: c.failures,
            address_failures: FailureBudget::ADDRESS.failures,
            window_seconds: c.window_seconds,
            lockout_seconds: c.lockout_seconds,
            max_lockout_seconds: c.max_lockout_seconds,
        }
    }
}

impl ThrottleConfig {
    /// The budgets, `None` when throttling is off.
    ///
    /// # Errors
    /// A budget that cannot work (no failure allowed, a zero window or
    /// lock-out, a longest lock-out shorter than the first).
    pub fn budgets(&self) -> Result<Option<Budgets>, ConfigError> {
        if !self.enabled {
            return Ok(None);
        }
        let budget = |failures| FailureBudget {
            failures,
            window_seconds: self.window_seconds,
            lockout_seconds: self.lockout_seconds,
            max_lockout_seconds: self.max_lockout_seconds,
        };
        let budgets = Budgets { credential: budget(self.failures), address: budget(self.address_failures) };
        if !budgets.credential.is_valid() || !budgets.address.is_valid() {
            return Err(ConfigError::new(
                "server.throttle",
                "failures, address_failures, window_seconds and lockout_seconds must be above 0, and max_lockout_seconds at least lockout_seconds",
            ));
        }
        Ok(Some(budgets))
    }
}

/// The budgets of one configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budgets {
    credential: FailureBudget,
    address: FailureBudget,
}

impl Budgets {
    pub(super) fn of(&self, subject: &Subject<'_>) -> &FailureBudget {
        if subject.is_address() { &self.address } else { &self.credential }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_on_and_valid_and_off_means_none() {
        let budgets = ThrottleConfig::default().budgets().unwrap().unwrap();
        assert_eq!(budgets.credential, FailureBudget::CREDENTIAL);
        assert_eq!(budgets.address, FailureBudget::ADDRESS);
        assert_eq!(ThrottleConfig { enabled: false, ..ThrottleConfig::default() }.budgets().unwrap(), None);
        let broken = ThrottleConfig { lockout_seconds: 0, ..ThrottleConfig::default() }.budgets().unwrap_err();
        assert_eq!(broken.field.as_deref(), Some("server.throttle"));
    }
}
