//! Token clients created through the admin API (`GET`, `POST
//! /lifecycle/token-clients`, `DELETE /lifecycle/token-clients/<id>`),
//! besides the `[[tokens.clients]]` of the file.
//!
//! Kept in the store entry [`ENTRY`] ([`crate::stored_list`]) as the
//! digest of the secret, never the secret: the secret (`cs_` and 256
//! random bits) is shown once, in the answer to the creation. Each reload
//! adds the stored clients to the file's ([`merged`]); a stored client whose
//! id the file uses is left out (the file wins, as it cannot be changed
//! here). Removing a client ends its access tokens at once (the core refuses
//! a token whose client is no longer configured) and its refresh tokens.
//! On every gateway sharing the store: a change is announced
//! ([`crate::store::Store::announce_change`]), which moves the version their
//! store watch follows, so they reload too.
//!
//! A merchant (`merchant:<webcode>`) sees and manages only the clients of
//! its webcode, whose keys must be keys of that webcode; another webcode's
//! client answers 404 as one that does not exist. File clients belong to no
//! webcode.

use payseal_core::tokens::{TokenClient, TokenDigest, TokenPolicy};
use serde::{Deserialize, Serialize};

use crate::access::problem::CredentialKind;
use crate::access::role::valid_name;
use crate::access::{AdminError, IssuedToken, Scope};
use crate::audit::{AuditAction, AuditEvent};
use crate::store::{Store, StoreError};

/// The store entry of the created clients.
pub const ENTRY: &str = "tokens/clients";

/// The prefix of a created client secret.
pub const SECRET_PREFIX: &str = "cs_";

/// A client as stored: its secret's digest, never the secret.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredClient {
    /// The `client_id`.
    pub id: String,
    /// SHA-256 of the secret.
    pub secret_sha256: TokenDigest,
    /// The API keys (record ids) its access tokens work with.
    pub key_ids: Vec<String>,
    /// The merchant it belongs to.
    pub webcode: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// The audit actor that created it.
    pub created_by: String,
}

impl std::fmt::Debug for StoredClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredClient").field("id", &self.id).field("webcode", &self.webcode).finish_non_exhaustive()
    }
}

/// The stored clients.
///
/// # Errors
/// The store, or an entry that cannot be decoded.
pub async fn stored(store: &dyn Store, now: u64) -> Result<Vec<StoredClient>, StoreError> {
    crate::stored_list::read(store, ENTRY, now).await.map(|(_, clients)| clients)
}

/// The file's policy with the stored clients added (ids the file uses left out).
pub fn merged(policy: &TokenPolicy, stored: &[StoredClient]) -> TokenPolicy {
    let mut merged = policy.clone();
    for client in stored {
        if merged.client(&client.id).is_some() {
            tracing::warn!(client = %client.id, "a stored token client has the id of a configured one; the file's is used");
            continue;
        }
        merged.clients.push(TokenClient { id: client.id.clone(), secret_sha256: client.secret_sha256, key_ids: client.key_ids.clone() });
    }
    merged
}

/// `POST /lifecycle/token-clients`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateClient {
    /// The `client_id`: `[A-Za-z0-9._-]{1,64}`, unique.
    pub id: String,
    /// The API keys (record ids) its tokens work with; at least one.
    pub key_ids: Vec<String>,
    /// Its merchant; a merchant token's clients are of its own webcode.
    #[serde(default)]
    pub webcode: Option<String>,
}

/// A client as listed: never its secret nor its digest.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedClient {
    /// The `client_id`.
    pub id: String,
    /// The API keys its tokens work with.
    pub key_ids: Vec<String>,
    /// Its merchant.
    pub webcode: Option<String>,
    /// `config` or `store`.
    pub source: &'static str,
    /// Unix seconds (stored clients).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<u64>,
    /// Who created it (stored clients).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// A created client, its secret shown once.
pub struct Created {
    client: StoredClient,
    secret: IssuedToken,
}

impl Created {
    /// `{"id","keyIds","webcode","clientSecret"}`, from a buffer wiped when dropped.
    pub fn body(&self) -> zeroize::Zeroizing<Vec<u8>> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            id: &'a str,
            key_ids: &'a [String],
            webcode: Option<&'a str>,
            client_secret: &'a str,
        }
        let c = &self.client;
        let body = Body { id: &c.id, key_ids: &c.key_ids, webcode: c.webcode.as_deref(), client_secret: self.secret.expose() };
        zeroize::Zeroizing::new(serde_json::to_vec(&body).unwrap_or_default())
    }
}

/// The file's clients and the stored ones within `scope`.
///
/// # Errors
/// The store.
pub async fn list(policy: Option<&TokenPolicy>, store: &dyn Store, now: u64, scope: &Scope) -> Result<Vec<ListedClient>, AdminError> {
    let from_file = policy.iter().flat_map(|p| p.clients.iter()).filter(|_| scope.covers(None)).map(|c| ListedClient {
        id: c.id.clone(),
        key_ids: c.key_ids.clone(),
        webcode: None,
        source: "config",
        created_at: None,
        created_by: None,
    });
    let from_store = stored(store, now).await?.into_iter().filter(|c| scope.covers(c.webcode.as_deref())).map(|c| ListedClient {
        id: c.id,
        key_ids: c.key_ids,
        webcode: c.webcode,
        source: "store",
        created_at: Some(c.created_at),
        created_by: Some(c.created_by),
    });
    Ok(from_file.chain(from_store).collect())
}

/// Creates a stored client. A merchant's client is of its webcode and may
/// name only that webcode's keys.
///
/// # Errors
/// No `[tokens]`, a bad id or key list, an id in use, another webcode, the
/// RNG or the store.
pub async fn create(policy: Option<&TokenPolicy>, store: &dyn Store, now: u64, scope: &Scope, actor: &str, mut request: CreateClient) -> Result<Created, AdminError> {
    let policy = policy.ok_or(AdminError::TokensNotConfigured)?;
    if !valid_name(&request.id) {
        return Err(AdminError::InvalidRequest("id: 1 to 64 of A-Z a-z 0-9 . _ -".into()));
    }
    if request.key_ids.is_empty() || request.key_ids.len() > 64 || !request.key_ids.iter().all(|k| valid_name(k)) {
        return Err(AdminError::InvalidRequest("keyIds: 1 to 64 key ids its tokens work with".into()));
    }
    if request.webcode.as_deref().is_some_and(|w| !valid_name(w)) {
        return Err(AdminError::InvalidRequest("webcode: 1 to 64 of A-Z a-z 0-9 . _ -".into()));
    }
    if let Scope::Webcode(own) = scope {
        if request.webcode.as_ref().is_some_and(|w| w != own) {
            return Err(AdminError::InvalidRequest("webcode: a merchant token creates clients of its own webcode only".into()));
        }
        request.webcode = Some(own.clone());
        // Its tokens must not open another merchant's key.
        let records = store.key_records().await?;
        let foreign = request.key_ids.iter().find(|id| !records.iter().any(|r| &r.id == *id && scope.covers(r.webcode.as_deref())));
        if let Some(id) = foreign {
            return Err(AdminError::InvalidRequest(format!("keyIds: no key {id:?} of this webcode")));
        }
    }
    if policy.client(&request.id).is_some() {
        return Err(AdminError::CredentialExists(CredentialKind::TokenClient, request.id));
    }
    let secret = IssuedToken::with_prefix(SECRET_PREFIX)?;
    let client = StoredClient {
        id: request.id,
        secret_sha256: secret.digest(),
        key_ids: request.key_ids,
        webcode: request.webcode,
        created_at: now,
        created_by: actor.to_owned(),
    };
    crate::stored_list::change(store, ENTRY, now, |clients: &mut Vec<StoredClient>| {
        if clients.iter().any(|c| c.id == client.id) {
            return Err(AdminError::CredentialExists(CredentialKind::TokenClient, client.id.clone()));
        }
        clients.push(client.clone());
        Ok(())
    })
    .await?;
    AuditEvent::new(now, actor, AuditAction::TokenClientCreated, &client.id).for_webcode(client.webcode.as_deref()).record_logged(store).await;
    Ok(Created { client, secret })
}

/// Deletes a stored client: its tokens stop working after the reload.
///
/// # Errors
/// No such client within the scope, a file client, or the store.
pub async fn revoke(policy: Option<&TokenPolicy>, store: &dyn Store, now: u64, scope: &Scope, actor: &str, id: &str) -> Result<(), AdminError> {
    let not_found = || AdminError::CredentialNotFound(CredentialKind::TokenClient, id.to_owned());
    if policy.is_some_and(|p| p.client(id).is_some()) {
        return Err(if scope.covers(None) { AdminError::CredentialInConfig(CredentialKind::TokenClient, id.to_owned()) } else { not_found() });
    }
    let removed = crate::stored_list::change(store, ENTRY, now, |clients: &mut Vec<StoredClient>| {
        let index = clients.iter().position(|c| c.id == id && scope.covers(c.webcode.as_deref())).ok_or_else(not_found)?;
        Ok(clients.remove(index))
    })
    .await?;
    AuditEvent::new(now, actor, AuditAction::TokenClientRevoked, id).for_webcode(removed.webcode.as_deref()).record_logged(store).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> TokenPolicy {
        serde_json::from_value(serde_json::json!({"clients":[{"id":"file","secret_sha256":TokenDigest::of(b"s").to_hex(),"key_ids":["k"]}]})).unwrap()
    }

    fn stored_client(id: &str) -> StoredClient {
        StoredClient { id: id.into(), secret_sha256: TokenDigest::of(b"t"), key_ids: vec!["k2".into()], webcode: None, created_at: 1, created_by: "token:x".into() }
    }

    #[test]
    fn stored_clients_join_the_files_and_the_file_wins_an_id() {
        let merged = merged(&policy(), &[stored_client("shop"), stored_client("file")]);
        assert_eq!(merged.clients.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), ["file", "shop"]);
        assert!(merged.authenticate("shop", "t").is_ok());
        assert!(merged.authenticate("file", "t").is_err(), "the file's secret, not the stored one");
        assert!(format!("{:?}", stored_client("shop")).contains("shop") && !format!("{:?}", stored_client("shop")).contains(&TokenDigest::of(b"t").to_hex()));
    }
}
