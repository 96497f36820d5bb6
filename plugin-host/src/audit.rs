//! The audit log of the key lifecycle: who did what to which key, and when.
//!
//! Events go to the store's append-only log ([`Store::append_audit`]), so
//! every gateway sharing a store writes one log. An event names a key by its
//! id and never carries key material: the type has no field a key, a secret,
//! a password or a token could go into, only identifiers and a closed set of
//! actions.

use serde::{Deserialize, Serialize};

use crate::store::{Store, StoreError};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditAction {
    /// A key was created.
    KeyCreated,
    /// A key's allowed IPs or scopes changed.
    KeyEdited,
    /// A key was revoked (permanently).
    KeyRevoked,
    /// A key was replaced by a new value; the old one works for its grace.
    KeyRegenerated,
    /// An environment's client secret was created.
    ClientSecretCreated,
    /// An environment's client secret was replaced.
    ClientSecretRotated,
    /// A merchant renewed its secret through the renewal endpoint.
    SecretRenewed,
    /// A renewal was refused (authentication, inactive URL, rate limit).
    RenewalRefused,
    /// The new secret was delivered to the merchant's reception URL.
    SecretDelivered,
    /// Delivery to the reception URL gave up after its last attempt.
    SecretDeliveryFailed,
    /// An access token and a refresh token were issued for a client.
    TokenIssued,
    /// A refresh token was exchanged for new tokens.
    TokenRefreshed,
    /// An old refresh token was presented again: its family is revoked.
    TokenFamilyRevoked,
    /// An operator released an idempotency key whose outcome was unknown.
    IdempotencyReleased,
    /// A client address or credential was locked out after repeated failed
    /// authentication (one event per lock-out, never one per failure).
    LockedOut,
    /// An admin token was created through the admin API (subject: its name).
    AdminTokenCreated,
    /// An admin token was revoked through the admin API (subject: its name).
    AdminTokenRevoked,
    /// A token client was created through the admin API (subject: its id;
    /// detail: `webcode=<w>` when it has one).
    TokenClientCreated,
    /// A stored token client was deleted; its tokens stop working.
    TokenClientRevoked,
    /// A renewal account was created through the admin API (subject: its
    /// `codeUrl`; detail: `webcode=<w>` when it has one).
    RenewalAccountCreated,
    /// A stored renewal account was deleted.
    RenewalAccountDeleted,
}

/// One event of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Unix seconds.
    pub at: u64,
    /// Who: `token:<name>` (an admin token), `account:<code>`, `client:<id>`.
    pub actor: String,
    /// What.
    pub action: AuditAction,
    /// The key, account or token family it concerns (an id, never a value).
    pub subject: String,
    /// A short reason or outcome code (`rate_limited`, `grace=3600`), never a value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl AuditEvent {
    /// An event without detail.
    pub fn new(at: u64, actor: impl Into<String>, action: AuditAction, subject: impl Into<String>) -> Self {
        Self { at, actor: actor.into(), action, subject: subject.into(), detail: None }
    }

    /// The same event with `detail`.
    #[must_use]
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    /// The same event with the detail `webcode=<w>` when `webcode` is one: a
    /// merchant's audit view selects the events of its token clients and
    /// renewal accounts by it.
    #[must_use]
    pub fn for_webcode(self, webcode: Option<&str>) -> Self {
        match webcode {
            Some(webcode) => self.with_detail(format!("webcode={webcode}")),
            None => self,
        }
    }

    /// Appends the event, logging a failure: the change it records is made
    /// and stays.
    pub async fn record_logged(&self, store: &dyn Store) {
        if let Err(error) = self.record(store).await {
            tracing::error!(%error, action = ?self.action, subject = %self.subject, "cannot write the audit event");
        }
    }

    /// Appends the event to `store`'s log; answers its sequence number.
    ///
    /// # Errors
    /// The store cannot be written.
    pub async fn record(&self, store: &dyn Store) -> Result<u64, StoreError> {
        // Plain data: serializing it cannot fail.
        let line = serde_json::to_string(self).unwrap_or_default();
        store.append_audit(&line).await
    }

    /// The events of `store` after sequence `after`, oldest first, with
    /// their sequence numbers.
    ///
    /// # Errors
    /// The store cannot be read, or an event cannot be decoded.
    pub async fn read(store: &dyn Store, after: u64, limit: usize) -> Result<Vec<(u64, Self)>, StoreError> {
        store
            .audit_events(after, limit)
            .await?
            .into_iter()
            .map(|(sequence, line)| {
                serde_json::from_str(&line).map(|event| (sequence, event)).map_err(|_| StoreError::corrupt("an audit event cannot be decoded"))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::{AuditAction, AuditEvent};
    use crate::store::{RedbStore, Store};

    #[tokio::test]
    async fn events_round_trip_through_the_store_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(RedbStore::open(&dir.path().join("s.redb")).unwrap());
        let created = AuditEvent::new(10, "cli", AuditAction::KeyCreated, "key_1");
        let revoked = AuditEvent::new(20, "admin-api", AuditAction::KeyRevoked, "key_1").with_detail("operator");
        assert_eq!(created.record(store.as_ref()).await.unwrap(), 1);
        assert_eq!(revoked.record(store.as_ref()).await.unwrap(), 2);
        let read = AuditEvent::read(store.as_ref(), 0, 10).await.unwrap();
        assert_eq!(read, vec![(1, created), (2, revoked)]);
        let line = &store.audit_events(1, 1).await.unwrap()[0].1;
        assert_eq!(line, r#"{"at":20,"actor":"admin-api","action":"key_revoked","subject":"key_1","detail":"operator"}"#);
    }
}
