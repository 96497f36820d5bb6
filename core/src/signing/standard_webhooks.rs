//! Standard Webhooks: `webhook-signature: v1,<base64 HMAC(key, "<id>.<timestamp>.<body>")>`.

use alloc::string::String;
use alloc::vec::Vec;

use super::{Clock, HeaderMap, KeyRing, SignatureError, Verified, VerifiedWebhook, field, parse_timestamp};
use crate::encoding;
use crate::mac::MacKey;
use crate::secret::{Secret, base64_mac_key_ignoring_trailing_bits};

/// Message id header.
pub const ID_HEADER: &str = "webhook-id";
/// Unix-seconds timestamp header.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// Space-separated `v1,<base64>` signatures.
pub const SIGNATURE_HEADER: &str = "webhook-signature";
/// The Svix-branded names of the three headers, in the order of
/// [`ID_HEADER`], [`TIMESTAMP_HEADER`], [`SIGNATURE_HEADER`]: what most
/// Standard Webhooks senders send. Each is read when its `webhook-*`
/// counterpart is absent (the svix libraries' per-header fallback, with the
/// unbranded name first).
pub const SVIX_HEADERS: [&str; 3] = ["svix-id", "svix-timestamp", "svix-signature"];

/// The field `name`, else its Svix-branded counterpart `svix`.
fn branded(headers: &(impl HeaderMap + ?Sized), name: &str, svix: &str) -> Option<String> {
    field(headers, name).or_else(|| field(headers, svix))
}

/// The key is the base64 after an optional `whsec_` prefix. Non-zero
/// trailing bits in the last character are ignored, as the Python, Go and
/// svix libraries decode secrets.
fn derive(secret: &Secret) -> Result<MacKey, &'static str> {
    base64_mac_key_ignoring_trailing_bits(secret, "whsec_", 1, "secret decodes to no bytes")
}

/// Produces `webhook-signature` values (the sender's side, or a test double).
#[derive(Clone, Debug)]
pub struct Signer {
    keys: KeyRing,
}

impl Signer {
    /// A signer with one `whsec_…` (or bare base64) secret.
    pub fn new(secret: &Secret) -> Self {
        Self { keys: KeyRing::new([secret], derive) }
    }

    /// `invalid_secret` when the secret is unusable (what `sign` would answer).
    pub fn unusable_secret(&self) -> Option<SignatureError> {
        self.keys.first_unusable().map(|(_, why)| why)
    }

    /// The `webhook-signature` value (`v1,<base64>`) for message `id` at `timestamp`.
    ///
    /// # Errors
    /// `invalid_secret` when the secret is not usable base64.
    pub fn sign(&self, id: &str, timestamp: u64, body: &[u8]) -> Result<String, SignatureError> {
        let ts = alloc::format!("{timestamp}");
        let tag = self.keys.sign(&[id.as_bytes(), b".", ts.as_bytes(), b".", body])?;
        Ok(alloc::format!("v1,{}", encoding::encode_standard(&tag)))
    }
}

/// Verifies Standard Webhooks signatures against one or more secrets.
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
    /// message. A binding asks when the verifier is built.
    pub fn unusable_secret(&self) -> Option<(usize, SignatureError)> {
        self.keys.first_unusable()
    }

    /// Verifies the three `webhook-*` headers (or their `svix-*` names, see
    /// [`SVIX_HEADERS`]) over the raw `body`.
    ///
    /// # Errors
    /// `missing_signature`, `malformed_header`, `invalid_secret`,
    /// `stale_timestamp`, `bad_signature`, in that order.
    pub fn verify(
        &self,
        body: &[u8],
        headers: &(impl HeaderMap + ?Sized),
        clock: Clock,
    ) -> Result<Verified, SignatureError> {
        self.verify_webhook(body, headers, clock).map(|v| v.verified())
    }

    /// As [`Verifier::verify`], with the message id and timestamp and the
    /// replay guard's mark (the message id).
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub fn verify_webhook(
        &self,
        body: &[u8],
        headers: &(impl HeaderMap + ?Sized),
        clock: Clock,
    ) -> Result<VerifiedWebhook, SignatureError> {
        let [svix_id, svix_timestamp, svix_signature] = SVIX_HEADERS;
        let id = branded(headers, ID_HEADER, svix_id).ok_or(SignatureError::MissingSignature("webhook-id"))?;
        let signatures = branded(headers, SIGNATURE_HEADER, svix_signature)
            .ok_or(SignatureError::MissingSignature("webhook-signature"))?;
        let timestamp =
            parse_timestamp(branded(headers, TIMESTAMP_HEADER, svix_timestamp), "webhook-timestamp")?;
        self.keys.check_usable()?;
        clock.check(timestamp.value)?;
        // Entries of other versions are ignored; a v1 entry that is not base64 just never matches.
        let decoded: Vec<Vec<u8>> = signatures
            .split(' ')
            .filter_map(|entry| entry.strip_prefix("v1,"))
            .filter_map(encoding::decode_standard)
            .collect();
        let secret_index = self.keys.find_match(
            &[id.as_bytes(), b".", timestamp.text.as_bytes(), b".", body],
            &decoded.iter().map(Vec::as_slice),
        )?;
        Ok(VerifiedWebhook {
            secret_index,
            replay_id: id.clone(),
            id: Some(id),
            timestamp: timestamp.value,
            replay_expires_at: clock.forget_after(timestamp.value),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_matches_standardwebhooks_package() {
        let s = Signer::new(&Secret::from_text("whsec_og4xBW8CGGdLiQWc1nR6Snk6BR849ZFr"));
        assert_eq!(
            s.sign("msg_2Lq0aBcD0eFgH", 1_719_500_000, br#"{"orderId":123,"refundAmount":10.5}"#)
                .unwrap(),
            "v1,cTowpUkp+re+cvX3F3iHRFyZhJLBQyO4szXWxm7Zym0="
        );
    }

    #[test]
    fn leading_zero_timestamp_is_malformed_even_when_signed() {
        // The MAC covers webhook-timestamp as sent, so a sender that signed
        // `0…` would match; the spelling itself is refused.
        let secret = Secret::from_text("whsec_og4xBW8CGGdLiQWc1nR6Snk6BR849ZFr");
        let key = derive(&secret).unwrap();
        let tag = key.tag(&[b"msg_1", b".", b"01719500000", b".", b"{}"]);
        let signature = alloc::format!("v1,{}", encoding::encode_standard(&tag));
        let headers =
            [("webhook-id", "msg_1"), ("webhook-timestamp", "01719500000"), ("webhook-signature", signature.as_str())];
        let err = Verifier::new([&secret]).verify(b"{}", &headers, Clock::at(1_719_500_000)).unwrap_err();
        assert_eq!(err.code(), "malformed_header");
    }

    fn signed(secret: &Secret, id: &str, ts: &str, body: &[u8]) -> String {
        let tag = derive(secret).unwrap().tag(&[id.as_bytes(), b".", ts.as_bytes(), b".", body]);
        alloc::format!("v1,{}", encoding::encode_standard(&tag))
    }

    #[test]
    fn svix_branded_headers_verify_and_webhook_names_come_first() {
        let secret = Secret::from_text("whsec_og4xBW8CGGdLiQWc1nR6Snk6BR849ZFr");
        let v = Verifier::new([&secret]);
        let sig = signed(&secret, "msg_1", "1719500000", b"{}");
        let svix = [("Svix-Id", "msg_1"), ("svix-timestamp", "1719500000"), ("svix-signature", sig.as_str())];
        let got = v.verify_webhook(b"{}", &svix, Clock::at(1_719_500_000)).unwrap();
        assert_eq!((got.id.as_deref(), got.timestamp, got.replay_id.as_str()), (Some("msg_1"), 1_719_500_000, "msg_1"));
        assert_eq!(got.replay_expires_at, 1_719_500_301);
        // Both present: the webhook-* value decides, a svix-* one is not consulted.
        let both = [
            ("webhook-id", "msg_2"),
            ("svix-id", "msg_1"),
            ("svix-timestamp", "1719500000"),
            ("svix-signature", sig.as_str()),
        ];
        assert_eq!(v.verify(b"{}", &both, Clock::at(1_719_500_000)).unwrap_err(), SignatureError::BadSignature);
        // Per header: a missing webhook-signature is read from svix-signature.
        let mixed = [("webhook-id", "msg_1"), ("webhook-timestamp", "1719500000"), ("svix-signature", sig.as_str())];
        assert!(v.verify(b"{}", &mixed, Clock::at(1_719_500_000)).is_ok());
        let none = [("svix-id", "msg_1"), ("svix-timestamp", "1719500000")];
        assert_eq!(
            v.verify(b"{}", &none, Clock::at(1_719_500_000)).unwrap_err(),
            SignatureError::MissingSignature("webhook-signature")
        );
    }

    #[test]
    fn non_canonical_trailing_bits_are_ignored_like_python_go_and_svix() {
        // "AB==" and "AA==" both decode to [0]: B sets a trailing bit.
        let canonical = derive(&Secret::from_text("whsec_AA==")).unwrap().tag(&[b"x"]);
        assert_eq!(derive(&Secret::from_text("whsec_AB==")).unwrap().tag(&[b"x"]), canonical);
        assert_eq!(derive(&Secret::from_text("AB")).unwrap().tag(&[b"x"]), canonical);
        assert!(derive(&Secret::from_text("whsec_A")).is_err());
    }

    #[test]
    fn unusable_secret_is_named_by_position() {
        let good = Secret::from_text("whsec_AA==");
        let bad = Secret::from_text("not base64!!");
        assert_eq!(Verifier::new([&good]).unusable_secret(), None);
        let (position, why) = Verifier::new([&good, &bad]).unusable_secret().unwrap();
        assert_eq!((position, why.code()), (1, "invalid_secret"));
        assert_eq!(Signer::new(&bad).unusable_secret().map(|e| e.code()), Some("invalid_secret"));
    }

    #[test]
    fn secret_rules() {
        assert!(derive(&Secret::from_text("whsec_AA==")).is_ok());
        assert!(derive(&Secret::from_text("AA")).is_ok());
        assert!(derive(&Secret::from_text("whsec_")).is_err());
        assert!(derive(&Secret::from_text("whsec_!!")).is_err());
    }
}
