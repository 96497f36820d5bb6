//! Throttling of failed authentication: a failure budget per subject, with
//! lock-outs that double.
//!
//! A runtime counts each failed authentication (an API key refused with
//! 401, a signature that does not verify, a wrong renewal password, a wrong
//! client secret) against every [`Subject`] the attempt names: the client's
//! address and, when the attempt names one, the credential it tried (a key
//! id, a renewal `codeUrl`, a token client id). The count lives in a store
//! shared by every gateway, as a [`FailureCount`] written with a
//! compare-and-swap; this module only decides.
//!
//! The rule ([`FailureCount::fail`]): within one window of
//! [`FailureBudget::window_seconds`], the `budget`-th failure locks the
//! subject out for [`FailureBudget::lockout_seconds`], doubled at each
//! further lock-out (capped at [`FailureBudget::max_lockout_seconds`]). The
//! doubling is forgotten once a subject has had no failure for the longest
//! lock-out, when its record expires ([`FailureCount::keep_until`]).
//!
//! While a subject is locked out, the runtime answers 429 with `Retry-After`
//! *before* checking the credential ([`FailureCount::standing`]), so a
//! locked-out client never learns whether a guess was right. A success
//! resets nothing: a merchant's good request must not hand an attacker
//! guessing from elsewhere a fresh budget, and a counter runs out by itself
//! at the end of its window.

use alloc::format;
use alloc::string::String;
use core::fmt::Write as _;
use core::net::IpAddr;

/// How many failures a subject may have, and how long it is locked out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureBudget {
    /// Failures allowed in one window; the last of them locks the subject.
    pub failures: u32,
    /// The window, in seconds, counted from a subject's first failure in it.
    pub window_seconds: u64,
    /// The first lock-out, in seconds; each further one doubles it.
    pub lockout_seconds: u64,
    /// The longest lock-out, in seconds.
    pub max_lockout_seconds: u64,
}

impl FailureBudget {
    /// 10 failures a minute, then 60 s, doubling up to an hour.
    pub const CREDENTIAL: Self = Self { failures: 10, window_seconds: 60, lockout_seconds: 60, max_lockout_seconds: 3600 };

    /// An address is shared (an office behind NAT, a merchant's servers
    /// calling with several keys): ten times a credential's budget.
    pub const ADDRESS: Self = Self { failures: 100, window_seconds: 60, lockout_seconds: 60, max_lockout_seconds: 3600 };

    /// Whether the budget can work: at least one failure, a window and a
    /// lock-out, and a longest lock-out no shorter than the first.
    pub const fn is_valid(&self) -> bool {
        self.failures > 0 && self.window_seconds > 0 && self.lockout_seconds > 0 && self.max_lockout_seconds >= self.lockout_seconds
    }

    /// The `level`-th lock-out's length: `lockout_seconds × 2^(level-1)`, at
    /// most `max_lockout_seconds`.
    pub fn lockout(&self, level: u32) -> u64 {
        let doublings = level.saturating_sub(1).min(63);
        self.lockout_seconds.saturating_mul(1u64 << doublings).min(self.max_lockout_seconds)
    }
}

/// What a failure or a lock-out is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject<'a> {
    /// The client's address. IPv6 counts per /64: one host gets a whole
    /// /64, so counting single addresses would give it 2^64 budgets.
    Address(IpAddr),
    /// An API key's id: signatures refused for a key that was admitted.
    Key(&'a str),
    /// A renewal `codeUrl`, known or not (an unknown one is counted the
    /// same way, so the count does not tell which exist).
    RenewalUrl(&'a str),
    /// A token endpoint client id.
    Client(&'a str),
}

impl Subject<'_> {
    /// The store entry its count lives under: `throttle:<kind>:<value>`.
    /// Credential values are the caller's text, hex-escaped outside
    /// `[A-Za-z0-9._-]` so no subject can spell another's entry.
    pub fn storage_key(&self) -> String {
        match self {
            Self::Address(IpAddr::V4(v4)) => format!("throttle:addr:{v4}"),
            Self::Address(IpAddr::V6(v6)) => {
                let s = v6.segments();
                format!("throttle:addr:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
            Self::Key(id) => format!("throttle:key:{}", escaped(id)),
            Self::RenewalUrl(code) => format!("throttle:renewal:{}", escaped(code)),
            Self::Client(id) => format!("throttle:client:{}", escaped(id)),
        }
    }

    /// Whether the subject is an address (which has its own budget).
    pub const fn is_address(&self) -> bool {
        matches!(self, Self::Address(_))
    }
}

fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-') {
            out.push(char::from(byte));
        } else {
            // Writing into a String cannot fail.
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// Whether a refusal is a failed authentication that counts: every 401
/// (an unknown or wrong key, a signature that does not verify, a replayed
/// one, an invalid token or client). A 403 (a scope, an address not on a
/// key's list) comes from a key that authenticated, and a 400 from a
/// malformed request; neither is a guess.
pub const fn counts_as_failure(status: u16) -> bool {
    status == 401
}

/// Where a subject stands now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// Its credentials may be checked.
    Open,
    /// Locked out: answer 429 with `Retry-After: retry_after`, check nothing.
    Locked {
        /// Seconds until the lock-out ends (at least 1).
        retry_after: u64,
    },
}

/// A subject's failures, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FailureCount {
    /// When the current window began (unix seconds).
    pub window_start: u64,
    /// Failures in the current window.
    pub failures: u32,
    /// How many lock-outs in a row (the doubling).
    pub level: u32,
    /// Until when it is locked out (0: never was).
    pub locked_until: u64,
}

/// A lock-out that a failure began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lockout {
    /// Its length in seconds.
    pub seconds: u64,
    /// Which lock-out in a row it is, from 1.
    pub level: u32,
}

impl FailureCount {
    /// Where the subject stands at `now`.
    pub fn standing(&self, now: u64) -> Standing {
        if now < self.locked_until {
            Standing::Locked { retry_after: self.locked_until - now }
        } else {
            Standing::Open
        }
    }

    /// The count after one more failure at `now`, and the lock-out it
    /// begins, if any. A failure counted while locked out (another
    /// gateway's, which had not yet heard) changes nothing.
    #[must_use]
    pub fn fail(self, budget: &FailureBudget, now: u64) -> (Self, Option<Lockout>) {
        if let Standing::Locked { .. } = self.standing(now) {
            return (self, None);
        }
        let mut next = self;
        if now >= self.window_start.saturating_add(budget.window_seconds) || self.failures == 0 {
            next.window_start = now;
            next.failures = 0;
        }
        next.failures = next.failures.saturating_add(1);
        if next.failures < budget.failures {
            return (next, None);
        }
        next.level = next.level.saturating_add(1);
        let seconds = budget.lockout(next.level);
        next.locked_until = now.saturating_add(seconds);
        next.failures = 0;
        (next, Some(Lockout { seconds, level: next.level }))
    }

    /// Until when the store must keep the record: the end of its window or
    /// lock-out, and, once it has been locked out, the longest lock-out
    /// after that (so the doubling survives a short pause, and is forgotten
    /// after a long one).
    pub fn keep_until(&self, budget: &FailureBudget) -> u64 {
        let window_end = self.window_start.saturating_add(budget.window_seconds);
        if self.level == 0 {
            return window_end;
        }
        window_end.max(self.locked_until).saturating_add(budget.max_lockout_seconds)
    }

    /// The stored text: `v1 <window_start> <failures> <level> <locked_until>`.
    pub fn encode(&self) -> String {
        format!("v1 {} {} {} {}", self.window_start, self.failures, self.level, self.locked_until)
    }

    /// Reads [`encode`](Self::encode)'s text; `None` for anything else.
    pub fn decode(text: &[u8]) -> Option<Self> {
        let text = core::str::from_utf8(text).ok()?;
        let mut fields = text.strip_prefix("v1 ")?.split(' ');
        let count = Self {
            window_start: number(fields.next()?)?,
            failures: number(fields.next()?)?,
            level: number(fields.next()?)?,
            locked_until: number(fields.next()?)?,
        };
        fields.next().is_none().then_some(count)
    }
}

fn number<T: core::str::FromStr>(text: &str) -> Option<T> {
    if crate::time::is_canonical_digits(text.as_bytes()) { text.parse().ok() } else { None }
}

#[cfg(test)]
mod tests {
    use core::net::{Ipv4Addr, Ipv6Addr};

    use super::*;

    const BUDGET: FailureBudget = FailureBudget { failures: 3, window_seconds: 60, lockout_seconds: 10, max_lockout_seconds: 35 };

    fn fail_n(mut count: FailureCount, n: u32, now: u64) -> (FailureCount, Option<Lockout>) {
        let mut last = None;
        for _ in 0..n {
            let (next, lockout) = count.fail(&BUDGET, now);
            count = next;
            last = lockout.or(last);
        }
        (count, last)
    }

    #[test]
    fn the_budgets_last_failure_locks_and_lockouts_double_to_the_cap() {
        let (count, lockout) = fail_n(FailureCount::default(), 2, 1000);
        assert_eq!(lockout, None);
        assert_eq!(count.standing(1000), Standing::Open);
        let (count, lockout) = count.fail(&BUDGET, 1001);
        assert_eq!(lockout, Some(Lockout { seconds: 10, level: 1 }));
        assert_eq!(count.standing(1001), Standing::Locked { retry_after: 10 });
        assert_eq!(count.standing(1010), Standing::Locked { retry_after: 1 });
        assert_eq!(count.standing(1011), Standing::Open);
        let (count, lockout) = fail_n(count, 3, 1011);
        assert_eq!(lockout, Some(Lockout { seconds: 20, level: 2 }));
        let (count, lockout) = fail_n(count, 3, 1031);
        assert_eq!(lockout, Some(Lockout { seconds: 35, level: 3 }), "capped at max_lockout_seconds");
        assert_eq!(count.locked_until, 1066);
    }

    #[test]
    fn failures_while_locked_change_nothing() {
        let (locked, _) = fail_n(FailureCount::default(), 3, 1000);
        let (after, lockout) = fail_n(locked, 50, 1005);
        assert_eq!((after, lockout), (locked, None));
    }

    #[test]
    fn a_window_that_ran_out_starts_again() {
        let (count, _) = fail_n(FailureCount::default(), 2, 1000);
        let (count, lockout) = count.fail(&BUDGET, 1060);
        assert_eq!(lockout, None, "the old window's failures no longer count");
        assert_eq!((count.window_start, count.failures), (1060, 1));
    }

    #[test]
    fn the_record_is_kept_for_its_window_and_after_a_lockout_for_the_longest_one() {
        let (count, _) = fail_n(FailureCount::default(), 1, 1000);
        assert_eq!(count.keep_until(&BUDGET), 1060);
        let (locked, _) = fail_n(count, 2, 1000);
        assert_eq!(locked.keep_until(&BUDGET), 1060 + 35);
    }

    #[test]
    fn the_stored_text_round_trips_and_nothing_else_decodes() {
        let (count, _) = fail_n(FailureCount::default(), 3, 1_700_000_000);
        assert_eq!(FailureCount::decode(count.encode().as_bytes()), Some(count));
        for bad in ["", "v1 1 2 3", "v1 1 2 3 4 5", "v2 1 2 3 4", "v1 01 2 3 4", "v1 1 2 3 +4", "v1 1  2 3 4"] {
            assert_eq!(FailureCount::decode(bad.as_bytes()), None, "{bad:?}");
        }
    }

    #[test]
    fn subjects_have_distinct_entries_and_ipv6_counts_per_64() {
        let a = Subject::Address(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 3, 4, 5, 6)));
        let b = Subject::Address(IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 9, 9, 9, 9)));
        assert_eq!(a.storage_key(), b.storage_key());
        assert_eq!(a.storage_key(), "throttle:addr:2001:db8:1:2::/64");
        assert_eq!(Subject::Address(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))).storage_key(), "throttle:addr:10.0.0.1");
        assert_eq!(Subject::Key("k_1").storage_key(), "throttle:key:k_1");
        assert_eq!(Subject::RenewalUrl("a:b/c").storage_key(), "throttle:renewal:a%3Ab%2Fc");
        assert_ne!(Subject::Client("x").storage_key(), Subject::Key("x").storage_key());
    }

    #[test]
    fn only_401_counts() {
        assert!(counts_as_failure(401));
        assert!(!counts_as_failure(403) && !counts_as_failure(400) && !counts_as_failure(429));
    }

    #[test]
    fn the_default_budgets_are_valid_and_a_broken_one_is_not() {
        assert!(FailureBudget::CREDENTIAL.is_valid() && FailureBudget::ADDRESS.is_valid());
        assert!(!FailureBudget { failures: 0, ..BUDGET }.is_valid());
        assert!(!FailureBudget { max_lockout_seconds: 5, ..BUDGET }.is_valid());
        assert_eq!(FailureBudget::CREDENTIAL.lockout(u32::MAX), 3600);
    }
}
