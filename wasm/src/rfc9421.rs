//! RFC 9421 HTTP Message Signatures with `hmac-sha256` (`rfc9421.md`).

use js_sys::Object;
use payseal_core::rfc9421::{self, DigestAlgorithm, ParamValue, SignRequest, VerifyRequest};
use wasm_bindgen::prelude::*;

use crate::errors::{object, signature_error, type_error};
use crate::headers::FlatHeaders;
use crate::signing::clock;

/// Signs outgoing requests with one shared secret (the `keyid` is a parameter).
#[wasm_bindgen]
pub struct HttpMessageSigner {
    inner: rfc9421::Signer,
}

/// A parameter value as JS gives it: a safe integer or a string.
fn param_value(value: &JsValue) -> Result<ParamValue, JsValue> {
    if let Some(text) = value.as_string() {
        return Ok(ParamValue::String(text));
    }
    match value.as_f64() {
        // The JS layer only lets safe integers through.
        #[allow(clippy::cast_possible_truncation)]
        Some(number) if number.fract() == 0.0 => Ok(ParamValue::Integer(number as i64)),
        _ => Err(type_error(
            "every parameter value must be an integer or a string",
        )),
    }
}

#[wasm_bindgen]
impl HttpMessageSigner {
    /// A signer for `secret` (standard base64 of at least 16 bytes; an
    /// unusable one is reported by `sign`).
    #[wasm_bindgen(constructor)]
    pub fn new(secret: String) -> HttpMessageSigner {
        Self {
            inner: rfc9421::Signer::new(&crate::secret(secret)),
        }
    }

    /// `{ "signature-input", signature, "content-digest"? }` for a request;
    /// `param_names[i]` goes with `param_values[i]`, in order.
    ///
    /// # Errors
    /// A `TypeError` for mismatched parameter lists; `malformed_header`,
    /// `missing_signature` or `invalid_secret` from the core.
    #[allow(clippy::too_many_arguments)] // positional: the JS layer is the named surface
    pub fn sign(
        &self,
        method: &str,
        url: &str,
        headers: &str,
        body: &[u8],
        label: &str,
        components: Vec<String>,
        param_names: Vec<String>,
        param_values: Vec<JsValue>,
    ) -> Result<Object, JsValue> {
        if param_names.len() != param_values.len() {
            return Err(type_error("every parameter needs a name and a value"));
        }
        let params = param_names
            .iter()
            .zip(&param_values)
            .map(|(name, value)| Ok((name.as_str(), param_value(value)?)))
            .collect::<Result<Vec<_>, JsValue>>()?;
        let components: Vec<&str> = components.iter().map(String::as_str).collect();
        let headers = FlatHeaders(headers);
        let request = SignRequest {
            method,
            url,
            headers: &headers,
            body,
            label,
            components: &components,
            params: &params,
        };
        let signed = self.inner.sign(&request).map_err(signature_error)?;
        let mut fields = vec![
            (
                "signature-input",
                JsValue::from_str(&signed.signature_input),
            ),
            ("signature", JsValue::from_str(&signed.signature)),
        ];
        if let Some(digest) = &signed.content_digest {
            fields.push(("content-digest", JsValue::from_str(digest)));
        }
        Ok(object(&fields))
    }
}

/// Verifies RFC 9421 signatures against keys configured by `keyid`.
#[wasm_bindgen]
pub struct HttpMessageVerifier {
    inner: rfc9421::Verifier,
}

#[wasm_bindgen]
impl HttpMessageVerifier {
    /// Keys given as two lists of the same length: `keyid`s and their secrets.
    ///
    /// # Errors
    /// A `TypeError` when the lists differ in length.
    #[wasm_bindgen(constructor)]
    pub fn new(key_ids: Vec<String>, secrets: Vec<String>) -> Result<HttpMessageVerifier, JsValue> {
        if key_ids.len() != secrets.len() {
            return Err(type_error("every key needs a keyid and a secret"));
        }
        let secrets = crate::secrets(secrets);
        let keys = key_ids.iter().map(String::as_str).zip(&secrets);
        Ok(Self {
            inner: rfc9421::Verifier::new(keys),
        })
    }

    /// Verifies a request; returns `{ label, keyId }` of the signature that verified.
    ///
    /// # Errors
    /// A `PaysealError` whose `code` is the spec's reason.
    #[allow(clippy::too_many_arguments)] // positional: the JS layer is the named surface
    pub fn verify(
        &self,
        method: &str,
        url: &str,
        headers: &str,
        body: &[u8],
        required: Vec<String>,
        now: f64,
        tolerance: Option<f64>,
    ) -> Result<Object, JsValue> {
        let required: Vec<&str> = required.iter().map(String::as_str).collect();
        let headers = FlatHeaders(headers);
        let request = VerifyRequest {
            method,
            url,
            headers: &headers,
            body,
        };
        let verified = self
            .inner
            .verify(&request, &required, clock(now, tolerance))
            .map_err(signature_error)?;
        Ok(object(&[
            ("label", JsValue::from_str(&verified.label)),
            ("keyId", JsValue::from_str(&verified.key_id)),
        ]))
    }
}

/// The RFC 9530 `Content-Digest` value of `body` (`sha-256` or `sha-512`).
///
/// # Errors
/// A `TypeError` for another algorithm name.
#[wasm_bindgen(js_name = contentDigest)]
pub fn content_digest(algorithm: &str, body: &[u8]) -> Result<String, JsValue> {
    let algorithm = match algorithm {
        "sha-256" => DigestAlgorithm::Sha256,
        "sha-512" => DigestAlgorithm::Sha512,
        _ => return Err(type_error("algorithm must be \"sha-256\" or \"sha-512\"")),
    };
    Ok(rfc9421::content_digest(algorithm, body))
}
