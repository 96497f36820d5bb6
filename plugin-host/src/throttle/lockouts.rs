//! The lock-outs this gateway has seen, read on every proxied request
//! without a store read.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use payseal_core::throttle::Subject;

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

    pub(super) fn remember(&self, entry: String, locked_until: u64) {
        let mut until = self.until.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let end = until.entry(entry).or_default();
        *end = (*end).max(locked_until);
        self.any.store(true, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use std::net::{IpAddr, Ipv4Addr};

    use super::*;

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
