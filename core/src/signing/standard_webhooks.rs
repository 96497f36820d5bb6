//! Standard Webhooks: `webhook-signature: v1,<base64 HMAC(key, "<id>.<timestamp>.<body>")>`.

use alloc::string::String;
use alloc::vec::Vec;

use super::{Clock, HeaderMap, KeyRing, SignatureError, Verified, field, parse_timestamp};
use crate::encoding;
use crate::mac::MacKey;
use crate::secret::{Secret, base64_mac_key};

/// Message id header.
pub const ID_HEADER: &str = "webhook-id";
/// Unix-seconds timestamp header.
pub const TIMESTAMP_HEADER: &str = "webhook-timestamp";
/// Space-separated `v1,<base64>` signatures.
pub const SIGNATURE_HEADER: &str = "webhook-signature";

/// The key is the base64 after an optional `whsec_` prefix.
fn derive(secret: &Secret) -> Result<MacKey, &'static str> {
    base64_mac_key(secret, "whsec_", 1, "secret decodes to no bytes")
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

    /// Verifies the three `webhook-*` headers over the raw `body`.
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
        let id = field(headers, ID_HEADER).ok_or(SignatureError::MissingSignature("webhook-id"))?;
        let signatures = field(headers, SIGNATURE_HEADER)
            .ok_or(SignatureError::MissingSignature("webhook-signature"))?;
        let timestamp = parse_timestamp(field(headers, TIMESTAMP_HEADER), "webhook-timestamp")?;
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
        Ok(Verified { secret_index })
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

    #[test]
    fn secret_rules() {
        assert!(derive(&Secret::from_text("whsec_AA==")).is_ok());
        assert!(derive(&Secret::from_text("AA")).is_ok());
        assert!(derive(&Secret::from_text("whsec_")).is_err());
        assert!(derive(&Secret::from_text("whsec_!!")).is_err());
    }
}
