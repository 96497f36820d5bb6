//! The four signature schemes of `signing.md`: holders built once, reused per call.

use js_sys::Object;
use payseal_core::signing::{Clock, cybersource, dvpay, standard_webhooks, stripe};
use payseal_core::time::format_imf_fixdate;
use wasm_bindgen::prelude::*;

use crate::errors::{coded, object, signature_error, type_error};
use crate::headers::FlatHeaders;
use crate::whole;

/// The caller's clock; without a tolerance, the core's default applies.
pub(crate) fn clock(now: f64, tolerance: Option<f64>) -> Clock {
    match tolerance {
        Some(tolerance) => Clock {
            now: whole(now),
            tolerance: whole(tolerance),
        },
        None => Clock::at(whole(now)),
    }
}

/// Appends `n` in decimal (no `core::fmt` on the verification path).
fn push_decimal(out: &mut String, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    loop {
        at -= 1;
        // `n % 10` is below 10: the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation)]
        let digit = (n % 10) as u8;
        digits[at] = b'0' + digit;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

fn index(position: usize) -> u32 {
    u32::try_from(position).unwrap_or(u32::MAX)
}

/// `invalid_secret` for the configured secret called `which` (a position or a
/// parameter name, never the value).
fn unusable_secret(which: &str, error: payseal_core::SignatureError) -> JsValue {
    coded(error.code(), &format!("{which}: {error}"), None)
}

enum Scheme {
    Dvpay(dvpay::Verifier),
    Stripe(stripe::Verifier),
    StandardWebhooks(standard_webhooks::Verifier),
}

/// Verifies a scheme whose signature travels in header fields over the raw
/// body: `dvpay`, `stripe` or `standard_webhooks`, with one or more secrets.
#[wasm_bindgen]
pub struct HeaderVerifier {
    scheme: Scheme,
}

#[wasm_bindgen]
impl HeaderVerifier {
    /// A verifier for `scheme` accepting a signature by any of `secrets`.
    ///
    /// # Errors
    /// A `TypeError` for an unknown scheme name; `invalid_secret` naming the
    /// first unusable secret by its position (never its value), so a
    /// misconfiguration shows when the holder is built.
    #[wasm_bindgen(constructor)]
    pub fn new(scheme: &str, secrets: Vec<String>) -> Result<HeaderVerifier, JsValue> {
        let secrets = crate::secrets(secrets);
        let scheme = match scheme {
            "dvpay" => Scheme::Dvpay(dvpay::Verifier::new(&secrets)),
            "stripe" => Scheme::Stripe(stripe::Verifier::new(&secrets)),
            "standard_webhooks" => {
                Scheme::StandardWebhooks(standard_webhooks::Verifier::new(&secrets))
            }
            _ => {
                return Err(type_error(
                    "scheme must be \"dvpay\", \"stripe\" or \"standard_webhooks\"",
                ));
            }
        };
        let unusable = match &scheme {
            Scheme::Dvpay(v) => v.unusable_secret(),
            Scheme::Stripe(v) => v.unusable_secret(),
            Scheme::StandardWebhooks(v) => v.unusable_secret(),
        };
        if let Some((position, error)) = unusable {
            return Err(unusable_secret(&format!("secrets[{position}]"), error));
        }
        Ok(Self { scheme })
    }

    fn run_webhook(
        &self,
        body: &[u8],
        headers: &str,
        now: f64,
        tolerance: Option<f64>,
    ) -> Result<String, JsValue> {
        let headers = FlatHeaders(headers);
        let clock = clock(now, tolerance);
        let verified = match &self.scheme {
            Scheme::Stripe(v) => v.verify_webhook(body, &headers, clock),
            Scheme::StandardWebhooks(v) => v.verify_webhook(body, &headers, clock),
            Scheme::Dvpay(_) => return Err(type_error("dvpay requests are not webhooks")),
        }
        .map_err(signature_error)?;
        // One string crosses the boundary (a JS object built field by field
        // cost more than the MAC of a 1 KiB body): NUL-separated, since no
        // header value (the id) can hold a NUL (the JS layer refuses it).
        let id = verified.id.as_deref();
        let mut out = String::with_capacity(48 + verified.replay_id.len() + id.map_or(0, str::len));
        for number in [verified.secret_index as u64, verified.timestamp, verified.replay_expires_at] {
            push_decimal(&mut out, number);
            out.push('\0');
        }
        out.push_str(&verified.replay_id);
        if let Some(id) = id {
            out.push('\0');
            out.push_str(id);
        }
        Ok(out)
    }

    /// Verifies a webhook (Stripe, Standard Webhooks) given as bytes:
    /// `secretIndex\0timestamp\0replayExpiresAt\0replayId[\0id]` (the id
    /// only when the scheme has one).
    ///
    /// # Errors
    /// A `PaysealError` whose `code` is the spec's reason; a `TypeError` for DVPay.
    #[wasm_bindgen(js_name = verifyWebhook)]
    pub fn verify_webhook(
        &self,
        body: &[u8],
        headers: &str,
        now: f64,
        tolerance: Option<f64>,
    ) -> Result<String, JsValue> {
        self.run_webhook(body, headers, now, tolerance)
    }

    /// As [`HeaderVerifier::verify_webhook`] for a text body (its UTF-8 bytes).
    ///
    /// # Errors
    /// As [`HeaderVerifier::verify_webhook`].
    #[wasm_bindgen(js_name = verifyWebhookText)]
    pub fn verify_webhook_text(
        &self,
        body: &str,
        headers: &str,
        now: f64,
        tolerance: Option<f64>,
    ) -> Result<String, JsValue> {
        self.run_webhook(body.as_bytes(), headers, now, tolerance)
    }

    fn run(
        &self,
        body: &[u8],
        headers: &str,
        now: f64,
        tolerance: Option<f64>,
    ) -> Result<u32, JsValue> {
        let headers = FlatHeaders(headers);
        let clock = clock(now, tolerance);
        let verified = match &self.scheme {
            Scheme::Dvpay(v) => v.verify(body, &headers, clock),
            Scheme::Stripe(v) => v.verify(body, &headers, clock),
            Scheme::StandardWebhooks(v) => v.verify(body, &headers, clock),
        };
        verified
            .map(|v| index(v.secret_index))
            .map_err(signature_error)
    }

    /// Verifies a body given as bytes; returns the position of the matching secret.
    ///
    /// # Errors
    /// A `PaysealError` whose `code` is the spec's reason.
    pub fn verify(
        &self,
        body: &[u8],
        headers: &str,
        now: f64,
        tolerance: Option<f64>,
    ) -> Result<u32, JsValue> {
        self.run(body, headers, now, tolerance)
    }

    /// Verifies a body given as text (its UTF-8 bytes).
    ///
    /// # Errors
    /// As [`HeaderVerifier::verify`].
    #[wasm_bindgen(js_name = verifyText)]
    pub fn verify_text(
        &self,
        body: &str,
        headers: &str,
        now: f64,
        tolerance: Option<f64>,
    ) -> Result<u32, JsValue> {
        self.run(body.as_bytes(), headers, now, tolerance)
    }
}

#[cfg(feature = "signing")]
/// Signs DVPay requests with an API key and its secret.
#[wasm_bindgen]
pub struct DvpaySigner {
    inner: dvpay::Signer,
}

#[cfg(feature = "signing")]
#[wasm_bindgen]
impl DvpaySigner {
    /// A signer for `api_key` and its `secret`.
    #[wasm_bindgen(constructor)]
    pub fn new(api_key: String, secret: String) -> DvpaySigner {
        Self {
            inner: dvpay::Signer::new(api_key, &crate::secret(secret)),
        }
    }

    /// The hex `X-Signature` of a byte body at `timestamp`.
    ///
    /// # Errors
    /// `invalid_secret`.
    pub fn signature(&self, body: &[u8], timestamp: f64) -> Result<String, JsValue> {
        self.inner
            .signature(body, whole(timestamp))
            .map_err(signature_error)
    }

    /// The hex `X-Signature` of a text body at `timestamp`.
    ///
    /// # Errors
    /// `invalid_secret`.
    #[wasm_bindgen(js_name = signatureText)]
    pub fn signature_text(&self, body: &str, timestamp: f64) -> Result<String, JsValue> {
        self.signature(body.as_bytes(), timestamp)
    }

    /// The four request headers, as an object in the core's order.
    ///
    /// # Errors
    /// `invalid_secret`.
    pub fn sign(
        &self,
        body: &[u8],
        timestamp: f64,
        idempotency_key: &str,
    ) -> Result<Object, JsValue> {
        let signed = self
            .inner
            .sign(body, whole(timestamp), idempotency_key)
            .map_err(signature_error)?;
        let fields: Vec<(&str, JsValue)> = signed
            .headers
            .iter()
            .map(|(name, value)| (*name, JsValue::from_str(value)))
            .collect();
        Ok(object(&fields))
    }

    /// As [`DvpaySigner::sign`] for a text body.
    ///
    /// # Errors
    /// `invalid_secret`.
    #[wasm_bindgen(js_name = signText)]
    pub fn sign_text(
        &self,
        body: &str,
        timestamp: f64,
        idempotency_key: &str,
    ) -> Result<Object, JsValue> {
        self.sign(body.as_bytes(), timestamp, idempotency_key)
    }
}

/// Produces `Stripe-Signature` values (a test double, or a sender).
#[wasm_bindgen]
pub struct StripeSigner {
    inner: stripe::Signer,
}

#[wasm_bindgen]
impl StripeSigner {
    /// A signer with one secret.
    ///
    /// # Errors
    /// `invalid_secret` when the secret is unusable.
    #[wasm_bindgen(constructor)]
    pub fn new(secret: String) -> Result<StripeSigner, JsValue> {
        let inner = stripe::Signer::new(&crate::secret(secret));
        match inner.unusable_secret() {
            Some(error) => Err(unusable_secret("secret", error)),
            None => Ok(Self { inner }),
        }
    }

    /// The `Stripe-Signature` value for a byte body.
    ///
    /// # Errors
    /// `invalid_secret`.
    pub fn sign(&self, body: &[u8], timestamp: f64) -> Result<String, JsValue> {
        self.inner
            .sign(body, whole(timestamp))
            .map_err(signature_error)
    }

    /// The `Stripe-Signature` value for a text body.
    ///
    /// # Errors
    /// `invalid_secret`.
    #[wasm_bindgen(js_name = signText)]
    pub fn sign_text(&self, body: &str, timestamp: f64) -> Result<String, JsValue> {
        self.sign(body.as_bytes(), timestamp)
    }
}

/// Produces `webhook-signature` values (a sender, or a test double).
#[wasm_bindgen]
pub struct StandardWebhooksSigner {
    inner: standard_webhooks::Signer,
}

#[wasm_bindgen]
impl StandardWebhooksSigner {
    /// A signer with one `whsec_…` secret.
    ///
    /// # Errors
    /// `invalid_secret` when the secret is unusable.
    #[wasm_bindgen(constructor)]
    pub fn new(secret: String) -> Result<StandardWebhooksSigner, JsValue> {
        let inner = standard_webhooks::Signer::new(&crate::secret(secret));
        match inner.unusable_secret() {
            Some(error) => Err(unusable_secret("secret", error)),
            None => Ok(Self { inner }),
        }
    }

    /// The `webhook-signature` value for message `id` and a byte body.
    ///
    /// # Errors
    /// `invalid_secret`.
    pub fn sign(&self, id: &str, timestamp: f64, body: &[u8]) -> Result<String, JsValue> {
        self.inner
            .sign(id, whole(timestamp), body)
            .map_err(signature_error)
    }

    /// The `webhook-signature` value for message `id` and a text body.
    ///
    /// # Errors
    /// `invalid_secret`.
    #[wasm_bindgen(js_name = signText)]
    pub fn sign_text(&self, id: &str, timestamp: f64, body: &str) -> Result<String, JsValue> {
        self.sign(id, timestamp, body.as_bytes())
    }
}

#[cfg(feature = "signing")]
/// Signs Cybersource requests with a key id and its shared secret.
#[wasm_bindgen]
pub struct CybersourceSigner {
    inner: cybersource::Signer,
}

#[cfg(feature = "signing")]
#[wasm_bindgen]
impl CybersourceSigner {
    /// A signer for `key_id` and its base64 shared secret.
    #[wasm_bindgen(constructor)]
    pub fn new(key_id: String, secret: String) -> CybersourceSigner {
        Self {
            inner: cybersource::Signer::new(key_id, &crate::secret(secret)),
        }
    }

    /// `{ signature, digest, date }` for a request; without `date`, `now` is
    /// written as an IMF-fixdate by the core.
    ///
    /// # Errors
    /// `invalid_secret`.
    #[allow(clippy::too_many_arguments)] // positional: the JS layer is the named surface
    pub fn sign(
        &self,
        host: &str,
        method: &str,
        target: &str,
        date: Option<String>,
        now: f64,
        merchant_id: &str,
        body: &[u8],
    ) -> Result<Object, JsValue> {
        let date = date.unwrap_or_else(|| format_imf_fixdate(whole(now)));
        let request = cybersource::Request {
            host,
            method,
            target,
            date: &date,
            merchant_id,
            body: Some(body),
        };
        let signed = self.inner.sign(&request).map_err(signature_error)?;
        Ok(object(&[
            ("signature", JsValue::from_str(&signed.signature)),
            (
                "digest",
                signed
                    .digest
                    .as_deref()
                    .map_or(JsValue::UNDEFINED, JsValue::from_str),
            ),
            ("date", JsValue::from_str(&date)),
        ]))
    }
}

#[cfg(feature = "signing")]
/// Verifies Cybersource HTTP Signatures against one or more keys.
#[wasm_bindgen]
pub struct CybersourceVerifier {
    inner: cybersource::Verifier,
}

#[cfg(feature = "signing")]
#[wasm_bindgen]
impl CybersourceVerifier {
    /// Keys given as two lists of the same length: key ids and their secrets.
    ///
    /// # Errors
    /// A `TypeError` when the lists differ in length.
    #[wasm_bindgen(constructor)]
    pub fn new(key_ids: Vec<String>, secrets: Vec<String>) -> Result<CybersourceVerifier, JsValue> {
        if key_ids.len() != secrets.len() {
            return Err(type_error("every key needs a keyId and a secret"));
        }
        let secrets = crate::secrets(secrets);
        let keys = key_ids
            .iter()
            .zip(&secrets)
            .map(|(key_id, secret)| cybersource::Key { key_id, secret });
        Ok(Self {
            inner: cybersource::Verifier::new(keys),
        })
    }

    /// Verifies `Signature`, `Date` and `Digest`; returns the matching key's position.
    ///
    /// # Errors
    /// A `PaysealError` whose `code` is the spec's reason.
    pub fn verify(
        &self,
        method: &str,
        target: &str,
        headers: &str,
        body: &[u8],
        now: f64,
        tolerance: Option<f64>,
    ) -> Result<u32, JsValue> {
        self.inner
            .verify(
                method,
                target,
                &FlatHeaders(headers),
                body,
                clock(now, tolerance),
            )
            .map(|v| index(v.secret_index))
            .map_err(signature_error)
    }
}

/// The `PaysealError` of a webhook or request signature presented a second
/// time (the core's `replayed_signature` refusal), with its `status`,
/// `responseCode` and response `body`: the JS replay guard throws it when the
/// `seen` hook reports the delivery as already seen.
#[wasm_bindgen(js_name = replayedSignature)]
pub fn replayed_signature() -> JsValue {
    let refusal = payseal_core::Refusal::REPLAYED_SIGNATURE;
    let details = object(&[
        ("status", JsValue::from(refusal.status)),
        ("responseCode", JsValue::from_str(refusal.code)),
        ("body", JsValue::from_str(&refusal.body())),
    ]);
    coded(refusal.reason, refusal.message, Some(details))
}
