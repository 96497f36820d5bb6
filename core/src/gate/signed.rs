//! The verifiers of signed routes, per key record.

use alloc::collections::BTreeMap;
use alloc::string::String;

use crate::rfc9421;
use crate::signing::{DEFAULT_TOLERANCE, dvpay};

/// Signed-route verifiers, per key record id: a merchant's signature is
/// checked against its own secrets only.
pub struct SignedRequests {
    /// Key id → DVPay verifier of its secrets.
    pub dvpay: BTreeMap<String, dvpay::Verifier>,
    /// Key id → RFC 9421 verifier of its signing keys.
    pub rfc9421: BTreeMap<String, rfc9421::Verifier>,
    /// Accepted distance of a request timestamp from `now`, seconds.
    pub tolerance: u64,
}

impl Default for SignedRequests {
    fn default() -> Self {
        Self { dvpay: BTreeMap::new(), rfc9421: BTreeMap::new(), tolerance: DEFAULT_TOLERANCE }
    }
}

impl core::fmt::Debug for SignedRequests {
    /// Names the key ids, never a secret.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SignedRequests")
            .field("dvpay", &self.dvpay.keys().collect::<alloc::vec::Vec<_>>())
            .field("rfc9421", &self.rfc9421.keys().collect::<alloc::vec::Vec<_>>())
            .field("tolerance", &self.tolerance)
            .finish()
    }
}
