//! API keys (`keys.md`): the gateway's ordered check, key records, renewal.

use core::net::IpAddr;

use js_sys::Object;
use payseal_core::Environment;
use payseal_core::keys::{
    KeyRecord, KeyRejection, KeySet, Policy, RenewalDecision, RenewalPolicy, Request,
    SecretLifetime,
};
use serde::Serialize;
use wasm_bindgen::prelude::*;

use crate::errors::{coded, object, type_error};
use crate::{whole, wipe};

/// Structured values cross the boundary as JSON text (`JSON.parse` /
/// `JSON.stringify` on the JS side): one serde format for the whole package,
/// and records byte-compatible with what the native gateway stores.
pub(crate) fn to_json<T: Serialize + ?Sized>(value: &T) -> Result<String, JsValue> {
    serde_json::to_string(value).map_err(|e| type_error(&e.to_string()))
}

fn rejection(refusal: KeyRejection) -> JsValue {
    let details = object(&[
        ("status", JsValue::from(refusal.status())),
        ("responseCode", JsValue::from_str(refusal.code())),
        ("body", JsValue::from_str(&refusal.body())),
    ]);
    coded(refusal.reason(), refusal.message(), Some(details))
}

/// The gateway's key check over a fixed policy and set of records.
#[wasm_bindgen]
pub struct KeyChecker {
    keys: KeySet,
    policy: Policy,
}

#[wasm_bindgen]
impl KeyChecker {
    /// `policy` and `records` as JSON text in the spec's format (`snake_case` field names).
    ///
    /// # Errors
    /// A `TypeError` when either does not have the spec's shape; a
    /// `PaysealError` with code `invalid_config` for duplicate ids or digests.
    #[wasm_bindgen(constructor)]
    pub fn new(policy: &str, records: &str) -> Result<KeyChecker, JsValue> {
        let policy: Policy =
            serde_json::from_str(policy).map_err(|e| type_error(&format!("policy: {e}")))?;
        let records: Vec<KeyRecord> =
            serde_json::from_str(records).map_err(|e| type_error(&format!("records: {e}")))?;
        let keys =
            KeySet::new(records).map_err(|e| coded("invalid_config", &e.to_string(), None))?;
        Ok(Self { keys, policy })
    }

    /// Runs the ordered check; returns `{ keyId, environment }`.
    ///
    /// # Errors
    /// A `TypeError` when `client_ip` is not an address; otherwise a
    /// `PaysealError` whose `code` is the spec's reason, with `status`,
    /// `responseCode` and the response `body`.
    pub fn check(
        &self,
        api_key: Option<String>,
        method: &str,
        path: &str,
        client_ip: Option<String>,
        webcode: Option<String>,
        now: f64,
    ) -> Result<Object, JsValue> {
        let client_ip = match client_ip.as_deref() {
            Some(text) => Some(
                text.parse::<IpAddr>()
                    .map_err(|_| type_error("clientIp is not an IPv4 or IPv6 address"))?,
            ),
            None => None,
        };
        let request = Request {
            api_key: api_key.as_deref(),
            method,
            path,
            client_ip,
            webcode: webcode.as_deref(),
        };
        let checked = self.keys.check(&request, &self.policy, whole(now));
        if let Some(key) = api_key {
            wipe(key);
        }
        let allowed = checked.map_err(rejection)?;
        Ok(object(&[
            ("keyId", JsValue::from_str(&allowed.key_id)),
            (
                "environment",
                JsValue::from_str(allowed.environment.as_str()),
            ),
        ]))
    }
}

/// A new active key record (JSON text, the spec's format) for `key`, which is hashed and not kept.
///
/// # Errors
/// A `TypeError` for an unknown environment.
#[wasm_bindgen(js_name = createKeyRecord)]
pub fn create_key_record(id: &str, key: String, environment: &str) -> Result<String, JsValue> {
    let environment = Environment::from_name(environment)
        .ok_or_else(|| type_error("environment must be \"live\" or \"test\""))?;
    let record = KeyRecord::new(id, &key, environment);
    wipe(key);
    to_json(&record)
}

/// Whether a merchant should renew its secret now.
///
/// Returns `{ action: "renew_now" }`, `{ action: "wait_until", at }` or
/// `{ action: "rate_limited", retryAt }`. Policy fields left out take the
/// core's defaults.
#[wasm_bindgen(js_name = shouldRenew)]
#[allow(clippy::too_many_arguments)] // positional: the JS layer is the named surface
pub fn should_renew(
    issued_at: f64,
    expires_in: f64,
    last_renewal_at: Option<f64>,
    margin_percent: Option<f64>,
    min_interval: Option<f64>,
    now: f64,
    authentication_failed: bool,
) -> Object {
    let lifetime = SecretLifetime {
        issued_at: whole(issued_at),
        expires_in: whole(expires_in),
        last_renewal_at: last_renewal_at.map(whole),
    };
    let defaults = RenewalPolicy::default();
    let policy = RenewalPolicy {
        margin_percent: margin_percent.map_or(defaults.margin_percent, |m| {
            u8::try_from(whole(m)).unwrap_or(u8::MAX)
        }),
        min_interval: min_interval.map_or(defaults.min_interval, whole),
    };
    #[allow(clippy::cast_precision_loss)] // unix seconds are far below 2^53
    match payseal_core::keys::should_renew(&lifetime, &policy, whole(now), authentication_failed) {
        RenewalDecision::RenewNow => object(&[("action", JsValue::from_str("renew_now"))]),
        RenewalDecision::WaitUntil(at) => object(&[
            ("action", JsValue::from_str("wait_until")),
            ("at", JsValue::from(at as f64)),
        ]),
        RenewalDecision::RateLimited { retry_at } => object(&[
            ("action", JsValue::from_str("rate_limited")),
            ("retryAt", JsValue::from(retry_at as f64)),
        ]),
    }
}
