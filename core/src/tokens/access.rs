//! The access-token check of routes that require an `ACCESS-TOKEN`.

use alloc::string::String;

use serde::{Deserialize, Serialize};

use super::family::{FamilyRecord, Lifetimes};
use super::text::{FamilyId, PresentedAccess};
use crate::refusal::Refusal;

/// What the gateway stores about an access token, under its digest.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessRecord {
    /// Its family (revoking the family refuses it).
    pub family: FamilyId,
    /// The client it was issued to.
    pub client_id: String,
    /// Refused from this unix time on.
    pub expires_at: u64,
}

impl AccessRecord {
    /// Until when a store keeps the record: one access lifetime past its
    /// expiry, so a client presenting an expired token is told
    /// `ACCESS_TOKEN_EXPIRED` (its cue to refresh) rather than that the
    /// token is unknown.
    pub fn keep_until(&self, lifetimes: Lifetimes) -> u64 {
        self.expires_at.saturating_add(lifetimes.access_seconds)
    }
}

/// Why an access token was refused; every one is a 401.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum AccessRejection {
    /// No `ACCESS-TOKEN` header (or more than one).
    Missing,
    /// Not an access token, or not one the gateway knows.
    Invalid,
    /// Past its expiry.
    Expired,
    /// Its family was revoked (a refresh token was reused).
    Revoked,
}

impl AccessRejection {
    /// The refusal sent: 401 with the code clients act on.
    pub const fn refusal(self) -> Refusal {
        match self {
            Self::Missing => Refusal {
                status: 401,
                code: "INVALID_ACCESS_TOKEN",
                reason: "missing_access_token",
                message: "This endpoint requires an access token.",
            },
            Self::Invalid => Refusal {
                status: 401,
                code: "INVALID_ACCESS_TOKEN",
                reason: "invalid_access_token",
                message: "The access token is not valid.",
            },
            Self::Expired => Refusal {
                status: 401,
                code: "ACCESS_TOKEN_EXPIRED",
                reason: "access_token_expired",
                message: "The access token has expired.",
            },
            Self::Revoked => Refusal {
                status: 401,
                code: "INVALID_ACCESS_TOKEN",
                reason: "access_token_revoked",
                message: "The access token has been revoked.",
            },
        }
    }
}

impl From<AccessRejection> for Refusal {
    fn from(r: AccessRejection) -> Self {
        r.refusal()
    }
}

/// Checks a presented access token against its stored `record` and its
/// `family` (each `None` when the store has none) at `now`.
///
/// A token is accepted while `now < expires_at`. A revoked family refuses
/// every token it issued, expired or not; a missing family (gone from the
/// store) refuses them too.
///
/// # Errors
/// The reason it is refused.
pub fn check_access(presented: &PresentedAccess, record: Option<&AccessRecord>, family: Option<&FamilyRecord>, now: u64) -> Result<(), AccessRejection> {
    let Some(record) = record else { return Err(AccessRejection::Invalid) };
    let Some(family) = family else { return Err(AccessRejection::Invalid) };
    if record.family != presented.family || family.family != record.family || family.client_id != record.client_id {
        return Err(AccessRejection::Invalid);
    }
    if family.is_revoked() {
        return Err(AccessRejection::Revoked);
    }
    if now >= record.expires_at {
        return Err(AccessRejection::Expired);
    }
    Ok(())
}
