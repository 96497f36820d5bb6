use super::*;
use alloc::string::ToString;
use base64::Engine as _;
use proptest::prelude::*;

const PAYLOAD: &str = r#"{"sessionId":"S-1","status":"completed","amount":{"value":10000,"currency":"EUR"},"x":[1]}"#;

fn opener(env: Environment, secret: &str) -> Opener {
    Opener::new(env, Profile::V1, Kdf::Sha256, &Secret::from_text(secret)).unwrap()
}

#[test]
fn seal_open_round_trip_keeps_unknown_fields() {
    let o = opener(Environment::Live, "cs_live_x");
    let token = o.seal(PAYLOAD, [7; 12]).unwrap();
    let data = o.open(&token, 0).unwrap();
    assert_eq!(data.session_id, "S-1");
    assert_eq!(data.status, PaymentStatus::Completed);
    assert_eq!(data.amount, Some(Amount { value: 10000, currency: "EUR".to_string() }));
    assert_eq!(data.fields["x"], serde_json::json!([1]));
}

#[test]
fn environment_is_bound() {
    let token = opener(Environment::Test, "same").seal(PAYLOAD, [1; 12]).unwrap();
    assert_eq!(opener(Environment::Live, "same").open(&token, 0), Err(OpenError::Authentication));
}

#[test]
fn another_version_byte_is_unsupported_version_not_authentication() {
    let o = opener(Environment::Live, "cs_live_x");
    let mut raw = crate::encoding::URL_SAFE_NO_PAD.decode(o.seal(PAYLOAD, [3; 12]).unwrap()).unwrap();
    for version in [0x00, 0x02, 0x81, 0xff] {
        raw[0] = version;
        let token = crate::encoding::URL_SAFE_NO_PAD.encode(&raw);
        assert_eq!(o.open(&token, 0), Err(OpenError::UnsupportedVersion), "{version:#04x}");
        // Whatever the key: the byte is read before any crypto.
        assert_eq!(opener(Environment::Live, "other").open(&token, 0), Err(OpenError::UnsupportedVersion));
    }
    // A newer format may be shorter than v1's minimum; the version still decides.
    assert_eq!(o.open(&crate::encoding::URL_SAFE_NO_PAD.encode([0x02, 0, 0]), 0), Err(OpenError::UnsupportedVersion));
    assert_eq!(o.open(&crate::encoding::URL_SAFE_NO_PAD.encode([0x01, 0, 0]), 0), Err(OpenError::Malformed));
    assert_eq!(OpenError::UnsupportedVersion.code(), "unsupported_version");
}

#[test]
fn expiry_with_skew() {
    let o = opener(Environment::Live, "k");
    let token = o.seal(r#"{"sessionId":"s","status":"pending","exp":100}"#, [0; 12]).unwrap();
    assert!(o.open(&token, 100).is_ok());
    assert_eq!(o.open(&token, 101), Err(OpenError::Expired));
    assert!(o.clone().with_clock_skew(5).open(&token, 105).is_ok());
}

#[test]
fn size_limit_comes_first() {
    let o = opener(Environment::Live, "k");
    let huge = "!".repeat(MAX_TOKEN_LEN + 1);
    assert_eq!(o.open(&huge, 0), Err(OpenError::TooLarge));
}

#[test]
fn kdf_secret_rules() {
    let bad = |kdf, s: &str| Opener::new(Environment::Live, Profile::V1, kdf, &Secret::from_text(s)).err().map(|e| e.code());
    assert_eq!(bad(Kdf::Hex, "abcd"), Some("invalid_secret"));
    assert_eq!(bad(Kdf::Base64, "AAAA"), Some("invalid_secret"));
    assert_eq!(bad(Kdf::Sha256, ""), Some("invalid_secret"));
    assert_eq!(bad(Kdf::Sha256, "secret\n"), Some("invalid_secret"));
    assert_eq!(bad(Kdf::Hex, &"ab".repeat(32)), None);
}

#[test]
fn seal_validates_payload() {
    let o = opener(Environment::Live, "k");
    assert_eq!(o.seal("[1]", [0; 12]).err().map(|e| e.code()), Some("invalid_payload"));
    assert_eq!(o.seal(r#"{"sessionId":"s","status":"refunded"}"#, [0; 12]).err().map(|e| e.code()), Some("invalid_payload"));
}

#[test]
fn debug_hides_key() {
    let o = opener(Environment::Live, "cs_live_canary");
    let text = alloc::format!("{o:?}");
    assert!(text.contains("[redacted]") && !text.contains("canary"));
}

proptest! {
    #[test]
    fn round_trip(session in "[ -~]{1,40}", value in any::<i64>(), nonce in any::<[u8; 12]>()) {
        let o = opener(Environment::Test, "cs_test_prop");
        let payload = serde_json::json!({"sessionId": session, "status": "failed", "amount": {"value": value, "currency": "XAF"}}).to_string();
        let data = o.open(&o.seal(&payload, nonce).unwrap(), 0).unwrap();
        prop_assert_eq!(data.session_id, session);
        prop_assert_eq!(data.amount.map(|a| a.value), Some(value));
    }

    #[test]
    fn any_flipped_bit_after_the_version_is_authentication(nonce in any::<[u8; 12]>(), bit in 0usize..2048) {
        let o = opener(Environment::Live, "cs_live_flip");
        let token = o.seal(PAYLOAD, nonce).unwrap();
        let mut raw = crate::encoding::URL_SAFE_NO_PAD.decode(&token).unwrap();
        // The version byte (bits 0..8) has its own answer, tested above.
        let bit = 8 + bit % ((raw.len() - 1) * 8);
        raw[bit / 8] ^= 1 << (bit % 8);
        let flipped = crate::encoding::URL_SAFE_NO_PAD.encode(&raw);
        prop_assert_eq!(o.open(&flipped, 0), Err(OpenError::Authentication));
    }

    #[test]
    fn open_never_panics(input in ".{0,200}", raw in proptest::collection::vec(any::<u8>(), 0..120)) {
        for profile in [Profile::V1, Profile::LegacyCbc] {
            let o = Opener::new(Environment::Live, profile, Kdf::Sha256, &Secret::from_text("k")).unwrap();
            let _ = o.open(&input, 0);
            let _ = o.open(&crate::encoding::URL_SAFE_NO_PAD.encode(&raw), 0);
            let _ = o.open(&crate::encoding::STANDARD.encode(&raw), 0);
        }
    }

    #[test]
    fn legacy_failures_are_one_error(raw in proptest::collection::vec(any::<u8>(), 32..96)) {
        let o = Opener::new(Environment::Test, Profile::LegacyCbc, Kdf::Sha256, &Secret::from_text("k")).unwrap();
        let result = o.open(&crate::encoding::STANDARD.encode(&raw), 0);
        prop_assert!(matches!(result, Ok(_) | Err(OpenError::Authentication)), "{:?}", result.map(|_| ()));
    }
}

#[test]
fn tokens_are_url_safe() {
    let o = opener(Environment::Live, "k");
    let token = o.seal(PAYLOAD, [0xff; 12]).unwrap();
    assert!(token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
}
