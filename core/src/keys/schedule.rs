//! The merchant's renewal schedule: one secret in use, renewed before it
//! expires or after the provider refused it, one renewal at a time, never
//! faster than the provider allows.
//!
//! Sans-I/O like the rest of the core: [`RenewalSchedule::next`] says what to
//! do at `now`; the caller performs the renewal request and reports how it
//! ended ([`RenewalSchedule::renewed`] or [`RenewalSchedule::failed`]). The
//! schedule never holds the secret itself, only its timing.

use super::renewal::{RenewalDecision, RenewalPolicy, rate_limit};

/// How long before expiry a secret is renewed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Margin {
    /// This share of the secret's lifetime, in percent (capped at 100).
    Percent(u8),
    /// This many seconds (a margin of the whole lifetime or more renews at once).
    Seconds(u64),
}

impl Default for Margin {
    /// The spec's default: 10 % of the lifetime.
    fn default() -> Self {
        Self::Percent(RenewalPolicy::default().margin_percent)
    }
}

impl Margin {
    /// The margin in seconds for a secret living `expires_in` seconds.
    pub fn seconds(self, expires_in: u64) -> u64 {
        match self {
            // In u128: a provider's `expires_in` may be anything up to u64::MAX.
            Self::Percent(percent) => {
                let margin = u128::from(expires_in) * u128::from(percent.min(100)) / 100;
                u64::try_from(margin).unwrap_or(u64::MAX)
            }
            Self::Seconds(seconds) => seconds,
        }
    }
}

/// When a secret living `expires_in` seconds from `issued_at` is due for
/// renewal, `margin_seconds` ahead of its expiry.
pub(super) fn due_at(issued_at: u64, expires_in: u64, margin_seconds: u64) -> u64 {
    issued_at.saturating_add(expires_in).saturating_sub(margin_seconds)
}

/// Why the caller asks for a secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RenewalTrigger {
    /// It is about to use the secret.
    Use,
    /// The provider answered `401 AUTHENTICATION_FAILED` to the current secret.
    Refused,
}

/// What to do at `now`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum RenewalStep {
    /// Ask the provider for a new secret now; the schedule counts the attempt
    /// as started and expects [`RenewalSchedule::renewed`] or
    /// [`RenewalSchedule::failed`].
    Renew,
    /// A renewal is in flight: wait for its outcome instead of starting another.
    Join,
    /// Use the current secret; no renewal is due or allowed before `until`.
    UseCurrent {
        /// Earliest unix time of the next renewal.
        until: u64,
    },
    /// No usable secret, and no renewal is allowed before `retry_at` (the
    /// minimum interval since the last attempt, or the provider's `Retry-After`).
    Unavailable {
        /// Earliest unix time of the next renewal.
        retry_at: u64,
    },
}

/// The current secret's timing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Held {
    issued_at: u64,
    expires_in: u64,
}

/// The renewal state of one merchant account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RenewalSchedule {
    margin: Margin,
    min_interval: u64,
    current: Option<Held>,
    last_attempt_at: Option<u64>,
    not_before: Option<u64>,
    attempt_started_at: Option<u64>,
}

impl RenewalSchedule {
    /// A schedule with no secret yet: the first [`RenewalSchedule::next`] renews.
    ///
    /// `min_interval` is the least time between two renewal attempts
    /// (successful or not: the provider counts every request).
    pub fn new(margin: Margin, min_interval: u64) -> Self {
        Self { margin, min_interval, current: None, last_attempt_at: None, not_before: None, attempt_started_at: None }
    }

    /// What to do at `now`. When the answer is [`RenewalStep::Renew`], the
    /// attempt is counted as started at `now`: every later call answers
    /// [`RenewalStep::Join`] until its outcome is reported, so concurrent
    /// callers start exactly one renewal.
    pub fn next(&mut self, now: u64, trigger: RenewalTrigger) -> RenewalStep {
        let step = self.decide(now, trigger);
        if step == RenewalStep::Renew {
            self.attempt_started_at = Some(now);
            self.last_attempt_at = Some(now);
        }
        step
    }

    /// What [`RenewalSchedule::next`] would answer, without starting anything.
    pub fn decide(&self, now: u64, trigger: RenewalTrigger) -> RenewalStep {
        if self.attempt_started_at.is_some() {
            return RenewalStep::Join;
        }
        let refused = trigger == RenewalTrigger::Refused;
        // The margin and minimum-interval rules are the ones `should_renew`
        // applies (`due_at`, `rate_limit`); the provider's Retry-After can
        // only push the next attempt later.
        let decision = match self.current {
            Some(held) => {
                let due = due_at(held.issued_at, held.expires_in, self.margin.seconds(held.expires_in));
                if !refused && now < due {
                    RenewalDecision::WaitUntil(due)
                } else {
                    rate_limit(self.last_attempt_at, self.min_interval, now)
                }
            }
            None => rate_limit(self.last_attempt_at, self.min_interval, now),
        };
        let decision = match (decision, self.not_before) {
            (RenewalDecision::RenewNow, Some(not_before)) if now < not_before => {
                RenewalDecision::RateLimited { retry_at: not_before }
            }
            (RenewalDecision::RateLimited { retry_at }, Some(not_before)) => {
                RenewalDecision::RateLimited { retry_at: retry_at.max(not_before) }
            }
            (decision, _) => decision,
        };
        match decision {
            RenewalDecision::RenewNow => RenewalStep::Renew,
            RenewalDecision::WaitUntil(until) => RenewalStep::UseCurrent { until },
            RenewalDecision::RateLimited { retry_at } if self.usable(now) => RenewalStep::UseCurrent { until: retry_at },
            RenewalDecision::RateLimited { retry_at } => RenewalStep::Unavailable { retry_at },
        }
    }

    /// Whether the current secret is still within its lifetime at `now` (a
    /// renewal that is due or failed leaves it in use until it expires).
    pub fn usable(&self, now: u64) -> bool {
        self.current.is_some_and(|held| now < held.issued_at.saturating_add(held.expires_in))
    }

    /// When the current secret expires, if there is one.
    pub fn expires_at(&self) -> Option<u64> {
        self.current.map(|held| held.issued_at.saturating_add(held.expires_in))
    }

    /// Whether a renewal is in flight.
    pub fn in_flight(&self) -> bool {
        self.attempt_started_at.is_some()
    }

    /// The renewal in flight answered a new secret living `expires_in`
    /// seconds. Its lifetime counts from when the request was sent (the
    /// provider issued it after that), so it is never thought to live longer
    /// than it does. Without a renewal in flight, the secret counts from `now`.
    pub fn renewed(&mut self, now: u64, expires_in: u64) {
        let issued_at = self.attempt_started_at.take().unwrap_or(now);
        self.current = Some(Held { issued_at, expires_in });
        self.not_before = None;
    }

    /// The renewal in flight failed at `now`. `retry_after` is the provider's
    /// `Retry-After` in seconds (a `429`): no attempt before it has passed.
    /// The current secret, if any, stays in use until it expires.
    pub fn failed(&mut self, now: u64, retry_after: Option<u64>) {
        self.attempt_started_at = None;
        if let Some(seconds) = retry_after {
            let until = now.saturating_add(seconds);
            self.not_before = Some(self.not_before.map_or(until, |earlier| earlier.max(until)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: u64 = 1_000_000;

    fn renewed_at(margin: Margin, min_interval: u64, at: u64, expires_in: u64) -> RenewalSchedule {
        let mut s = RenewalSchedule::new(margin, min_interval);
        assert_eq!(s.next(at, RenewalTrigger::Use), RenewalStep::Renew);
        s.renewed(at + 2, expires_in);
        s
    }

    #[test]
    fn first_use_renews_then_everyone_joins() {
        let mut s = RenewalSchedule::new(Margin::default(), 60);
        assert!(!s.usable(T0));
        assert_eq!(s.next(T0, RenewalTrigger::Use), RenewalStep::Renew);
        assert!(s.in_flight());
        for trigger in [RenewalTrigger::Use, RenewalTrigger::Refused] {
            assert_eq!(s.next(T0, trigger), RenewalStep::Join);
        }
        s.renewed(T0 + 3, 3_600);
        assert!(!s.in_flight());
        // The lifetime counts from the request, not the answer.
        assert_eq!(s.expires_at(), Some(T0 + 3_600));
        assert_eq!(s.next(T0 + 3, RenewalTrigger::Use), RenewalStep::UseCurrent { until: T0 + 3_240 });
    }

    #[test]
    fn margin_in_percent_and_in_seconds() {
        let mut s = renewed_at(Margin::Percent(10), 60, T0, 3_600);
        assert_eq!(s.next(T0 + 3_239, RenewalTrigger::Use), RenewalStep::UseCurrent { until: T0 + 3_240 });
        assert_eq!(s.next(T0 + 3_240, RenewalTrigger::Use), RenewalStep::Renew);

        let mut s = renewed_at(Margin::Seconds(300), 60, T0, 3_600);
        assert_eq!(s.next(T0 + 3_299, RenewalTrigger::Use), RenewalStep::UseCurrent { until: T0 + 3_300 });
        assert_eq!(s.next(T0 + 3_300, RenewalTrigger::Use), RenewalStep::Renew);

        // A margin as long as the lifetime renews on every use, within the rate limit.
        let mut s = renewed_at(Margin::Seconds(10_000), 60, T0, 3_600);
        assert_eq!(s.next(T0 + 10, RenewalTrigger::Use), RenewalStep::UseCurrent { until: T0 + 60 });
        assert_eq!(s.next(T0 + 60, RenewalTrigger::Use), RenewalStep::Renew);
        assert_eq!(Margin::Percent(250).seconds(100), 100, "percent is capped at 100");
        assert_eq!(Margin::Percent(10).seconds(u64::MAX), u64::MAX / 10, "no overflow");
        let mut s = renewed_at(Margin::default(), 60, T0, u64::MAX);
        assert_eq!(s.expires_at(), Some(u64::MAX));
        assert_eq!(s.next(T0 + 10, RenewalTrigger::Use), RenewalStep::UseCurrent { until: u64::MAX - u64::MAX / 10 });
    }

    #[test]
    fn refusal_renews_at_once_but_not_within_min_interval() {
        let mut s = renewed_at(Margin::default(), 60, T0, 3_600);
        // Right after a renewal, a 401 (for a request signed with the older
        // secret) keeps the new one.
        assert_eq!(s.next(T0 + 30, RenewalTrigger::Refused), RenewalStep::UseCurrent { until: T0 + 60 });
        assert_eq!(s.next(T0 + 60, RenewalTrigger::Refused), RenewalStep::Renew);
        assert_eq!(s.next(T0 + 60, RenewalTrigger::Refused), RenewalStep::Join);
    }

    #[test]
    fn failure_keeps_the_old_secret_until_it_expires() {
        let mut s = renewed_at(Margin::default(), 60, T0, 3_600);
        assert_eq!(s.next(T0 + 3_500, RenewalTrigger::Use), RenewalStep::Renew);
        s.failed(T0 + 3_501, None);
        assert!(!s.in_flight());
        assert_eq!(s.next(T0 + 3_520, RenewalTrigger::Use), RenewalStep::UseCurrent { until: T0 + 3_560 });
        assert_eq!(s.next(T0 + 3_560, RenewalTrigger::Use), RenewalStep::Renew);
        s.failed(T0 + 3_561, None);
        // Expired and rate-limited: nothing to hand out.
        assert_eq!(s.next(T0 + 3_600, RenewalTrigger::Use), RenewalStep::Unavailable { retry_at: T0 + 3_620 });
        assert_eq!(s.next(T0 + 3_620, RenewalTrigger::Use), RenewalStep::Renew);
    }

    #[test]
    fn failure_without_any_secret_waits_for_min_interval() {
        let mut s = RenewalSchedule::new(Margin::default(), 60);
        assert_eq!(s.next(T0, RenewalTrigger::Use), RenewalStep::Renew);
        s.failed(T0 + 1, None);
        assert_eq!(s.next(T0 + 59, RenewalTrigger::Use), RenewalStep::Unavailable { retry_at: T0 + 60 });
        assert_eq!(s.next(T0 + 60, RenewalTrigger::Use), RenewalStep::Renew);
    }

    #[test]
    fn retry_after_pushes_the_next_attempt_later_never_earlier() {
        let mut s = RenewalSchedule::new(Margin::default(), 60);
        assert_eq!(s.next(T0, RenewalTrigger::Use), RenewalStep::Renew);
        s.failed(T0, Some(120));
        assert_eq!(s.next(T0 + 60, RenewalTrigger::Use), RenewalStep::Unavailable { retry_at: T0 + 120 });
        assert_eq!(s.next(T0 + 120, RenewalTrigger::Use), RenewalStep::Renew);
        // A shorter Retry-After than the minimum interval does not shorten it.
        s.failed(T0 + 120, Some(5));
        assert_eq!(s.next(T0 + 125, RenewalTrigger::Use), RenewalStep::Unavailable { retry_at: T0 + 180 });
        assert_eq!(s.next(T0 + 180, RenewalTrigger::Use), RenewalStep::Renew);
        // A success clears the provider's wait.
        s.renewed(T0 + 181, 3_600);
        assert_eq!(s.next(T0 + 300, RenewalTrigger::Refused), RenewalStep::Renew);
    }

    #[test]
    fn retry_after_keeps_a_usable_secret_in_use() {
        let mut s = renewed_at(Margin::default(), 0, T0, 3_600);
        assert_eq!(s.next(T0 + 100, RenewalTrigger::Refused), RenewalStep::Renew);
        s.failed(T0 + 100, Some(30));
        assert_eq!(s.next(T0 + 110, RenewalTrigger::Refused), RenewalStep::UseCurrent { until: T0 + 130 });
        assert_eq!(s.next(T0 + 130, RenewalTrigger::Refused), RenewalStep::Renew);
    }

    #[test]
    fn decide_does_not_start_anything() {
        let s = RenewalSchedule::new(Margin::default(), 60);
        assert_eq!(s.decide(T0, RenewalTrigger::Use), RenewalStep::Renew);
        assert_eq!(s.decide(T0, RenewalTrigger::Use), RenewalStep::Renew);
        assert!(!s.in_flight());
    }
}
