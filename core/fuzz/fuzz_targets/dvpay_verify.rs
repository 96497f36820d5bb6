//! DVPay `X-Timestamp` / `X-Signature` over a body, verified with the public
//! vectors' secrets: no panic, and no forgery. An accepted request must be
//! one the vectors signed: the body and the timestamp as sent equal a signed
//! pair. (DVPay's MAC input is `body ‖ X-Timestamp` with no separator, so a
//! verifier that read `00` + T as T would accept moved bytes.)
//!
//! Input: lines `X-Timestamp`, `X-Signature`, then the body. A `\r` in a line
//! sends that field twice.

#![no_main]

use libfuzzer_sys::fuzz_target;
use payseal_core::Secret;
use payseal_core::signing::dvpay::Verifier;
use payseal_core_fuzz::{assert_only_signed, clock, combined, headers, lines};

/// `(body, X-Timestamp)` of the vectors' `sign-0` and `sign-1`.
const SIGNED: &[&[&[u8]]] = &[
    &[br#"{"orderId":123,"refundAmount":10.5}"#, b"1719500000"],
    &[
        br#"{"orderId":"ORD-2024-0001","amount":"25.00","currency":"USD","beneficiary":{"account":"001234567","name":"Sok Dara"}}"#,
        b"1719500037",
    ],
];

fuzz_target!(|data: &[u8]| {
    let Some(([timestamp, signature], body)) = lines::<2>(data) else { return };
    let headers = headers(&[("x-timestamp", timestamp), ("X-Signature", signature)]);
    let first = Secret::from_text("dvp_sec_7Hq2Lm9Xc4Rt8Vb1");
    let second = Secret::from_text("a-much-longer-api-secret-from-the-mobile-app-0123456789abcdefABCDEF");
    let outcome = Verifier::new([&first, &second]).verify(body, &headers, clock(1_719_500_000));
    let timestamp = combined(&headers, "x-timestamp").unwrap_or_default();
    assert_only_signed(outcome.is_ok(), &[body, timestamp.as_bytes()], SIGNED);
});
