//! Stripe-style webhooks: `Stripe-Signature: t=<unix>,v1=<hex HMAC(secret, "<t>.<body>")>`.

use alloc::string::String;
use alloc::vec::Vec;

use super::{Clock, HeaderMap, KeyRing, SignatureError, Verified, VerifiedWebhook, field, parse_timestamp};
use crate::mac::MacKey;
use crate::secret::{Secret, check_common};

/// The header carrying the timestamp and signatures.
pub const SIGNATURE_HEADER: &str = "stripe-signature";

/// Stripe keys the MAC with the whole secret text, `whsec_` prefix included.
fn derive(secret: &Secret) -> Result<MacKey, &'static str> {
    check_common(secret)?;
    Ok(MacKey::new(secret.expose()))
}

/// Produces `Stripe-Signature` values, like stripe's `generateTestHeaderString`.
#[derive(Clone, Debug)]
pub struct Signer {
    keys: KeyRing,
}

impl Signer {
    /// A signer with one secret.
    pub fn new(secret: &Secret) -> Self {
        Self { keys: KeyRing::new([secret], derive) }
    }

    /// `invalid_secret` when the secret is unusable (what `sign` would answer).
    pub fn unusable_secret(&self) -> Option<SignatureError> {
        self.keys.first_unusable().map(|(_, why)| why)
    }

    /// The `Stripe-Signature` value for `body` at `timestamp`.
    ///
    /// # Errors
    /// `invalid_secret` when the secret is empty or has surrounding whitespace.
    pub fn sign(&self, body: &[u8], timestamp: u64) -> Result<String, SignatureError> {
        let t = alloc::format!("{timestamp}");
        let tag = self.keys.sign(&[t.as_bytes(), b".", body])?;
        Ok(alloc::format!("t={t},v1={}", hex::encode(tag)))
    }
}

/// Verifies `Stripe-Signature` against one or more secrets.
#[derive(Clone, Debug)]
pub struct Verifier {
    keys: KeyRing,
}

struct Parsed {
    timestamp: String,
    v1: Vec<String>,
}

/// Splits `t=…,v1=…,v0=…`. Only `t` must be well formed: entries of other
/// schemes and items without `=` are ignored, as the stripe package does.
fn parse(header: &str) -> Result<Parsed, SignatureError> {
    let mut timestamp = None;
    let mut v1 = Vec::new();
    for item in header.split(',') {
        let Some((name, value)) = item.trim().split_once('=') else { continue };
        match name {
            "t" if timestamp.is_some() => {
                return Err(SignatureError::MalformedHeader("Stripe-Signature has two t= entries"));
            }
            "t" => timestamp = Some(String::from(value)),
            "v1" => v1.push(String::from(value)),
            _ => {}
        }
    }
    let timestamp =
        timestamp.ok_or(SignatureError::MalformedHeader("Stripe-Signature has no t= entry"))?;
    Ok(Parsed { timestamp, v1 })
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

    /// Verifies the `Stripe-Signature` header over the raw `body`.
    ///
    /// Stricter than the stripe package: a timestamp more than the tolerance
    /// in the future is refused too.
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

    /// As [`Verifier::verify`], with the timestamp and the replay guard's
    /// mark (`t=<t>,v1=<matching hex MAC>`).
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub fn verify_webhook(
        &self,
        body: &[u8],
        headers: &(impl HeaderMap + ?Sized),
        clock: Clock,
    ) -> Result<VerifiedWebhook, SignatureError> {
        let header = field(headers, SIGNATURE_HEADER)
            .ok_or(SignatureError::MissingSignature("Stripe-Signature"))?;
        self.verify_header_webhook(body, &header, clock)
    }

    /// Verifies a `Stripe-Signature` value given on its own.
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub fn verify_header(&self, body: &[u8], header: &str, clock: Clock) -> Result<Verified, SignatureError> {
        self.verify_header_webhook(body, header, clock).map(|v| v.verified())
    }

    /// As [`Verifier::verify_header`], with what [`Verifier::verify_webhook`] adds.
    ///
    /// # Errors
    /// As [`Verifier::verify`].
    pub fn verify_header_webhook(
        &self,
        body: &[u8],
        header: &str,
        clock: Clock,
    ) -> Result<VerifiedWebhook, SignatureError> {
        if header.trim().is_empty() {
            return Err(SignatureError::MissingSignature("Stripe-Signature"));
        }
        let parsed = parse(header)?;
        let timestamp = parse_timestamp(Some(parsed.timestamp), "t")?;
        self.keys.check_usable()?;
        clock.check(timestamp.value)?;
        let decoded: Vec<[u8; 32]> =
            parsed.v1.iter().filter_map(|v| crate::encoding::decode_hex_array::<32>(v)).collect();
        let (secret_index, tag) = self.keys.find_match_tag(
            &[timestamp.text.as_bytes(), b".", body],
            &decoded.iter().map(<[u8; 32]>::as_slice),
        )?;
        Ok(VerifiedWebhook {
            secret_index,
            id: None,
            timestamp: timestamp.value,
            replay_id: alloc::format!("t={},v1={}", timestamp.text, hex::encode(tag)),
            replay_expires_at: clock.forget_after(timestamp.value),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_mark_is_the_matching_signature_whatever_else_the_header_holds() {
        let secret = Secret::from_text("whsec_test_secret_9a8b7c6d5e4f");
        let header = Signer::new(&secret).sign(b"{}", 1_719_500_000).unwrap();
        let v = Verifier::new([&secret]);
        let plain = v.verify_header_webhook(b"{}", &header, Clock::at(1_719_500_000)).unwrap();
        assert_eq!(plain.replay_id, header);
        assert_eq!((plain.id, plain.timestamp, plain.replay_expires_at), (None, 1_719_500_000, 1_719_500_301));
        let padded = alloc::format!("v1=00,{header},v0=ab");
        let again = v.verify_header_webhook(b"{}", &padded, Clock::at(1_719_500_000)).unwrap();
        assert_eq!(again.replay_id, header);
    }

    #[test]
    fn unusable_secret_is_named_by_position() {
        let v = Verifier::new([&Secret::from_text("ok"), &Secret::from_text("ok\n")]);
        assert_eq!(v.unusable_secret().map(|(i, e)| (i, e.code())), Some((1, "invalid_secret")));
        assert_eq!(Signer::new(&Secret::from_text("")).unusable_secret().map(|e| e.code()), Some("invalid_secret"));
    }

    #[test]
    fn sign_matches_stripe_package() {
        let s = Signer::new(&Secret::from_text("whsec_test_secret_9a8b7c6d5e4f"));
        assert_eq!(
            s.sign(br#"{"orderId":123,"refundAmount":10.5}"#, 1_719_500_000).unwrap(),
            "t=1719500000,v1=55f8005668a7f0600938e5b441ac7cc74d45d068f775cd1aaf5dcda2ef90638f"
        );
    }

    #[test]
    fn leading_zero_timestamp_is_malformed_even_when_signed() {
        // The MAC covers `t` as sent, so a sender that signed `0…` would
        // match; the spelling itself is refused, before any MAC is computed.
        let secret = Secret::from_text("whsec_test_secret_9a8b7c6d5e4f");
        let tag = derive(&secret).unwrap().tag(&[b"01719500000", b".", b"{}"]);
        let header = alloc::format!("t=01719500000,v1={}", hex::encode(tag));
        let err = Verifier::new([&secret]).verify_header(b"{}", &header, Clock::at(1_719_500_000)).unwrap_err();
        assert_eq!(err.code(), "malformed_header");
        let canonical = Signer::new(&secret).sign(b"{}", 1_719_500_000).unwrap();
        assert!(Verifier::new([&secret]).verify_header(b"{}", &canonical, Clock::at(1_719_500_000)).is_ok());
    }

    #[test]
    fn header_parsing() {
        assert_eq!(parse("v1=ab").err().map(|e| e.code()), Some("malformed_header"));
        assert_eq!(parse("t=1,t=2").err().map(|e| e.code()), Some("malformed_header"));
        let p = parse("t=1, v1=aa ,junk,v0=bb,v1=cc").unwrap();
        assert_eq!(p.timestamp, "1");
        assert_eq!(p.v1, ["aa", "cc"]);
    }
}
