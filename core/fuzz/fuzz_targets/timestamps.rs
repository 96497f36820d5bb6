//! Timestamps as they arrive in headers: decimal unix seconds (`X-Timestamp`,
//! `webhook-timestamp`, `t=`), IMF-fixdates (`Date`) and `Retry-After`. No
//! panic, and:
//!
//! - unix seconds are accepted iff the text is ASCII digits without a
//!   leading zero (`0` alone aside) and at most `MAX_SECONDS`; the value
//!   prints back as the very text;
//! - an accepted fixdate formats back to the same text (a leap second `:60`
//!   to the next minute's `:00`, which parses to the same instant);
//! - `Retry-After` is delta-seconds when all digits, else a fixdate's
//!   distance from now;
//! - the first 8 input bytes, as a time up to year 9999, format to a
//!   fixdate that parses back to it.

#![no_main]

use libfuzzer_sys::fuzz_target;
use payseal_core::keys::retry_after_seconds;
use payseal_core::time::{MAX_SECONDS, format_imf_fixdate, parse_imf_fixdate, parse_unix_seconds};

const NOW: u64 = 1_719_500_000;
/// 9999-12-31T23:59:59Z, the last instant a four-digit year can write.
const LAST: u64 = 253_402_300_799;

fuzz_target!(|data: &[u8]| {
    if let Some(bytes) = data.get(..8) {
        let unix = u64::from_le_bytes(bytes.try_into().expect("8 bytes")) % (LAST + 1);
        assert_eq!(parse_imf_fixdate(&format_imf_fixdate(unix)), Some(unix), "{unix}");
    }
    let Ok(text) = core::str::from_utf8(data) else { return };

    let canonical = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && (text == "0" || !text.starts_with('0'));
    let value = text.parse::<u64>().ok().filter(|&v| canonical && v <= MAX_SECONDS);
    assert_eq!(parse_unix_seconds(text), value, "{text:?}");
    if let Some(value) = value {
        assert_eq!(value.to_string(), text);
    }

    if let Some(unix) = parse_imf_fixdate(text) {
        let formatted = format_imf_fixdate(unix);
        if text.get(23..25) == Some("60") {
            assert_eq!(parse_imf_fixdate(&formatted), Some(unix), "{text:?}");
        } else {
            assert_eq!(formatted, text, "a fixdate formats back to itself");
        }
    }

    let trimmed = text.trim();
    let expected = if !trimmed.is_empty() && trimmed.len() <= 20 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        trimmed.parse::<u64>().ok()
    } else {
        parse_imf_fixdate(trimmed).map(|at| at.saturating_sub(NOW))
    };
    assert_eq!(retry_after_seconds(text, NOW), expected, "{text:?}");
});
