//! The `ACCESS-TOKEN` check of routes that require one.

use hyper::http::request::Parts;
use payseal_core::tokens::{AccessRecord, AccessRejection, FamilyRecord, PresentedAccess};

use super::{Answered, Tokens, access_key, family_key};
use crate::gateway::Shared;
use crate::http::json_response;
use crate::store::StoreError;

/// `None` when the request carries a valid access token; otherwise the 401
/// (or the 503 of a store that cannot answer).
pub(super) async fn refusal(shared: &Shared, tokens: &Tokens, parts: &Parts, key_id: &str) -> Option<Answered> {
    let mut values = parts.headers.get_all(&tokens.header).iter();
    let presented = match (values.next(), values.next()) {
        (None, _) => Err(AccessRejection::Missing),
        (Some(value), None) => value.to_str().ok().and_then(PresentedAccess::parse).ok_or(AccessRejection::Invalid),
        // Two tokens: which one was meant is not for the gateway to guess.
        (Some(_), Some(_)) => Err(AccessRejection::Invalid),
    };
    let now = shared.clock.now();
    let checked = match presented {
        Ok(presented) => match read(shared, &presented, now).await {
            Ok((record, family)) => tokens.policy.check_access(&presented, record.as_ref(), family.as_ref(), now, key_id),
            Err(error) => {
                tracing::error!(%error, "cannot read an access token's records; failing closed");
                return Some(Answered { response: crate::http::store_unavailable(), outcome: "store_error", reason: "" });
            }
        },
        Err(rejection) => Err(rejection),
    };
    let refusal = payseal_core::Refusal::from(checked.err()?);
    Some(Answered { response: json_response(refusal.status, refusal.body()), outcome: "refused", reason: refusal.reason })
}

async fn read(shared: &Shared, presented: &PresentedAccess, now: u64) -> Result<(Option<AccessRecord>, Option<FamilyRecord>), StoreError> {
    let record: Option<AccessRecord> = decode(shared.store.entry(&access_key(presented.family, &presented.digest), now).await?)?;
    let Some(record) = record else { return Ok((None, None)) };
    let family = decode(shared.store.entry(&family_key(record.family), now).await?)?;
    Ok((Some(record), family))
}

pub(super) fn decode<T: serde::de::DeserializeOwned>(bytes: Option<Vec<u8>>) -> Result<Option<T>, StoreError> {
    bytes.map(|b| serde_json::from_slice(&b).map_err(|_| StoreError::corrupt("a token record cannot be decoded"))).transpose()
}
