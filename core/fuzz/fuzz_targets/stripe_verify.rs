//! `Stripe-Signature` over a body, verified with the public vectors'
//! secrets: no panic, and no forgery. An accepted request must be one the
//! vectors signed: its `t=` as sent and its body equal a signed pair.
//!
//! Input: line `Stripe-Signature`, then the body. A `\r` in the line sends
//! the field twice.

#![no_main]

use libfuzzer_sys::fuzz_target;
use payseal_core::Secret;
use payseal_core::signing::stripe::Verifier;
use payseal_core_fuzz::{assert_only_signed, clock, combined, headers, lines};

/// `(t, body)` of the vectors' `sign-0` and `sign-1`.
const SIGNED: &[&[&[u8]]] = &[
    &[b"1719500000", br#"{"orderId":123,"refundAmount":10.5}"#],
    &[
        b"1719500013",
        br#"{"orderId":"ORD-2024-0001","amount":"25.00","currency":"USD","beneficiary":{"account":"001234567","name":"Sok Dara"}}"#,
    ],
];

fuzz_target!(|data: &[u8]| {
    let Some(([signature], body)) = lines::<1>(data) else { return };
    let headers = headers(&[("stripe-signature", signature)]);
    let first = Secret::from_text("whsec_test_secret_9a8b7c6d5e4f");
    let second = Secret::from_text("whsec_f724e055bbb5a43568b2417526a6385c8bc762d884006695");
    let outcome = Verifier::new([&first, &second]).verify(body, &headers, clock(1_719_500_000));
    // The one `t=` entry, read the way Stripe's own parser splits the header.
    let field = combined(&headers, "stripe-signature").unwrap_or_default();
    let t = field.split(',').find_map(|item| item.trim().strip_prefix("t=")).unwrap_or_default();
    assert_only_signed(outcome.is_ok(), &[t.as_bytes(), body], SIGNED);
});
