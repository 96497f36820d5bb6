//! DVPay `X-Timestamp` / `X-Signature` over a body, verified with the public
//! vectors' secrets: no panic, and no forgery. An accepted request must be
//! one the vectors signed: the body and the timestamp as sent equal a signed
//! pair. (DVPay's MAC input is `body ‖ X-Timestamp` with no separator, so a
//! verifier that read `00` + T as T would accept moved bytes.)
//!
//! Input: lines `X-Timestamp`, `X-Signature`, then the body. A `\r` in a line
//! sends that field twice. Each input is also tried with up to 3 bytes moved
//! between the body's end and the timestamp's start.

#![no_main]

use libfuzzer_sys::fuzz_target;
use payseal_core::Secret;
use payseal_core::signing::dvpay::Verifier;
use payseal_core_fuzz::{assert_only_signed, clock, combined, headers, lines};

/// `(body, X-Timestamp)` of the vectors' `sign-0` and `sign-1`, and a form
/// body ending in digits, whose last bytes a leading-zero timestamp could
/// take over (`amount=10` at `00` + T).
const SIGNED: &[&[&[u8]]] = &[
    &[br#"{"orderId":123,"refundAmount":10.5}"#, b"1719500000"],
    &[b"amount=1000", b"1719500000"],
    &[
        br#"{"orderId":"ORD-2024-0001","amount":"25.00","currency":"USD","beneficiary":{"account":"001234567","name":"Sok Dara"}}"#,
        b"1719500037",
    ],
];

fn check(verifier: &Verifier, timestamp: &str, signature: &str, body: &[u8]) {
    let headers = headers(&[("x-timestamp", timestamp), ("X-Signature", signature)]);
    let outcome = verifier.verify(body, &headers, clock(1_719_500_000));
    let timestamp = combined(&headers, "x-timestamp").unwrap_or_default();
    assert_only_signed(outcome.is_ok(), &[body, timestamp.as_bytes()], SIGNED);
}

fuzz_target!(|data: &[u8]| {
    let Some(([timestamp, signature], body)) = lines::<2>(data) else { return };
    let first = Secret::from_text("dvp_sec_7Hq2Lm9Xc4Rt8Vb1");
    let second = Secret::from_text("a-much-longer-api-secret-from-the-mobile-app-0123456789abcdefABCDEF");
    let verifier = Verifier::new([&first, &second]);
    check(&verifier, timestamp, signature, body);
    // Also with up to 3 bytes moved across the body/timestamp boundary, both
    // ways: the re-spellings a MAC input without separator allows, which
    // random mutation rarely makes in one step (two edits, one in each field).
    for k in 1..=3 {
        if let Some(split) = body.len().checked_sub(k)
            && let Ok(moved) = core::str::from_utf8(&body[split..])
        {
            check(&verifier, &format!("{moved}{timestamp}"), signature, &body[..split]);
        }
        if let (Some(head), Some(tail)) = (timestamp.get(..k), timestamp.get(k..)) {
            check(&verifier, tail, signature, &[body, head.as_bytes()].concat());
        }
    }
});
