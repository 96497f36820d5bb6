//! The lifecycle operations, over the gateway's [`Shared`] state: every
//! caller (admin API, CLI through it, renewal endpoint) goes through here.
//!
//! What is stored, besides key records (digests only):
//!
//! | entry | value |
//! | --- | --- |
//! | `lifecycle/key/<id>` | [`KeyMeta`]: creation time, format, creator, account (never material) |
//! | `lifecycle/client-secret/<environment>` | the environment's client secret, sealed |
//! | `lifecycle/shared-secret/<id>` | a `base64-secret` key's secret, sealed |
//! | `lifecycle/account/<operation_account_code>` | the id of the account's current key |
//! | `lifecycle/renewal-lease/<operation_account_code>` | the account's last rotation time, expiring after `min_interval_seconds` |
//!
//! Writes are ordered so that a failure leaves a consistent state: sealed
//! secrets and metadata are written before the key record that makes them
//! reachable, and removed again when the record is rejected.

use std::collections::BTreeMap;
use std::sync::Arc;

use payseal_core::Environment;
use payseal_core::keys::{ID_RANDOM_BYTES, IpNet, KEY_RANDOM_BYTES, KeyFormat, KeyRecord, KeyStatus, key_id};
use payseal_core::time::format_rfc3339;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{AccountConfig, Lifecycle, LifecycleError, random};
use crate::audit::{AuditAction, AuditEvent};
use crate::gateway::Shared;
use crate::store::Store;

/// Serializes read-modify-write of key records within this process (two
/// concurrent edits of one key must not lose one).
static RECORDS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How many times a compare-and-swap is retried when another writer won.
const CAS_ATTEMPTS: usize = 16;

fn meta_entry(id: &str) -> String {
    format!("lifecycle/key/{id}")
}

fn client_secret_entry(environment: Environment) -> String {
    format!("lifecycle/client-secret/{}", environment.as_str())
}

fn shared_secret_entry(id: &str) -> String {
    format!("lifecycle/shared-secret/{id}")
}

fn account_entry(account: &str) -> String {
    format!("lifecycle/account/{account}")
}

/// The store entry holding an account's renewal lease.
pub fn lease_entry(account: &str) -> String {
    format!("lifecycle/renewal-lease/{account}")
}

/// Who acts: `admin-api`, `cli`, `account:<code>`. Only a short set of
/// characters is kept, so an actor cannot smuggle text into the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor(String);

impl Actor {
    /// `text` cut to 64 characters of `[A-Za-z0-9:._@-]`; `fallback` when nothing is left.
    pub fn new(text: &str, fallback: &str) -> Self {
        let kept: String = text.chars().filter(|c| c.is_ascii_alphanumeric() || ":._@-".contains(*c)).take(64).collect();
        Self(if kept.is_empty() { fallback.to_owned() } else { kept })
    }

    /// The merchant account renewing its secret.
    pub fn account(code: &str) -> Self {
        Self::new(&format!("account:{code}"), "account")
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What the lifecycle keeps about a key besides its record (no material).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyMeta {
    /// Unix seconds.
    pub created_at: u64,
    /// The format the key was issued in.
    pub format: KeyFormat,
    /// The actor that created it.
    pub created_by: String,
    /// The renewal account it belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// The key it replaced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

/// `POST /lifecycle/keys`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateRequest {
    /// `live` or `test`.
    pub environment: Environment,
    /// `prefixed`, `hex64`, `uuid` or `base64-secret` (`lifecycle.default_format` when absent).
    #[serde(default)]
    pub format: Option<KeyFormat>,
    /// Scope names.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Allowed client addresses and CIDR blocks.
    #[serde(default)]
    pub allowed_ips: Vec<IpNet>,
    /// Merchant the key is bound to.
    #[serde(default)]
    pub webcode: Option<String>,
    /// Lifetime from now; no expiry when absent.
    #[serde(default)]
    pub expires_in_seconds: Option<u64>,
}

/// `PATCH /lifecycle/keys/<id>`: the fields to replace.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct EditRequest {
    /// New allow-list (empty: any address).
    #[serde(default)]
    pub allowed_ips: Option<Vec<IpNet>>,
    /// New scopes (empty: every route of the environment).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
}

/// `POST /lifecycle/keys/<id>/regenerate`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RegenerateRequest {
    /// Grace of the old key (`lifecycle.grace_seconds` when absent), capped by its expiry.
    #[serde(default)]
    pub grace_seconds: Option<u64>,
    /// Lifetime of the new key from now; when absent the old key's
    /// lifetime is kept (no expiry if it had none).
    #[serde(default)]
    pub expires_in_seconds: Option<u64>,
}

/// A newly issued key: the only value that carries its text.
pub struct Issued {
    /// Its id.
    pub key_id: String,
    /// The key, shown once.
    pub key: Zeroizing<String>,
    /// Environment.
    pub environment: Environment,
    /// Format.
    pub format: KeyFormat,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds.
    pub expires_at: Option<u64>,
    /// The environment's client secret, when this key created it (shown once).
    pub client_secret: Option<Zeroizing<String>>,
    /// The key it replaced, and when that one stops working.
    pub replaces: Option<(String, Option<u64>)>,
}

impl std::fmt::Debug for Issued {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Issued").field("key_id", &self.key_id).field("environment", &self.environment).finish_non_exhaustive()
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IssuedBody<'a> {
    key_id: &'a str,
    key: &'a str,
    status: &'static str,
    environment: Environment,
    format: KeyFormat,
    created_at: String,
    expiration_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replaces: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    replaced_key_usable_until: Option<String>,
}

impl Issued {
    /// The answer that shows the key (and a new client secret) once:
    /// `{"keyId","key","status":"ACTIVE","environment","format","createdAt","expirationDate",…}`.
    pub fn body(&self) -> Zeroizing<Vec<u8>> {
        let body = IssuedBody {
            key_id: &self.key_id,
            key: &self.key,
            status: "ACTIVE",
            environment: self.environment,
            format: self.format,
            created_at: format_rfc3339(self.created_at),
            expiration_date: self.expires_at.map(format_rfc3339),
            client_secret: self.client_secret.as_deref().map(String::as_str),
            replaces: self.replaces.as_ref().map(|(id, _)| id.as_str()),
            replaced_key_usable_until: self.replaces.as_ref().and_then(|(_, until)| until.map(format_rfc3339)),
        };
        // Plain data: serializing it cannot fail.
        Zeroizing::new(serde_json::to_vec(&body).unwrap_or_default())
    }
}

/// A key as listed: every field except its material.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// Id.
    pub key_id: String,
    /// `ACTIVE`, `SUPERSEDED` (in grace), `ROTATED_OUT`, `REVOKED`, `EXPIRED`, `NOT_YET_VALID`.
    pub status: &'static str,
    /// Environment.
    pub environment: Environment,
    /// Format (absent for records stored without the lifecycle).
    pub format: Option<KeyFormat>,
    /// Scopes.
    pub scopes: Vec<String>,
    /// Allow-list.
    pub allowed_ips: Vec<IpNet>,
    /// Webcode.
    pub webcode: Option<String>,
    /// RFC 3339.
    pub created_at: Option<String>,
    /// RFC 3339.
    pub expiration_date: Option<String>,
    /// RFC 3339.
    pub superseded_at: Option<String>,
    /// When it stops working for its age (expiry or end of grace), RFC 3339.
    pub usable_until: Option<String>,
    /// Creator.
    pub created_by: Option<String>,
    /// Renewal account.
    pub account: Option<String>,
    /// The key it replaced.
    pub replaces: Option<String>,
}

impl Listed {
    fn of(record: &KeyRecord, meta: Option<&KeyMeta>, now: u64) -> Self {
        Self {
            key_id: record.id.clone(),
            status: record.state_at(now).as_str(),
            environment: record.environment,
            format: meta.map(|m| m.format),
            scopes: record.scopes.clone(),
            allowed_ips: record.allowed_ips.clone(),
            webcode: record.webcode.clone(),
            created_at: meta.map(|m| format_rfc3339(m.created_at)),
            expiration_date: record.expires_at.map(format_rfc3339),
            superseded_at: record.superseded_at.map(format_rfc3339),
            usable_until: record.usable_until().map(format_rfc3339),
            created_by: meta.map(|m| m.created_by.clone()),
            account: meta.and_then(|m| m.account.clone()),
            replaces: meta.and_then(|m| m.replaces.clone()),
        }
    }
}

/// A rotated client secret, shown once.
pub struct RotatedSecret {
    /// Environment.
    pub environment: Environment,
    /// The new secret.
    pub client_secret: Zeroizing<String>,
    /// Unix seconds.
    pub rotated_at: u64,
}

impl RotatedSecret {
    /// `{"environment","clientSecret","rotatedAt"}`.
    pub fn body(&self) -> Zeroizing<Vec<u8>> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            environment: Environment,
            client_secret: &'a str,
            rotated_at: String,
        }
        let body = Body { environment: self.environment, client_secret: &self.client_secret, rotated_at: format_rfc3339(self.rotated_at) };
        Zeroizing::new(serde_json::to_vec(&body).unwrap_or_default())
    }
}

/// The lifecycle operations of one gateway.
pub struct Service<'a> {
    shared: &'a Shared,
    lifecycle: Arc<Lifecycle>,
}

impl<'a> Service<'a> {
    /// The operations with the current configuration.
    pub fn new(shared: &'a Shared) -> Self {
        let lifecycle = Arc::clone(&shared.runtime.load().lifecycle);
        Self { shared, lifecycle }
    }

    fn now(&self) -> u64 {
        self.shared.clock.now()
    }

    async fn audit(&self, event: AuditEvent) {
        // The change is made and the key may already have been shown: a
        // failed audit write cannot undo it, so it is logged loudly instead.
        if let Err(error) = event.record(self.shared.store.as_ref()).await {
            tracing::error!(%error, action = ?event.action, subject = %event.subject, "cannot write the audit event");
        }
    }

    async fn meta(&self, id: &str) -> Result<Option<KeyMeta>, LifecycleError> {
        let now = self.now();
        Ok(self.shared.store.entry(&meta_entry(id), now).await?.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    async fn record(&self, id: &str) -> Result<KeyRecord, LifecycleError> {
        self.shared
            .store
            .key_records()
            .await?
            .into_iter()
            .find(|r| r.id == id)
            .ok_or_else(|| LifecycleError::NotFound(id.to_owned()))
    }

    /// A fresh id and key text.
    fn issue(format: KeyFormat, environment: Environment) -> Result<(String, Zeroizing<String>), LifecycleError> {
        let id = key_id(&*random::<ID_RANDOM_BYTES>()?);
        let key = format.issue(environment, &*random::<KEY_RANDOM_BYTES>()?);
        Ok((id, key))
    }

    /// Writes what must exist before `record` is reachable: its metadata and,
    /// for a shared secret, the sealed secret. Answers the entries written.
    async fn write_companions(&self, record: &KeyRecord, meta: &KeyMeta, key: &str) -> Result<Vec<(String, Vec<u8>)>, LifecycleError> {
        let now = self.now();
        let mut written = Vec::new();
        if meta.format == KeyFormat::Base64Secret {
            let name = shared_secret_entry(&record.id);
            let sealed = self.lifecycle.store_key()?.seal(&name, key.as_bytes())?;
            if !self.shared.store.swap_entry(&name, None, Some(&sealed), None, now).await? {
                return Err(LifecycleError::Conflict);
            }
            written.push((name, sealed));
        }
        let name = meta_entry(&record.id);
        let bytes = serde_json::to_vec(meta).map_err(|_| LifecycleError::Store("cannot write key metadata".into()))?;
        if !self.shared.store.swap_entry(&name, None, Some(&bytes), None, now).await? {
            self.remove(written).await;
            return Err(LifecycleError::Conflict);
        }
        written.push((name, bytes));
        Ok(written)
    }

    /// Removes entries this operation wrote, if they are still ours.
    async fn remove(&self, written: Vec<(String, Vec<u8>)>) {
        let now = self.now();
        for (name, bytes) in written {
            if let Err(error) = self.shared.store.swap_entry(&name, Some(&bytes), None, None, now).await {
                tracing::error!(%error, entry = %name, "cannot remove a lifecycle entry after a failed change");
            }
        }
    }

    /// Stores `records` (one reload); on failure removes `written`.
    async fn commit(&self, records: &[KeyRecord], written: Vec<(String, Vec<u8>)>) -> Result<(), LifecycleError> {
        match self.shared.put_key_records(records).await {
            Ok(_) => Ok(()),
            Err(error) => {
                self.remove(written).await;
                Err(LifecycleError::Rejected(error))
            }
        }
    }

    /// Creates the environment's client secret if it has none yet; answers
    /// it (to show once) and the entry written.
    async fn ensure_client_secret(&self, environment: Environment) -> Result<Option<(Zeroizing<String>, (String, Vec<u8>))>, LifecycleError> {
        let now = self.now();
        let name = client_secret_entry(environment);
        if self.shared.store.entry(&name, now).await?.is_some() {
            return Ok(None);
        }
        let secret = KeyFormat::Base64Secret.issue(environment, &*random::<KEY_RANDOM_BYTES>()?);
        let sealed = self.lifecycle.store_key()?.seal(&name, secret.as_bytes())?;
        if self.shared.store.swap_entry(&name, None, Some(&sealed), None, now).await? {
            Ok(Some((secret, (name, sealed))))
        } else {
            // A concurrent first key created it: that answer shows it.
            Ok(None)
        }
    }

    /// Issues a key; the first key of an environment also creates the
    /// environment's client secret.
    ///
    /// # Errors
    /// A bad request, no store key where one is needed, the store, or the
    /// plugin rejecting the record; nothing is kept then.
    pub async fn create(&self, actor: &Actor, request: CreateRequest) -> Result<Issued, LifecycleError> {
        let format = request.format.unwrap_or(self.lifecycle.config.default_format);
        if request.expires_in_seconds == Some(0) {
            return Err(LifecycleError::InvalidRequest("expiresInSeconds must be above 0".into()));
        }
        let _guard = RECORDS.lock().await;
        let now = self.now();
        // Checked before anything is written: every first key needs it.
        let client_secret = self.ensure_client_secret(request.environment).await?;
        let (id, key) = Self::issue(format, request.environment)?;
        let mut record = KeyRecord::new(id.clone(), &key, request.environment);
        record.scopes = request.scopes;
        record.allowed_ips = request.allowed_ips;
        record.webcode = request.webcode;
        record.expires_at = request.expires_in_seconds.map(|s| now.saturating_add(s));
        let meta = KeyMeta { created_at: now, format, created_by: actor.as_str().to_owned(), account: None, replaces: None };
        let mut undo: Vec<(String, Vec<u8>)> = client_secret.as_ref().map(|(_, entry)| entry.clone()).into_iter().collect();
        let written = match self.write_companions(&record, &meta, &key).await {
            Ok(written) => written,
            Err(e) => {
                self.remove(undo).await;
                return Err(e);
            }
        };
        undo.extend(written);
        self.commit(std::slice::from_ref(&record), undo).await?;
        self.audit(AuditEvent::new(now, actor.as_str(), AuditAction::KeyCreated, &id).with_detail(format!("environment={}", request.environment.as_str()))).await;
        if client_secret.is_some() {
            self.audit(AuditEvent::new(now, actor.as_str(), AuditAction::ClientSecretCreated, request.environment.as_str())).await;
        }
        Ok(Issued {
            key_id: id,
            key,
            environment: record.environment,
            format,
            created_at: now,
            expires_at: record.expires_at,
            client_secret: client_secret.map(|(secret, _)| secret),
            replaces: None,
        })
    }

    /// Every stored key, newest first, without material.
    ///
    /// # Errors
    /// The store.
    pub async fn list(&self) -> Result<Vec<Listed>, LifecycleError> {
        let now = self.now();
        let mut listed = Vec::new();
        for record in self.shared.store.key_records().await? {
            let meta = self.meta(&record.id).await?;
            listed.push(Listed::of(&record, meta.as_ref(), now));
        }
        listed.sort_by(|a, b| b.created_at.cmp(&a.created_at).then_with(|| a.key_id.cmp(&b.key_id)));
        Ok(listed)
    }

    /// One stored key, without material.
    ///
    /// # Errors
    /// Unknown id, or the store.
    pub async fn get(&self, id: &str) -> Result<Listed, LifecycleError> {
        let record = self.record(id).await?;
        let meta = self.meta(id).await?;
        Ok(Listed::of(&record, meta.as_ref(), self.now()))
    }

    /// Replaces a key's allow-list and/or scopes; takes effect at once.
    ///
    /// # Errors
    /// Unknown or revoked key, nothing to change, the store, or a rejection.
    pub async fn edit(&self, actor: &Actor, id: &str, request: EditRequest) -> Result<Listed, LifecycleError> {
        if request.allowed_ips.is_none() && request.scopes.is_none() {
            return Err(LifecycleError::InvalidRequest("give allowedIps and/or scopes".into()));
        }
        let _guard = RECORDS.lock().await;
        let mut record = self.record(id).await?;
        if record.status == KeyStatus::Revoked {
            return Err(LifecycleError::Revoked(id.to_owned()));
        }
        let mut fields = Vec::new();
        if let Some(ips) = request.allowed_ips {
            record.allowed_ips = ips;
            fields.push("allowed_ips");
        }
        if let Some(scopes) = request.scopes {
            record.scopes = scopes;
            fields.push("scopes");
        }
        self.commit(std::slice::from_ref(&record), Vec::new()).await?;
        let now = self.now();
        self.audit(AuditEvent::new(now, actor.as_str(), AuditAction::KeyEdited, id).with_detail(format!("fields={}", fields.join(",")))).await;
        Ok(Listed::of(&record, self.meta(id).await?.as_ref(), now))
    }

    /// Revokes a key, permanently; it is refused with `revoked_key` at once.
    ///
    /// # Errors
    /// Unknown or already revoked key, the store, or a rejection.
    pub async fn revoke(&self, actor: &Actor, id: &str) -> Result<Listed, LifecycleError> {
        let _guard = RECORDS.lock().await;
        let mut record = self.record(id).await?;
        if record.status == KeyStatus::Revoked {
            return Err(LifecycleError::Revoked(id.to_owned()));
        }
        record.status = KeyStatus::Revoked;
        self.commit(std::slice::from_ref(&record), Vec::new()).await?;
        let now = self.now();
        self.audit(AuditEvent::new(now, actor.as_str(), AuditAction::KeyRevoked, id)).await;
        Ok(Listed::of(&record, self.meta(id).await?.as_ref(), now))
    }

    /// Issues a new key with the same configuration; the old one works for
    /// its grace (never past its own expiry), then is refused `rotated_out`.
    ///
    /// # Errors
    /// Unknown, revoked or already replaced key, the store, or a rejection.
    pub async fn regenerate(&self, actor: &Actor, id: &str, request: RegenerateRequest) -> Result<Issued, LifecycleError> {
        if request.expires_in_seconds == Some(0) {
            return Err(LifecycleError::InvalidRequest("expiresInSeconds must be above 0".into()));
        }
        let _guard = RECORDS.lock().await;
        let now = self.now();
        let mut old = self.record(id).await?;
        if old.status == KeyStatus::Revoked {
            return Err(LifecycleError::Revoked(id.to_owned()));
        }
        if old.superseded_at.is_some() {
            return Err(LifecycleError::Superseded(id.to_owned()));
        }
        let old_meta = self.meta(id).await?;
        let format = old_meta.as_ref().map_or(self.lifecycle.config.default_format, |m| m.format);
        let lifetime = request.expires_in_seconds.or_else(|| {
            let created = old_meta.as_ref()?.created_at;
            Some(old.expires_at?.saturating_sub(created).max(1))
        });
        let (new_id, key) = Self::issue(format, old.environment)?;
        let mut new = old.successor(new_id.clone(), &key);
        new.expires_at = lifetime.map(|s| now.saturating_add(s));
        let grace = request.grace_seconds.unwrap_or(self.lifecycle.config.grace_seconds);
        old.supersede(now, grace);
        let meta = KeyMeta {
            created_at: now,
            format,
            created_by: actor.as_str().to_owned(),
            account: old_meta.and_then(|m| m.account),
            replaces: Some(id.to_owned()),
        };
        let written = self.write_companions(&new, &meta, &key).await?;
        self.commit(&[new.clone(), old.clone()], written).await?;
        self.audit(AuditEvent::new(now, actor.as_str(), AuditAction::KeyCreated, &new_id).with_detail(format!("replaces={id}"))).await;
        self.audit(AuditEvent::new(now, actor.as_str(), AuditAction::KeyRegenerated, id).with_detail(format!("replaced_by={new_id} grace={grace}"))).await;
        Ok(Issued {
            key_id: new_id,
            key,
            environment: new.environment,
            format,
            created_at: now,
            expires_at: new.expires_at,
            client_secret: None,
            replaces: Some((id.to_owned(), old.usable_until())),
        })
    }

    /// Replaces an environment's client secret (creates it if it has none).
    ///
    /// # Errors
    /// No store key, the RNG, or the store.
    pub async fn rotate_client_secret(&self, actor: &Actor, environment: Environment) -> Result<RotatedSecret, LifecycleError> {
        let name = client_secret_entry(environment);
        let store_key = self.lifecycle.store_key()?;
        for _ in 0..CAS_ATTEMPTS {
            let now = self.now();
            let current = self.shared.store.entry(&name, now).await?;
            let secret = KeyFormat::Base64Secret.issue(environment, &*random::<KEY_RANDOM_BYTES>()?);
            let sealed = store_key.seal(&name, secret.as_bytes())?;
            if self.shared.store.swap_entry(&name, current.as_deref(), Some(&sealed), None, now).await? {
                let action = if current.is_some() { AuditAction::ClientSecretRotated } else { AuditAction::ClientSecretCreated };
                self.audit(AuditEvent::new(now, actor.as_str(), action, environment.as_str())).await;
                return Ok(RotatedSecret { environment, client_secret: secret, rotated_at: now });
            }
        }
        Err(LifecycleError::Conflict)
    }

    /// The environment's client secret, opened (for checking signatures).
    ///
    /// # Errors
    /// No store key, a damaged entry, or the store.
    pub async fn client_secret(&self, environment: Environment) -> Result<Option<Zeroizing<Vec<u8>>>, LifecycleError> {
        self.open(&client_secret_entry(environment)).await
    }

    /// A `base64-secret` key's shared secret, opened.
    ///
    /// # Errors
    /// No store key, a damaged entry, or the store.
    pub async fn shared_secret(&self, id: &str) -> Result<Option<Zeroizing<Vec<u8>>>, LifecycleError> {
        self.open(&shared_secret_entry(id)).await
    }

    async fn open(&self, name: &str) -> Result<Option<Zeroizing<Vec<u8>>>, LifecycleError> {
        match self.shared.store.entry(name, self.now()).await? {
            Some(sealed) => self.lifecycle.store_key()?.open(name, &sealed).map(Some),
            None => Ok(None),
        }
    }

    /// Installs a renewed secret for `account` (the caller holds the
    /// account's rate-limit lease): a new key from the account's template,
    /// expiring after `secret_lifetime_seconds`; the account's previous key
    /// is superseded with its grace. When renewals race, the last to
    /// install wins and supersedes every earlier one.
    ///
    /// # Errors
    /// The RNG, sealing, the store, or a rejection; nothing is kept then.
    pub async fn renew(&self, account: &AccountConfig) -> Result<Issued, LifecycleError> {
        let _guard = RECORDS.lock().await;
        let now = self.now();
        let actor = Actor::account(&account.operation_account_code);
        let pointer = account_entry(&account.operation_account_code);
        let format = account.format.unwrap_or(self.lifecycle.config.default_format);
        let grace = account.grace_seconds.unwrap_or(self.lifecycle.config.grace_seconds);
        let (id, key) = Self::issue(format, account.environment)?;
        let mut record = KeyRecord::new(id.clone(), &key, account.environment);
        record.scopes.clone_from(&account.scopes);
        record.allowed_ips.clone_from(&account.allowed_ips);
        record.webcode.clone_from(&account.webcode);
        record.expires_at = Some(now.saturating_add(account.secret_lifetime_seconds));
        let mut current = self.shared.store.entry(&pointer, now).await?;
        let previous = current.as_deref().map(|b| String::from_utf8_lossy(b).into_owned());
        let meta = KeyMeta {
            created_at: now,
            format,
            created_by: actor.as_str().to_owned(),
            account: Some(account.operation_account_code.clone()),
            replaces: previous.clone(),
        };
        let written = self.write_companions(&record, &meta, &key).await?;
        let mut records = vec![record.clone()];
        records.extend(self.superseded(previous.as_deref(), now, grace).await?);
        self.commit(&records, written).await?;
        // Point the account at the new key; a renewal that raced in between
        // is superseded too, so exactly one key of the account stays current.
        let mut replaced = previous;
        let mut installed = false;
        for _ in 0..CAS_ATTEMPTS {
            if self.shared.store.swap_entry(&pointer, current.as_deref(), Some(id.as_bytes()), None, now).await? {
                installed = true;
                break;
            }
            current = self.shared.store.entry(&pointer, now).await?;
            let raced = current.as_deref().map(|b| String::from_utf8_lossy(b).into_owned());
            let superseded = self.superseded(raced.as_deref(), now, grace).await?;
            if !superseded.is_empty() {
                self.shared.put_key_records(&superseded).await.map_err(LifecycleError::Rejected)?;
            }
            replaced = raced;
        }
        if !installed {
            return Err(LifecycleError::Conflict);
        }
        let detail = replaced.as_deref().map_or_else(|| format!("grace={grace}"), |r| format!("replaces={r} grace={grace}"));
        self.audit(AuditEvent::new(now, actor.as_str(), AuditAction::SecretRenewed, &id).with_detail(detail)).await;
        Ok(Issued {
            key_id: id,
            key,
            environment: account.environment,
            format,
            created_at: now,
            expires_at: record.expires_at,
            client_secret: None,
            replaces: replaced.map(|r| (r, None)),
        })
    }

    /// The stored record `id`, superseded at `now` (empty when there is none,
    /// or it is already superseded or revoked).
    async fn superseded(&self, id: Option<&str>, now: u64, grace: u64) -> Result<Vec<KeyRecord>, LifecycleError> {
        let Some(id) = id else { return Ok(Vec::new()) };
        match self.record(id).await {
            Ok(mut record) if record.superseded_at.is_none() && record.status == KeyStatus::Active => {
                record.supersede(now, grace);
                Ok(vec![record])
            }
            Ok(_) | Err(LifecycleError::NotFound(_)) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }

    /// Records an event of the renewal endpoint or the delivery.
    pub async fn audit_event(&self, event: AuditEvent) {
        self.audit(event).await;
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actors_keep_only_plain_characters() {
        assert_eq!(Actor::new("cli", "admin-api").as_str(), "cli");
        assert_eq!(Actor::new("", "admin-api").as_str(), "admin-api");
        assert_eq!(Actor::new("ops\n{\"x\":1} é", "admin-api").as_str(), "opsx:1");
        assert_eq!(Actor::new(&"a".repeat(100), "x").as_str().len(), 64);
        assert_eq!(Actor::account("ACC_PROD_001").as_str(), "account:ACC_PROD_001");
    }

    #[test]
    fn issued_body_shows_the_key_and_debug_does_not() {
        let issued = Issued {
            key_id: "key_1".into(),
            key: Zeroizing::new("sk_live_canary".into()),
            environment: Environment::Live,
            format: KeyFormat::Prefixed,
            created_at: 1_719_500_100,
            expires_at: None,
            client_secret: Some(Zeroizing::new("client-canary".into())),
            replaces: None,
        };
        let body: serde_json::Value = serde_json::from_slice(&issued.body()).unwrap();
        assert_eq!(body["key"], "sk_live_canary");
        assert_eq!(body["clientSecret"], "client-canary");
        assert_eq!(body["createdAt"], "2024-06-27T14:55:00Z");
        assert_eq!(body["expirationDate"], serde_json::Value::Null);
        let debug = format!("{issued:?}");
        assert!(!debug.contains("canary"), "{debug}");
    }
}
