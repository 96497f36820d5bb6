//! A list of records kept as one JSON store entry and changed by
//! compare-and-swap, so concurrent changes on several gateways sharing the
//! store never lose one another: the admin tokens, token clients and
//! renewal accounts created through the admin API ([`crate::access::token`],
//! [`crate::tokens::clients`], [`crate::lifecycle::accounts`]). The entries
//! never expire.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::access::AdminError;
use crate::store::{Store, StoreError};

/// How many times a change is read, decided and swapped before giving up.
const CAS_ATTEMPTS: usize = 16;

/// The records of `entry` and the bytes they were read from (the
/// `expected` of the next swap).
///
/// # Errors
/// The store fails, or the entry cannot be decoded.
pub async fn read<T: DeserializeOwned>(store: &dyn Store, entry: &str, now: u64) -> Result<(Option<Vec<u8>>, Vec<T>), StoreError> {
    match store.entry(entry, now).await? {
        Some(bytes) => {
            let records = serde_json::from_slice(&bytes).map_err(|_| StoreError::corrupt("a stored list cannot be decoded"))?;
            Ok((Some(bytes), records))
        }
        None => Ok((None, Vec::new())),
    }
}

/// Retries `change` of `entry`'s records until its compare-and-swap wins;
/// an empty list deletes the entry.
///
/// # Errors
/// `change`'s, the store's, or [`AdminError::Conflict`].
pub async fn change<T, A>(store: &dyn Store, entry: &str, now: u64, mut change: impl FnMut(&mut Vec<T>) -> Result<A, AdminError>) -> Result<A, AdminError>
where
    T: Serialize + DeserializeOwned,
{
    for _ in 0..CAS_ATTEMPTS {
        let (expected, mut records) = read::<T>(store, entry, now).await?;
        let answer = change(&mut records)?;
        let bytes = serde_json::to_vec(&records).map_err(|_| StoreError::corrupt("a list cannot be encoded"))?;
        let new = if records.is_empty() { None } else { Some(bytes.as_slice()) };
        if store.swap_entry(entry, expected.as_deref(), new, None, now).await? {
            return Ok(answer);
        }
    }
    Err(AdminError::Conflict)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RedbStore;

    #[tokio::test]
    async fn changes_are_kept_and_an_empty_list_deletes_the_entry() {
        let dir = tempfile::tempdir().unwrap();
        let store = RedbStore::open(&dir.path().join("s.redb")).unwrap();
        let added = change(&store, "t/list", 1, |list: &mut Vec<String>| {
            list.push("a".into());
            Ok(list.len())
        })
        .await
        .unwrap();
        assert_eq!(added, 1);
        assert_eq!(read::<String>(&store, "t/list", 1).await.unwrap().1, ["a"]);
        let refused = change(&store, "t/list", 1, |_: &mut Vec<String>| Err::<(), _>(AdminError::NotFound)).await;
        assert_eq!(refused, Err(AdminError::NotFound));
        change(&store, "t/list", 1, |list: &mut Vec<String>| {
            list.clear();
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(store.entry("t/list", 1).await.unwrap(), None);
    }
}
