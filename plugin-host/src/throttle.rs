//! Throttling of failed authentication on the proxy listener: the core's
//! rule ([`payseal_core::throttle`]) over counts kept in the store, so every
//! gateway sharing the store shares them.
//!
//! Where it applies:
//! - the renewal endpoint and the token endpoint read the subjects' counts
//!   *before* checking the password or client secret (a locked-out client
//!   gets 429 whatever it sent, so it never learns whether a guess was
//!   right), and count each failure;
//! - the proxied requests count each 401 (a key refused, a signature that
//!   does not verify) and check this gateway's own list of lock-outs
//!   ([`Lockouts`]) before anything else, with no store read on the request
//!   path. Another gateway learns of a lock-out at the client's next
//!   failure there, whose count the store answers "locked" (then 429).
//!
//! A lock-out is one audit event (`locked_out`), never one per failure, and
//! the metrics count failures (`payseal_auth_failures_total{surface}`) and
//! 429s (`payseal_throttled_total{surface}`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use hyper::Response;
use hyper::header::{HeaderValue, RETRY_AFTER};
use payseal_core::Refusal;
use payseal_core::throttle::{FailureBudget, FailureCount, Standing, Subject};
use serde::Deserialize;

use crate::audit::{AuditAction, AuditEvent};
use crate::config_error::ConfigError;
use crate::gateway::Shared;
use crate::http::{ResponseBody, json_response};
use crate::store::StoreError;

/// How often a count lost to a concurrent writer is read and written again.
const SWAP_ATTEMPTS: usize = 8;

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
    fn of(&self, subject: &Subject<'_>) -> &FailureBudget {
        if subject.is_address() { &self.address } else { &self.credential }
    }
}

/// Where a failed authentication happened, for the metrics and the audit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// A proxied request refused with 401 by the key or signature checks.
    Request,
    /// The token endpoint.
    Token,
    /// The renewal endpoint.
    Renewal,
}

impl Surface {
    /// The metrics label.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Token => "token",
            Self::Renewal => "renewal",
        }
    }
}

/// The lock-outs this gateway knows of: subject entry → locked until.
/// Read on every proxied request, so it is empty (one atomic load) unless
/// someone is locked out.
#[derive(Debug, Default)]
pub struct Lockouts {
    any: AtomicBool,
    until: Mutex<HashMap<String, u64>>,
}

impl Lockouts {
    /// Seconds until the latest lock-out of `subjects` ends, if one is on.
    pub fn retry_after(&self, subjects: &[Subject<'_>], now: u64) -> Option<u64> {
        if !self.any.load(Ordering::Relaxed) {
            return None;
        }
        let mut until = self.until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        until.retain(|_, end| *end > now);
        self.any.store(!until.is_empty(), Ordering::Relaxed);
        subjects.iter().filter_map(|s| until.get(&s.storage_key())).max().map(|end| end - now)
    }

    fn remember(&self, entry: String, locked_until: u64) {
        let mut until = self.until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let end = until.entry(entry).or_default();
        *end = (*end).max(locked_until);
        self.any.store(true, Ordering::Relaxed);
    }
}

/// Seconds until the latest lock-out of `subjects` ends, read from the
/// store (the endpoints call it before checking a credential).
///
/// # Errors
/// The store cannot be read; the caller fails closed.
pub async fn retry_after(shared: &Shared, subjects: &[Subject<'_>], now: u64) -> Result<Option<u64>, StoreError> {
    let mut latest = shared.lockouts.retry_after(subjects, now);
    for subject in subjects {
        let entry = subject.storage_key();
        let stored = shared.store.entry(&entry, now).await?;
        if let Some(Standing::Locked { retry_after }) = stored.as_deref().and_then(FailureCount::decode).map(|c| c.standing(now)) {
            shared.lockouts.remember(entry, now + retry_after);
            latest = latest.max(Some(retry_after));
        }
    }
    Ok(latest)
}

/// Counts one failed authentication against each subject; answers the
/// seconds until the latest lock-out ends when one of them is now locked
/// out (by this failure or before it). A store that cannot count is
/// logged: the failure's own refusal still goes out.
pub async fn failed(shared: &Shared, budgets: &Budgets, surface: Surface, subjects: &[Subject<'_>], now: u64) -> Option<u64> {
    shared.metrics.auth_failure(surface.label());
    let mut latest = None;
    for subject in subjects {
        match count(shared, budgets.of(subject), surface, subject, now).await {
            Ok(retry_after) => latest = latest.max(retry_after),
            Err(error) => tracing::error!(%error, surface = surface.label(), "cannot count a failed authentication"),
        }
    }
    latest
}

/// One subject's count, by compare-and-swap.
async fn count(shared: &Shared, budget: &FailureBudget, surface: Surface, subject: &Subject<'_>, now: u64) -> Result<Option<u64>, StoreError> {
    let entry = subject.storage_key();
    for _ in 0..SWAP_ATTEMPTS {
        let stored = shared.store.entry(&entry, now).await?;
        // An unreadable count starts again rather than locking forever.
        let current = stored.as_deref().and_then(FailureCount::decode).unwrap_or_default();
        let (next, lockout) = current.fail(budget, now);
        if next != current {
            let text = next.encode();
            if !shared.store.swap_entry(&entry, stored.as_deref(), Some(text.as_bytes()), Some(next.keep_until(budget)), now).await? {
                continue;
            }
        }
        if let Some(lockout) = lockout {
            tracing::warn!(subject = %entry, seconds = lockout.seconds, level = lockout.level, surface = surface.label(), "locked out after repeated failed authentication");
            let event = AuditEvent::new(now, "gateway", AuditAction::LockedOut, entry.clone())
                .with_detail(format!("surface={} seconds={} level={}", surface.label(), lockout.seconds, lockout.level));
            if let Err(error) = event.record(shared.store.as_ref()).await {
                tracing::error!(%error, "cannot write the lock-out's audit event");
            }
        }
        return Ok(match next.standing(now) {
            Standing::Locked { retry_after } => {
                shared.lockouts.remember(entry, now + retry_after);
                Some(retry_after)
            }
            Standing::Open => None,
        });
    }
    Err(StoreError::conflict("a failure count lost every swap"))
}

/// The 429 of a locked-out request on `surface`, with `Retry-After`.
pub fn throttled(shared: &Shared, surface: Surface, refusal: Refusal, retry_after: u64) -> Response<ResponseBody> {
    shared.metrics.throttled(surface.label());
    let mut response = json_response(refusal.status, refusal.body());
    insert_retry_after(&mut response, retry_after);
    response
}

/// Sets `Retry-After: seconds` (at least 1).
pub fn insert_retry_after(response: &mut Response<ResponseBody>, seconds: u64) {
    if let Ok(value) = HeaderValue::from_str(&seconds.max(1).to_string()) {
        response.headers_mut().insert(RETRY_AFTER, value);
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

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

    #[test]
    fn local_lockouts_end_by_themselves() {
        let lockouts = Lockouts::default();
        let address = Subject::Address(IpAddr::V4(Ipv4Addr::LOCALHOST));
        assert_eq!(lockouts.retry_after(&[address], 100), None);
        lockouts.remember(address.storage_key(), 130);
        assert_eq!(lockouts.retry_after(&[Subject::Key("k"), address], 100), Some(30));
        assert_eq!(lockouts.retry_after(&[Subject::Key("k")], 100), None);
        assert_eq!(lockouts.retry_after(&[address], 130), None);
        assert!(!lockouts.any.load(Ordering::Relaxed), "the last one ended: the request path is back to one load");
    }
}
