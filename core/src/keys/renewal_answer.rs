//! The provider's answer to a renewal request (MyPVit-style
//! `POST /{codeUrl}/renew-secret`): a new secret, or a typed failure.
//!
//! Documented failures: `401 AUTHENTICATION_FAILED` (wrong account code or
//! password), `403 SECRET_KEY_RECEPTION_URL_NOT_ACTIVE`,
//! `400 INVALID_SECRET_KEY_RECEPTION_URL_CODE`, and `429` with `Retry-After`
//! (renewals are rate-limited per account). No message here ever carries the
//! answer's text: a malformed answer may hold the secret.

use alloc::string::String;
use core::fmt;

use serde::Deserialize;

use super::renewal::RenewalResponse;
use crate::Secret;
use crate::secret::check_common;
use crate::time::parse_imf_fixdate;

/// Why a renewal request did not produce a new secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenewalFailure {
    /// `401 AUTHENTICATION_FAILED`: the account code or password is wrong.
    AuthenticationFailed,
    /// `403 SECRET_KEY_RECEPTION_URL_NOT_ACTIVE`: the reception URL is disabled.
    ReceptionUrlNotActive,
    /// `400 INVALID_SECRET_KEY_RECEPTION_URL_CODE`: no such reception URL code.
    InvalidReceptionUrlCode,
    /// `429`: too many renewals; none before `retry_after` seconds (when the
    /// provider said, in `Retry-After`).
    RateLimited {
        /// Seconds to wait, from `Retry-After` (delta-seconds or an HTTP date).
        retry_after: Option<u64>,
    },
    /// A success status whose body is not a usable renewal; the detail says
    /// what is wrong, never what the body holds.
    InvalidAnswer(&'static str),
    /// Any other status.
    UnexpectedStatus(u16),
}

impl RenewalFailure {
    /// Stable reason, for callers (`authentication_failed`, …).
    pub const fn code(&self) -> &'static str {
        match self {
            Self::AuthenticationFailed => "authentication_failed",
            Self::ReceptionUrlNotActive => "reception_url_not_active",
            Self::InvalidReceptionUrlCode => "invalid_reception_url_code",
            Self::RateLimited { .. } => "rate_limited",
            Self::InvalidAnswer(_) => "invalid_answer",
            Self::UnexpectedStatus(_) => "unexpected_status",
        }
    }

    /// The provider's error code this failure stands for, when it has one.
    pub const fn response_code(&self) -> Option<&'static str> {
        match self {
            Self::AuthenticationFailed => Some("AUTHENTICATION_FAILED"),
            Self::ReceptionUrlNotActive => Some("SECRET_KEY_RECEPTION_URL_NOT_ACTIVE"),
            Self::InvalidReceptionUrlCode => Some("INVALID_SECRET_KEY_RECEPTION_URL_CODE"),
            _ => None,
        }
    }
}

impl fmt::Display for RenewalFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AuthenticationFailed => f.write_str("the provider refused the account code or password"),
            Self::ReceptionUrlNotActive => f.write_str("the provider's secret-key reception URL is not active"),
            Self::InvalidReceptionUrlCode => f.write_str("the provider does not know this secret-key reception URL code"),
            Self::RateLimited { retry_after: Some(seconds) } => {
                write!(f, "the provider rate-limits renewals; retry in {seconds} s")
            }
            Self::RateLimited { retry_after: None } => f.write_str("the provider rate-limits renewals"),
            Self::InvalidAnswer(what) => write!(f, "the renewal answer is unusable: {what}"),
            Self::UnexpectedStatus(status) => write!(f, "the renewal request got HTTP status {status}"),
        }
    }
}

impl core::error::Error for RenewalFailure {}

impl RenewalResponse {
    /// A renewal given as parts (a caller's own renewal function), checked as
    /// an answer is: a lifetime of at least one second, and a secret that is
    /// non-empty UTF-8 text without surrounding whitespace.
    ///
    /// # Errors
    /// [`RenewalFailure::InvalidAnswer`] saying which rule failed.
    pub fn new(operation_account_code: String, secret: Secret, expires_in: u64) -> Result<Self, RenewalFailure> {
        let response = Self { operation_account_code, secret, expires_in };
        response.check()?;
        Ok(response)
    }

    fn check(&self) -> Result<(), RenewalFailure> {
        if self.expires_in == 0 {
            return Err(RenewalFailure::InvalidAnswer("expires_in is 0"));
        }
        check_common(&self.secret).map_err(RenewalFailure::InvalidAnswer)?;
        if self.secret.expose_text().is_none() {
            return Err(RenewalFailure::InvalidAnswer("secret is not UTF-8 text"));
        }
        Ok(())
    }

    /// The new secret's text: the one explicit read, for the place that sends
    /// it (a header) or builds a signer with it.
    pub fn expose_secret(&self) -> &str {
        self.secret.expose_text().unwrap_or_default()
    }
}

/// The seconds a `Retry-After` value asks to wait at `now`: delta-seconds,
/// or an IMF-fixdate (a date already past is 0). Anything else is `None`.
pub fn retry_after_seconds(value: &str, now: u64) -> Option<u64> {
    let value = value.trim();
    if !value.is_empty() && value.len() <= 20 && value.bytes().all(|b| b.is_ascii_digit()) {
        return value.parse().ok();
    }
    parse_imf_fixdate(value).map(|at| at.saturating_sub(now))
}

#[derive(Deserialize)]
struct ErrorBody {
    code: Option<String>,
}

/// Reads the provider's answer to `POST /{codeUrl}/renew-secret` for
/// `account`: HTTP `status`, the raw `body`, the `Retry-After` header if any.
///
/// A 2xx answer must be `{"operation_account_code","secret","expires_in"}`
/// for the account asked about. Otherwise the body's documented `code`
/// decides the failure; without one, a 401 is `AuthenticationFailed` and any
/// other status is `UnexpectedStatus` (a 400 or 403 without its documented
/// code is not assumed to be it).
///
/// # Errors
/// The [`RenewalFailure`] the answer stands for.
pub fn read_renewal_answer(
    status: u16,
    body: &[u8],
    retry_after: Option<&str>,
    account: &str,
    now: u64,
) -> Result<RenewalResponse, RenewalFailure> {
    if (200..300).contains(&status) {
        // serde's messages may quote the body (which may hold the secret): dropped.
        let response: RenewalResponse = serde_json::from_slice(body)
            .map_err(|_| RenewalFailure::InvalidAnswer("not {operation_account_code, secret, expires_in}"))?;
        response.check()?;
        if response.operation_account_code != account {
            return Err(RenewalFailure::InvalidAnswer("operation_account_code is not the account asked about"));
        }
        return Ok(response);
    }
    if status == 429 {
        return Err(RenewalFailure::RateLimited { retry_after: retry_after.and_then(|v| retry_after_seconds(v, now)) });
    }
    let code = serde_json::from_slice::<ErrorBody>(body).ok().and_then(|b| b.code);
    Err(match code.as_deref() {
        Some("AUTHENTICATION_FAILED") => RenewalFailure::AuthenticationFailed,
        Some("SECRET_KEY_RECEPTION_URL_NOT_ACTIVE") => RenewalFailure::ReceptionUrlNotActive,
        Some("INVALID_SECRET_KEY_RECEPTION_URL_CODE") => RenewalFailure::InvalidReceptionUrlCode,
        _ if status == 401 => RenewalFailure::AuthenticationFailed,
        _ => RenewalFailure::UnexpectedStatus(status),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;
    use alloc::string::ToString;

    const NOW: u64 = 1_719_500_000;
    const CANARY: &str = "sk_live_CanaryQ8x1CanaryQ8x1CanaryQ8x1";

    fn read(status: u16, body: &str, retry_after: Option<&str>) -> Result<RenewalResponse, RenewalFailure> {
        read_renewal_answer(status, body.as_bytes(), retry_after, "ACC_PROD_001", NOW)
    }

    #[test]
    fn success_is_the_new_secret() {
        let body = format!(r#"{{"operation_account_code":"ACC_PROD_001","secret":"{CANARY}","expires_in":3600}}"#);
        let r = read(200, &body, None).unwrap();
        assert_eq!((r.operation_account_code.as_str(), r.expires_in), ("ACC_PROD_001", 3_600));
        assert_eq!(r.expose_secret(), CANARY);
    }

    #[test]
    fn unusable_success_answers_are_refused_without_their_text() {
        let cases = [
            (format!(r#"{{"operation_account_code":"OTHER","secret":"{CANARY}","expires_in":3600}}"#), "account"),
            (format!(r#"{{"operation_account_code":"ACC_PROD_001","secret":"{CANARY}","expires_in":0}}"#), "expires_in is 0"),
            (format!(r#"{{"operation_account_code":"ACC_PROD_001","secret":"{CANARY} ","expires_in":60}}"#), "whitespace"),
            (r#"{"operation_account_code":"ACC_PROD_001","secret":"","expires_in":60}"#.to_string(), "empty"),
            // serde would quote these values in its message.
            (format!(r#"{{"operation_account_code":"ACC_PROD_001","secret":"{CANARY}","expires_in":"{CANARY}"}}"#), "not {"),
            (format!(r#"{{"operation_account_code":"ACC_PROD_001","secret":"{CANARY}""#), "not {"),
            (CANARY.to_string(), "not {"),
        ];
        for (body, why) in cases {
            let failure = read(200, &body, None).unwrap_err();
            assert_eq!(failure.code(), "invalid_answer", "{why}");
            let text = format!("{failure} {failure:?}");
            assert!(text.contains(why), "{text}");
            assert!(!text.contains("Canary"), "{text}");
        }
    }

    #[test]
    fn documented_failures() {
        let body = |code: &str| format!(r#"{{"status":"FAILED","code":"{code}","message":"…"}}"#);
        assert_eq!(read(401, &body("AUTHENTICATION_FAILED"), None).unwrap_err(), RenewalFailure::AuthenticationFailed);
        assert_eq!(
            read(403, &body("SECRET_KEY_RECEPTION_URL_NOT_ACTIVE"), None).unwrap_err(),
            RenewalFailure::ReceptionUrlNotActive
        );
        assert_eq!(
            read(400, &body("INVALID_SECRET_KEY_RECEPTION_URL_CODE"), None).unwrap_err(),
            RenewalFailure::InvalidReceptionUrlCode
        );
        assert_eq!(read(401, "not json", None).unwrap_err(), RenewalFailure::AuthenticationFailed);
        assert_eq!(read(403, "{}", None).unwrap_err(), RenewalFailure::UnexpectedStatus(403));
        assert_eq!(read(400, "", None).unwrap_err(), RenewalFailure::UnexpectedStatus(400));
        assert_eq!(read(503, &body("AUTHENTICATION_FAILED"), None).unwrap_err(), RenewalFailure::AuthenticationFailed);
        assert_eq!(read(500, "oops", None).unwrap_err(), RenewalFailure::UnexpectedStatus(500));
        assert_eq!(RenewalFailure::AuthenticationFailed.response_code(), Some("AUTHENTICATION_FAILED"));
        assert_eq!(RenewalFailure::UnexpectedStatus(500).response_code(), None);
    }

    #[test]
    fn rate_limit_reads_retry_after_in_both_forms() {
        let limited = |v: Option<&str>| read(429, "", v).unwrap_err();
        assert_eq!(limited(Some("120")), RenewalFailure::RateLimited { retry_after: Some(120) });
        assert_eq!(limited(Some(" 7 ")), RenewalFailure::RateLimited { retry_after: Some(7) });
        let in_90 = crate::time::format_imf_fixdate(NOW + 90);
        assert_eq!(limited(Some(&in_90)), RenewalFailure::RateLimited { retry_after: Some(90) });
        let past = crate::time::format_imf_fixdate(NOW - 90);
        assert_eq!(limited(Some(&past)), RenewalFailure::RateLimited { retry_after: Some(0) });
        for bad in ["-1", "1.5", "soon", ""] {
            assert_eq!(limited(Some(bad)), RenewalFailure::RateLimited { retry_after: None }, "{bad:?}");
        }
        assert_eq!(limited(None), RenewalFailure::RateLimited { retry_after: None });
        assert_eq!(limited(Some("120")).to_string(), "the provider rate-limits renewals; retry in 120 s");
    }

    #[test]
    fn parts_are_checked_like_an_answer() {
        let ok = RenewalResponse::new("A".into(), Secret::from_text(CANARY), 60).unwrap();
        assert_eq!(ok.expose_secret(), CANARY);
        assert!(!format!("{ok:?}").contains("Canary"));
        let bad = |secret: Secret, expires_in| RenewalResponse::new("A".into(), secret, expires_in).unwrap_err();
        assert_eq!(bad(Secret::from_text(CANARY), 0), RenewalFailure::InvalidAnswer("expires_in is 0"));
        assert_eq!(bad(Secret::from_text(""), 60), RenewalFailure::InvalidAnswer("secret is empty"));
        assert_eq!(bad(Secret::new(alloc::vec![0xff, 0xfe]), 60), RenewalFailure::InvalidAnswer("secret is not UTF-8 text"));
    }
}
