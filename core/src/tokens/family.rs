//! The token family: one client-credentials grant and its chain of
//! refreshes, and the state machine of a refresh.
//!
//! A family has exactly one current refresh token. A refresh with it
//! rotates the family (a new refresh token and a new access token; the
//! presented one becomes old). A refresh with an *older* token of the family
//! means two parties hold the family's tokens (RFC 9700 §4.14.2): the family
//! is revoked, and with it every access token it issued.

use alloc::string::String;

use serde::{Deserialize, Serialize};

use super::access::AccessRecord;
use super::text::{self, FamilyId, PresentedRefresh, TokenDigest, TokenEntropy, TokenText};

/// How long tokens live.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lifetimes {
    /// An access token, from its issue.
    pub access_seconds: u64,
    /// A refresh token, from its issue (each refresh starts a new one).
    pub refresh_seconds: u64,
}

/// What the gateway stores about a family (digests only).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyRecord {
    /// The family.
    pub family: FamilyId,
    /// The client it was issued to.
    pub client_id: String,
    /// SHA-256 of the family secret every refresh token of the family carries.
    pub secret_sha256: TokenDigest,
    /// SHA-256 of the current refresh token.
    pub refresh_sha256: TokenDigest,
    /// 0 at issue, one more at each refresh.
    pub generation: u64,
    /// The current refresh token is refused from this unix time on.
    pub refresh_expires_at: u64,
    /// When the newest access token expires (none of the family lives longer).
    pub access_expires_at: u64,
    /// When the family was revoked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked_at: Option<u64>,
}

impl FamilyRecord {
    /// Whether the family is revoked.
    pub fn is_revoked(&self) -> bool {
        self.revoked_at.is_some()
    }

    /// Until when a store keeps the record: as long as any of its tokens
    /// could still be accepted, so a revocation outlives them all, and one
    /// access lifetime more, so a late refresh is told its token expired
    /// (and an old token still revokes) rather than that it is unknown.
    pub fn keep_until(&self, lifetimes: Lifetimes) -> u64 {
        self.refresh_expires_at.max(self.access_expires_at).saturating_add(lifetimes.access_seconds)
    }

    /// The record revoked at `now` (an already revoked one is unchanged).
    #[must_use]
    pub fn revoked(&self, now: u64) -> Self {
        Self { revoked_at: self.revoked_at.or(Some(now)), ..self.clone() }
    }
}

/// A fresh access token and refresh token, and the records to store.
#[derive(Debug)]
#[must_use]
pub struct Issued {
    /// The family record to store (new, or rotated).
    pub family: FamilyRecord,
    /// The access token's record, stored under [`Issued::access_sha256`].
    pub access: AccessRecord,
    /// The access token's digest.
    pub access_sha256: TokenDigest,
    /// Until when a store keeps the access record (see [`AccessRecord::keep_until`]).
    pub access_keep_until: u64,
    /// Until when a store keeps the family record (see [`FamilyRecord::keep_until`]).
    pub family_keep_until: u64,
    /// Seconds the access token lives (`expires_in`).
    pub expires_in: u64,
    /// The access token, for the answer only.
    pub access_token: TokenText,
    /// The refresh token, for the answer only.
    pub refresh_token: TokenText,
}

impl Issued {
    /// The token endpoint's answer (RFC 6749 §5.1): the one place the
    /// tokens are shown. Wiped when dropped.
    pub fn answer_body(&self) -> zeroize::Zeroizing<String> {
        #[derive(Serialize)]
        struct Answer<'a> {
            access_token: &'a str,
            token_type: &'a str,
            expires_in: u64,
            refresh_token: &'a str,
        }
        let answer = Answer {
            access_token: self.access_token.expose(),
            token_type: "Bearer",
            expires_in: self.expires_in,
            refresh_token: self.refresh_token.expose(),
        };
        // Plain strings and a number: serializing cannot fail.
        zeroize::Zeroizing::new(serde_json::to_string(&answer).unwrap_or_default())
    }
}

fn access(family: &FamilyRecord, lifetimes: Lifetimes, entropy: &TokenEntropy, now: u64) -> (AccessRecord, TokenText) {
    let record = AccessRecord {
        family: family.family,
        client_id: family.client_id.clone(),
        expires_at: now.saturating_add(lifetimes.access_seconds),
    };
    (record, text::access_token(family.family, entropy))
}

/// A new family for `client_id` at `now`, with its first tokens.
pub fn issue(client_id: &str, lifetimes: Lifetimes, entropy: &TokenEntropy, now: u64) -> Issued {
    let family_id = FamilyId::from_bytes(entropy.family);
    let refresh_token = text::refresh_token(family_id, &entropy.family_secret, entropy);
    let family = FamilyRecord {
        family: family_id,
        client_id: client_id.into(),
        secret_sha256: text::secret_digest(&entropy.family_secret),
        refresh_sha256: refresh_token.digest(),
        generation: 0,
        refresh_expires_at: now.saturating_add(lifetimes.refresh_seconds),
        access_expires_at: now.saturating_add(lifetimes.access_seconds),
        revoked_at: None,
    };
    finish(family, refresh_token, lifetimes, entropy, now)
}

fn finish(family: FamilyRecord, refresh_token: TokenText, lifetimes: Lifetimes, entropy: &TokenEntropy, now: u64) -> Issued {
    let (access, access_token) = access(&family, lifetimes, entropy, now);
    Issued {
        access_sha256: access_token.digest(),
        access_keep_until: access.keep_until(lifetimes),
        family_keep_until: family.keep_until(lifetimes),
        expires_in: lifetimes.access_seconds,
        family,
        access,
        access_token,
        refresh_token,
    }
}

/// What a refresh with a presented token comes to.
#[derive(Debug)]
#[must_use]
pub enum RefreshDecision {
    /// The current token: store the rotated family (compare-and-swap with
    /// the record read) and the new access record, and answer the tokens.
    Rotate(Issued),
    /// An older token of the family: store this revoked record
    /// (compare-and-swap with the record read) and refuse.
    Reused(FamilyRecord),
    /// The family's current token, past its expiry: refuse.
    Expired,
    /// The family is revoked: refuse.
    Revoked,
    /// Not a token of a stored family (unknown, forged, or its family is
    /// gone or belongs to another client): refuse, change nothing.
    Invalid,
}

/// Decides a refresh with `presented` against the stored `family` (`None`:
/// no record under the family id it names) at `now`; `client_id` is the
/// authenticated client, when the request authenticated one.
///
/// The order matters: a token without the family's secret is a guess and
/// changes nothing; a revoked family stays revoked; an older token revokes
/// the family even when the current one has expired, because it still
/// means the tokens leaked.
pub fn refresh(
    family: Option<&FamilyRecord>,
    presented: &PresentedRefresh,
    client_id: Option<&str>,
    lifetimes: Lifetimes,
    entropy: &TokenEntropy,
    now: u64,
) -> RefreshDecision {
    let Some(family) = family else { return RefreshDecision::Invalid };
    if family.family != presented.family || family.secret_sha256 != presented.secret_sha256 {
        return RefreshDecision::Invalid;
    }
    if client_id.is_some_and(|id| id != family.client_id) {
        return RefreshDecision::Invalid;
    }
    if family.is_revoked() {
        return RefreshDecision::Revoked;
    }
    if family.refresh_sha256 != presented.digest {
        return RefreshDecision::Reused(family.revoked(now));
    }
    if now >= family.refresh_expires_at {
        return RefreshDecision::Expired;
    }
    let refresh_token = presented.next_token(entropy);
    let next = FamilyRecord {
        refresh_sha256: refresh_token.digest(),
        generation: family.generation.saturating_add(1),
        refresh_expires_at: now.saturating_add(lifetimes.refresh_seconds),
        // Older access tokens stay valid until they expire; the record
        // must outlive the latest of them.
        access_expires_at: family.access_expires_at.max(now.saturating_add(lifetimes.access_seconds)),
        ..family.clone()
    };
    RefreshDecision::Rotate(finish(next, refresh_token, lifetimes, entropy, now))
}
