//! The renewal endpoint's inputs: the route `/{codeUrl}/renew-secret`, the
//! `application/x-www-form-urlencoded` form, and the provider's answer. No
//! panic, and:
//!
//! - the route gives a `codeUrl` iff the path (before `?`) is `/`, one
//!   non-empty segment, `/renew-secret`; that segment is the code;
//! - the form agrees with a form decoder written here (`&`-separated pairs,
//!   `+` a space, `%XX` a byte, UTF-8, both fields once and non-empty), and
//!   what it reads, encoded again, reads back the same (parse, serialize,
//!   parse);
//! - an accepted answer has a 2xx status and names the account asked about;
//!   a 429's wait is `Retry-After` read as delta-seconds or a date.
//!
//! Input: lines path, HTTP status, `Retry-After`, then the body (read both as
//! the form and as the answer).

#![no_main]

use libfuzzer_sys::fuzz_target;
use payseal_core::keys::{RenewalFailure, parse_renewal_form, read_renewal_answer, renewal_code_url, retry_after_seconds};
use payseal_core_fuzz::{lines, percent_decode};

const ACCOUNT: &str = "ACC_PROD_001";
const NOW: u64 = 1_719_500_000;

fn form_decode(raw: &[u8]) -> Option<String> {
    let spaced: Vec<u8> = raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
    String::from_utf8(percent_decode(&spaced)?).ok()
}

/// `(accountOperationCode, password)`, or `None` for a malformed form.
fn reference_form(body: &[u8]) -> Option<(String, String)> {
    let (mut code, mut password) = (None, None);
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let mut parts = pair.splitn(2, |&b| b == b'=');
        let name = form_decode(parts.next().unwrap_or_default())?;
        let value = parts.next().unwrap_or_default();
        let slot = match name.as_str() {
            "accountOperationCode" => &mut code,
            "password" => &mut password,
            _ => continue,
        };
        if slot.replace(form_decode(value)?).is_some() {
            return None;
        }
    }
    let (code, password) = (code?, password?);
    (!code.is_empty() && !password.is_empty()).then_some((code, password))
}

/// Every byte but unreserved ones as `%XX`.
fn form_encode(text: &str) -> String {
    text.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { char::from(b).to_string() } else { format!("%{b:02X}") })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Some(([path, status, retry_after], body)) = lines::<3>(data) else { return };

    let route = path.split_once('?').map_or(path, |(p, _)| p);
    let expected = route
        .strip_prefix('/')
        .and_then(|r| r.strip_suffix("/renew-secret"))
        .filter(|code| !code.is_empty() && !code.contains('/'));
    assert_eq!(renewal_code_url(path), expected, "{path:?}");
    if let Some(code) = expected {
        assert_eq!(renewal_code_url(&format!("/{code}/renew-secret")), Some(code));
    }

    let form = parse_renewal_form(body).ok().map(|f| (f.account_operation_code, f.password.as_str().to_owned()));
    assert_eq!(form, reference_form(body), "{:?}", String::from_utf8_lossy(body));
    if let Some((code, password)) = form {
        let encoded = format!("password={}&accountOperationCode={}", form_encode(&password), form_encode(&code));
        let again = parse_renewal_form(encoded.as_bytes()).expect("an encoded form parses");
        assert_eq!((again.account_operation_code.as_str(), again.password.as_str()), (code.as_str(), password.as_str()));
    }

    let Ok(status) = status.parse::<u16>() else { return };
    let retry_after = (!retry_after.is_empty()).then_some(retry_after);
    match read_renewal_answer(status, body, retry_after, ACCOUNT, NOW) {
        Ok(answer) => {
            assert!((200..300).contains(&status), "{status} accepted");
            assert_eq!(answer.operation_account_code, ACCOUNT);
            assert!(answer.expires_in > 0 && !answer.expose_secret().is_empty());
        }
        Err(RenewalFailure::RateLimited { retry_after: wait }) => {
            assert_eq!(status, 429);
            assert_eq!(wait, retry_after.and_then(|v| retry_after_seconds(v, NOW)));
        }
        Err(_) => {}
    }
});
