//! The key lifecycle: issue, list, edit, revoke and regenerate keys, rotate
//! client secrets, and let merchants renew their secret — the way payment
//! providers' dashboards do, on the gateway's store.
//!
//! One implementation ([`service`]) serves the admin API ([`api`]) and the
//! merchant renewal endpoint ([`renewal`]); the `payseal keys …` command
//! line ([`cli`]) is a client of the admin API, because the running
//! gateway owns the store and must reload its plugin pool after a change.
//!
//! Only digests of API keys are stored. Secrets the gateway needs again in
//! usable form (client secrets, `base64-secret` shared secrets) are sealed
//! ([`sealing`]). A key, secret or password is shown once (the answer that
//! creates it) and never appears in a listing, an error, a log line or an
//! audit event ([`crate::audit`]).

pub mod accounts;
pub mod api;
pub mod cli;
pub mod config;
pub mod delivery;
pub mod renewal;
pub mod sealing;
pub mod service;
pub mod types;

use std::collections::BTreeMap;
use std::fmt;

use payseal_core::keys::{KeyRecord, KeyStatus};
use zeroize::Zeroizing;

pub use config::{AccountConfig, DeliveryConfig, LifecycleConfig};
pub use sealing::StoreKey;

use crate::env::EnvLookup;
use crate::store::Store;

/// A lifecycle operation that failed. Every variant has a stable code and
/// an HTTP status; messages name ids and fields, never a value.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LifecycleError {
    /// The request is invalid; the message names the field.
    InvalidRequest(String),
    /// No stored key has this id.
    NotFound(String),
    /// The key is revoked; revocation is permanent.
    Revoked(String),
    /// The key was already replaced; act on its successor.
    Superseded(String),
    /// No store key (`lifecycle.store_key_env`) is configured, so a secret
    /// that must be stored sealed cannot be created.
    StoreKeyMissing,
    /// The operating system's random generator failed.
    Random,
    /// Sealing or opening a stored secret failed (wrong store key or tampered entry).
    Sealing,
    /// The store failed.
    Store(String),
    /// The plugin rejected the resulting key records; nothing was kept.
    Rejected(String),
    /// Another change of the same thing won a race; retry.
    Conflict,
}

impl LifecycleError {
    /// Stable code.
    pub const fn code(&self) -> &'static str {
        match self {
            Self::InvalidRequest(_) => "invalid_request",
            Self::NotFound(_) => "key_not_found",
            Self::Revoked(_) => "key_revoked",
            Self::Superseded(_) => "key_superseded",
            Self::StoreKeyMissing => "store_key_missing",
            Self::Random => "random_failed",
            Self::Sealing => "sealing_failed",
            Self::Store(_) => "store_error",
            Self::Rejected(_) => "records_rejected",
            Self::Conflict => "concurrent_change",
        }
    }

    /// HTTP status of the admin API's answer.
    pub const fn status(&self) -> u16 {
        match self {
            Self::InvalidRequest(_) => 400,
            Self::NotFound(_) => 404,
            Self::Revoked(_) | Self::Superseded(_) | Self::Conflict => 409,
            Self::Rejected(_) => 422,
            Self::StoreKeyMissing | Self::Random | Self::Sealing | Self::Store(_) => 500,
        }
    }
}

impl fmt::Display for LifecycleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidRequest(why) => write!(f, "invalid request: {why}"),
            Self::NotFound(id) => write!(f, "no stored key has the id {id:?}"),
            Self::Revoked(id) => write!(f, "key {id:?} is revoked (permanently)"),
            Self::Superseded(id) => write!(f, "key {id:?} was already replaced; act on its successor"),
            Self::StoreKeyMissing => f.write_str(
                "no store key is configured: set lifecycle.store_key_env to an environment variable holding 32 bytes (64 hex digits or base64); client secrets and shared secrets are stored sealed with it (make one with: openssl rand -hex 32)",
            ),
            Self::Random => f.write_str("the system random generator failed"),
            Self::Sealing => f.write_str("a sealed secret cannot be sealed or opened (wrong store key or damaged entry)"),
            Self::Store(e) => write!(f, "{e}"),
            Self::Rejected(e) => write!(f, "the key records were rejected, nothing was kept: {e}"),
            Self::Conflict => f.write_str("a concurrent change of the same entry won; retry"),
        }
    }
}

impl std::error::Error for LifecycleError {}

impl From<crate::store::StoreError> for LifecycleError {
    fn from(e: crate::store::StoreError) -> Self {
        Self::Store(e.to_string())
    }
}

/// The lifecycle part of one configuration (rebuilt on reload).
#[derive(Debug, Default)]
pub struct Lifecycle {
    /// `[lifecycle]` as written.
    pub config: LifecycleConfig,
    store_key: Option<StoreKey>,
}

impl Lifecycle {
    /// Reads the store key named by `store_key_env`.
    ///
    /// # Errors
    /// The variable is named but not set, or its value is not a 32-byte key
    /// (the message names the variable, never its value).
    pub fn from_config(config: &LifecycleConfig, env: &EnvLookup) -> Result<Self, String> {
        let store_key = match &config.store_key_env {
            Some(name) => {
                let text = zeroize::Zeroizing::new(env(name).ok_or_else(|| format!("lifecycle.store_key_env: the environment variable {name} is not set (make a store key with: openssl rand -hex 32)"))?);
                Some(StoreKey::parse(&text).map_err(|_| format!("lifecycle.store_key_env: {name} must hold 32 bytes as 64 hex digits or base64 (make one with: openssl rand -hex 32)"))?)
            }
            None => None,
        };
        Ok(Self { config: config.clone(), store_key })
    }

    /// The store key.
    ///
    /// # Errors
    /// [`LifecycleError::StoreKeyMissing`].
    pub fn store_key(&self) -> Result<&StoreKey, LifecycleError> {
        self.store_key.as_ref().ok_or(LifecycleError::StoreKeyMissing)
    }
}

/// Fills an array from the operating system's CSPRNG.
///
/// # Errors
/// [`LifecycleError::Random`].
pub fn random<const N: usize>() -> Result<zeroize::Zeroizing<[u8; N]>, LifecycleError> {
    let mut bytes = zeroize::Zeroizing::new([0u8; N]);
    getrandom::fill(bytes.as_mut_slice()).map_err(|_| LifecycleError::Random)?;
    Ok(bytes)
}

/// The name of a key's sealed shared secret in the store.
pub(crate) fn shared_secret_entry(id: &str) -> String {
    format!("lifecycle/shared-secret/{id}")
}

/// The shared secrets of stored `base64-secret` keys, opened, by key id:
/// added to the plugin document on every reload, so a created shared secret
/// verifies signed routes without a restart. An entry that cannot be opened
/// (no or another store key) is left out and logged: that key's signed
/// requests then fail closed.
pub async fn stored_shared_secrets(store: &dyn Store, lifecycle: &Lifecycle, records: &[KeyRecord]) -> BTreeMap<String, Vec<Zeroizing<String>>> {
    let mut secrets = BTreeMap::new();
    for record in records.iter().filter(|r| r.status == KeyStatus::Active) {
        let name = shared_secret_entry(&record.id);
        // Sealed secrets never expire: any `now` reads them.
        let sealed = match store.entry(&name, 0).await {
            Ok(Some(sealed)) => sealed,
            Ok(None) => continue,
            Err(error) => {
                tracing::error!(%error, key_id = %record.id, "cannot read a stored shared secret");
                continue;
            }
        };
        let opened = lifecycle.store_key().and_then(|key| key.open(&name, &sealed));
        if let Ok(Ok(text)) = opened.map(|bytes| std::str::from_utf8(&bytes).map(|text| Zeroizing::new(text.to_owned()))) {
            secrets.insert(record.id.clone(), vec![text]);
        } else {
            tracing::error!(key_id = %record.id, "a stored shared secret cannot be opened; its signed requests will fail");
        }
    }
    secrets
}
