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
//!
//! Several gateways may change the same key records at once (one Redis), so
//! no change writes back a copy it read: each one reads the records, plans
//! its swaps from them, checks them against the core's
//! [`check_key_change`], and compare-and-swaps them in
//! ([`Store::swap_key_records`], all or nothing). A lost race reads and
//! plans again; an operation that is no longer valid then (an edit of a key
//! revoked meanwhile) answers its refusal (409 `key_revoked`).

use std::sync::Arc;

use payseal_core::Environment;
use payseal_core::keys::{ID_RANDOM_BYTES, KEY_RANDOM_BYTES, KeyChangeRefusal, KeyFormat, KeyRecord, KeyStatus, check_key_change, key_id};
use zeroize::Zeroizing;

pub use super::types::{Actor, CreateRequest, EditRequest, Issued, KeyMeta, Listed, RegenerateRequest, RotatedSecret};
use super::{AccountConfig, Lifecycle, LifecycleError, random, shared_secret_entry};
use crate::audit::{AuditAction, AuditEvent};
use crate::gateway::{KeyWriteError, Shared, Swapped};
use crate::store::KeySwap;

/// Serializes lifecycle changes within this process. Only an economy: what
/// keeps concurrent changes from losing one another, across every gateway
/// sharing the store, is that every key record write is a compare-and-swap
/// from the records it was planned on ([`Service::change_records`]).
static RECORDS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How many times a compare-and-swap is retried when another writer won.
/// Every lost race is another writer's win, so the retries end; past this
/// many the answer is 409 `concurrent_change`.
const CAS_ATTEMPTS: usize = 16;

/// The stored record `id` among `records`.
fn find<'r>(records: &'r [KeyRecord], id: &str) -> Result<&'r KeyRecord, LifecycleError> {
    records.iter().find(|r| r.id == id).ok_or_else(|| LifecycleError::NotFound(id.to_owned()))
}

/// The swap of the stored `current` for `next`.
fn replace(current: &KeyRecord, next: &KeyRecord) -> Result<KeySwap, LifecycleError> {
    KeySwap::new(Some(current.clone()), Some(next.clone())).map_err(|e| LifecycleError::Store(e.to_string()))
}

/// The swap superseding the stored record `id` at `now` (none when there is
/// no such record, or it is already superseded or revoked).
fn supersede(records: &[KeyRecord], id: Option<&str>, now: u64, grace: u64) -> Result<Option<KeySwap>, LifecycleError> {
    match id.and_then(|id| records.iter().find(|r| r.id == id)) {
        Some(current) if current.superseded_at.is_none() && current.status == KeyStatus::Active => {
            let mut next = current.clone();
            next.supersede(now, grace);
            replace(current, &next).map(Some)
        }
        _ => Ok(None),
    }
}

/// The lifecycle's answer to a change the core's rule forbids.
fn refused(id: &str, refusal: KeyChangeRefusal) -> LifecycleError {
    match refusal {
        KeyChangeRefusal::Revoked => LifecycleError::Revoked(id.to_owned()),
        KeyChangeRefusal::Superseded => LifecycleError::Superseded(id.to_owned()),
        // No lifecycle change plans another identity: a bug, refused whole.
        other => LifecycleError::Rejected(format!("the change of key {id:?} is refused ({})", other.code())),
    }
}

fn meta_entry(id: &str) -> String {
    format!("lifecycle/key/{id}")
}

fn client_secret_entry(environment: Environment) -> String {
    format!("lifecycle/client-secret/{}", environment.as_str())
}

fn account_entry(account: &str) -> String {
    format!("lifecycle/account/{account}")
}

/// The store entry holding an account's renewal lease.
pub fn lease_entry(account: &str) -> String {
    format!("lifecycle/renewal-lease/{account}")
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
    async fn write_companions(&self, id: &str, meta: &KeyMeta, key: &str) -> Result<Vec<(String, Vec<u8>)>, LifecycleError> {
        let now = self.now();
        let mut written = Vec::new();
        if meta.format == KeyFormat::Base64Secret {
            let name = shared_secret_entry(id);
            let sealed = self.lifecycle.store_key()?.seal(&name, key.as_bytes())?;
            if !self.shared.store.swap_entry(&name, None, Some(&sealed), None, now).await? {
                return Err(LifecycleError::Conflict);
            }
            written.push((name, sealed));
        }
        let name = meta_entry(id);
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

    /// Reads the key records, plans a change of them with `plan` (the swaps
    /// from the records read, and what to answer), checks every changed
    /// record against the core's rule ([`check_key_change`]) and swaps the
    /// change in, reloading the pool. When another writer (on any gateway)
    /// changed one of the records meanwhile, the swap changes nothing and
    /// this reads and plans again, so an operation that is no longer valid
    /// (e.g. an edit of a key revoked meanwhile) answers its refusal.
    ///
    /// # Errors
    /// `plan`'s, the rule's, the store's, a rejection, or
    /// [`LifecycleError::Conflict`] after [`CAS_ATTEMPTS`] lost races.
    async fn change_records<T>(&self, mut plan: impl FnMut(&[KeyRecord]) -> Result<(Vec<KeySwap>, T), LifecycleError>) -> Result<T, LifecycleError> {
        for _ in 0..CAS_ATTEMPTS {
            let records = self.shared.store.key_records().await?;
            let (swaps, planned) = plan(&records)?;
            for swap in &swaps {
                if let (Some(current), Some(next)) = (swap.expected(), swap.new_record()) {
                    check_key_change(current, next).map_err(|refusal| refused(swap.id(), refusal))?;
                }
            }
            if swaps.is_empty() {
                return Ok(planned);
            }
            match self.shared.swap_key_records(&swaps).await {
                Ok(Swapped::Stored(_)) => return Ok(planned),
                Ok(Swapped::Lost) => tracing::debug!("a concurrent key record change won; reading the records again"),
                Err(KeyWriteError::Store(e)) => return Err(LifecycleError::Store(e)),
                Err(e) => return Err(LifecycleError::Rejected(e.to_string())),
            }
        }
        Err(LifecycleError::Conflict)
    }

    /// [`Service::change_records`]; on failure removes `written` (what the
    /// change wrote to be reachable from its records).
    async fn commit<T>(&self, plan: impl FnMut(&[KeyRecord]) -> Result<(Vec<KeySwap>, T), LifecycleError>, written: Vec<(String, Vec<u8>)>) -> Result<T, LifecycleError> {
        match self.change_records(plan).await {
            Ok(planned) => Ok(planned),
            Err(error) => {
                self.remove(written).await;
                Err(error)
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
        let written = match self.write_companions(&id, &meta, &key).await {
            Ok(written) => written,
            Err(e) => {
                self.remove(undo).await;
                return Err(e);
            }
        };
        undo.extend(written);
        let create = |records: &[KeyRecord]| {
            // A fresh random id: taken only if the generator repeated itself.
            if records.iter().any(|r| r.id == record.id) {
                return Err(LifecycleError::Conflict);
            }
            Ok((vec![KeySwap::create(record.clone())], ()))
        };
        self.commit(create, undo).await?;
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
            let mut key = Listed::of(&record, meta.as_ref(), now);
            key.last_used_at = self.last_used(&record.id).await?;
            listed.push(key);
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
        let mut key = Listed::of(&record, meta.as_ref(), self.now());
        key.last_used_at = self.last_used(id).await?;
        Ok(key)
    }

    /// When a request last used `id`, RFC 3339.
    async fn last_used(&self, id: &str) -> Result<Option<String>, LifecycleError> {
        Ok(self.shared.last_used.read(self.shared.store.as_ref(), id, self.now()).await?.map(payseal_core::time::format_rfc3339))
    }

    /// Replaces a key's allow-list and/or scopes; takes effect at once.
    ///
    /// # Errors
    /// Unknown or revoked key, nothing to change, the store, or a rejection.
    pub async fn edit(&self, actor: &Actor, id: &str, request: EditRequest) -> Result<Listed, LifecycleError> {
        if request.allowed_ips.is_none() && request.scopes.is_none() {
            return Err(LifecycleError::InvalidRequest("give allowedIps and/or scopes".into()));
        }
        let fields: Vec<&str> = [request.allowed_ips.as_ref().map(|_| "allowed_ips"), request.scopes.as_ref().map(|_| "scopes")].into_iter().flatten().collect();
        let _guard = RECORDS.lock().await;
        let record = self
            .change_records(|records| {
                let current = find(records, id)?;
                if current.status == KeyStatus::Revoked {
                    return Err(LifecycleError::Revoked(id.to_owned()));
                }
                let mut next = current.clone();
                if let Some(ips) = &request.allowed_ips {
                    next.allowed_ips.clone_from(ips);
                }
                if let Some(scopes) = &request.scopes {
                    next.scopes.clone_from(scopes);
                }
                Ok((vec![replace(current, &next)?], next))
            })
            .await?;
        let now = self.now();
        self.audit(AuditEvent::new(now, actor.as_str(), AuditAction::KeyEdited, id).with_detail(format!("fields={}", fields.join(",")))).await;
        let mut listed = Listed::of(&record, self.meta(id).await?.as_ref(), now);
        listed.last_used_at = self.last_used(id).await?;
        Ok(listed)
    }

    /// Revokes a key, permanently; it is refused with `revoked_key` at once.
    ///
    /// # Errors
    /// Unknown or already revoked key, the store, or a rejection.
    pub async fn revoke(&self, actor: &Actor, id: &str) -> Result<Listed, LifecycleError> {
        let _guard = RECORDS.lock().await;
        let record = self
            .change_records(|records| {
                let current = find(records, id)?;
                if current.status == KeyStatus::Revoked {
                    return Err(LifecycleError::Revoked(id.to_owned()));
                }
                let next = KeyRecord { status: KeyStatus::Revoked, ..current.clone() };
                Ok((vec![replace(current, &next)?], next))
            })
            .await?;
        let now = self.now();
        self.audit(AuditEvent::new(now, actor.as_str(), AuditAction::KeyRevoked, id)).await;
        let mut listed = Listed::of(&record, self.meta(id).await?.as_ref(), now);
        listed.last_used_at = self.last_used(id).await?;
        Ok(listed)
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
        // Refused before anything is written; checked again on every read
        // of the change below, which another gateway may have revoked or
        // replaced meanwhile.
        let valid = |current: &KeyRecord| {
            if current.status == KeyStatus::Revoked {
                return Err(LifecycleError::Revoked(id.to_owned()));
            }
            if current.superseded_at.is_some() {
                return Err(LifecycleError::Superseded(id.to_owned()));
            }
            Ok(())
        };
        let first = self.record(id).await?;
        valid(&first)?;
        let old_meta = self.meta(id).await?;
        let format = old_meta.as_ref().map_or(self.lifecycle.config.default_format, |m| m.format);
        let (new_id, key) = Self::issue(format, first.environment)?;
        let grace = request.grace_seconds.unwrap_or(self.lifecycle.config.grace_seconds);
        let meta = KeyMeta {
            created_at: now,
            format,
            created_by: actor.as_str().to_owned(),
            account: old_meta.as_ref().and_then(|m| m.account.clone()),
            replaces: Some(id.to_owned()),
        };
        let created_at = old_meta.map(|m| m.created_at);
        let written = self.write_companions(&new_id, &meta, &key).await?;
        let regenerate = |records: &[KeyRecord]| {
            let current = find(records, id)?;
            valid(current)?;
            let lifetime = request.expires_in_seconds.or_else(|| Some(current.expires_at?.saturating_sub(created_at?).max(1)));
            let mut new = current.successor(new_id.clone(), &key);
            new.expires_at = lifetime.map(|s| now.saturating_add(s));
            let mut old = current.clone();
            old.supersede(now, grace);
            // One swap: the new key and the superseded old one take effect
            // together, or neither does.
            Ok((vec![KeySwap::create(new.clone()), replace(current, &old)?], (new, old)))
        };
        let (new, old) = self.commit(regenerate, written).await?;
        if let Some(account) = &meta.account {
            // An account's key regenerated by an operator becomes the
            // account's current key, so its next renewal supersedes it.
            let pointer = account_entry(account);
            if !self.shared.store.swap_entry(&pointer, Some(id.as_bytes()), Some(new_id.as_bytes()), None, now).await? {
                tracing::warn!(key_id = %id, "the regenerated key was not its account's current key; the account keeps its own");
            }
        }
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
        let written = self.write_companions(&id, &meta, &key).await?;
        let install = |records: &[KeyRecord]| {
            let mut swaps = vec![KeySwap::create(record.clone())];
            swaps.extend(supersede(records, previous.as_deref(), now, grace)?);
            Ok((swaps, ()))
        };
        self.commit(install, written).await?;
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
            self.change_records(|records| Ok((supersede(records, raced.as_deref(), now, grace)?.into_iter().collect(), ()))).await?;
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

    /// Records an event of the renewal endpoint or the delivery.
    pub async fn audit_event(&self, event: AuditEvent) {
        self.audit(event).await;
    }
}

