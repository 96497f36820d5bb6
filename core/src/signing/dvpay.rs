//! DVPay financial endpoints: `X-Signature = hex(HMAC-SHA256(secret, body ‖ X-Timestamp))`.

use alloc::string::String;
use alloc::vec::Vec;

use super::{Clock, HeaderMap, KeyRing, SignatureError, Verified, field, parse_timestamp};
use crate::mac::MacKey;
use crate::secret::{Secret, check_common};

/// `X-Api-Key`: identifies the merchant's key.
pub const API_KEY_HEADER: &str = "x-api-key";
/// `X-Timestamp`: unix seconds, decimal.
pub const TIMESTAMP_HEADER: &str = "x-timestamp";
/// `X-Signature`: lowercase hex HMAC.
pub const SIGNATURE_HEADER: &str = "x-signature";
/// `X-Idempotent-Key`: one UUID per logical attempt.
pub const IDEMPOTENCY_HEADER: &str = "x-idempotent-key";

fn derive(secret: &Secret) -> Result<MacKey, &'static str> {
    check_common(secret)?;
    Ok(MacKey::new(secret.expose()))
}

/// Signs outgoing DVPay requests with one API key and its secret.
#[derive(Clone, Debug)]
pub struct Signer {
    api_key: String,
    keys: KeyRing,
}

/// The four headers of a signed DVPay request.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct SignedHeaders {
    /// `(name, value)` pairs: `X-Api-Key`, `X-Timestamp`, `X-Signature`, `X-Idempotent-Key`.
    pub headers: Vec<(&'static str, String)>,
}

impl Signer {
    /// A signer for `api_key` (sent as is) and its `secret`.
    pub fn new(api_key: impl Into<String>, secret: &Secret) -> Self {
        Self { api_key: api_key.into(), keys: KeyRing::new([secret], derive) }
    }

    /// The hex signature of `body` at `timestamp`.
    ///
    /// # Errors
    /// `invalid_secret` when the secret is empty or has surrounding whitespace.
    pub fn signature(&self, body: &[u8], timestamp: u64) -> Result<String, SignatureError> {
        let ts = itoa(timestamp);
        Ok(hex::encode(self.keys.sign(&[body, ts.as_bytes()])?))
    }

    /// All four headers for a request with `body`, `timestamp` and the
    /// caller's `idempotency_key` (payseal has no RNG: the caller makes the UUID).
    ///
    /// # Errors
    /// `invalid_secret` as for [`Signer::signature`].
    pub fn sign(
        &self,
        body: &[u8],
        timestamp: u64,
        idempotency_key: &str,
    ) -> Result<SignedHeaders, SignatureError> {
        let signature = self.signature(body, timestamp)?;
        Ok(SignedHeaders {
            headers: alloc::vec![
                ("X-Api-Key", self.api_key.clone()),
                ("X-Timestamp", itoa(timestamp)),
                ("X-Signature", signature),
                ("X-Idempotent-Key", String::from(idempotency_key)),
            ],
        })
    }
}

/// Verifies DVPay signatures against one or more secrets (rotation).
#[derive(Clone, Debug)]
pub struct Verifier {
    keys: KeyRing,
}

impl Verifier {
    /// A verifier accepting a signature by any of `secrets`.
    pub fn new<'s>(secrets: impl IntoIterator<Item = &'s Secret>) -> Self {
        Self { keys: KeyRing::new(secrets, derive) }
    }

    /// The first unusable secret, by position: `invalid_secret` for every
    /// request. A binding asks when the verifier is built.
    pub fn unusable_secret(&self) -> Option<(usize, SignatureError)> {
        self.keys.first_unusable()
    }

    /// Verifies `X-Timestamp` and `X-Signature` over the raw `body`.
    ///
    /// # Errors
    /// The spec's checks in order: `missing_signature`, `malformed_header`,
    /// `invalid_secret`, `stale_timestamp`, `bad_signature`.
    pub fn verify(
        &self,
        body: &[u8],
        headers: &(impl HeaderMap + ?Sized),
        clock: Clock,
    ) -> Result<Verified, SignatureError> {
        let presented =
            field(headers, SIGNATURE_HEADER).ok_or(SignatureError::MissingSignature("X-Signature"))?;
        let timestamp = parse_timestamp(field(headers, TIMESTAMP_HEADER), "X-Timestamp")?;
        self.keys.check_usable()?;
        clock.check(timestamp.value)?;
        // Either hex case is accepted; a value that is not 64 hex digits simply does not match.
        let decoded = crate::encoding::decode_hex_array::<32>(&presented);
        // The MAC covers the timestamp exactly as sent.
        let secret_index = self.keys.find_match(
            &[body, timestamp.text.as_bytes()],
            &decoded.iter().map(<[u8; 32]>::as_slice),
        )?;
        Ok(Verified { secret_index })
    }
}

fn itoa(value: u64) -> String {
    use core::fmt::Write as _;
    let mut s = String::with_capacity(10);
    let _ = write!(s, "{value}");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"orderId":123,"refundAmount":10.5}"#;

    #[test]
    fn sign_matches_node_crypto() {
        let signer = Signer::new("key", &Secret::from_text("dvp_sec_7Hq2Lm9Xc4Rt8Vb1"));
        assert_eq!(
            signer.signature(BODY, 1_719_500_000).unwrap(),
            "9fc39e440c4b1641d797d37db464c9f736185cdedcfbf05483352ba66160b350"
        );
    }

    #[test]
    fn sign_emits_four_headers() {
        let signer = Signer::new("ak_1", &Secret::from_text("s"));
        let headers = signer.sign(BODY, 1_719_500_000, "6f1c").unwrap();
        let names: Vec<_> = headers.headers.iter().map(|(n, _)| *n).collect();
        assert_eq!(names, ["X-Api-Key", "X-Timestamp", "X-Signature", "X-Idempotent-Key"]);
    }

    #[test]
    fn round_trip_with_rotation() {
        let old = Secret::from_text("old");
        let new = Secret::from_text("new");
        let sig = Signer::new("k", &new).signature(BODY, 100).unwrap();
        let headers = [("X-Timestamp", "100"), ("X-Signature", sig.as_str())];
        let v = Verifier::new([&old, &new]).verify(BODY, &headers, Clock::at(100)).unwrap();
        assert_eq!(v.secret_index, 1);
    }

    #[test]
    fn leading_zeros_cannot_move_body_bytes_into_the_timestamp() {
        // body ‖ X-Timestamp has no separator: `{"amount":1000}` at T and
        // `{"amount":10}` at `00` + T are the same MAC input.
        let secret = Secret::from_text("dvp_sec_7Hq2Lm9Xc4Rt8Vb1");
        let t = 1_719_500_000;
        let signature = Signer::new("k", &secret).signature(br#"{"amount":1000}"#, t).unwrap();
        let verifier = Verifier::new([&secret]);
        let genuine = [("X-Timestamp", "1719500000"), ("X-Signature", signature.as_str())];
        assert!(verifier.verify(br#"{"amount":1000}"#, &genuine, Clock::at(t)).is_ok());
        let forged = [("X-Timestamp", "001719500000"), ("X-Signature", signature.as_str())];
        let err = verifier.verify(br#"{"amount":10}"#, &forged, Clock::at(t)).unwrap_err();
        assert_eq!(err.code(), "malformed_header");
    }

    #[test]
    fn non_canonical_timestamps_are_malformed_before_the_secret_is_judged() {
        // Check 2 precedes check 3: the header is refused even with an unusable secret.
        // (Whitespace around a field value is HTTP's, not the value's: " 100" is "100".)
        let v = Verifier::new([&Secret::from_text(" bad")]);
        for ts in ["0100", "00", "+100", "1 00", "100.0", "1e2"] {
            let err = v.verify(BODY, &[("X-Timestamp", ts), ("X-Signature", "00")], Clock::at(100)).unwrap_err();
            assert_eq!(err.code(), "malformed_header", "{ts:?}");
        }
    }

    #[test]
    fn missing_beats_invalid_secret() {
        let v = Verifier::new([&Secret::from_text(" bad")]);
        let err = v.verify(BODY, &[("X-Timestamp", "1")], Clock::at(1)).unwrap_err();
        assert_eq!(err.code(), "missing_signature");
        let err = v.verify(BODY, &[("X-Timestamp", "1"), ("X-Signature", "00")], Clock::at(1)).unwrap_err();
        assert_eq!(err.code(), "invalid_secret");
        assert_eq!(v.unusable_secret().map(|(i, e)| (i, e.code())), Some((0, "invalid_secret")));
        assert_eq!(Verifier::new([&Secret::from_text("ok")]).unusable_secret(), None);
    }
}
