//! Access and refresh tokens (a Paytia-style token endpoint): a client id
//! and secret are exchanged for a short-lived access token and a refresh
//! token; each refresh rotates the refresh token, and presenting an old one
//! revokes its whole family.
//!
//! Sans-I/O like the rest of the core: the gateway supplies `now`, the
//! random bytes ([`TokenEntropy`]) and the stored records, stores what the
//! decisions return, and sends the refusals. Tokens are stored only as
//! SHA-256 digests and compared in constant time.
//!
//! | function | answers |
//! | --- | --- |
//! | [`TokenPolicy::grant`] | the authenticated request, or an RFC 6749 §5.2 [`GrantError`] |
//! | [`TokenPolicy::issue`] | a new family and its first tokens ([`Issued`]) |
//! | [`TokenPolicy::refresh`] | [`RefreshDecision`]: rotate, reused (revoke the family), expired, revoked, invalid |
//! | [`TokenPolicy::check_access`] | accepted, or an [`AccessRejection`] (401 [`crate::Refusal`]) |

mod access;
mod family;
mod policy;
mod text;

#[cfg(test)]
mod tests;

pub use access::{AccessRecord, AccessRejection, check_access};
pub use family::{FamilyRecord, Issued, Lifetimes, RefreshDecision, issue, refresh};
pub use policy::{
    DEFAULT_ACCESS_TTL, DEFAULT_HEADER, DEFAULT_PATH, DEFAULT_REFRESH_TTL, Grant, GrantError, GrantFields, GrantRefused, TokenClient,
    TokenPolicy, TokenPolicyError, TokenRoute,
};
pub use text::{ACCESS_PREFIX, FamilyId, PresentedAccess, PresentedRefresh, REFRESH_PREFIX, TokenDigest, TokenEntropy, TokenText};
