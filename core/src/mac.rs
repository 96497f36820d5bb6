//! HMAC-SHA256 with the keyed state prepared once per secret holder.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Length of an HMAC-SHA256 tag.
pub(crate) const TAG_LEN: usize = 32;

/// An HMAC-SHA256 key whose inner and outer pads are already absorbed.
///
/// Preparing the key costs two compression rounds; cloning the prepared state
/// is a copy, so a verifier that holds one signs a 64-byte body in half the
/// work. The state is key material: it is wiped on drop (`zeroize` feature of
/// `hmac`) and has no `Debug` of its contents.
#[derive(Clone)]
pub(crate) struct MacKey {
    prepared: Hmac<Sha256>,
}

impl MacKey {
    pub(crate) fn new(key: &[u8]) -> Self {
        // HMAC accepts keys of any length: longer ones are hashed first.
        let Ok(prepared) = Hmac::<Sha256>::new_from_slice(key) else { unreachable_any_length() };
        Self { prepared }
    }

    /// MAC over the concatenation of `parts`, without joining them in memory.
    pub(crate) fn tag(&self, parts: &[&[u8]]) -> [u8; TAG_LEN] {
        let mut mac = self.prepared.clone();
        for part in parts {
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

#[cold]
fn unreachable_any_length() -> ! {
    // `Hmac::new_from_slice` is documented to accept every key length.
    panic!("HMAC rejected a key length")
}

impl core::fmt::Debug for MacKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("MacKey([redacted])")
    }
}

/// Constant-time equality of a computed tag and a presented one.
///
/// A presented value of the wrong length is simply unequal.
pub(crate) fn tags_equal(computed: &[u8], presented: &[u8]) -> bool {
    computed.ct_eq(presented).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2() {
        let key = MacKey::new(b"Jefe");
        let tag = key.tag(&[b"what do ya want ", b"for nothing?"]);
        assert_eq!(
            hex::encode(tag),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn length_mismatch_is_unequal() {
        assert!(!tags_equal(&[1, 2, 3], &[1, 2]));
        assert!(tags_equal(&[1, 2, 3], &[1, 2, 3]));
    }
}
