//! Idempotency keys as a pure state machine over a stored record
//! (`shared/spec/idempotency.md`). Stores (embedded, Redis) only persist what
//! [`decide`] and [`finish`] return; the rule lives here once.

use alloc::string::String;
use alloc::vec::Vec;

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use crate::Environment;

/// How long a record lives by default: 24 h.
pub const DEFAULT_TTL: u64 = 24 * 60 * 60;

/// A request as far as idempotency is concerned.
#[derive(Clone, Copy, Debug)]
pub struct IdempotentRequest<'a> {
    /// The `Idempotency-Key` / `X-Idempotent-Key` value.
    pub key: &'a str,
    /// HTTP method.
    pub method: &'a str,
    /// Path and query, as sent.
    pub path: &'a str,
    /// Raw body.
    pub body: &'a [u8],
    /// Environment of the key that sent it.
    pub environment: Environment,
    /// Id of the API key that sent it.
    pub key_id: &'a str,
}

impl IdempotentRequest<'_> {
    /// `SHA-256(method ‖ 0x00 ‖ path ‖ 0x00 ‖ body)`.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.method.as_bytes());
        h.update([0]);
        h.update(self.path.as_bytes());
        h.update([0]);
        h.update(self.body);
        h.finalize().into()
    }

    /// The endpoint a key is bound to: method and path without the query.
    pub fn endpoint(&self) -> String {
        let path = self.path.split_once('?').map_or(self.path, |(p, _)| p);
        alloc::format!("{} {path}", self.method.to_ascii_uppercase())
    }

    /// Where the record lives: namespaced by environment and key id so two
    /// merchants, or live and test, never share a record. The variable parts
    /// are hashed, so no separator in them can forge another namespace; the
    /// `{…}` hash tag keeps a record on one Redis Cluster slot.
    pub fn storage_key(&self) -> String {
        let mut h = Sha256::new();
        for part in [self.key_id.as_bytes(), self.key.as_bytes()] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        alloc::format!("idem:{}:{{{}}}", self.environment.as_str(), hex::encode(h.finalize()))
    }
}

/// A stored response, replayed byte for byte.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredResponse {
    /// HTTP status.
    pub status: u16,
    /// Response headers, in order.
    pub headers: Vec<(String, String)>,
    /// Response body; serialized as standard base64 under `body_base64`.
    #[serde(rename = "body_base64", with = "crate::encoding::serde_base64")]
    pub body: Vec<u8>,
}

/// Where a claimed request stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum RecordState {
    /// Claimed; the upstream has not answered yet.
    InFlight,
    /// Answered; replay this.
    Finished(StoredResponse),
    /// Sent, and no answer came (timeout, reset, an answer cut off or too
    /// large to keep): the charge may have run, so the key stays taken until
    /// the record expires or an operator resolves it.
    OutcomeUnknown,
}

/// What a store keeps under [`IdempotentRequest::storage_key`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdempotencyRecord {
    /// Method and path the key was first used with.
    pub endpoint: String,
    /// Hex fingerprint of the first request.
    pub fingerprint: String,
    /// In flight or finished.
    pub state: RecordState,
    /// Unix time after which the record is gone.
    pub expires_at: u64,
}

impl IdempotencyRecord {
    /// Whether the record still counts at `now`.
    pub fn is_live(&self, now: u64) -> bool {
        now < self.expires_at
    }
}

/// Which of the documented 409s.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Conflict {
    /// Same endpoint, other body.
    DifferentBody,
    /// Another endpoint.
    DifferentEndpoint,
    /// The first request has not finished.
    InProgress,
    /// The first request was sent and never answered: it may have executed.
    OutcomeUnknown,
}

impl Conflict {
    /// HTTP status: always 409.
    pub const fn status(self) -> u16 {
        409
    }

    /// The provider's documented message (literal).
    pub const fn message(self) -> &'static str {
        match self {
            Self::DifferentBody => "Idempotency key reused with a different request body.",
            Self::DifferentEndpoint => "Idempotency key already used for a different endpoint.",
            Self::InProgress => "Idempotency key is already being processed.",
            Self::OutcomeUnknown => {
                "The outcome of the first request with this idempotency key is unknown; it is held until an operator resolves it or the key expires."
            }
        }
    }

    /// Stable code for the JSON body.
    pub const fn code(self) -> &'static str {
        match self {
            Self::DifferentBody => "IDEMPOTENCY_KEY_REUSED",
            Self::DifferentEndpoint => "IDEMPOTENCY_KEY_OTHER_ENDPOINT",
            Self::InProgress => "IDEMPOTENCY_KEY_IN_PROGRESS",
            Self::OutcomeUnknown => "IDEMPOTENCY_OUTCOME_UNKNOWN",
        }
    }

    /// `{"status":409,"code":"…","message":"…"}`.
    pub fn body(self) -> String {
        crate::refusal::body(self.status(), self.code(), self.message())
    }
}

/// What to do with a request carrying an idempotency key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Decision {
    /// Store this in-flight record atomically (only if the key is still
    /// free), then execute the request.
    Execute(IdempotencyRecord),
    /// Answer with the stored response; do not execute.
    Replay(StoredResponse),
    /// Answer 409.
    Conflict(Conflict),
}

/// Decides from the `stored` record (as read from the store) at `now`.
pub fn decide(stored: Option<&IdempotencyRecord>, request: &IdempotentRequest<'_>, now: u64, ttl: u64) -> Decision {
    let fingerprint = hex::encode(request.fingerprint());
    let endpoint = request.endpoint();
    let Some(record) = stored.filter(|r| r.is_live(now)) else {
        return Decision::Execute(IdempotencyRecord {
            endpoint,
            fingerprint,
            state: RecordState::InFlight,
            expires_at: now.saturating_add(ttl),
        });
    };
    if record.endpoint != endpoint {
        Decision::Conflict(Conflict::DifferentEndpoint)
    } else if record.fingerprint != fingerprint {
        Decision::Conflict(Conflict::DifferentBody)
    } else {
        match &record.state {
            RecordState::InFlight => Decision::Conflict(Conflict::InProgress),
            RecordState::OutcomeUnknown => Decision::Conflict(Conflict::OutcomeUnknown),
            RecordState::Finished(response) => Decision::Replay(response.clone()),
        }
    }
}

/// What happened to a claimed request's forwarding (`idempotency.md`,
/// "When the upstream's outcome is not known").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UpstreamOutcome {
    /// The upstream answered, whole.
    Answered(StoredResponse),
    /// Never sent: the connection was refused, no route, or the request was
    /// refused before its first byte went out. Nothing executed.
    NotSent,
    /// Sent, and no (whole) answer came: timeout, reset, an answer cut off
    /// or too large to keep. The upstream may have executed it.
    NoAnswer,
}

/// What to do with the claim once the upstream's outcome is known.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Completion {
    /// Keep this finished record for replay.
    Store(IdempotencyRecord),
    /// Delete the claim so a retry can execute: the upstream answered 5xx
    /// (it said it failed) or the request was never sent.
    Release,
    /// Replace the claim with this record of unknown outcome: retries get
    /// 409 `IDEMPOTENCY_OUTCOME_UNKNOWN` until it expires or an operator
    /// releases it. Releasing would risk running the charge twice.
    KeepUnknown(IdempotencyRecord),
}

/// Completes a claim with the forwarding's `outcome`. 2xx, 3xx and 4xx
/// answers are stored and replayed; a 5xx or a request never sent is
/// released; a request sent and never answered is kept as unknown.
pub fn finish(claim: IdempotencyRecord, outcome: UpstreamOutcome) -> Completion {
    match outcome {
        UpstreamOutcome::Answered(response) if response.status < 500 => {
            Completion::Store(IdempotencyRecord { state: RecordState::Finished(response), ..claim })
        }
        UpstreamOutcome::Answered(_) | UpstreamOutcome::NotSent => Completion::Release,
        UpstreamOutcome::NoAnswer => Completion::KeepUnknown(IdempotencyRecord { state: RecordState::OutcomeUnknown, ..claim }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(key: &'a str, path: &'a str, body: &'a [u8]) -> IdempotentRequest<'a> {
        IdempotentRequest { key, method: "POST", path, body, environment: Environment::Live, key_id: "k" }
    }

    fn finished(claim: IdempotencyRecord, status: u16) -> Option<IdempotencyRecord> {
        match finish(claim, UpstreamOutcome::Answered(StoredResponse { status, headers: Vec::new(), body: b"{}".to_vec() })) {
            Completion::Store(r) => Some(r),
            Completion::Release | Completion::KeepUnknown(_) => None,
        }
    }

    #[test]
    fn table() {
        let a = req("K", "/pay", b"1");
        let Decision::Execute(claim) = decide(None, &a, 0, DEFAULT_TTL) else { panic!() };
        assert_eq!(decide(Some(&claim), &a, 1, DEFAULT_TTL), Decision::Conflict(Conflict::InProgress));
        let done = finished(claim, 201).unwrap();
        assert!(matches!(decide(Some(&done), &a, 2, DEFAULT_TTL), Decision::Replay(r) if r.status == 201));
        assert_eq!(decide(Some(&done), &req("K", "/pay", b"2"), 2, DEFAULT_TTL), Decision::Conflict(Conflict::DifferentBody));
        assert_eq!(decide(Some(&done), &req("K", "/refund", b"1"), 2, DEFAULT_TTL), Decision::Conflict(Conflict::DifferentEndpoint));
        assert!(matches!(decide(Some(&done), &a, DEFAULT_TTL, DEFAULT_TTL), Decision::Execute(_)), "expired");
    }

    #[test]
    fn server_errors_release_client_errors_stay() {
        let Decision::Execute(claim) = decide(None, &req("K", "/p", b""), 0, 10) else { panic!() };
        assert_eq!(finished(claim.clone(), 502), None);
        assert!(finished(claim.clone(), 422).is_some());
        assert_eq!(finish(claim, UpstreamOutcome::NotSent), Completion::Release);
    }

    #[test]
    fn a_request_sent_and_never_answered_keeps_its_key() {
        let a = req("K", "/p", b"1");
        let Decision::Execute(claim) = decide(None, &a, 0, 10) else { panic!() };
        let Completion::KeepUnknown(unknown) = finish(claim, UpstreamOutcome::NoAnswer) else { panic!() };
        assert_eq!(decide(Some(&unknown), &a, 1, 10), Decision::Conflict(Conflict::OutcomeUnknown));
        assert_eq!(decide(Some(&unknown), &req("K", "/p", b"2"), 1, 10), Decision::Conflict(Conflict::DifferentBody));
        assert!(matches!(decide(Some(&unknown), &a, 10, 10), Decision::Execute(_)), "expired");
        assert_eq!(Conflict::OutcomeUnknown.code(), "IDEMPOTENCY_OUTCOME_UNKNOWN");
        let json = serde_json::to_string(&unknown).unwrap();
        assert!(json.contains(r#""state":"outcome_unknown""#), "{json}");
    }

    #[test]
    fn stored_bodies_are_base64_text() {
        let record = IdempotencyRecord {
            endpoint: "POST /p".into(),
            fingerprint: "00".into(),
            state: RecordState::Finished(StoredResponse {
                status: 201,
                headers: alloc::vec![("a".into(), "b".into())],
                body: alloc::vec![0, 255, 10],
            }),
            expires_at: 9,
        };
        let json = serde_json::to_string(&record).unwrap();
        assert!(json.contains(r#""body_base64":"AP8K""#), "{json}");
        assert_eq!(serde_json::from_str::<IdempotencyRecord>(&json).unwrap(), record);
        assert!(serde_json::from_str::<IdempotencyRecord>(&json.replace("AP8K", "!!")).is_err());
    }

    #[test]
    fn namespaces_do_not_collide() {
        let live = req("K", "/p", b"");
        let test = IdempotentRequest { environment: Environment::Test, ..live };
        let other_key = IdempotentRequest { key_id: "k2", ..live };
        let shifted = IdempotentRequest { key_id: "kK", key: "", ..live };
        let keys = [live.storage_key(), test.storage_key(), other_key.storage_key(), shifted.storage_key()];
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn fingerprint_separates_fields() {
        let a = IdempotentRequest { method: "POST", path: "/a", body: b"b", ..req("K", "", b"") };
        let b = IdempotentRequest { method: "POST", path: "/ab", body: b"", ..a };
        assert_ne!(a.fingerprint(), b.fingerprint());
    }
}
