//! The gateway's clock: the system's, or a fixed time for tests.
//!
//! The plugin reads no clock; every call gets `now` from here. A fixed time
//! can only be set through the admin listener, and only when the
//! configuration says `admin.settable_clock = true` (tests and the vector
//! runner: the public vectors fix `now`).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Unix seconds, from the system or fixed.
#[derive(Debug, Default)]
pub struct Clock {
    /// 0: the system clock; otherwise the fixed time.
    fixed: AtomicU64,
}

impl Clock {
    /// The system clock.
    pub const fn system() -> Self {
        Self { fixed: AtomicU64::new(0) }
    }

    /// Now, in unix seconds.
    pub fn now(&self) -> u64 {
        match self.fixed.load(Ordering::Relaxed) {
            0 => SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            fixed => fixed,
        }
    }

    /// Fixes the clock at `now`; `None` returns to the system clock.
    pub fn set(&self, now: Option<u64>) {
        self.fixed.store(now.unwrap_or(0), Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_and_system() {
        let clock = Clock::system();
        assert!(clock.now() > 1_700_000_000);
        clock.set(Some(1_719_500_000));
        assert_eq!(clock.now(), 1_719_500_000);
        clock.set(None);
        assert!(clock.now() > 1_700_000_000);
    }
}
