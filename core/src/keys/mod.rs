//! API keys: formats, records, the gateway's ordered check, and renewal
//! (`shared/spec/keys.md`).
//!
//! A gateway never holds a presented key longer than it takes to hash it; it
//! compares digests, in constant time, against every record.

mod check;
mod format;
mod ip;
mod policy;
mod record;
mod rejection;
mod renewal;
mod renewal_answer;
mod schedule;

pub use check::{Allowed, KeySet, KeySetError, Request};
pub use format::KeyFormat;
pub use ip::{IpNet, InvalidIpNet, canonical as canonical_ip};
pub use policy::Policy;
pub use record::{KeyDigest, KeyRecord, KeyStatus};
pub use rejection::KeyRejection;
pub use renewal::{RenewalDecision, RenewalPolicy, RenewalResponse, SecretLifetime, apply_renewal, should_renew};
pub use renewal_answer::{RenewalFailure, read_renewal_answer, retry_after_seconds};
pub use schedule::{Margin, RenewalSchedule, RenewalStep, RenewalTrigger};
