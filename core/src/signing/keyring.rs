use alloc::vec::Vec;

use super::SignatureError;
use crate::mac::{MacKey, TAG_LEN, tags_equal};
use crate::secret::Secret;

/// The configured secrets of one scheme, each already prepared as an HMAC key.
///
/// An unusable secret is kept as its reason, not refused at construction: the
/// spec orders `invalid_secret` after the header checks, so the verifier must
/// be able to answer `missing_signature` first even when misconfigured.
#[derive(Clone, Debug)]
pub(crate) struct KeyRing {
    keys: Vec<Result<MacKey, &'static str>>,
}

impl KeyRing {
    /// Prepares every secret with the scheme's rule turning a secret into HMAC key bytes.
    pub(crate) fn new<'s>(
        secrets: impl IntoIterator<Item = &'s Secret>,
        derive: impl Fn(&Secret) -> Result<MacKey, &'static str>,
    ) -> Self {
        Self { keys: secrets.into_iter().map(derive).collect() }
    }

    /// Check 3: every configured secret must be usable, and there must be one.
    pub(crate) fn check_usable(&self) -> Result<(), SignatureError> {
        if self.keys.is_empty() {
            return Err(SignatureError::InvalidSecret("no secret is configured"));
        }
        match self.keys.iter().find_map(|k| k.as_ref().err()) {
            Some(why) => Err(SignatureError::InvalidSecret(why)),
            None => Ok(()),
        }
    }

    /// The first unusable configured secret, by position, with why: what a
    /// binding checks when the holder is built, so a misconfiguration shows at
    /// startup rather than on the first message.
    pub(crate) fn first_unusable(&self) -> Option<(usize, SignatureError)> {
        self.keys
            .iter()
            .enumerate()
            .find_map(|(i, k)| k.as_ref().err().map(|why| (i, SignatureError::InvalidSecret(why))))
    }

    /// The prepared keys with their positions, once [`KeyRing::check_usable`] passes.
    pub(crate) fn usable(&self) -> Result<impl Iterator<Item = (usize, &MacKey)>, SignatureError> {
        self.check_usable()?;
        Ok(self.keys.iter().enumerate().filter_map(|(i, k)| k.as_ref().ok().map(|k| (i, k))))
    }

    /// Index of the first secret whose MAC over `parts` equals one of the
    /// presented tags (compared in constant time), else `bad_signature`.
    pub(crate) fn find_match<'p>(
        &self,
        parts: &[&[u8]],
        presented: &(impl Iterator<Item = &'p [u8]> + Clone),
    ) -> Result<usize, SignatureError> {
        self.find_match_tag(parts, presented).map(|(index, _)| index)
    }

    /// As [`KeyRing::find_match`], with the matching tag (a replay guard's mark).
    pub(crate) fn find_match_tag<'p>(
        &self,
        parts: &[&[u8]],
        presented: &(impl Iterator<Item = &'p [u8]> + Clone),
    ) -> Result<(usize, [u8; TAG_LEN]), SignatureError> {
        for (index, key) in self.usable()? {
            let tag = key.tag(parts);
            if presented.clone().any(|p| tags_equal(&tag, p)) {
                return Ok((index, tag));
            }
        }
        Err(SignatureError::BadSignature)
    }

    /// MAC with the first secret, for the signing side (a single secret).
    pub(crate) fn sign(&self, parts: &[&[u8]]) -> Result<[u8; TAG_LEN], SignatureError> {
        let (_, key) = self.usable()?.next().ok_or(SignatureError::InvalidSecret("no secret is configured"))?;
        Ok(key.tag(parts))
    }
}
