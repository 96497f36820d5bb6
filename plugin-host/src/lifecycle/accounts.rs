//! Renewal accounts created through the admin API (`GET`, `POST
//! /lifecycle/renewal-accounts`, `DELETE
//! /lifecycle/renewal-accounts/<codeUrl>`), besides the
//! `[[lifecycle.accounts]]` of the file.
//!
//! Kept in the store entry [`ENTRY`] ([`crate::stored_list`]) with the
//! Argon2id hash of the password, never the password: the password (`rp_`
//! and 256 random bits) is shown once, in the answer to the creation. Each
//! reload adds the stored accounts to the file's
//! ([`super::LifecycleConfig::with_stored`]; the file wins a `codeUrl` or an
//! `accountOperationCode`). A created account has no reception URL: its
//! merchant reads the renewed secret from the renewal's answer. As for
//! token clients, a change is announced to the other gateways sharing the
//! store, which reload.
//!
//! A merchant (`merchant:<webcode>`) sees and manages only the accounts of
//! its webcode (the webcode of the keys they renew); another webcode's
//! account answers 404 as one that does not exist.

use argon2::{Argon2, PasswordHasher as _};
use payseal_core::Environment;
use payseal_core::keys::IpNet;
use serde::{Deserialize, Serialize};

use super::{AccountConfig, LifecycleConfig};
use crate::access::problem::CredentialKind;
use crate::access::role::valid_name;
use crate::access::{AdminError, IssuedToken, Scope};
use crate::audit::{AuditAction, AuditEvent};
use crate::store::{Store, StoreError};

/// The store entry of the created accounts.
pub const ENTRY: &str = "lifecycle/renewal-accounts";

/// The prefix of a created renewal password.
pub const PASSWORD_PREFIX: &str = "rp_";

/// An account as stored: its password's Argon2id hash, never the password.
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredAccount {
    /// The `{codeUrl}` of its renewal route.
    pub code_url: String,
    /// The `accountOperationCode` the merchant sends.
    pub operation_account_code: String,
    /// Argon2id PHC string of the password.
    pub password_argon2: String,
    /// Environment of the keys it gets.
    pub environment: Environment,
    /// Webcode of the renewed keys, and the merchant it belongs to.
    pub webcode: Option<String>,
    /// Scopes of the renewed keys.
    pub scopes: Vec<String>,
    /// Allowed client addresses of the renewed keys.
    pub allowed_ips: Vec<IpNet>,
    /// Lifetime of a renewed secret.
    pub secret_lifetime_seconds: u64,
    /// Least time between two renewals.
    pub min_interval_seconds: u64,
    /// Unix seconds.
    pub created_at: u64,
    /// The audit actor that created it.
    pub created_by: String,
}

impl std::fmt::Debug for StoredAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredAccount").field("code_url", &self.code_url).field("webcode", &self.webcode).finish_non_exhaustive()
    }
}

impl StoredAccount {
    /// The account as the renewal endpoint serves it.
    pub fn config(&self) -> AccountConfig {
        AccountConfig {
            code_url: self.code_url.clone(),
            operation_account_code: self.operation_account_code.clone(),
            password_argon2: self.password_argon2.clone(),
            environment: self.environment,
            active: true,
            reception_url: None,
            secret_lifetime_seconds: self.secret_lifetime_seconds,
            min_interval_seconds: self.min_interval_seconds,
            grace_seconds: None,
            format: None,
            scopes: self.scopes.clone(),
            allowed_ips: self.allowed_ips.clone(),
            webcode: self.webcode.clone(),
        }
    }
}

/// The stored accounts.
///
/// # Errors
/// The store, or an entry that cannot be decoded.
pub async fn stored(store: &dyn Store, now: u64) -> Result<Vec<StoredAccount>, StoreError> {
    crate::stored_list::read(store, ENTRY, now).await.map(|(_, accounts)| accounts)
}

const fn default_lifetime() -> u64 {
    3_600
}

const fn default_min_interval() -> u64 {
    60
}

/// `POST /lifecycle/renewal-accounts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CreateAccount {
    /// The `{codeUrl}`: one path segment of letters, digits and `-_.~`, unique.
    pub code_url: String,
    /// The `accountOperationCode`: `[A-Za-z0-9._-]{1,64}`, unique.
    pub operation_account_code: String,
    /// `live` or `test`.
    pub environment: Environment,
    /// Its merchant; a merchant token's accounts are of its own webcode.
    #[serde(default)]
    pub webcode: Option<String>,
    /// Scopes of the renewed keys.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Allowed client addresses of the renewed keys.
    #[serde(default)]
    pub allowed_ips: Vec<IpNet>,
    /// Lifetime of a renewed secret (default one hour).
    #[serde(default = "default_lifetime")]
    pub secret_lifetime_seconds: u64,
    /// Least time between two renewals (default 60 s; 0: no limit).
    #[serde(default = "default_min_interval")]
    pub min_interval_seconds: u64,
}

/// An account as listed: never its password nor its hash.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedAccount {
    /// The `{codeUrl}`.
    pub code_url: String,
    /// The `accountOperationCode`.
    pub operation_account_code: String,
    /// Environment of its keys.
    pub environment: Environment,
    /// Whether renewals are answered.
    pub active: bool,
    /// Webcode.
    pub webcode: Option<String>,
    /// Scopes of the renewed keys.
    pub scopes: Vec<String>,
    /// Allowed client addresses of the renewed keys.
    pub allowed_ips: Vec<IpNet>,
    /// Lifetime of a renewed secret.
    pub secret_lifetime_seconds: u64,
    /// Least time between two renewals.
    pub min_interval_seconds: u64,
    /// `config` or `store`.
    pub source: &'static str,
    /// Unix seconds (stored accounts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<u64>,
    /// Who created it (stored accounts).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

fn listed(account: &AccountConfig, source: &'static str, created: Option<(u64, String)>) -> ListedAccount {
    let (created_at, created_by) = created.unzip();
    ListedAccount {
        code_url: account.code_url.clone(),
        operation_account_code: account.operation_account_code.clone(),
        environment: account.environment,
        active: account.active,
        webcode: account.webcode.clone(),
        scopes: account.scopes.clone(),
        allowed_ips: account.allowed_ips.clone(),
        secret_lifetime_seconds: account.secret_lifetime_seconds,
        min_interval_seconds: account.min_interval_seconds,
        source,
        created_at,
        created_by,
    }
}

/// A created account, its password shown once.
pub struct Created {
    account: StoredAccount,
    password: IssuedToken,
}

impl Created {
    /// `{"codeUrl","operationAccountCode","environment","webcode","password"}`,
    /// from a buffer wiped when dropped.
    pub fn body(&self) -> zeroize::Zeroizing<Vec<u8>> {
        #[derive(Serialize)]
        #[serde(rename_all = "camelCase")]
        struct Body<'a> {
            code_url: &'a str,
            operation_account_code: &'a str,
            environment: Environment,
            webcode: Option<&'a str>,
            password: &'a str,
        }
        let a = &self.account;
        let body = Body {
            code_url: &a.code_url,
            operation_account_code: &a.operation_account_code,
            environment: a.environment,
            webcode: a.webcode.as_deref(),
            password: self.password.expose(),
        };
        zeroize::Zeroizing::new(serde_json::to_vec(&body).unwrap_or_default())
    }
}

/// The accounts within `scope`, the file's and the stored ones.
///
/// # Errors
/// The store.
pub async fn list(file: &LifecycleConfig, store: &dyn Store, now: u64, scope: &Scope) -> Result<Vec<ListedAccount>, AdminError> {
    let from_file = file.file_accounts().iter().filter(|a| scope.covers(a.webcode.as_deref())).map(|a| listed(a, "config", None));
    let from_store = stored(store, now)
        .await?
        .into_iter()
        .filter(|a| scope.covers(a.webcode.as_deref()))
        .map(|a| listed(&a.config(), "store", Some((a.created_at, a.created_by))));
    Ok(from_file.chain(from_store).collect())
}

fn valid_code_url(text: &str) -> bool {
    !text.is_empty() && text.len() <= 64 && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
}

/// Creates a stored account with a new password (Argon2id, the crate's
/// default parameters, hashed off the async threads).
///
/// # Errors
/// A bad field, a `codeUrl` or code in use, another webcode, the RNG or
/// the store.
pub async fn create(file: &LifecycleConfig, store: &dyn Store, now: u64, scope: &Scope, actor: &str, mut request: CreateAccount) -> Result<Created, AdminError> {
    if !valid_code_url(&request.code_url) {
        return Err(AdminError::InvalidRequest("codeUrl: 1 to 64 of letters, digits and -_.~".into()));
    }
    if !valid_name(&request.operation_account_code) {
        return Err(AdminError::InvalidRequest("operationAccountCode: 1 to 64 of A-Z a-z 0-9 . _ -".into()));
    }
    if request.webcode.as_deref().is_some_and(|w| !valid_name(w)) {
        return Err(AdminError::InvalidRequest("webcode: 1 to 64 of A-Z a-z 0-9 . _ -".into()));
    }
    if request.secret_lifetime_seconds == 0 {
        return Err(AdminError::InvalidRequest("secretLifetimeSeconds: must be above 0".into()));
    }
    if let Scope::Webcode(own) = scope {
        if request.webcode.as_ref().is_some_and(|w| w != own) {
            return Err(AdminError::InvalidRequest("webcode: a merchant token creates accounts of its own webcode only".into()));
        }
        request.webcode = Some(own.clone());
    }
    let clashes = |a: &AccountConfig| a.code_url == request.code_url || a.operation_account_code == request.operation_account_code;
    if file.file_accounts().iter().any(clashes) {
        return Err(AdminError::CredentialExists(CredentialKind::RenewalAccount, request.code_url));
    }
    let password = IssuedToken::with_prefix(PASSWORD_PREFIX)?;
    let text = zeroize::Zeroizing::new(password.expose().to_owned());
    let hashed = tokio::task::spawn_blocking(move || Argon2::default().hash_password(text.as_bytes()).map(|h| h.to_string())).await;
    let Ok(Ok(password_argon2)) = hashed else { return Err(AdminError::Random) };
    let account = StoredAccount {
        code_url: request.code_url,
        operation_account_code: request.operation_account_code,
        password_argon2,
        environment: request.environment,
        webcode: request.webcode,
        scopes: request.scopes,
        allowed_ips: request.allowed_ips,
        secret_lifetime_seconds: request.secret_lifetime_seconds,
        min_interval_seconds: request.min_interval_seconds,
        created_at: now,
        created_by: actor.to_owned(),
    };
    crate::stored_list::change(store, ENTRY, now, |accounts: &mut Vec<StoredAccount>| {
        if accounts.iter().any(|a| a.code_url == account.code_url || a.operation_account_code == account.operation_account_code) {
            return Err(AdminError::CredentialExists(CredentialKind::RenewalAccount, account.code_url.clone()));
        }
        accounts.push(account.clone());
        Ok(())
    })
    .await?;
    AuditEvent::new(now, actor, AuditAction::RenewalAccountCreated, &account.code_url).for_webcode(account.webcode.as_deref()).record_logged(store).await;
    Ok(Created { account, password })
}

/// Deletes a stored account: its renewal route answers 400 after the reload.
///
/// # Errors
/// No such account within the scope, a file account, or the store.
pub async fn delete(file: &LifecycleConfig, store: &dyn Store, now: u64, scope: &Scope, actor: &str, code_url: &str) -> Result<(), AdminError> {
    let not_found = || AdminError::CredentialNotFound(CredentialKind::RenewalAccount, code_url.to_owned());
    if let Some(account) = file.file_accounts().iter().find(|a| a.code_url == code_url) {
        return Err(if scope.covers(account.webcode.as_deref()) { AdminError::CredentialInConfig(CredentialKind::RenewalAccount, code_url.to_owned()) } else { not_found() });
    }
    let removed = crate::stored_list::change(store, ENTRY, now, |accounts: &mut Vec<StoredAccount>| {
        let index = accounts.iter().position(|a| a.code_url == code_url && scope.covers(a.webcode.as_deref())).ok_or_else(not_found)?;
        Ok(accounts.remove(index))
    })
    .await?;
    AuditEvent::new(now, actor, AuditAction::RenewalAccountDeleted, code_url).for_webcode(removed.webcode.as_deref()).record_logged(store).await;
    Ok(())
}
