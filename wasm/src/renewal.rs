//! Merchant-side secret renewal (`keys.md`, "Rotation"): the core's renewal
//! schedule, and a renewed secret held in Wasm memory.

use js_sys::Object;
use payseal_core::keys::{
    Margin, RenewalFailure, RenewalPolicy, RenewalResponse, RenewalStep, RenewalTrigger,
    read_renewal_answer,
};
use wasm_bindgen::prelude::*;
use zeroize::Zeroizing;

use crate::errors::{coded, object};
use crate::whole;

#[allow(clippy::cast_precision_loss)] // unix seconds and lifetimes are far below 2^53
fn number(value: u64) -> JsValue {
    JsValue::from(value as f64)
}

/// A failed renewal as a `PaysealError`: the failure's code and fixed text,
/// the HTTP `status`, the provider's `responseCode` and `retryAfterSeconds`
/// when there are any.
fn failure(error: RenewalFailure, status: Option<u16>) -> JsValue {
    let mut fields = Vec::new();
    if let Some(status) = status {
        fields.push(("status", JsValue::from(status)));
    }
    if let Some(code) = error.response_code() {
        fields.push(("responseCode", JsValue::from_str(code)));
    }
    if let RenewalFailure::RateLimited { retry_after: Some(seconds) } = error {
        fields.push(("retryAfterSeconds", number(seconds)));
    }
    coded(error.code(), &error.to_string(), Some(object(&fields)))
}

/// A new secret from a renewal, with its account and lifetime. The secret
/// stays in Wasm memory; [`RenewedSecret::expose`] is the one way to read it,
/// and freeing the holder wipes it.
#[wasm_bindgen]
pub struct RenewedSecret {
    inner: RenewalResponse,
}

#[wasm_bindgen]
impl RenewedSecret {
    /// A renewal given as parts (a caller's own renewal function).
    ///
    /// # Errors
    /// A `PaysealError` with code `invalid_answer` (a lifetime of 0, an empty
    /// secret or one with surrounding whitespace).
    #[wasm_bindgen(js_name = fromParts)]
    pub fn from_parts(account: String, secret: String, expires_in: f64) -> Result<RenewedSecret, JsValue> {
        let inner = RenewalResponse::new(account, crate::secret(secret), whole(expires_in))
            .map_err(|e| failure(e, None))?;
        Ok(Self { inner })
    }

    /// Reads the provider's answer to `POST /{codeUrl}/renew-secret` for
    /// `account` (HTTP `status`, raw `body`, `Retry-After` header). The body
    /// is wiped once read.
    ///
    /// # Errors
    /// A `PaysealError` whose `code` is the failure's (`authentication_failed`,
    /// `reception_url_not_active`, `invalid_reception_url_code`,
    /// `rate_limited`, `invalid_answer`, `unexpected_status`), with `status`.
    #[wasm_bindgen(js_name = fromAnswer)]
    pub fn from_answer(
        status: u16,
        body: Vec<u8>,
        retry_after: Option<String>,
        account: &str,
        now: f64,
    ) -> Result<RenewedSecret, JsValue> {
        let body = Zeroizing::new(body);
        let inner = read_renewal_answer(status, &body, retry_after.as_deref(), account, whole(now))
            .map_err(|e| failure(e, Some(status)))?;
        Ok(Self { inner })
    }

    /// The account the secret belongs to (`operation_account_code`).
    #[wasm_bindgen(getter, js_name = accountCode)]
    pub fn account_code(&self) -> String {
        self.inner.operation_account_code.clone()
    }

    /// The secret's lifetime in seconds (`expires_in`).
    #[wasm_bindgen(getter, js_name = expiresIn)]
    pub fn expires_in(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)] // lifetimes are far below 2^53
        let seconds = self.inner.expires_in as f64;
        seconds
    }

    /// The secret's text, for the one place that sends it or builds a
    /// signer. Built straight from Wasm memory: no unwiped copy is left there.
    pub fn expose(&self) -> JsValue {
        JsValue::from_str(self.inner.expose_secret())
    }
}

/// The renewal schedule of one account: what to do at each use, one renewal
/// at a time. It holds timing only, never the secret.
#[wasm_bindgen]
pub struct RenewalSchedule {
    inner: payseal_core::keys::RenewalSchedule,
}

#[wasm_bindgen]
impl RenewalSchedule {
    /// At most one of `margin_percent` and `margin_seconds` (else the core's
    /// default, 10 %); `min_interval` defaults to the core's 60 s.
    #[wasm_bindgen(constructor)]
    pub fn new(margin_percent: Option<f64>, margin_seconds: Option<f64>, min_interval: Option<f64>) -> RenewalSchedule {
        let margin = match (margin_percent, margin_seconds) {
            (_, Some(seconds)) => Margin::Seconds(whole(seconds)),
            (Some(percent), None) => Margin::Percent(u8::try_from(whole(percent)).unwrap_or(u8::MAX)),
            (None, None) => Margin::default(),
        };
        let min_interval = min_interval.map_or(RenewalPolicy::default().min_interval, whole);
        Self { inner: payseal_core::keys::RenewalSchedule::new(margin, min_interval) }
    }

    /// What to do at `now`: `{ action: "renew" }` (the attempt is counted as
    /// started), `{ action: "join" }`, `{ action: "use_current", until }` or
    /// `{ action: "unavailable", retryAt }`. `refused` is true after a 401 to
    /// the current secret.
    pub fn next(&mut self, now: f64, refused: bool) -> Object {
        let trigger = if refused { RenewalTrigger::Refused } else { RenewalTrigger::Use };
        match self.inner.next(whole(now), trigger) {
            RenewalStep::Renew => object(&[("action", JsValue::from_str("renew"))]),
            RenewalStep::Join => object(&[("action", JsValue::from_str("join"))]),
            RenewalStep::UseCurrent { until } => {
                object(&[("action", JsValue::from_str("use_current")), ("until", number(until))])
            }
            RenewalStep::Unavailable { retry_at } => {
                object(&[("action", JsValue::from_str("unavailable")), ("retryAt", number(retry_at))])
            }
        }
    }

    /// The renewal in flight answered a secret living `expires_in` seconds.
    pub fn renewed(&mut self, now: f64, expires_in: f64) {
        self.inner.renewed(whole(now), whole(expires_in));
    }

    /// The renewal in flight failed at `now`; `retry_after` is the provider's
    /// `Retry-After` in seconds, if it gave one.
    pub fn failed(&mut self, now: f64, retry_after: Option<f64>) {
        self.inner.failed(whole(now), retry_after.map(whole));
    }

    /// When the current secret expires (unix seconds), if there is one.
    #[wasm_bindgen(getter, js_name = expiresAt)]
    pub fn expires_at(&self) -> Option<f64> {
        #[allow(clippy::cast_precision_loss)] // unix seconds are far below 2^53
        self.inner.expires_at().map(|at| at as f64)
    }
}
