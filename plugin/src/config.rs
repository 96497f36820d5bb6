//! The plugin's configuration: the manifest's `payseal` config entry, a JSON
//! document parsed once per instance into prepared core objects.
//!
//! Every secret, key record and policy comes from here; no call input can
//! carry one. Secrets are read into [`Secret`]s at once (the text they came
//! in is wiped), prepared into the core's verifiers and signers, and the
//! public view that `describe` returns shows each as `"[redacted]"`.

use std::collections::BTreeMap;

use payseal_config::keys::KeysSection;
use payseal_config::signed_requests::SignedRequestsSection;
use payseal_config::ConfigSecret;
use payseal_core::redirect::{Kdf, OpenError, Opener, Profile};
use payseal_core::rfc9421;
use payseal_core::routes::{IdempotencySettings, Route, RoutePolicy};
use payseal_core::signing::{DEFAULT_TOLERANCE, cybersource, dvpay, standard_webhooks, stripe};
use payseal_core::{Environment, Secret};
use serde::{Deserialize, Serialize};

use crate::error::{self, PluginError, Source};

pub use payseal_config::keys::Keys;
pub use payseal_config::signed_requests::SignedRequests;

/// The manifest config key that holds the configuration document.
pub const CONFIG_KEY: &str = "payseal";

/// Largest call input accepted by default: 1 MiB.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 1024 * 1024;

fn default_tolerance() -> u64 {
    DEFAULT_TOLERANCE
}

fn default_max_input() -> usize {
    DEFAULT_MAX_INPUT_BYTES
}

fn default_profile() -> String {
    "v1".into()
}

fn default_kdf() -> String {
    "sha256".into()
}

/// The document, as written.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    keys: Option<KeysSection>,
    #[serde(default)]
    routes: Vec<Route>,
    #[serde(default)]
    signed_requests: SignedRequestsSection,
    #[serde(default)]
    idempotency: IdempotencySettings,
    #[serde(default)]
    webhooks: BTreeMap<String, RawWebhook>,
    #[serde(default)]
    redirect: BTreeMap<String, RawRedirect>,
    #[serde(default)]
    signers: BTreeMap<String, RawSigner>,
    #[serde(default)]
    limits: Limits,
}

/// Limits on what a call may cost.
#[derive(Clone, Copy, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    /// Largest call input, bytes.
    #[serde(default = "default_max_input")]
    pub max_input_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_input_bytes: DEFAULT_MAX_INPUT_BYTES }
    }
}

#[derive(Deserialize, Serialize)]
#[serde(tag = "scheme", rename_all = "snake_case", deny_unknown_fields)]
enum RawWebhook {
    Dvpay {
        secrets: Vec<ConfigSecret>,
        #[serde(default = "default_tolerance")]
        tolerance: u64,
    },
    Stripe {
        secrets: Vec<ConfigSecret>,
        #[serde(default = "default_tolerance")]
        tolerance: u64,
    },
    StandardWebhooks {
        secrets: Vec<ConfigSecret>,
        #[serde(default = "default_tolerance")]
        tolerance: u64,
    },
    Cybersource {
        keys: Vec<RawCybersourceKey>,
        #[serde(default = "default_tolerance")]
        tolerance: u64,
    },
    Rfc9421 {
        /// `keyid` → secret.
        keys: BTreeMap<String, ConfigSecret>,
        /// Components every accepted signature must cover.
        #[serde(default)]
        required: Vec<String>,
        #[serde(default = "default_tolerance")]
        tolerance: u64,
    },
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawCybersourceKey {
    key_id: String,
    secret: ConfigSecret,
}

#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct RawRedirect {
    environment: Environment,
    #[serde(default = "default_profile")]
    profile: String,
    #[serde(default = "default_kdf")]
    kdf: String,
    secret: ConfigSecret,
    #[serde(default)]
    clock_skew: u64,
}

#[derive(Deserialize, Serialize)]
#[serde(tag = "scheme", rename_all = "snake_case", deny_unknown_fields)]
enum RawSigner {
    Dvpay {
        secret: ConfigSecret,
        /// Sent as `X-Api-Key`; an identifier, not a signing secret.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        api_key: Option<String>,
    },
    Cybersource {
        key_id: String,
        merchant_id: String,
        host: String,
        secret: ConfigSecret,
    },
    Rfc9421 {
        secret: ConfigSecret,
    },
    Stripe {
        secret: ConfigSecret,
    },
    StandardWebhooks {
        secret: ConfigSecret,
    },
}

/// A webhook (or incoming request) verifier, prepared.
pub enum Webhook {
    /// DVPay `X-Signature`.
    Dvpay(dvpay::Verifier, u64),
    /// `Stripe-Signature`.
    Stripe(stripe::Verifier, u64),
    /// Standard Webhooks.
    StandardWebhooks(standard_webhooks::Verifier, u64),
    /// Cybersource HTTP Signature.
    Cybersource(cybersource::Verifier, u64),
    /// RFC 9421 with the required components.
    Rfc9421(rfc9421::Verifier, Vec<String>, u64),
}

impl Webhook {
    /// The scheme's name, as configured.
    pub const fn scheme(&self) -> &'static str {
        match self {
            Self::Dvpay(..) => "dvpay",
            Self::Stripe(..) => "stripe",
            Self::StandardWebhooks(..) => "standard_webhooks",
            Self::Cybersource(..) => "cybersource",
            Self::Rfc9421(..) => "rfc9421",
        }
    }
}

/// An outgoing-request or webhook signer, prepared.
pub enum Signer {
    /// DVPay, with the `X-Api-Key` to send when configured.
    Dvpay(dvpay::Signer, bool),
    /// Cybersource, with the merchant id and host it signs for.
    Cybersource {
        /// The core's signer, holding the key id and secret.
        signer: cybersource::Signer,
        /// `v-c-merchant-id`.
        merchant_id: String,
        /// `Host`.
        host: String,
    },
    /// RFC 9421.
    Rfc9421(rfc9421::Signer),
    /// Stripe-style test double.
    Stripe(stripe::Signer),
    /// Standard Webhooks sender.
    StandardWebhooks(standard_webhooks::Signer),
}

/// The whole configuration, prepared once per plugin instance.
pub struct Config {
    /// API keys; `None` when `check_request` is not configured.
    pub keys: Option<Keys>,
    /// Routes with more than the key check, and idempotency settings.
    pub routes: RoutePolicy,
    /// Secrets of signed routes.
    pub signed_requests: SignedRequests,
    /// Named verifiers for `verify_webhook`.
    pub webhooks: BTreeMap<String, Webhook>,
    /// Named openers for `open_redirect`; an unusable client secret is kept
    /// as its error, reported when the opener is used.
    pub redirect: BTreeMap<String, Result<Opener, OpenError>>,
    /// Named signers for `sign_request`.
    pub signers: BTreeMap<String, Signer>,
    /// Input limits.
    pub limits: Limits,
    /// What `describe` shows: the document with every secret and digest removed.
    pub view: serde_json::Value,
}

impl Config {
    /// Parses and prepares the document; `None` (no config entry) is the
    /// empty configuration.
    ///
    /// # Errors
    /// [`PluginError::InvalidConfig`] naming the first bad field.
    pub fn parse(text: Option<&str>) -> Result<Self, PluginError> {
        let raw: RawConfig = error::parse(text.unwrap_or("{}").as_bytes(), Source::Config)?;
        let view = public_view(&raw)?;
        prepare(raw, view)
    }
}

/// The describe view: secrets are `"[redacted]"` by their type; key digests
/// are dropped here.
fn public_view(raw: &RawConfig) -> Result<serde_json::Value, PluginError> {
    let mut view = serde_json::to_value(raw).map_err(|_| PluginError::config(".", "cannot be shown"))?;
    if let Some(records) = view.pointer_mut("/keys/records").and_then(serde_json::Value::as_array_mut) {
        for record in records {
            if let Some(fields) = record.as_object_mut() {
                fields.remove("key_sha256");
            }
        }
    }
    Ok(view)
}

fn prepare(raw: RawConfig, view: serde_json::Value) -> Result<Config, PluginError> {
    let keys = raw.keys.map(KeysSection::prepare).transpose()?;
    let signed_requests = raw.signed_requests.prepare();
    let routes = payseal_config::routes::prepare(raw.routes, raw.idempotency)?;
    let webhooks = raw.webhooks.into_iter().map(|(name, w)| (name, webhook(w))).collect();
    let mut redirect = BTreeMap::new();
    for (name, r) in raw.redirect {
        let profile = Profile::from_name(&r.profile)
            .ok_or_else(|| PluginError::config(format!("redirect.{name}.profile"), "unknown profile"))?;
        let kdf = Kdf::from_name(&r.kdf)
            .ok_or_else(|| PluginError::config(format!("redirect.{name}.kdf"), "unknown key derivation"))?;
        let opener = Opener::new(r.environment, profile, kdf, &r.secret.0).map(|o| o.with_clock_skew(r.clock_skew));
        redirect.insert(name, opener);
    }
    let signers = raw.signers.into_iter().map(|(name, s)| (name, signer(s))).collect();
    Ok(Config {
        keys,
        routes,
        signed_requests,
        webhooks,
        redirect,
        signers,
        limits: raw.limits,
        view,
    })
}

fn secrets(list: &[ConfigSecret]) -> impl Iterator<Item = &Secret> {
    list.iter().map(|s| &s.0)
}

fn webhook(raw: RawWebhook) -> Webhook {
    match raw {
        RawWebhook::Dvpay { secrets: s, tolerance } => Webhook::Dvpay(dvpay::Verifier::new(secrets(&s)), tolerance),
        RawWebhook::Stripe { secrets: s, tolerance } => Webhook::Stripe(stripe::Verifier::new(secrets(&s)), tolerance),
        RawWebhook::StandardWebhooks { secrets: s, tolerance } => {
            Webhook::StandardWebhooks(standard_webhooks::Verifier::new(secrets(&s)), tolerance)
        }
        RawWebhook::Cybersource { keys, tolerance } => Webhook::Cybersource(
            cybersource::Verifier::new(
                keys.iter().map(|k| cybersource::Key { key_id: &k.key_id, secret: &k.secret.0 }),
            ),
            tolerance,
        ),
        RawWebhook::Rfc9421 { keys, required, tolerance } => Webhook::Rfc9421(
            rfc9421::Verifier::new(keys.iter().map(|(id, s)| (id.as_str(), &s.0))),
            required,
            tolerance,
        ),
    }
}

fn signer(raw: RawSigner) -> Signer {
    match raw {
        RawSigner::Dvpay { secret, api_key } => {
            let sends_key = api_key.is_some();
            Signer::Dvpay(dvpay::Signer::new(api_key.unwrap_or_default(), &secret.0), sends_key)
        }
        RawSigner::Cybersource { key_id, merchant_id, host, secret } => {
            Signer::Cybersource { signer: cybersource::Signer::new(key_id, &secret.0), merchant_id, host }
        }
        RawSigner::Rfc9421 { secret } => Signer::Rfc9421(rfc9421::Signer::new(&secret.0)),
        RawSigner::Stripe { secret } => Signer::Stripe(stripe::Signer::new(&secret.0)),
        RawSigner::StandardWebhooks { secret } => Signer::StandardWebhooks(standard_webhooks::Signer::new(&secret.0)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_error(text: &str) -> (String, String) {
        match Config::parse(Some(text)) {
            Err(PluginError::InvalidConfig { field, message }) => (field, message),
            Err(other) => panic!("{other:?}"),
            Ok(_) => panic!("parsed"),
        }
    }

    #[test]
    fn empty_config_is_valid() {
        let config = Config::parse(None).unwrap();
        assert!(config.keys.is_none() && config.webhooks.is_empty());
        assert_eq!(config.limits.max_input_bytes, DEFAULT_MAX_INPUT_BYTES);
        assert_eq!(config.signed_requests.tolerance, DEFAULT_TOLERANCE);
        assert_eq!(config.routes.idempotency().ttl_seconds, payseal_core::idempotency::DEFAULT_TTL);
        assert_eq!(config.view["signed_requests"]["tolerance"], DEFAULT_TOLERANCE);
    }

    #[test]
    fn bad_fields_are_named_without_their_values() {
        let (field, message) = config_error(r#"{"webhooks":{"main":{"scheme":"stripe","secrets":["whsec_canary"],"tolerance":"whsec_canary2"}}}"#);
        assert!(field.starts_with("webhooks.main"), "{field}");
        assert!(!message.contains("canary"), "{message}");
        let (field, _) = config_error(r#"{"keys":{"records":[{"id":"a","key_sha256":"zz","environment":"live"}]}}"#);
        assert_eq!(field, "keys.records[0].key_sha256");
        let (field, message) = config_error(r#"{"limits":{"max_input":1}}"#);
        assert_eq!((field.as_str(), message.as_str()), ("limits.max_input", "unknown field `max_input`"));
        let (field, _) = config_error(r#"{"redirect":{"r":{"environment":"live","kdf":"md5","secret":"s"}}}"#);
        assert_eq!(field, "redirect.r.kdf");
        let (field, _) = config_error("7");
        assert_eq!(field, ".");
    }

    #[test]
    fn duplicate_records_are_a_config_error() {
        let record = r#"{"id":"a","key_sha256":"b9221c5bfc900f3541492a62e14a7662976b0e845a60358d60e351628a9f6110","environment":"live"}"#;
        let (field, _) = config_error(&format!(r#"{{"keys":{{"records":[{record},{record}]}}}}"#));
        assert_eq!(field, "keys.records");
    }

    #[test]
    fn view_hides_secrets_and_digests() {
        let text = r#"{
            "keys":{"records":[{"id":"a","key_sha256":"b9221c5bfc900f3541492a62e14a7662976b0e845a60358d60e351628a9f6110","environment":"live"}]},
            "signed_requests":{"secrets":{"a":["canary-1"]}},
            "webhooks":{"w":{"scheme":"rfc9421","keys":{"k":"canary-2"}}},
            "redirect":{"r":{"environment":"live","secret":"canary-3"}},
            "signers":{"s":{"scheme":"dvpay","secret":"canary-4","api_key":"ak_1"}}
        }"#;
        let config = Config::parse(Some(text)).unwrap();
        let view = config.view.to_string();
        assert!(!view.contains("canary") && !view.contains("b9221c5b"), "{view}");
        assert!(view.contains("[redacted]") && view.contains("\"ak_1\""), "{view}");
    }

    #[test]
    fn routes_are_the_cores() {
        let config = Config::parse(Some(r#"{"routes":[{"prefix":"/pay/","methods":["post"],"signed":true}]}"#)).unwrap();
        assert!(config.routes.route("POST", "/pay/refund?x=1").is_some());
        let (field, _) = config_error(r#"{"routes":[{"prefix":"/x","signed":true,"rfc9421":{}}]}"#);
        assert_eq!(field, "routes");
    }
}
