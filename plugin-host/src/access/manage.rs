//! `GET`, `POST /admin-tokens` and `DELETE /admin-tokens/<name>`: listing,
//! creating (the token shown once) and revoking the tokens kept in the
//! store. A merchant manages only the tokens of its own webcode; a token of
//! another webcode answers 404 as if it did not exist. Bootstrap tokens of
//! the file are listed and cannot be revoked here (409
//! `token_in_config`). Every change is audited with the caller's name.

use serde::{Deserialize, Serialize};

use super::AdminAccess;
use super::problem::AdminError;
use super::role::{Role, Scope, valid_name};
use super::token::{IssuedToken, StoredToken, change_stored, scope_covers_role, stored};
use crate::audit::{AuditAction, AuditEvent};
use crate::store::Store;

/// `POST /admin-tokens`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// `[A-Za-z0-9._-]{1,64}`, unique across the file and the store.
    pub name: String,
    /// `admin`, `operator`, `viewer` or `merchant:<webcode>`.
    pub role: String,
}

/// A token as listed: never its text nor its digest.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedToken {
    /// Name.
    pub name: String,
    /// Role.
    pub role: String,
    /// `config` (a bootstrap token of the file) or `store`.
    pub source: &'static str,
    /// Unix seconds (stored tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<u64>,
    /// The actor that created it (stored tokens).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

/// A created token, shown once.
#[derive(Debug)]
pub struct Created {
    /// Name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// The token.
    pub token: IssuedToken,
}

impl Created {
    /// `{"name","role","token"}`, from a buffer wiped when dropped.
    pub fn body(&self) -> zeroize::Zeroizing<Vec<u8>> {
        #[derive(Serialize)]
        struct Body<'a> {
            name: &'a str,
            role: String,
            token: &'a str,
        }
        zeroize::Zeroizing::new(serde_json::to_vec(&Body { name: &self.name, role: self.role.to_string(), token: self.token.expose() }).unwrap_or_default())
    }
}

fn stored_role(token: &StoredToken) -> Option<Role> {
    Role::parse(&token.role).ok()
}

/// The tokens within `scope`.
///
/// # Errors
/// The store.
pub async fn list(access: &AdminAccess, store: &dyn Store, now: u64, scope: &Scope) -> Result<Vec<ListedToken>, AdminError> {
    let (_, tokens) = stored(store, now).await?;
    let from_file = access.bootstrap.iter().filter(|t| scope_covers_role(scope, t.role())).map(|t| ListedToken {
        name: t.name().to_owned(),
        role: t.role().to_string(),
        source: "config",
        created_at: None,
        created_by: None,
    });
    let from_store = tokens.into_iter().filter(|t| stored_role(t).is_some_and(|r| scope_covers_role(scope, &r))).map(|t| ListedToken {
        name: t.name,
        role: t.role,
        source: "store",
        created_at: Some(t.created_at),
        created_by: Some(t.created_by),
    });
    Ok(from_file.chain(from_store).collect())
}

/// Creates a stored token; a merchant may create only tokens of its own
/// webcode (403 otherwise).
///
/// # Errors
/// A bad name or role, a name in use, a role outside the scope, the RNG or
/// the store.
pub async fn create(access: &AdminAccess, store: &dyn Store, now: u64, scope: &Scope, actor: &str, request: CreateToken) -> Result<Created, AdminError> {
    if !valid_name(&request.name) {
        return Err(AdminError::InvalidRequest("name: 1 to 64 of A-Z a-z 0-9 . _ -".into()));
    }
    let role = Role::parse(&request.role).map_err(|e| AdminError::InvalidRequest(format!("role: {e}")))?;
    if !scope_covers_role(scope, &role) {
        return Err(AdminError::Forbidden);
    }
    if access.bootstrap.iter().any(|t| t.name() == request.name) {
        return Err(AdminError::TokenExists(request.name));
    }
    let token = IssuedToken::generate()?;
    let entry = StoredToken { name: request.name.clone(), role: role.to_string(), sha256: token.digest(), created_at: now, created_by: actor.to_owned() };
    change_stored(store, now, |tokens| {
        if tokens.iter().any(|t| t.name == entry.name) {
            return Err(AdminError::TokenExists(entry.name.clone()));
        }
        tokens.push(entry.clone());
        Ok(())
    })
    .await?;
    audit(store, AuditEvent::new(now, actor, AuditAction::AdminTokenCreated, &request.name).with_detail(format!("role={role}"))).await;
    Ok(Created { name: request.name, role, token })
}

/// Revokes a stored token at once (on every gateway sharing the store).
///
/// # Errors
/// No such token within the scope, a bootstrap token, or the store.
pub async fn revoke(access: &AdminAccess, store: &dyn Store, now: u64, scope: &Scope, actor: &str, name: &str) -> Result<(), AdminError> {
    if let Some(known) = access.bootstrap.iter().find(|t| t.name() == name) {
        return Err(if scope_covers_role(scope, known.role()) { AdminError::TokenInConfig(name.to_owned()) } else { AdminError::TokenNotFound(name.to_owned()) });
    }
    let removed = change_stored(store, now, |tokens| {
        let index = tokens
            .iter()
            .position(|t| t.name == name && stored_role(t).is_some_and(|r| scope_covers_role(scope, &r)))
            .ok_or_else(|| AdminError::TokenNotFound(name.to_owned()))?;
        Ok(tokens.remove(index))
    })
    .await?;
    audit(store, AuditEvent::new(now, actor, AuditAction::AdminTokenRevoked, name).with_detail(format!("role={}", removed.role))).await;
    Ok(())
}

async fn audit(store: &dyn Store, event: AuditEvent) {
    if let Err(error) = event.record(store).await {
        tracing::error!(%error, action = ?event.action, subject = %event.subject, "cannot write the audit event");
    }
}
