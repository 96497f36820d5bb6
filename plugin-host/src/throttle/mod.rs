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

use hyper::Response;
use hyper::header::{HeaderValue, RETRY_AFTER};
use payseal_core::Refusal;
use payseal_core::throttle::{FailureBudget, FailureCount, Standing, Subject};

use crate::audit::{AuditAction, AuditEvent};
use crate::gateway::Shared;
use crate::http::{ResponseBody, json_response};
use crate::store::StoreError;

pub mod budget;
pub mod lockouts;

pub use budget::{Budgets, ThrottleConfig};
pub use lockouts::Lockouts;

/// How often a count lost to a concurrent writer is read and written again.
const SWAP_ATTEMPTS: usize = 8;

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
