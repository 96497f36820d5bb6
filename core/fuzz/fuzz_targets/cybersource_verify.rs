//! Cybersource HTTP Signature (`Signature`, `Date`, `Host`,
//! `v-c-merchant-id`, `Digest`) over a method, target and body, verified with
//! the public vectors' keys: no panic, and no forgery. An accepted request
//! must be one the vectors signed: method (any case), target, host, date,
//! merchant id, and the body when the method carries one.
//!
//! Input: lines method, target, `Host`, `Date`, `v-c-merchant-id`, `Digest`,
//! `Signature`, then the body. A `\r` in a header line sends that field twice.

#![no_main]

use libfuzzer_sys::fuzz_target;
use payseal_core::Secret;
use payseal_core::signing::cybersource::{Key, Verifier};
use payseal_core_fuzz::{assert_only_signed, clock, combined, headers, lines};

/// `(method, target, host, date, merchant id, body)` of the vectors'
/// `verify-ok` (POST) and `sign-get-1` (GET: no body is signed).
const SIGNED: &[&[&[u8]]] = &[
    &[
        b"post",
        b"/pts/v2/payments",
        b"apitest.cybersource.com",
        b"Thu, 27 Jun 2024 13:07:17 GMT",
        b"testrest",
        br#"{"orderId":123,"refundAmount":10.5}"#,
    ],
    &[
        b"get",
        b"/tss/v2/transactions/6139999999999999999999",
        b"apitest.cybersource.com",
        b"Thu, 27 Jun 2024 13:07:18 GMT",
        b"testrest",
        b"",
    ],
];

fuzz_target!(|data: &[u8]| {
    let Some(([method, target, host, date, merchant, digest, signature], body)) = lines::<7>(data) else { return };
    let headers = headers(&[
        ("host", host),
        ("Date", date),
        ("v-c-merchant-id", merchant),
        ("digest", digest),
        ("signature", signature),
    ]);
    let post = Secret::from_text("4o0bmF1eTd1ZmONmX6igz5A6QpHErVvCCZU97s/ua1I=");
    let get = Secret::from_text("IOX95qxT8haCWWUbzr8IQuvue52YvEfrOWCesVY0KtA=");
    let verifier = Verifier::new([
        Key { key_id: "08c94330-f618-42a3-b09d-e1e43be5efda", secret: &post },
        Key { key_id: "08c94330-f618-42a3-b09d-e1e43be5efd1", secret: &get },
    ]);
    let outcome = verifier.verify(method, target, &headers, body, clock(1_719_493_640));
    let method = method.to_ascii_lowercase();
    let signed_body = if ["post", "put", "patch"].contains(&method.as_str()) { body } else { b"" };
    let field = |name| combined(&headers, name).unwrap_or_default();
    let (host, date, merchant) = (field("host"), field("date"), field("v-c-merchant-id"));
    let covered: [&[u8]; 6] =
        [method.as_bytes(), target.as_bytes(), host.as_bytes(), date.as_bytes(), merchant.as_bytes(), signed_body];
    assert_only_signed(outcome.is_ok(), &covered, SIGNED);
});
