//! The verifying side: the spec's eight checks, over every label.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::base::{BaseError, Message, signature_base};
use super::digest::Presented;
use super::params::Covered;
use super::sf::{self, BareItem, Item, Member};
use super::{Verified, VerifyRequest, derive};
use crate::mac::{MacKey, tags_equal};
use crate::secret::Secret;
use crate::signing::{Clock, HeaderMap, SignatureError, field};

/// Verifies RFC 9421 signatures against keys configured by `keyid`.
#[derive(Clone)]
pub struct Verifier {
    /// `keyid` and its prepared key, or why its secret is unusable (reported
    /// at check 4, after the header checks).
    keys: Vec<(String, Result<MacKey, &'static str>)>,
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier").field("key_ids", &self.keys.iter().map(|(id, _)| id).collect::<Vec<_>>()).finish()
    }
}

/// One label that passed the header checks.
struct Label<'a> {
    name: &'a str,
    covered: Covered,
    base: String,
    presented: &'a [u8],
}

impl Verifier {
    /// A verifier for `keyid → secret` pairs (several during a rotation).
    /// Secrets are standard base64 (padding optional) of at least 16 bytes;
    /// a `keyid` given twice keeps its first secret.
    pub fn new<'k>(keys: impl IntoIterator<Item = (&'k str, &'k Secret)>) -> Self {
        Self { keys: keys.into_iter().map(|(id, secret)| (String::from(id), derive(secret))).collect() }
    }

    /// Verifies the request's signatures; `required` lists the components a
    /// signature must cover.
    ///
    /// Both fields must be well-formed dictionaries whose labels pair up, each
    /// signature a byte sequence (checks 1 and 2, for every label). Labels
    /// whose `keyid` is not configured are then skipped without judging their
    /// components or `alg`: RFC 9421 lets signatures for other verifiers (a
    /// proxy's, another algorithm's) travel alongside. Of the remaining
    /// labels, the first that passes checks 2 to 8 wins, else the error of
    /// the first remaining label decides. A signature without `created` cannot show it is fresh and is
    /// `stale_timestamp`.
    ///
    /// # Errors
    /// In the order checked: `missing_signature` (no `Signature` or
    /// `Signature-Input`); `malformed_header` (a field is not an RFC 8941
    /// dictionary or exceeds the parser's bounds, [`sf::MAX_MEMBERS`] and the
    /// like, an integer of `Signature-Input` is written with a leading zero or
    /// as `-0`, labels of the two fields differ, a signature is not a byte
    /// sequence, `alg` is not `hmac-sha256`, a component is unsupported or has
    /// parameters, a parameter has the wrong type, a covered field is absent
    /// or not printable ASCII, `Content-Digest` is not a dictionary of byte
    /// sequences); `unknown_key`; `invalid_secret`; `insufficient_coverage`;
    /// `stale_timestamp`; `bad_digest`; `bad_signature`.
    pub fn verify<H: HeaderMap + ?Sized>(
        &self,
        request: &VerifyRequest<'_, H>,
        required: &[&str],
        clock: Clock,
    ) -> Result<Verified, SignatureError> {
        self.verify_requiring(request, Required { components: required, nonce: false }, clock)
    }

    /// [`verify`](Self::verify) with everything a route may require of a
    /// signature: its components and, with [`Required::nonce`], a non-empty
    /// `nonce` parameter (a label without one fails like missing coverage,
    /// `insufficient_coverage`, at the same point).
    ///
    /// # Errors
    /// As [`verify`](Self::verify).
    pub fn verify_requiring<H: HeaderMap + ?Sized>(
        &self,
        request: &VerifyRequest<'_, H>,
        required: Required<'_>,
        clock: Clock,
    ) -> Result<Verified, SignatureError> {
        let malformed = SignatureError::MalformedHeader;
        // Check 1.
        let signatures = field(request.headers, "signature").ok_or(SignatureError::MissingSignature("Signature"))?;
        let inputs =
            field(request.headers, "signature-input").ok_or(SignatureError::MissingSignature("Signature-Input"))?;

        // Check 2. Field syntax and label pairing hold for every label; the
        // meaning of a label (components, parameters) only for ours.
        let signatures = sf::parse_dictionary(&signatures)
            .map_err(|_| malformed("Signature is not a structured-field dictionary"))?;
        // Canonical integers: `created` and `expires` are timestamps, which have one spelling.
        let inputs = sf::parse_dictionary_canonical(&inputs)
            .map_err(|_| malformed("Signature-Input is not a structured-field dictionary"))?;
        if signatures.iter().any(|(label, _)| !inputs.contains_key(label)) {
            return Err(malformed("a Signature label has no Signature-Input"));
        }
        let message = Message { method: request.method, url: request.url, headers: request.headers };
        let mut labels = Vec::with_capacity(inputs.len());
        for (name, member) in &inputs {
            let presented = match signatures.get(name) {
                Some(Member::Item(Item { bare_item: BareItem::ByteSequence(bytes), .. })) => bytes.as_slice(),
                Some(_) => return Err(malformed("a Signature member is not a byte sequence")),
                None => return Err(malformed("a Signature-Input label has no Signature")),
            };
            let Member::InnerList(list) = member else {
                return Err(malformed("a Signature-Input member is not an inner list"));
            };
            let ours = match list.params.get("keyid") {
                Some(BareItem::String(id)) => self.keys.iter().any(|(k, _)| k == id),
                _ => false,
            };
            if !ours {
                continue;
            }
            let covered = Covered::check(list).map_err(malformed)?;
            let base = signature_base(&message, &covered.components, &covered.params_line).map_err(|e| match e {
                BaseError::AbsentField => malformed("a covered header field is absent"),
                BaseError::Unusable(why) => malformed(why),
            })?;
            labels.push(Label { name, covered, base, presented });
        }
        let digest = if labels.iter().any(|l| l.covered.covers("content-digest")) {
            // Present: building the signature base checked it.
            let value = field(request.headers, "content-digest").unwrap_or_default();
            Some(Presented::parse(&value).map_err(malformed)?)
        } else {
            None
        };

        // Check 3 (only labels with a configured key are left), then 4 to 8.
        let mut checks = LabelChecks { required, clock, body: request.body, digest: digest.as_ref(), digest_ok: None };
        let mut first_error = None;
        for label in &labels {
            let Some(key_id) = &label.covered.key_id else { continue };
            let Some((_, key)) = self.keys.iter().find(|(id, _)| id == key_id) else { continue };
            match checks.run(label, key.as_ref()) {
                Ok(()) => {
                    return Ok(Verified {
                        label: String::from(label.name),
                        key_id: key_id.clone(),
                        created: label.covered.created.unwrap_or_default(),
                        signature: label.presented.to_vec(),
                    });
                }
                Err(error) => {
                    first_error.get_or_insert(error);
                }
            }
        }
        Err(first_error.unwrap_or(SignatureError::UnknownKey))
    }
}

/// Checks 4 to 8 with what they share across labels.
/// What a route requires of an accepted signature.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Required<'a> {
    /// Components it must cover (names match ASCII case-insensitively).
    pub components: &'a [&'a str],
    /// Whether it must carry a non-empty `nonce` parameter: a client that
    /// sends one per request makes identical requests distinct, so the
    /// replay guard never takes a second one for a replay.
    pub nonce: bool,
}

struct LabelChecks<'a> {
    required: Required<'a>,
    clock: Clock,
    body: &'a [u8],
    digest: Option<&'a Presented>,
    /// Whether the body matches `Content-Digest`, hashed once for all labels.
    digest_ok: Option<bool>,
}

impl LabelChecks<'_> {
    fn run(&mut self, label: &Label<'_>, key: Result<&MacKey, &&'static str>) -> Result<(), SignatureError> {
        let key = key.map_err(|&why| SignatureError::InvalidSecret(why))?;
        if !self.required.components.iter().all(|name| label.covered.covers(name)) {
            return Err(SignatureError::InsufficientCoverage);
        }
        if self.required.nonce && !label.covered.has_nonce {
            return Err(SignatureError::InsufficientCoverage);
        }
        let created = label.covered.created.ok_or(SignatureError::StaleTimestamp)?;
        self.clock.check(created)?;
        if label.covered.expires.is_some_and(|expires| self.clock.now > expires) {
            return Err(SignatureError::StaleTimestamp);
        }
        if label.covered.covers("content-digest") {
            let (digest, body) = (self.digest, self.body);
            if !*self.digest_ok.get_or_insert_with(|| digest.is_some_and(|d| d.matches(body))) {
                return Err(SignatureError::BadDigest);
            }
        }
        if tags_equal(&key.tag(&[label.base.as_bytes()]), label.presented) {
            Ok(())
        } else {
            Err(SignatureError::BadSignature)
        }
    }
}
