//! Which changes of a stored key record are allowed (`keys.md`, "Key
//! records"): the rule every lifecycle write checks against the record it
//! read, right before its compare-and-swap, so a change planned on a copy
//! that another gateway revoked meanwhile is refused instead of undoing the
//! revocation.

use super::{KeyRecord, KeyStatus};

/// Why a stored key record may not become another one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyChangeRefusal {
    /// The record is revoked: revocation is permanent, nothing of it changes.
    Revoked,
    /// The record is superseded: its replacement time and grace stay as
    /// they are (a second replacement would lengthen or cut the grace the
    /// first one announced).
    Superseded,
    /// The id, digest or environment would change: that is another key,
    /// which is created, never edited into place.
    OtherKey,
}

impl KeyChangeRefusal {
    /// Stable code.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Revoked => "key_revoked",
            Self::Superseded => "key_superseded",
            Self::OtherKey => "other_key",
        }
    }
}

/// Whether the stored record `current` may be replaced by `next`. An
/// unchanged record is always allowed (a write that changes nothing).
///
/// # Errors
/// The [`KeyChangeRefusal`] that forbids it.
pub fn check_key_change(current: &KeyRecord, next: &KeyRecord) -> Result<(), KeyChangeRefusal> {
    if current.id != next.id || current.key_sha256 != next.key_sha256 || current.environment != next.environment {
        return Err(KeyChangeRefusal::OtherKey);
    }
    if current == next {
        return Ok(());
    }
    if current.status == KeyStatus::Revoked {
        return Err(KeyChangeRefusal::Revoked);
    }
    if current.superseded_at.is_some() && (next.superseded_at != current.superseded_at || next.grace_seconds != current.grace_seconds) {
        return Err(KeyChangeRefusal::Superseded);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Environment;

    fn active() -> KeyRecord {
        KeyRecord::new("k", "sk_live_x", Environment::Live)
    }

    #[test]
    fn a_revoked_record_never_changes_again() {
        let mut revoked = active();
        revoked.status = KeyStatus::Revoked;
        let mut reactivated = revoked.clone();
        reactivated.status = KeyStatus::Active;
        assert_eq!(check_key_change(&revoked, &reactivated), Err(KeyChangeRefusal::Revoked));
        let mut edited = revoked.clone();
        edited.allowed_ips = alloc::vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(check_key_change(&revoked, &edited), Err(KeyChangeRefusal::Revoked));
        let mut superseded = revoked.clone();
        superseded.supersede(5, 10);
        assert_eq!(check_key_change(&revoked, &superseded), Err(KeyChangeRefusal::Revoked));
        assert_eq!(check_key_change(&revoked, &revoked.clone()), Ok(()));
    }

    #[test]
    fn an_active_record_is_edited_revoked_or_superseded() {
        let current = active();
        let mut edited = current.clone();
        edited.scopes = alloc::vec!["s".into()];
        assert_eq!(check_key_change(&current, &edited), Ok(()));
        let mut revoked = current.clone();
        revoked.status = KeyStatus::Revoked;
        assert_eq!(check_key_change(&current, &revoked), Ok(()));
        let mut superseded = current.clone();
        superseded.supersede(5, 10);
        assert_eq!(check_key_change(&current, &superseded), Ok(()));
    }

    #[test]
    fn a_superseded_record_keeps_its_grace_and_may_still_be_revoked() {
        let mut current = active();
        current.supersede(5, 10);
        let mut again = current.clone();
        again.superseded_at = Some(7);
        assert_eq!(check_key_change(&current, &again), Err(KeyChangeRefusal::Superseded));
        let mut longer = current.clone();
        longer.grace_seconds = 100;
        assert_eq!(check_key_change(&current, &longer), Err(KeyChangeRefusal::Superseded));
        let mut revoked = current.clone();
        revoked.status = KeyStatus::Revoked;
        assert_eq!(check_key_change(&current, &revoked), Ok(()));
    }

    #[test]
    fn the_identity_of_a_record_never_changes() {
        let current = active();
        for other in [
            KeyRecord::new("k2", "sk_live_x", Environment::Live),
            KeyRecord::new("k", "sk_live_y", Environment::Live),
            KeyRecord::new("k", "sk_live_x", Environment::Test),
        ] {
            assert_eq!(check_key_change(&current, &other), Err(KeyChangeRefusal::OtherKey));
        }
        assert_eq!(KeyChangeRefusal::Revoked.code(), "key_revoked");
    }
}
