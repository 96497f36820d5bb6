//! Access to the admin listener: who is calling ([`token`]), what their
//! role allows ([`role`], the one table), which route they call
//! ([`routes`]), and the checks against browser-borne attacks ([`guard`]).
//! Refusals answer in the admin surface's one problem shape ([`problem`]).
//!
//! Every admin request except `/healthz`, `/readyz` (and `/metrics` when
//! `admin.public_metrics`) needs `Authorization: Bearer <token>`. With no
//! token configured the admin API still requires one: the gateway logs at
//! start how to create the first (`payseal admin-token`, [`cli`]). The
//! audit log names the credential (`token:<name>`), never a header.

pub mod cli;
pub mod guard;
pub mod manage;
pub mod problem;
pub mod role;
pub mod routes;
pub mod token;

pub use guard::Names;
pub use problem::AdminError;
pub use role::{Decision, Permission, Role, Scope, decide};
pub use routes::{BodyKind, Route, Routing};
pub use token::{Credential, IssuedToken, KnownToken};

/// The admin access settings of one configuration (rebuilt on reload).
#[derive(Debug, Default)]
pub struct AdminAccess {
    /// The bootstrap tokens of the file (`[[admin.tokens]]`).
    pub bootstrap: Vec<KnownToken>,
    /// Accepted `Host` names and origins.
    pub names: Names,
    /// `/metrics` without a credential (`admin.public_metrics`).
    pub public_metrics: bool,
}

impl AdminAccess {
    /// Whether `permission` needs no credential here.
    pub const fn is_public(&self, permission: Permission) -> bool {
        matches!(permission, Permission::Public) || (self.public_metrics && matches!(permission, Permission::Metrics))
    }
}
