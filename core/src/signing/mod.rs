//! Request and webhook signatures (`shared/spec/signing.md`).
//!
//! Each scheme has a signer (the test double, or a merchant calling the
//! provider) and a verifier (a gateway or merchant receiving the message).
//! Both hold their secrets prepared as HMAC keys, so a holder is created once
//! and reused. Verification runs the spec's checks in order and the first
//! failure decides: `missing_signature`, `malformed_header`, `invalid_secret`,
//! `stale_timestamp`, `bad_digest`, `bad_signature`.

pub mod cybersource;
pub mod dvpay;
mod error;
mod headers;
mod keyring;
pub mod standard_webhooks;
pub mod stripe;

pub use error::SignatureError;
pub use headers::HeaderMap;
pub(crate) use headers::field;
pub(crate) use keyring::KeyRing;

/// Default tolerance for request and webhook timestamps, in seconds.
pub const DEFAULT_TOLERANCE: u64 = 300;

/// A successful verification: which configured secret matched.
///
/// Rotation check: once `secret_index` stops naming the old secret, the old
/// secret can be removed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Verified {
    /// Position of the matching secret in the list the verifier was built with.
    pub secret_index: usize,
}

/// A verified webhook: which secret matched, the message's time, and what a
/// replay guard remembers (`signing.md`: webhook verifiers offer the guard on
/// the webhook id for Standard Webhooks, on the timestamp and signature for
/// Stripe).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct VerifiedWebhook {
    /// Position of the matching secret in the list the verifier was built with.
    pub secret_index: usize,
    /// The sender's message id (`webhook-id` or `svix-id`); `None` for Stripe, which has none in the header.
    pub id: Option<alloc::string::String>,
    /// The signed timestamp, unix seconds.
    pub timestamp: u64,
    /// What identifies this delivery to a replay guard: the message id
    /// (Standard Webhooks), or `t=<t>,v1=<matching hex MAC>` (Stripe: extra
    /// or reordered entries of the header do not make a new delivery).
    pub replay_id: alloc::string::String,
    /// Until when the guard must remember it: once the timestamp has left
    /// the tolerance window the message is refused as stale anyway.
    pub replay_expires_at: u64,
}

impl VerifiedWebhook {
    /// The rotation result alone.
    pub const fn verified(&self) -> Verified {
        Verified { secret_index: self.secret_index }
    }
}

/// Time inputs of a verification; the caller owns the clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Clock {
    /// Current time, unix seconds.
    pub now: u64,
    /// Largest accepted distance between `now` and the message time, seconds.
    pub tolerance: u64,
}

impl Clock {
    /// `now` with the default tolerance of 300 s.
    pub const fn at(now: u64) -> Self {
        Self { now, tolerance: DEFAULT_TOLERANCE }
    }

    /// The first second at which a message signed at `timestamp` is stale.
    pub(crate) const fn forget_after(self, timestamp: u64) -> u64 {
        timestamp.saturating_add(self.tolerance).saturating_add(1)
    }

    pub(crate) fn check(self, timestamp: u64) -> Result<(), SignatureError> {
        if crate::time::within_tolerance(timestamp, self.now, self.tolerance) {
            Ok(())
        } else {
            Err(SignatureError::StaleTimestamp)
        }
    }
}

/// A timestamp header: the text as sent (what the MAC covers) and its value.
pub(crate) struct SentTimestamp {
    pub(crate) text: alloc::string::String,
    pub(crate) value: u64,
}

/// Reads a required decimal unix-seconds field, present (check 1) and parseable (check 2):
/// [`crate::time::parse_unix_seconds`], so a leading zero is `malformed_header`.
pub(crate) fn parse_timestamp(
    text: Option<alloc::string::String>,
    name: &'static str,
) -> Result<SentTimestamp, SignatureError> {
    let text = text.ok_or(SignatureError::MissingSignature(name))?;
    let value = crate::time::parse_unix_seconds(&text)
        .ok_or(SignatureError::MalformedHeader("timestamp is not canonical decimal unix seconds"))?;
    Ok(SentTimestamp { text, value })
}
