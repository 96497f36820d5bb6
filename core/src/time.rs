//! Timestamps as they travel in headers: decimal unix seconds and IMF-fixdate.
//!
//! The caller supplies `now`; nothing here reads a clock.

use alloc::string::String;
use core::fmt::Write as _;

/// Unix seconds above this are treated as milliseconds and refused: a
/// millisecond timestamp read as seconds would lie thousands of years ahead.
pub const MAX_SECONDS: u64 = 9_999_999_999;

/// Parses a decimal unix-seconds timestamp, as sent in `X-Timestamp`,
/// `webhook-timestamp` or Stripe's `t=`.
///
/// Only the canonical spelling is accepted: ASCII digits with no sign, no
/// spaces, no fraction and no leading zero (`0` alone aside). Values above
/// [`MAX_SECONDS`] are millisecond timestamps and are refused.
pub fn parse_unix_seconds(text: &str) -> Option<u64> {
    if text.len() > 20 || !is_canonical_digits(text.as_bytes()) {
        return None;
    }
    let value: u64 = text.parse().ok()?;
    (value <= MAX_SECONDS).then_some(value)
}

/// Whether `digits` is a number written the one way it can be: ASCII digits,
/// at least one, and no leading zero (`0` alone aside).
///
/// Every timestamp on the wire must pass this (`signing.md`, "Numbers on the
/// wire are canonical"): MACs cover the timestamp text as sent, and DVPay
/// concatenates body and timestamp with no separator, so if `00` + `T` meant
/// `T`, the signature of `{"amount":1000}` at `T` would also sign
/// `{"amount":10}` at `00T`.
pub(crate) fn is_canonical_digits(digits: &[u8]) -> bool {
    match digits {
        [] | [b'0', _, ..] => false,
        _ => digits.iter().all(u8::is_ascii_digit),
    }
}

/// Whether `timestamp` lies within `tolerance` seconds of `now`, in the past or
/// the future.
pub fn within_tolerance(timestamp: u64, now: u64, tolerance: u64) -> bool {
    timestamp.abs_diff(now) <= tolerance
}

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] =
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// Parses an RFC 7231 IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`) into
/// unix seconds. The obsolete RFC 850 and asctime forms are refused, and so
/// is a day name that does not match the date.
pub fn parse_imf_fixdate(text: &str) -> Option<u64> {
    let b = text.as_bytes();
    if b.len() != 29 || &b[3..5] != b", " || b[7] != b' ' || b[11] != b' ' || b[16] != b' ' {
        return None;
    }
    if b[19] != b':' || b[22] != b':' || &b[25..] != b" GMT" {
        return None;
    }
    let day_name = text.get(0..3)?;
    let day = two_digits(&b[5..7])?;
    let month = MONTHS.iter().position(|m| m.as_bytes() == &b[8..11])? + 1;
    let year = u64::from(two_digits(&b[12..14])?) * 100 + u64::from(two_digits(&b[14..16])?);
    let (hour, minute, second) = (two_digits(&b[17..19])?, two_digits(&b[20..22])?, two_digits(&b[23..25])?);
    if year < 1970 || day == 0 || day > days_in_month(year, month) || hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let days = days_from_civil(year, month, u64::from(day));
    // 1970-01-01 was a Thursday.
    if DAYS[usize::try_from(days % 7).ok()?] != day_name {
        return None;
    }
    let unix = days * 86_400 + u64::from(hour) * 3_600 + u64::from(minute) * 60 + u64::from(second);
    // A leap second on 9999-12-31 is an instant no IMF-fixdate can write
    // (`format_imf_fixdate` would need year 10000): refused, so that every
    // accepted date formats back to one that parses to the same instant.
    (unix <= LAST_FIXDATE).then_some(unix)
}

/// 9999-12-31T23:59:59Z, the last instant a four-digit year can write.
const LAST_FIXDATE: u64 = 253_402_300_799;

/// Formats unix seconds as an IMF-fixdate, the inverse of [`parse_imf_fixdate`].
pub fn format_imf_fixdate(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = String::with_capacity(29);
    let _ = write!(
        out,
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[usize::try_from(days % 7).unwrap_or(0)],
        day,
        MONTHS[usize::try_from(month - 1).unwrap_or(0)],
        year,
        secs / 3_600,
        (secs % 3_600) / 60,
        secs % 60
    );
    out
}

/// Formats unix seconds as RFC 3339 UTC (`2024-06-27T13:07:17Z`).
pub fn format_rfc3339(unix: u64) -> String {
    let days = unix / 86_400;
    let secs = unix % 86_400;
    let (year, month, day) = civil_from_days(days);
    let mut out = String::with_capacity(20);
    let _ = write!(out, "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z", secs / 3_600, (secs % 3_600) / 60, secs % 60);
    out
}

fn two_digits(b: &[u8]) -> Option<u8> {
    match b {
        [t, u] if t.is_ascii_digit() && u.is_ascii_digit() => Some((t - b'0') * 10 + (u - b'0')),
        _ => None,
    }
}

fn is_leap(year: u64) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u64, month: usize) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 (Howard Hinnant's algorithm, for years >= 1970).
fn days_from_civil(year: u64, month: usize, day: u64) -> u64 {
    let month = month as u64;
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn unix_seconds() {
        assert_eq!(parse_unix_seconds("1719500000"), Some(1_719_500_000));
        assert_eq!(parse_unix_seconds("9999999999"), Some(MAX_SECONDS));
        assert_eq!(parse_unix_seconds("1719500000000"), None, "milliseconds");
        for bad in ["", "-1", "+1", " 1", "1 ", "1.5", "yesterday", "١٢"] {
            assert_eq!(parse_unix_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unix_seconds_have_one_spelling() {
        assert_eq!(parse_unix_seconds("0"), Some(0), "zero alone is canonical");
        // Each is another spelling of a valid value: refused, not normalized.
        for bad in ["00", "01", "01719500000", "0001719500000", "1719 500000", "\t1719500000", "1719500000\n"] {
            assert_eq!(parse_unix_seconds(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn canonical_digits() {
        for good in ["0", "7", "10", "1719500000", "99999999999999999999999"] {
            assert!(is_canonical_digits(good.as_bytes()), "{good:?}");
        }
        for bad in ["", "00", "07", "-0", "-1", "+1", " 1", "1.0", "1e3", "x"] {
            assert!(!is_canonical_digits(bad.as_bytes()), "{bad:?}");
        }
    }

    #[test]
    fn fixdate_known_values() {
        assert_eq!(parse_imf_fixdate("Thu, 27 Jun 2024 13:07:17 GMT"), Some(1_719_493_637));
        assert_eq!(parse_imf_fixdate("Sun, 06 Nov 1994 08:49:37 GMT"), Some(784_111_777));
        assert_eq!(format_imf_fixdate(1_719_493_637), "Thu, 27 Jun 2024 13:07:17 GMT");
        assert_eq!(format_rfc3339(1_719_493_637), "2024-06-27T13:07:17Z");
        assert_eq!(format_rfc3339(0), "1970-01-01T00:00:00Z");
    }

    #[test]
    fn fixdate_refuses_other_forms() {
        for bad in [
            "2024-06-27 13:07:17",
            "Thursday, 27-Jun-24 13:07:17 GMT",
            "Thu Jun 27 13:07:17 2024",
            "Fri, 27 Jun 2024 13:07:17 GMT",
            "Thu, 27 Jun 2024 13:07:17 UTC",
            "Thu, 31 Jun 2024 13:07:17 GMT",
            "Thu, 27 Jun 2024 24:07:17 GMT",
        ] {
            assert_eq!(parse_imf_fixdate(bad), None, "{bad}");
        }
    }

    #[test]
    fn fixdate_leap_second_of_9999_is_refused() {
        // The `timestamps` fuzz target's round trip refused it: it parsed to
        // an instant that formats as year 10000, which does not parse.
        assert_eq!(parse_imf_fixdate("Fri, 31 Dec 9999 23:59:60 GMT"), None);
        assert_eq!(parse_imf_fixdate("Fri, 31 Dec 9999 23:59:59 GMT"), Some(LAST_FIXDATE));
        let leap = parse_imf_fixdate("Sun, 06 Nov 1994 08:49:60 GMT").unwrap();
        assert_eq!(parse_imf_fixdate(&format_imf_fixdate(leap)), Some(leap), "other leap seconds stay");
    }

    proptest! {
        #[test]
        fn fixdate_round_trips(unix in 0u64..=253_402_300_799) {
            prop_assert_eq!(parse_imf_fixdate(&format_imf_fixdate(unix)), Some(unix));
        }

        #[test]
        fn parsers_never_panic(text in ".{0,40}") {
            let _ = parse_imf_fixdate(&text);
            let _ = parse_unix_seconds(&text);
        }

        #[test]
        fn canonical_seconds_round_trip(seconds in 0..=MAX_SECONDS) {
            // What a signer writes (`{seconds}`) is exactly what verifiers accept.
            prop_assert_eq!(parse_unix_seconds(&alloc::format!("{seconds}")), Some(seconds));
            prop_assert_eq!(parse_unix_seconds(&alloc::format!("0{seconds}")), None);
        }
    }
}
