//! The signing side.

use alloc::vec::Vec;
use core::fmt;

use super::base::{BaseError, Message, is_present, signature_base};
use super::digest::{DigestAlgorithm, content_digest};
use super::params::Covered;
use super::sf::{self, BareItem, InnerList, Item, Member};
use super::{ParamValue, SignRequest, SignedFields, derive};
use crate::mac::MacKey;
use crate::secret::Secret;
use crate::signing::{HeaderMap, SignatureError};

/// Signs requests with one shared secret; the `keyid` is a parameter of each
/// request.
#[derive(Clone)]
pub struct Signer {
    key: Result<MacKey, &'static str>,
}

impl fmt::Debug for Signer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer").finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for `secret`: standard base64 (padding optional) of at least
    /// 16 bytes. An unusable secret is reported by [`Signer::sign`].
    pub fn new(secret: &Secret) -> Self {
        Self { key: derive(secret) }
    }

    /// The `Signature-Input` and `Signature` values for `request`, and its
    /// `Content-Digest` when the signer made one.
    ///
    /// When `content-digest` is covered, the body is not empty and the
    /// headers carry no `Content-Digest`, a `sha-256` one is made and signed;
    /// one already in the headers is signed as it is. The signer refuses what
    /// [`super::Verifier`] would refuse, so a signature it makes can verify.
    ///
    /// # Errors
    /// - `malformed_header`: the label is not an RFC 8941 key; a component is
    ///   unsupported or repeated; there are more than
    ///   [`sf::MAX_INNER_LIST_ITEMS`] components or [`sf::MAX_PARAMETERS`]
    ///   parameters, or the `Signature-Input` would be longer than
    ///   [`sf::MAX_FIELD_LENGTH`]; a parameter is repeated, is not an RFC 8941
    ///   key, or has the wrong type or range (`created`/`expires` unix
    ///   seconds, `keyid`/`nonce`/`tag`/`alg` strings of printable ASCII,
    ///   `alg` only `hmac-sha256`); a covered value is not printable ASCII
    ///   or the URL is not absolute.
    /// - `missing_signature`: a covered header field is absent.
    /// - `invalid_secret`: the secret is not base64 of at least 16 bytes.
    pub fn sign<H: HeaderMap + ?Sized>(&self, request: &SignRequest<'_, H>) -> Result<SignedFields, SignatureError> {
        let malformed = SignatureError::MalformedHeader;
        if !sf::is_key(request.label) {
            return Err(malformed("label is not a structured-field key"));
        }
        // The verifier's parser refuses more; checked first, so the duplicate
        // search below stays bounded too.
        if request.components.len() > sf::MAX_INNER_LIST_ITEMS || request.params.len() > sf::MAX_PARAMETERS {
            return Err(malformed("more components or parameters than a verifier accepts"));
        }
        let mut params = sf::Parameters::new();
        for (name, value) in request.params {
            // Parsing keeps the last of a repeated key; refusing here keeps
            // the written field and the signed one the same.
            if params.contains_key(name) {
                return Err(malformed("a signature parameter is given twice"));
            }
            let value = match value {
                ParamValue::Integer(value) => BareItem::Integer(*value),
                ParamValue::String(value) => BareItem::String(value.clone()),
            };
            params.insert(*name, value);
        }
        let items: Vec<Item> =
            request.components.iter().map(|name| Item::new(BareItem::String(name.to_ascii_lowercase()))).collect();
        let list = InnerList { items, params };
        let covered = Covered::check(&list).map_err(malformed)?;

        let content_digest = (covered.covers("content-digest")
            && !request.body.is_empty()
            && !is_present(request.headers, "content-digest"))
        .then(|| content_digest(DigestAlgorithm::Sha256, request.body));
        let headers = WithContentDigest { headers: request.headers, value: content_digest.as_deref() };
        let message = Message { method: request.method, url: request.url, headers: &headers };
        let base = signature_base(&message, &covered.components, &covered.params_line).map_err(|e| match e {
            BaseError::AbsentField => SignatureError::MissingSignature("a covered header field is absent"),
            BaseError::Unusable(why) => malformed(why),
        })?;

        let signature_input = single_member(request.label, Member::InnerList(list))?;
        if signature_input.len() > sf::MAX_FIELD_LENGTH {
            return Err(malformed("Signature-Input is longer than a verifier accepts"));
        }
        let key = self.key.as_ref().map_err(|&why| SignatureError::InvalidSecret(why))?;
        let tag = key.tag(&[base.as_bytes()]);
        Ok(SignedFields {
            signature_input,
            signature: single_member(request.label, Member::Item(Item::new(BareItem::ByteSequence(tag.to_vec()))))?,
            content_digest,
        })
    }
}

/// `label=<member>`, serialized as a one-member dictionary.
fn single_member(label: &str, member: Member) -> Result<alloc::string::String, SignatureError> {
    sf::serialize_dictionary(&[(label, member)].into_iter().collect())
        .map_err(|_| SignatureError::MalformedHeader("signature fields cannot be written as structured fields"))
}

/// The caller's headers plus the `Content-Digest` the signer made.
struct WithContentDigest<'a, H: HeaderMap + ?Sized> {
    headers: &'a H,
    value: Option<&'a str>,
}

impl<H: HeaderMap + ?Sized> HeaderMap for WithContentDigest<'_, H> {
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        self.headers.for_each_value(name, f);
        if let Some(value) = self.value
            && name.eq_ignore_ascii_case("content-digest")
        {
            f(value);
        }
    }
}
