//! Who may do what on the admin listener: the one table from a credential's
//! [`Role`] and a route's [`Permission`] to a [`Decision`]. Every route
//! names its permission in [`super::routes`]; nothing else decides access.
//!
//! | permission | `admin` | `operator` | `viewer` | `merchant:<webcode>` |
//! | --- | --- | --- | --- | --- |
//! | [`Permission::Public`] (`/healthz`, `/readyz`, the console's static files) | no credential needed | | | |
//! | [`Permission::Session`] (`GET /session`: the caller's own name and role) | ✓ | ✓ | ✓ | ✓ |
//! | [`Permission::Metrics`] (`/metrics`; no credential with `admin.public_metrics`) | ✓ | ✓ | ✓ | – |
//! | [`Permission::ReadGateway`] (`GET /config`, `GET /keys`) | ✓ | ✓ | ✓ | – |
//! | [`Permission::OperateGateway`] (`/reload`, `PUT`/`DELETE /keys/<id>`, idempotency release) | ✓ | ✓ | – | – |
//! | [`Permission::SetClock`] (`/clock`, tests only) | ✓ | – | – | – |
//! | [`Permission::ReadKeys`] (list and get lifecycle keys) | ✓ | ✓ | ✓ | its webcode's |
//! | [`Permission::ManageKeys`] (create, edit, revoke, regenerate) | ✓ | ✓ | – | its webcode's |
//! | [`Permission::RotateClientSecret`] (an environment's client secret) | ✓ | ✓ | – | – |
//! | [`Permission::ReadAudit`] (`/lifecycle/audit`) | ✓ | ✓ | ✓ | its webcode's events |
//! | [`Permission::ReadCredentials`] (list token clients and renewal accounts) | ✓ | ✓ | ✓ | its webcode's |
//! | [`Permission::ManageCredentials`] (create, delete them: a new client secret or password is shown once) | ✓ | ✓ | – | its webcode's |
//! | [`Permission::ReadTokens`] (`GET /admin-tokens`) | ✓ | – | – | its webcode's tokens |
//! | [`Permission::ManageTokens`] (`POST`, `DELETE /admin-tokens`) | ✓ | – | – | its webcode's tokens |
//!
//! A viewer never receives a secret: every answer that shows one (create,
//! regenerate, rotate, a new admin token) needs a managing permission. A
//! client secret belongs to a whole environment, shared by every merchant,
//! so no merchant may rotate it.

use std::fmt;

/// The longest webcode or token name accepted.
pub const MAX_NAME: usize = 64;

/// `[A-Za-z0-9._-]{1,64}`: token names and the webcode of a merchant role.
pub fn valid_name(text: &str) -> bool {
    !text.is_empty() && text.len() <= MAX_NAME && text.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

/// The role of an admin credential.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Role {
    /// Everything, token management included.
    Admin,
    /// The gateway and the key lifecycle; no token management.
    Operator,
    /// Reads only, and never a secret.
    Viewer,
    /// Self-service of one merchant: only the keys, audit events and admin
    /// tokens of its webcode.
    Merchant(String),
}

/// A role text that is none of `admin`, `operator`, `viewer`,
/// `merchant:<webcode>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleError;

impl fmt::Display for RoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a role is admin, operator, viewer or merchant:<webcode> (webcode: 1 to 64 of A-Z a-z 0-9 . _ -)")
    }
}

impl std::error::Error for RoleError {}

impl Role {
    /// Parses `admin`, `operator`, `viewer` or `merchant:<webcode>`.
    ///
    /// # Errors
    /// [`RoleError`] for anything else.
    pub fn parse(text: &str) -> Result<Self, RoleError> {
        match text {
            "admin" => Ok(Self::Admin),
            "operator" => Ok(Self::Operator),
            "viewer" => Ok(Self::Viewer),
            _ => match text.strip_prefix("merchant:") {
                Some(webcode) if valid_name(webcode) => Ok(Self::Merchant(webcode.to_owned())),
                _ => Err(RoleError),
            },
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Admin => f.write_str("admin"),
            Self::Operator => f.write_str("operator"),
            Self::Viewer => f.write_str("viewer"),
            Self::Merchant(webcode) => write!(f, "merchant:{webcode}"),
        }
    }
}

/// What a route needs (see the table in the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Permission {
    /// No credential: liveness and readiness probes, the console's static files.
    Public,
    /// The caller's own name and role.
    Session,
    /// `/metrics`: public when `admin.public_metrics`, else as [`Permission::ReadGateway`].
    Metrics,
    /// The gateway's configuration view and raw key records.
    ReadGateway,
    /// Reloads, raw key record writes, idempotency releases.
    OperateGateway,
    /// The settable clock (tests only).
    SetClock,
    /// Lifecycle keys, read.
    ReadKeys,
    /// Lifecycle keys, created and changed (answers may show a new key).
    ManageKeys,
    /// An environment's client secret, rotated (the answer shows it).
    RotateClientSecret,
    /// The audit log.
    ReadAudit,
    /// Token clients and renewal accounts, listed (never a secret).
    ReadCredentials,
    /// Token clients and renewal accounts, created (the secret shown once)
    /// and deleted.
    ManageCredentials,
    /// Admin tokens, listed (names and roles).
    ReadTokens,
    /// Admin tokens, created (shown once) and revoked.
    ManageTokens,
}

/// What a caller may see of the keys, audit events and tokens it is
/// allowed to reach.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Scope {
    /// Every merchant's.
    All,
    /// Only those of this webcode; another webcode's key answers 404 as if
    /// it did not exist.
    Webcode(String),
}

impl Scope {
    /// Whether a key (or token) of `webcode` is within the scope.
    pub fn covers(&self, webcode: Option<&str>) -> bool {
        match self {
            Self::All => true,
            Self::Webcode(own) => webcode == Some(own.as_str()),
        }
    }
}

/// The answer of [`decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum Decision {
    /// Allowed within the scope.
    Allow(Scope),
    /// Refused: 403.
    Deny,
}

/// The one table of who may do what.
pub fn decide(role: &Role, permission: Permission) -> Decision {
    use Permission as P;
    let all = Decision::Allow(Scope::All);
    match (role, permission) {
        (_, P::Public)
        | (Role::Admin, _)
        | (
            Role::Operator,
            P::Session | P::Metrics | P::ReadGateway | P::OperateGateway | P::ReadKeys | P::ManageKeys | P::RotateClientSecret | P::ReadAudit | P::ReadCredentials | P::ManageCredentials,
        )
        | (Role::Viewer, P::Session | P::Metrics | P::ReadGateway | P::ReadKeys | P::ReadAudit | P::ReadCredentials) => all,
        (Role::Merchant(webcode), P::Session | P::ReadKeys | P::ManageKeys | P::ReadAudit | P::ReadCredentials | P::ManageCredentials | P::ReadTokens | P::ManageTokens) => {
            Decision::Allow(Scope::Webcode(webcode.clone()))
        }
        (Role::Operator | Role::Viewer | Role::Merchant(_), _) => Decision::Deny,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVERY: [Permission; 14] = [
        Permission::Public,
        Permission::Session,
        Permission::Metrics,
        Permission::ReadGateway,
        Permission::OperateGateway,
        Permission::SetClock,
        Permission::ReadKeys,
        Permission::ManageKeys,
        Permission::RotateClientSecret,
        Permission::ReadAudit,
        Permission::ReadCredentials,
        Permission::ManageCredentials,
        Permission::ReadTokens,
        Permission::ManageTokens,
    ];

    fn allowed(role: &Role) -> Vec<Permission> {
        EVERY.into_iter().filter(|p| decide(role, *p) != Decision::Deny).collect()
    }

    #[test]
    fn roles_parse_and_print_back() {
        for text in ["admin", "operator", "viewer", "merchant:SHOP01"] {
            assert_eq!(Role::parse(text).unwrap().to_string(), text);
        }
        for bad in ["", "Admin", "root", "merchant:", "merchant:SHOP 01", "merchant:a/b", &format!("merchant:{}", "x".repeat(65))] {
            assert_eq!(Role::parse(bad), Err(RoleError), "{bad:?}");
        }
    }

    #[test]
    fn the_table() {
        use Permission as P;
        assert_eq!(allowed(&Role::Admin), EVERY.to_vec());
        assert_eq!(
            allowed(&Role::Operator),
            [P::Public, P::Session, P::Metrics, P::ReadGateway, P::OperateGateway, P::ReadKeys, P::ManageKeys, P::RotateClientSecret, P::ReadAudit, P::ReadCredentials, P::ManageCredentials]
        );
        assert_eq!(allowed(&Role::Viewer), [P::Public, P::Session, P::Metrics, P::ReadGateway, P::ReadKeys, P::ReadAudit, P::ReadCredentials]);
        let merchant = Role::Merchant("SHOP01".into());
        assert_eq!(allowed(&merchant), [P::Public, P::Session, P::ReadKeys, P::ManageKeys, P::ReadAudit, P::ReadCredentials, P::ManageCredentials, P::ReadTokens, P::ManageTokens]);
        assert_eq!(decide(&merchant, P::ManageCredentials), Decision::Allow(Scope::Webcode("SHOP01".into())));
        assert_eq!(decide(&merchant, P::ManageKeys), Decision::Allow(Scope::Webcode("SHOP01".into())));
        assert_eq!(decide(&Role::Operator, P::ManageKeys), Decision::Allow(Scope::All));
    }

    #[test]
    fn a_viewer_gets_no_permission_whose_answer_shows_a_secret() {
        for secret_showing in [Permission::ManageKeys, Permission::RotateClientSecret, Permission::ManageTokens, Permission::ManageCredentials] {
            assert_eq!(decide(&Role::Viewer, secret_showing), Decision::Deny);
        }
    }

    #[test]
    fn a_merchant_scope_covers_only_its_webcode() {
        let scope = Scope::Webcode("SHOP01".into());
        assert!(scope.covers(Some("SHOP01")));
        assert!(!scope.covers(Some("SHOP02")) && !scope.covers(None) && !scope.covers(Some("shop01")));
        assert!(Scope::All.covers(None));
    }
}
