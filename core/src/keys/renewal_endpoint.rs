//! The provider side of renewal (MyPVit-style `POST /{codeUrl}/renew-secret`):
//! the route, the form, the rate limit and the refusals. The gateway does the
//! I/O (password hashing, store, HTTP); every decision is here.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use zeroize::Zeroizing;

use crate::Refusal;

/// The last path segment of the renewal route.
pub const RENEWAL_SEGMENT: &str = "renew-secret";

/// The `codeUrl` of a renewal route `/{codeUrl}/renew-secret` (one
/// non-empty segment; the query is not part of the route), or `None` when
/// `path` is another route.
pub fn renewal_code_url(path: &str) -> Option<&str> {
    let path = path.split_once('?').map_or(path, |(p, _)| p);
    let code = path.strip_prefix('/')?.strip_suffix(RENEWAL_SEGMENT)?.strip_suffix('/')?;
    (!code.is_empty() && !code.contains('/')).then_some(code)
}

/// Why a renewal was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenewalRefusal {
    /// No account has this `codeUrl`: 400 `INVALID_SECRET_KEY_RECEPTION_URL_CODE`.
    UnknownCodeUrl,
    /// The body is not a form with both fields: 400 `INVALID_REQUEST`.
    MalformedForm,
    /// Wrong `accountOperationCode` or password: 401 `AUTHENTICATION_FAILED`.
    AuthenticationFailed,
    /// The account's reception URL is switched off: 403 `SECRET_KEY_RECEPTION_URL_NOT_ACTIVE`.
    NotActive,
    /// The account rotated too recently: 429, retry after this many seconds.
    RateLimited(u64),
    /// The `codeUrl` or the client's address is locked out after repeated
    /// failed attempts ([`crate::throttle`]): 429, retry after this many
    /// seconds. Answered before the password is checked.
    Throttled(u64),
}

impl RenewalRefusal {
    /// The status, codes and fixed message; never a value from the request.
    pub const fn refusal(self) -> Refusal {
        let (status, code, reason, message) = match self {
            Self::UnknownCodeUrl => (
                400,
                "INVALID_SECRET_KEY_RECEPTION_URL_CODE",
                "unknown_code_url",
                "No account has this secret key reception URL code.",
            ),
            Self::MalformedForm => (
                400,
                "INVALID_REQUEST",
                "malformed_renewal_form",
                "The body must be a form with accountOperationCode and password.",
            ),
            Self::AuthenticationFailed => {
                (401, "AUTHENTICATION_FAILED", "authentication_failed", "The account code or password is not valid.")
            }
            Self::NotActive => (
                403,
                "SECRET_KEY_RECEPTION_URL_NOT_ACTIVE",
                "reception_url_not_active",
                "The secret key reception URL of this account is not active.",
            ),
            Self::RateLimited(_) => {
                (429, "TOO_MANY_REQUESTS", "renewal_rate_limited", "The secret was renewed too recently; retry later.")
            }
            Self::Throttled(_) => (429, "TOO_MANY_REQUESTS", "throttled", "Too many failed attempts; retry later."),
        };
        Refusal { status, code, reason, message }
    }

    /// Seconds for a `Retry-After` header (rate limit and lock-out only).
    pub const fn retry_after(self) -> Option<u64> {
        match self {
            Self::RateLimited(seconds) | Self::Throttled(seconds) => Some(seconds),
            _ => None,
        }
    }

    /// Whether it is a failed attempt that the throttle counts: a wrong
    /// code or password, and an unknown `codeUrl` (counted the same way, so
    /// guessing codes is throttled too and the count does not tell which
    /// codes exist).
    pub const fn is_failed_attempt(self) -> bool {
        matches!(self, Self::UnknownCodeUrl | Self::AuthenticationFailed)
    }
}

impl From<RenewalRefusal> for Refusal {
    fn from(r: RenewalRefusal) -> Self {
        r.refusal()
    }
}

/// The renewal rate limit's answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum RateLimit {
    /// Rotate now.
    Allowed,
    /// Too soon: retry after this many seconds (at least 1).
    RetryAfter(u64),
}

/// Whether an account that last rotated at `last_rotation` may rotate at
/// `now`, with at least `min_interval` seconds between rotations. A last
/// rotation in the future (clock moved back) counts as now.
pub fn rate_limit(last_rotation: Option<u64>, min_interval: u64, now: u64) -> RateLimit {
    match last_rotation {
        Some(last) => {
            let next = last.min(now).saturating_add(min_interval);
            if now < next { RateLimit::RetryAfter(next - now) } else { RateLimit::Allowed }
        }
        None => RateLimit::Allowed,
    }
}

/// The renewal request's fields. The password is wiped on drop and never
/// printed.
pub struct RenewalForm {
    /// `accountOperationCode`.
    pub account_operation_code: String,
    /// `password`.
    pub password: Zeroizing<String>,
}

impl fmt::Debug for RenewalForm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenewalForm")
            .field("account_operation_code", &self.account_operation_code)
            .field("password", &"[redacted]")
            .finish()
    }
}

/// Parses an `application/x-www-form-urlencoded` renewal body. Both fields
/// are required and may appear once; other fields are ignored. A bad
/// percent escape or text that is not UTF-8 is a malformed form.
///
/// # Errors
/// [`RenewalRefusal::MalformedForm`].
pub fn parse_renewal_form(body: &[u8]) -> Result<RenewalForm, RenewalRefusal> {
    let mut code = None;
    let mut password = None;
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let (name, value) = match pair.iter().position(|&b| b == b'=') {
            Some(i) => (&pair[..i], &pair[i + 1..]),
            None => (pair, &[][..]),
        };
        let name = form_decode(name)?;
        let slot = match name.as_str() {
            "accountOperationCode" => &mut code,
            "password" => &mut password,
            _ => continue,
        };
        if slot.is_some() {
            return Err(RenewalRefusal::MalformedForm);
        }
        *slot = Some(form_decode(value)?);
    }
    match (code, password) {
        (Some(code), Some(password)) if !code.is_empty() && !password.is_empty() => {
            Ok(RenewalForm { account_operation_code: String::from(code.as_str()), password })
        }
        _ => Err(RenewalRefusal::MalformedForm),
    }
}

/// Decodes one form component (`+` is a space, `%XX` a byte).
fn form_decode(raw: &[u8]) -> Result<Zeroizing<String>, RenewalRefusal> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(raw.len()));
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => bytes.push(b' '),
            b'%' => {
                let hex = raw.get(i + 1..i + 3).ok_or(RenewalRefusal::MalformedForm)?;
                let high = hex_value(hex[0]).ok_or(RenewalRefusal::MalformedForm)?;
                let low = hex_value(hex[1]).ok_or(RenewalRefusal::MalformedForm)?;
                bytes.push(high << 4 | low);
                i += 2;
            }
            b => bytes.push(b),
        }
        i += 1;
    }
    let text = core::str::from_utf8(&bytes).map_err(|_| RenewalRefusal::MalformedForm)?;
    Ok(Zeroizing::new(String::from(text)))
}

const fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn route() {
        assert_eq!(renewal_code_url("/ABC123/renew-secret"), Some("ABC123"));
        assert_eq!(renewal_code_url("/ABC123/renew-secret?x=1"), Some("ABC123"));
        for other in ["/renew-secret", "//renew-secret", "/a/b/renew-secret", "/ABC/renew-secrets", "/ABC/renew-secret/", "ABC/renew-secret"] {
            assert_eq!(renewal_code_url(other), None, "{other}");
        }
    }

    #[test]
    fn form() {
        let form = parse_renewal_form(b"accountOperationCode=ACC_PROD_001&password=p%40ss+word%26%3D&extra=1").unwrap();
        assert_eq!(form.account_operation_code, "ACC_PROD_001");
        assert_eq!(form.password.as_str(), "p@ss word&=");
        assert!(!alloc::format!("{form:?}").contains("p@ss"));
        for bad in [
            &b"accountOperationCode=A"[..],
            b"password=p",
            b"accountOperationCode=A&password=",
            b"accountOperationCode=A&password=p&password=q",
            b"accountOperationCode=A&password=%4",
            b"accountOperationCode=A&password=%zz",
            b"accountOperationCode=A&password=%ff",
            b"",
        ] {
            assert_eq!(parse_renewal_form(bad).unwrap_err(), RenewalRefusal::MalformedForm, "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn rate_limit_rule() {
        assert_eq!(rate_limit(None, 60, 1_000), RateLimit::Allowed);
        assert_eq!(rate_limit(Some(1_000), 60, 1_000), RateLimit::RetryAfter(60));
        assert_eq!(rate_limit(Some(1_000), 60, 1_059), RateLimit::RetryAfter(1));
        assert_eq!(rate_limit(Some(1_000), 60, 1_060), RateLimit::Allowed);
        assert_eq!(rate_limit(Some(2_000), 60, 1_000), RateLimit::RetryAfter(60), "a future rotation counts as now");
        assert_eq!(rate_limit(Some(1_000), 0, 1_000), RateLimit::Allowed);
    }

    #[test]
    fn refusals() {
        let shape = |r: RenewalRefusal| {
            let r = r.refusal();
            (r.status, r.code)
        };
        assert_eq!(shape(RenewalRefusal::UnknownCodeUrl), (400, "INVALID_SECRET_KEY_RECEPTION_URL_CODE"));
        assert_eq!(shape(RenewalRefusal::AuthenticationFailed), (401, "AUTHENTICATION_FAILED"));
        assert_eq!(shape(RenewalRefusal::NotActive), (403, "SECRET_KEY_RECEPTION_URL_NOT_ACTIVE"));
        assert_eq!(shape(RenewalRefusal::RateLimited(5)), (429, "TOO_MANY_REQUESTS"));
        assert_eq!(RenewalRefusal::RateLimited(5).retry_after(), Some(5));
        assert_eq!(shape(RenewalRefusal::Throttled(7)), (429, "TOO_MANY_REQUESTS"));
        assert_eq!(RenewalRefusal::Throttled(7).retry_after(), Some(7));
        let counted: Vec<bool> = [
            RenewalRefusal::UnknownCodeUrl,
            RenewalRefusal::MalformedForm,
            RenewalRefusal::AuthenticationFailed,
            RenewalRefusal::NotActive,
            RenewalRefusal::RateLimited(1),
            RenewalRefusal::Throttled(1),
        ]
        .map(RenewalRefusal::is_failed_attempt)
        .to_vec();
        assert_eq!(counted, [true, false, true, false, false, false]);
        assert_eq!(
            RenewalRefusal::NotActive.refusal().body(),
            r#"{"status":403,"code":"SECRET_KEY_RECEPTION_URL_NOT_ACTIVE","message":"The secret key reception URL of this account is not active."}"#
        );
    }
}
