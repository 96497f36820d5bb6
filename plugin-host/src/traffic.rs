//! Each key's traffic over the last hour, in memory, for the console's
//! chart (`GET /lifecycle/keys/<id>/traffic`): per key, a ring of
//! [`MINUTES`] one-minute buckets of admitted requests and refusals by
//! reason.
//!
//! Why not Prometheus: a `key_id` label would make the series count grow
//! with the number of keys, for every scrape and every dashboard. This is
//! the per-key view, answered by this gateway alone (another gateway
//! sharing the store counts its own), and lost at restart.
//!
//! Bounded whatever the traffic: at most [`MAX_KEYS`] keys (the least
//! recently seen is dropped for a new one), at most [`MAX_REASONS`]
//! reasons per bucket (more are counted as [`OTHER`]). Only requests the
//! plugin attributed to a key are counted, so only ids of configured keys
//! reach here: a request with an unknown or sprayed key id is refused
//! before it has a key id. Refusals decided before the key is known (an
//! unknown key, an address outside the key's list) cannot be attributed to
//! a key and are not in this view; the Prometheus `requests` counter has
//! them.
//!
//! Sans-I/O: the caller passes `now` (unix seconds, from [`crate::clock`]).

use std::collections::HashMap;
use std::sync::Mutex;

/// Buckets kept per key: one hour of minutes.
pub const MINUTES: usize = 60;

/// Keys followed at once.
pub const MAX_KEYS: usize = 1_024;

/// Distinct refusal reasons kept per bucket.
pub const MAX_REASONS: usize = 8;

/// The reason the refusals beyond [`MAX_REASONS`] in a bucket are counted under.
pub const OTHER: &str = "other";

/// What happened to one request of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen<'a> {
    /// Forwarded, replayed, or sent and failed upstream: the key was used.
    Admitted,
    /// Refused after the key was known, for this reason.
    Refused(&'a str),
}

/// One minute of one key.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Minute {
    /// Unix seconds at the minute's start.
    pub start: u64,
    /// Requests admitted.
    pub admitted: u32,
    /// Refusals by reason, in the order first seen.
    pub refused: Vec<(String, u32)>,
}

impl Minute {
    fn count(&mut self, seen: Seen<'_>) {
        match seen {
            Seen::Admitted => self.admitted = self.admitted.saturating_add(1),
            Seen::Refused(reason) => {
                let reason = if self.refused.iter().any(|(r, _)| r == reason) || self.refused.len() < MAX_REASONS - 1 { reason } else { OTHER };
                match self.refused.iter_mut().find(|(r, _)| r == reason) {
                    Some((_, n)) => *n = n.saturating_add(1),
                    None => self.refused.push((reason.to_owned(), 1)),
                }
            }
        }
    }
}

/// One key's ring: the bucket of minute `m` is at `m % MINUTES`, and holds
/// that minute only while its `start` says so (an older one is stale).
#[derive(Debug)]
struct Ring {
    buckets: Vec<Minute>,
    /// The order of the last count, for the eviction of the least recently seen.
    touched: u64,
}

const fn minute_start(now: u64) -> u64 {
    now - now % 60
}

fn slot(start: u64) -> usize {
    usize::try_from((start / 60) % MINUTES as u64).unwrap_or(0)
}

impl Ring {
    fn new() -> Self {
        Self { buckets: vec![Minute::default(); MINUTES], touched: 0 }
    }

    fn count(&mut self, now: u64, seen: Seen<'_>) {
        let start = minute_start(now);
        let bucket = &mut self.buckets[slot(start)];
        if bucket.start != start {
            // A minute an hour (or more) old: its bucket starts again.
            *bucket = Minute { start, ..Minute::default() };
        }
        bucket.count(seen);
    }

    /// The last [`MINUTES`] minutes up to `now`'s, oldest first; a minute
    /// without requests is zero.
    fn window(&self, now: u64) -> Vec<Minute> {
        let current = minute_start(now);
        (0..MINUTES as u64)
            .rev()
            .map(|ago| {
                let start = current.saturating_sub(ago * 60);
                let bucket = &self.buckets[slot(start)];
                if bucket.start == start && start > 0 { bucket.clone() } else { Minute { start, ..Minute::default() } }
            })
            .collect()
    }
}

/// Every followed key's ring.
#[derive(Debug, Default)]
pub struct Traffic {
    inner: Mutex<Keys>,
}

#[derive(Debug, Default)]
struct Keys {
    rings: HashMap<String, Ring>,
    counter: u64,
}

impl Traffic {
    /// Counts one request of `key_id` at `now`.
    pub fn count(&self, key_id: &str, now: u64, seen: Seen<'_>) {
        let Ok(mut keys) = self.inner.lock() else { return };
        keys.counter += 1;
        let touched = keys.counter;
        if !keys.rings.contains_key(key_id) && keys.rings.len() >= MAX_KEYS {
            // A linear scan, only when a new key arrives while the map is
            // full: ids come from configured keys, so this is rare.
            let oldest = keys.rings.iter().min_by_key(|(_, ring)| ring.touched).map(|(id, _)| id.clone());
            if let Some(oldest) = oldest {
                keys.rings.remove(&oldest);
            }
        }
        // The id is copied only for a key not seen yet, not on every request.
        if !keys.rings.contains_key(key_id) {
            keys.rings.insert(key_id.to_owned(), Ring::new());
        }
        if let Some(ring) = keys.rings.get_mut(key_id) {
            ring.touched = touched;
            ring.count(now, seen);
        }
    }

    /// `key_id`'s last hour up to `now`, oldest minute first (all zero for
    /// a key not seen, or evicted).
    pub fn window(&self, key_id: &str, now: u64) -> Vec<Minute> {
        let keys = self.inner.lock().ok();
        match keys.as_ref().and_then(|k| k.rings.get(key_id)) {
            Some(ring) => ring.window(now),
            None => Ring::new().window(now),
        }
    }

    /// How many keys are followed.
    pub fn keys(&self) -> usize {
        self.inner.lock().map_or(0, |k| k.rings.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    const T0: u64 = 1_719_500_000 - 1_719_500_000 % 60;

    fn total(window: &[Minute]) -> (u32, u32) {
        window.iter().fold((0, 0), |(a, r), m| (a + m.admitted, r + m.refused.iter().map(|(_, n)| n).sum::<u32>()))
    }

    #[test]
    fn counts_land_in_their_minute_and_roll_over_after_an_hour() {
        let clock = Clock::system();
        let traffic = Traffic::default();
        clock.set(Some(T0 + 5));
        traffic.count("k", clock.now(), Seen::Admitted);
        traffic.count("k", clock.now(), Seen::Refused("ACCESS_TOKEN_INVALID"));
        clock.set(Some(T0 + 65));
        traffic.count("k", clock.now(), Seen::Admitted);
        let window = traffic.window("k", clock.now());
        assert_eq!(window.len(), MINUTES);
        assert_eq!(window[MINUTES - 1], Minute { start: T0 + 60, admitted: 1, refused: vec![] });
        assert_eq!(window[MINUTES - 2], Minute { start: T0, admitted: 1, refused: vec![("ACCESS_TOKEN_INVALID".into(), 1)] });
        assert!(window.windows(2).all(|w| w[1].start == w[0].start + 60), "consecutive minutes, oldest first");
        // 59 minutes later the first minute is the window's oldest; one more and it is gone.
        clock.set(Some(T0 + 59 * 60));
        assert_eq!(total(&traffic.window("k", clock.now())), (2, 1));
        clock.set(Some(T0 + 60 * 60));
        assert_eq!(total(&traffic.window("k", clock.now())), (1, 0));
        // The bucket of T0 is reused for T0 + 1 h: it starts from zero.
        traffic.count("k", clock.now(), Seen::Admitted);
        let window = traffic.window("k", clock.now());
        assert_eq!(window[MINUTES - 1], Minute { start: T0 + 3_600, admitted: 1, refused: vec![] });
        assert_eq!(total(&window), (2, 0));
        // Hours later nothing is left.
        assert_eq!(total(&traffic.window("k", T0 + 5 * 3_600)), (0, 0));
    }

    #[test]
    fn reasons_per_minute_are_bounded() {
        let traffic = Traffic::default();
        for i in 0..20 {
            traffic.count("k", T0, Seen::Refused(&format!("R{i}")));
        }
        traffic.count("k", T0, Seen::Refused("R0"));
        let minute = &traffic.window("k", T0)[MINUTES - 1];
        assert_eq!(minute.refused.len(), MAX_REASONS);
        assert_eq!(minute.refused[0], ("R0".to_owned(), 2));
        assert_eq!(minute.refused.last().unwrap(), &(OTHER.to_owned(), 20 - (u32::try_from(MAX_REASONS).unwrap() - 1)));
    }

    #[test]
    fn keys_are_bounded_and_the_least_recently_seen_goes() {
        let traffic = Traffic::default();
        for i in 0..MAX_KEYS {
            traffic.count(&format!("key_{i}"), T0, Seen::Admitted);
        }
        // key_0 is seen again: key_1 is now the least recently seen.
        traffic.count("key_0", T0, Seen::Admitted);
        traffic.count("sprayed", T0, Seen::Admitted);
        assert_eq!(traffic.keys(), MAX_KEYS);
        assert_eq!(total(&traffic.window("key_0", T0)), (2, 0));
        assert_eq!(total(&traffic.window("key_1", T0)), (0, 0), "evicted");
        assert_eq!(total(&traffic.window("sprayed", T0)), (1, 0));
        for i in 0..10 * MAX_KEYS {
            traffic.count(&format!("more_{i}"), T0, Seen::Admitted);
        }
        assert_eq!(traffic.keys(), MAX_KEYS);
    }

    #[test]
    fn an_unknown_key_reads_as_an_empty_hour() {
        let window = Traffic::default().window("nope", T0 + 30);
        assert_eq!(window.len(), MINUTES);
        assert_eq!(window[MINUTES - 1].start, T0);
        assert_eq!(total(&window), (0, 0));
    }
}
