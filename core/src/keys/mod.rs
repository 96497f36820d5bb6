//! API keys: formats, records, the gateway's ordered check, and renewal
//! (`shared/spec/keys.md`).
//!
//! A gateway never holds a presented key longer than it takes to hash it; it
//! compares digests, in constant time, against every record.

mod change;
mod check;
mod format;
mod issue;
mod ip;
mod policy;
mod record;
mod rejection;
mod renewal;
mod renewal_answer;
mod schedule;
mod renewal_endpoint;

pub use change::{KeyChangeRefusal, check_key_change};
pub use check::{Allowed, KeySet, KeySetError, Request};
pub use format::KeyFormat;
pub use ip::{IpNet, InvalidIpNet, canonical as canonical_ip};
pub use policy::Policy;
pub use issue::{ID_RANDOM_BYTES, KEY_RANDOM_BYTES, key_id};
pub use record::{KeyDigest, KeyRecord, KeyState, KeyStatus};
pub use rejection::KeyRejection;
pub use renewal::{RenewalDecision, RenewalPolicy, RenewalResponse, SecretLifetime, apply_renewal, should_renew};
pub use renewal_answer::{RenewalFailure, read_renewal_answer, retry_after_seconds};
pub use schedule::{Margin, RenewalSchedule, RenewalStep, RenewalTrigger};
pub use renewal_endpoint::{RENEWAL_SEGMENT, RateLimit, RenewalForm, RenewalRefusal, parse_renewal_form, rate_limit, renewal_code_url};
