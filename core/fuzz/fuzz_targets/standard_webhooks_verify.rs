//! Standard Webhooks `webhook-id` / `webhook-timestamp` / `webhook-signature`
//! over a body, verified with the public vectors' secrets: no panic, and no
//! forgery. An accepted message must be one the vectors signed: id,
//! timestamp as sent and body equal a signed triple.
//!
//! Input: lines `webhook-id`, `webhook-timestamp`, `webhook-signature`, then
//! the body. A `\r` in a line sends that field twice.

#![no_main]

use libfuzzer_sys::fuzz_target;
use payseal_core::Secret;
use payseal_core::signing::standard_webhooks::Verifier;
use payseal_core_fuzz::{assert_only_signed, clock, combined, headers, lines};

/// `(id, timestamp, body)` of the vectors' `sign-0` and `sign-1`.
const SIGNED: &[&[&[u8]]] = &[
    &[b"msg_2Lq0aBcD0eFgH", b"1719500000", br#"{"orderId":123,"refundAmount":10.5}"#],
    &[
        b"msg_2Lq1aBcD1eFgH",
        b"1719500011",
        br#"{"orderId":"ORD-2024-0001","amount":"25.00","currency":"USD","beneficiary":{"account":"001234567","name":"Sok Dara"}}"#,
    ],
];

fuzz_target!(|data: &[u8]| {
    let Some(([id, timestamp, signature], body)) = lines::<3>(data) else { return };
    let headers = headers(&[("webhook-id", id), ("webhook-timestamp", timestamp), ("webhook-signature", signature)]);
    let first = Secret::from_text("whsec_og4xBW8CGGdLiQWc1nR6Snk6BR849ZFr");
    let second = Secret::from_text("whsec_JMp2wpuBtuXRFu1+Un3QaWnkRpa4NHjHVZ1oqDxd4w4=");
    let outcome = Verifier::new([&first, &second]).verify(body, &headers, clock(1_719_500_000));
    let id = combined(&headers, "webhook-id").unwrap_or_default();
    let timestamp = combined(&headers, "webhook-timestamp").unwrap_or_default();
    assert_only_signed(outcome.is_ok(), &[id.as_bytes(), timestamp.as_bytes(), body], SIGNED);
});
