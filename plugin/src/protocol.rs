//! The answers of `check_request`, `decide_idempotency` and `finish_request`
//! as one set of typed enums, serialized by the guest and deserialized by
//! every Rust host (the gateway): a host matches variants, never strings.
//! The JSON is the plugin README's.

use payseal_core::gate::ReplayGuard;
use payseal_core::idempotency::IdempotencyRecord;
use payseal_core::{Environment, Refusal};
use serde::{Deserialize, Serialize};

/// A refusal, as every host must send it: the core's [`Refusal`] and its body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusalOut {
    /// payseal's typed reason.
    pub reason: String,
    /// HTTP status.
    pub status: u16,
    /// The provider's code.
    pub code: String,
    /// Fixed text.
    pub message: String,
    /// The body to send, as is.
    pub body: String,
}

impl From<Refusal> for RefusalOut {
    fn from(r: Refusal) -> Self {
        Self { reason: r.reason.into(), status: r.status, code: r.code.into(), message: r.message.into(), body: r.body() }
    }
}

/// What the host stores, atomically and only if the key is still free,
/// before it forwards the request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claimed {
    /// Where.
    pub storage_key: String,
    /// The in-flight record.
    pub claim: IdempotencyRecord,
    /// Its lifetime.
    pub ttl_seconds: u64,
}

/// A stored answer to send again.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Replayed {
    /// HTTP status.
    pub status: u16,
    /// Headers, in order.
    pub headers: Vec<(String, String)>,
    /// The body, standard base64.
    pub body_base64: String,
}

/// The decision of `check_request` and `decide_idempotency`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CheckOutput {
    /// The head passed; read the body (at most the host's limit) and call
    /// again with it.
    NeedBody {
        /// Always `true`.
        ok: bool,
        /// The key that called.
        key_id: String,
        /// Its environment.
        environment: Environment,
        /// The canonical target to forward.
        target: String,
    },
    /// Forward the request to `target`; with `idempotency`, store its claim first.
    Execute {
        /// Always `true`.
        ok: bool,
        /// The key that called (`decide_idempotency`: none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
        /// Its environment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        environment: Option<Environment>,
        /// The canonical target to forward (`decide_idempotency`: none).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        target: Option<String>,
        /// The claim to store first.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        idempotency: Option<Claimed>,
        /// On a signed route: the signature's mark, to claim before anything
        /// else ([`ReplayGuard`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replay: Option<ReplayGuard>,
    },
    /// Read the store under `storage_key` and call again with the record.
    Lookup {
        /// Always `true`.
        ok: bool,
        /// The key that called.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
        /// Its environment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        environment: Option<Environment>,
        /// Where to read.
        storage_key: String,
        /// On a signed route: the signature's mark, to claim before anything
        /// else ([`ReplayGuard`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replay: Option<ReplayGuard>,
    },
    /// Answer with the stored response; do not forward.
    Replay {
        /// Always `true`.
        ok: bool,
        /// The key that called.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key_id: Option<String>,
        /// Its environment.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        environment: Option<Environment>,
        /// The stored status.
        status: u16,
        /// The stored answer.
        response: Replayed,
        /// On a signed route: the signature's mark, to claim before anything
        /// else ([`ReplayGuard`]).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        replay: Option<ReplayGuard>,
    },
    /// Refused by the gate: path, fields, key, signature, a missing
    /// idempotency key.
    Refuse {
        /// Always `false`.
        ok: bool,
        /// What to send.
        #[serde(flatten)]
        refusal: RefusalOut,
    },
    /// One of the idempotency 409s.
    Conflict {
        /// Always `false`.
        ok: bool,
        /// What to send.
        #[serde(flatten)]
        refusal: RefusalOut,
    },
}

impl CheckOutput {
    /// The replay guard a body-checked answer carries, if any.
    pub fn replay(&self) -> Option<&ReplayGuard> {
        match self {
            Self::Execute { replay, .. } | Self::Lookup { replay, .. } | Self::Replay { replay, .. } => replay.as_ref(),
            _ => None,
        }
    }

    /// The same answer carrying `guard` (on a signed route), for the host to
    /// claim before acting on it; refusals and conflicts carry none.
    #[must_use]
    pub fn with_replay(mut self, guard: Option<ReplayGuard>) -> Self {
        if let Self::Execute { replay, .. } | Self::Lookup { replay, .. } | Self::Replay { replay, .. } = &mut self {
            *replay = guard;
        }
        self
    }

    /// A refusal of the core's.
    pub fn refuse(refusal: Refusal) -> Self {
        Self::Refuse { ok: false, refusal: refusal.into() }
    }

    /// The outcome's name and, for a refusal or conflict, its reason: the
    /// fixed words a log line may hold.
    pub fn summary(&self) -> (&'static str, Option<&str>) {
        match self {
            Self::NeedBody { .. } => ("need_body", None),
            Self::Execute { .. } => ("execute", None),
            Self::Lookup { .. } => ("lookup", None),
            Self::Replay { .. } => ("replay", None),
            Self::Refuse { refusal, .. } => ("refuse", Some(&refusal.reason)),
            Self::Conflict { refusal, .. } => ("conflict", Some(&refusal.reason)),
        }
    }
}

/// The answer of `finish_request`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum FinishOutput {
    /// Replace the claim with this finished record (same storage key).
    Store {
        /// The finished record.
        record: IdempotencyRecord,
    },
    /// Delete the claim so a retry can execute.
    Release,
    /// Replace the claim with this record of unknown outcome (same storage key).
    KeepUnknown {
        /// The outcome-unknown record.
        record: IdempotencyRecord,
    },
}

impl FinishOutput {
    /// The action's name, for the log.
    pub const fn summary(&self) -> &'static str {
        match self {
            Self::Store { .. } => "store",
            Self::Release => "release",
            Self::KeepUnknown { .. } => "keep_unknown",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outputs_round_trip_through_their_json() {
        let refused = CheckOutput::refuse(Refusal::DUPLICATE_FIELD);
        let json = serde_json::to_string(&refused).unwrap();
        assert!(json.starts_with(r#"{"outcome":"refuse","ok":false,"reason":"duplicate_field","status":400"#), "{json}");
        assert_eq!(serde_json::from_str::<CheckOutput>(&json).unwrap(), refused);
        let need = CheckOutput::NeedBody { ok: true, key_id: "k".into(), environment: Environment::Live, target: "/p".into() };
        assert_eq!(serde_json::from_str::<CheckOutput>(&serde_json::to_string(&need).unwrap()).unwrap(), need);
        let execute = r#"{"outcome":"execute","ok":true}"#;
        assert!(matches!(serde_json::from_str::<CheckOutput>(execute).unwrap(), CheckOutput::Execute { key_id: None, idempotency: None, .. }));
        assert_eq!(serde_json::to_string(&FinishOutput::Release).unwrap(), r#"{"action":"release"}"#);
        assert!(serde_json::from_str::<CheckOutput>(r#"{"outcome":"maybe","ok":true}"#).is_err());
    }
}
