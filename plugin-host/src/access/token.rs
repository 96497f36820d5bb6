//! Admin tokens: issued as `psa_` and 43 base64url characters (256 random
//! bits), kept only as SHA-256 digests, compared in constant time.
//!
//! Two sources, one name space: bootstrap tokens of the configuration file
//! (`[[admin.tokens]]` with `sha256` or `token_env`), and tokens created
//! through `POST /admin-tokens`, kept in the store entry [`ENTRY`] (one JSON
//! list, changed by compare-and-swap so concurrent changes on several
//! gateways never lose one another). A revoked stored token stops working
//! on the next request on every gateway: tokens are read from the store
//! for each authenticated request, never cached.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hyper::HeaderMap;
use hyper::header::AUTHORIZATION;
use payseal_core::tokens::TokenDigest;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::problem::AdminError;
use super::role::{Role, Scope};
use crate::store::{Store, StoreError};

/// The prefix of every issued admin token (recognisable in a secret scanner).
pub const PREFIX: &str = "psa_";

/// The shortest token text a `token_env` variable may hold.
pub const MIN_TOKEN_LEN: usize = 32;

/// The store entry holding the tokens created through the API.
pub const ENTRY: &str = "admin/tokens";


/// A newly issued token: the only value holding its text, wiped on drop.
pub struct IssuedToken(Zeroizing<String>);

impl IssuedToken {
    /// 32 bytes from the operating system's CSPRNG.
    ///
    /// # Errors
    /// [`AdminError::Random`].
    pub fn generate() -> Result<Self, AdminError> {
        Self::with_prefix(PREFIX)
    }

    /// 32 bytes from the operating system's CSPRNG after `prefix`, as
    /// base64url: the token clients' secrets and the renewal passwords too.
    ///
    /// # Errors
    /// [`AdminError::Random`].
    pub fn with_prefix(prefix: &str) -> Result<Self, AdminError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        getrandom::fill(bytes.as_mut_slice()).map_err(|_| AdminError::Random)?;
        let mut text = Zeroizing::new(String::with_capacity(prefix.len() + 43));
        text.push_str(prefix);
        URL_SAFE_NO_PAD.encode_string(*bytes, &mut text);
        Ok(Self(text))
    }

    /// The text, for the one answer that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is kept instead of the text.
    pub fn digest(&self) -> TokenDigest {
        TokenDigest::of(self.0.as_bytes())
    }
}

impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("IssuedToken([redacted])")
    }
}

/// A token the gateway accepts: its name, role and digest.
#[derive(Clone)]
pub struct KnownToken {
    name: String,
    role: Role,
    digest: TokenDigest,
}

impl KnownToken {
    /// A token known by its digest.
    pub const fn new(name: String, role: Role, digest: TokenDigest) -> Self {
        Self { name, role, digest }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Its role.
    pub const fn role(&self) -> &Role {
        &self.role
    }
}

impl fmt::Debug for KnownToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KnownToken").field("name", &self.name).field("role", &self.role).finish_non_exhaustive()
    }
}

/// An authenticated caller: the token's name and role. The audit names it
/// `token:<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The token's name.
    pub name: String,
    /// The token's role.
    pub role: Role,
}

impl Credential {
    /// The audit actor.
    pub fn actor(&self) -> String {
        format!("token:{}", self.name)
    }
}

/// A token created through the API, as stored (its digest, never its text).
#[derive(Clone, Serialize, Deserialize)]
pub struct StoredToken {
    /// Name, unique across the file and the store.
    pub name: String,
    /// Role text (`admin`, `merchant:SHOP01`, …).
    pub role: String,
    /// SHA-256 of the token.
    pub sha256: TokenDigest,
    /// Unix seconds.
    pub created_at: u64,
    /// The audit actor that created it.
    pub created_by: String,
}

impl fmt::Debug for StoredToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StoredToken").field("name", &self.name).field("role", &self.role).finish_non_exhaustive()
    }
}

/// The stored tokens and the bytes they were read from (the `expected` of
/// the next compare-and-swap).
///
/// # Errors
/// The store fails, or the entry cannot be decoded.
pub async fn stored(store: &dyn Store, now: u64) -> Result<(Option<Vec<u8>>, Vec<StoredToken>), StoreError> {
    crate::stored_list::read(store, ENTRY, now).await
}

/// Retries `change` of the stored tokens until its compare-and-swap wins
/// ([`crate::stored_list::change`]).
///
/// # Errors
/// `change`'s, the store's, or [`AdminError::Conflict`].
pub async fn change_stored<T>(store: &dyn Store, now: u64, change: impl FnMut(&mut Vec<StoredToken>) -> Result<T, AdminError>) -> Result<T, AdminError> {
    crate::stored_list::change(store, ENTRY, now, change).await
}

/// The token text of `Authorization: Bearer <token>`; `None` when absent,
/// repeated, or of another scheme.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let value = values.next()?;
    if values.next().is_some() {
        return None;
    }
    let text = value.to_str().ok()?;
    let (scheme, token) = text.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Finds the token sent in `headers` among `bootstrap` and the stored
/// tokens. Within each source every candidate's digest is compared
/// (constant-time equality, no early exit), so the time taken does not
/// depend on which one matched. The bootstrap tokens are compared first and
/// the store is read only when none matched: an operator's file token keeps
/// the admin API (metrics, readiness, reload) usable while the store is
/// down.
///
/// # Errors
/// [`AdminError::Unauthenticated`], or the store.
pub async fn authenticate(bootstrap: &[KnownToken], store: &dyn Store, now: u64, headers: &HeaderMap) -> Result<Credential, AdminError> {
    let presented = bearer(headers).ok_or(AdminError::Unauthenticated)?;
    let digest = TokenDigest::of(presented.as_bytes());
    let mut found: Option<Credential> = None;
    for known in bootstrap {
        if known.digest == digest {
            found = Some(Credential { name: known.name.clone(), role: known.role.clone() });
        }
    }
    if let Some(credential) = found {
        return Ok(credential);
    }
    let (_, stored) = stored(store, now).await?;
    for token in &stored {
        if token.sha256 == digest {
            if let Ok(role) = Role::parse(&token.role) {
                found = Some(Credential { name: token.name.clone(), role });
            } else {
                // Written by this code, so only a damaged entry: fail closed.
                tracing::error!(token = %token.name, "a stored admin token has an unknown role; it is refused");
            }
        }
    }
    found.ok_or(AdminError::Unauthenticated)
}

/// Whether a token of `role` is within `scope` (a merchant sees only the
/// tokens of its own webcode).
pub fn scope_covers_role(scope: &Scope, role: &Role) -> bool {
    match role {
        Role::Merchant(webcode) => scope.covers(Some(webcode)),
        _ => scope.covers(None),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use hyper::header::HeaderValue;

    use super::*;
    use crate::store::RedbStore;

    fn headers(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn issued_tokens_are_long_random_and_redacted() {
        let a = IssuedToken::generate().unwrap();
        let b = IssuedToken::generate().unwrap();
        assert!(a.expose().starts_with(PREFIX) && a.expose().len() == PREFIX.len() + 43);
        assert_ne!(a.expose(), b.expose());
        assert!(a.digest() == TokenDigest::of(a.expose().as_bytes()));
        assert_eq!(format!("{a:?}"), "IssuedToken([redacted])");
    }

    #[test]
    fn only_one_bearer_credential_is_read() {
        assert_eq!(bearer(&headers("Bearer psa_x")), Some("psa_x"));
        assert_eq!(bearer(&headers("bearer  psa_x ")), Some("psa_x"));
        assert_eq!(bearer(&headers("Basic psa_x")), None);
        assert_eq!(bearer(&headers("Bearer ")), None);
        let mut twice = headers("Bearer a");
        twice.append(AUTHORIZATION, HeaderValue::from_static("Bearer b"));
        assert_eq!(bearer(&twice), None);
        assert_eq!(bearer(&HeaderMap::new()), None);
    }

    #[tokio::test]
    async fn tokens_authenticate_from_the_file_and_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(RedbStore::open(&dir.path().join("s.redb")).unwrap());
        let boot = IssuedToken::generate().unwrap();
        let bootstrap = vec![KnownToken::new("boot".into(), Role::Admin, boot.digest())];
        let credential = authenticate(&bootstrap, store.as_ref(), 10, &headers(&format!("Bearer {}", boot.expose()))).await.unwrap();
        assert_eq!((credential.actor(), credential.role), ("token:boot".to_owned(), Role::Admin));

        let made = IssuedToken::generate().unwrap();
        let token = StoredToken { name: "shop".into(), role: "merchant:SHOP01".into(), sha256: made.digest(), created_at: 10, created_by: "token:boot".into() };
        change_stored(store.as_ref(), 10, |tokens| {
            tokens.push(token.clone());
            Ok(())
        })
        .await
        .unwrap();
        let credential = authenticate(&bootstrap, store.as_ref(), 11, &headers(&format!("Bearer {}", made.expose()))).await.unwrap();
        assert_eq!(credential.role, Role::Merchant("SHOP01".into()));
        let entry = String::from_utf8(store.entry(ENTRY, 11).await.unwrap().unwrap()).unwrap();
        assert!(!entry.contains(made.expose()) && entry.contains(&made.digest().to_hex()), "only the digest is stored");

        let wrong = IssuedToken::generate().unwrap();
        assert_eq!(authenticate(&bootstrap, store.as_ref(), 11, &headers(&format!("Bearer {}", wrong.expose()))).await, Err(AdminError::Unauthenticated));
        assert_eq!(authenticate(&bootstrap, store.as_ref(), 11, &HeaderMap::new()).await, Err(AdminError::Unauthenticated));

        change_stored(store.as_ref(), 12, |tokens| {
            tokens.clear();
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(authenticate(&bootstrap, store.as_ref(), 12, &headers(&format!("Bearer {}", made.expose()))).await, Err(AdminError::Unauthenticated));
    }

    #[test]
    fn merchant_scopes_cover_only_their_own_tokens() {
        let shop = Scope::Webcode("SHOP01".into());
        assert!(scope_covers_role(&shop, &Role::Merchant("SHOP01".into())));
        assert!(!scope_covers_role(&shop, &Role::Merchant("SHOP02".into())));
        assert!(!scope_covers_role(&shop, &Role::Admin));
        assert!(scope_covers_role(&Scope::All, &Role::Viewer));
    }
}
