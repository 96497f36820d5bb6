//! Encrypted redirect data (`redirect.md`): an opener per environment and client secret.

use payseal_core::Environment;
use payseal_core::redirect::{Kdf, OpenError, Opener, Profile};
use wasm_bindgen::prelude::*;

use crate::errors::{coded, type_error};
use crate::whole;

fn open_error(error: OpenError) -> JsValue {
    coded(error.code(), &error.to_string(), None)
}

/// Opens (and, for test doubles, seals) `data` parameters.
#[wasm_bindgen]
pub struct RedirectOpener {
    inner: Opener,
}

#[wasm_bindgen]
impl RedirectOpener {
    /// Derives the key from `client_secret` once.
    ///
    /// # Errors
    /// A `TypeError` for an unknown environment, profile or kdf name;
    /// `invalid_secret` when the secret does not fit the kdf.
    #[wasm_bindgen(constructor)]
    pub fn new(
        environment: &str,
        profile: &str,
        kdf: &str,
        client_secret: String,
        clock_skew: Option<f64>,
    ) -> Result<RedirectOpener, JsValue> {
        let environment = Environment::from_name(environment)
            .ok_or_else(|| type_error("environment must be \"live\" or \"test\""))?;
        let profile = Profile::from_name(profile)
            .ok_or_else(|| type_error("profile must be \"v1\" or \"legacy-cbc\""))?;
        let kdf = Kdf::from_name(kdf)
            .ok_or_else(|| type_error("kdf must be \"sha256\", \"hex\" or \"base64\""))?;
        let secret = crate::secret(client_secret);
        let mut inner = Opener::new(environment, profile, kdf, &secret).map_err(open_error)?;
        if let Some(skew) = clock_skew {
            inner = inner.with_clock_skew(whole(skew));
        }
        Ok(Self { inner })
    }

    /// Opens `data` at `now`; returns the decrypted JSON object as text, every
    /// field kept (the JS layer parses it: numbers keep JSON.parse semantics).
    ///
    /// # Errors
    /// `too_large`, `malformed`, `unsupported_version`, `authentication`,
    /// `invalid_payload`, `expired`.
    pub fn open(&self, data: &str, now: f64) -> Result<String, JsValue> {
        let opened = self.inner.open(data, whole(now)).map_err(open_error)?;
        serde_json::to_string(&opened.fields)
            .map_err(|_| type_error("redirect data could not be re-encoded"))
    }

    /// Seals a JSON payload as a `v1` token with the caller's 12-byte random nonce.
    ///
    /// # Errors
    /// A `TypeError` when the nonce is not 12 bytes; `invalid_payload`,
    /// `unsupported_profile`.
    pub fn seal(&self, payload: &str, nonce: &[u8]) -> Result<String, JsValue> {
        let nonce: [u8; 12] = nonce
            .try_into()
            .map_err(|_| type_error("nonce must be 12 bytes"))?;
        self.inner.seal(payload, nonce).map_err(open_error)
    }
}
