//! RFC 9421 HTTP Message Signatures with `hmac-sha256` (`shared/spec/rfc9421.md`).
//!
//! A [`Signer`] produces the `Signature-Input` and `Signature` fields (and a
//! `Content-Digest` when the body needs one); a [`Verifier`] holds the
//! configured keys by `keyid` and checks a request against them. Both use the
//! same checks on the covered components and parameters, so what one signs
//! the other accepts.
//!
//! ```
//! use payseal_core::rfc9421::{ParamValue, SignRequest, Signer, Verifier, VerifyRequest};
//! use payseal_core::{Clock, Secret};
//!
//! let secret = Secret::from_text("oTi/maBUu4/4XtTo5JrJgHJkglvkb0tIgG/sgAVFGQY=");
//! let body = br#"{"amount":10000}"#;
//! let url = "https://api.example-psp.com/v1/payments";
//! let headers = [("content-type", "application/json")];
//! let signed = Signer::new(&secret).sign(&SignRequest {
//!     method: "POST",
//!     url,
//!     headers: &headers,
//!     body,
//!     label: "sig1",
//!     components: &["@method", "@authority", "@path", "content-type", "content-digest"],
//!     params: &[("created", ParamValue::Integer(1_719_493_637)), ("keyid", ParamValue::from("psk-live-2025"))],
//! })?;
//! let digest = signed.content_digest.as_deref().unwrap_or_default();
//! let received = [
//!     ("content-type", "application/json"),
//!     ("content-digest", digest),
//!     ("signature-input", signed.signature_input.as_str()),
//!     ("signature", signed.signature.as_str()),
//! ];
//! let verifier = Verifier::new([("psk-live-2025", &secret)]);
//! let request = VerifyRequest { method: "POST", url, headers: &received, body };
//! let verified = verifier.verify(&request, &["@method", "@path", "content-digest"], Clock::at(1_719_493_640))?;
//! assert_eq!((verified.label.as_str(), verified.key_id.as_str()), ("sig1", "psk-live-2025"));
//! # Ok::<(), payseal_core::SignatureError>(())
//! ```

mod base;
mod digest;
mod params;
pub mod sf;
mod sign;
mod verify;

use alloc::string::String;
use alloc::vec::Vec;

pub use digest::{DigestAlgorithm, content_digest};
pub use sign::Signer;
pub use verify::{Required, Verifier};

use crate::mac::MacKey;
use crate::secret::{Secret, base64_mac_key};
use crate::signing::HeaderMap;

/// A parameter value of `Signature-Input`: `created` and `expires` are
/// integers (unix seconds), `nonce`, `keyid`, `tag` and `alg` strings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ParamValue {
    /// An RFC 8941 Integer.
    Integer(i64),
    /// An RFC 8941 String (printable ASCII).
    String(String),
}

impl From<i64> for ParamValue {
    fn from(value: i64) -> Self {
        Self::Integer(value)
    }
}

impl From<&str> for ParamValue {
    fn from(value: &str) -> Self {
        Self::String(String::from(value))
    }
}

impl From<String> for ParamValue {
    fn from(value: String) -> Self {
        Self::String(value)
    }
}

/// A request to sign.
///
/// `headers` takes any [`HeaderMap`]: an array or slice of pairs such as
/// `&[("date", "…")]`, a `&Vec<(String, String)>`, a `&BTreeMap`, or a
/// `&dyn HeaderMap` (the default of `H`, for naming the type without a
/// generic).
pub struct SignRequest<'a, H: HeaderMap + ?Sized = dyn HeaderMap + 'a> {
    /// HTTP method; signed uppercase.
    pub method: &'a str,
    /// Absolute URL: `scheme://authority/path?query`.
    pub url: &'a str,
    /// The request's header fields.
    pub headers: &'a H,
    /// The raw body as sent.
    pub body: &'a [u8],
    /// The signature's label in both fields, e.g. `sig1`: an RFC 8941 key.
    pub label: &'a str,
    /// Covered components in order, e.g. `["@method", "@authority", "content-digest"]`.
    /// Names are lowercased; derived components are `@method`, `@target-uri`,
    /// `@authority`, `@scheme`, `@path`, `@query` and `@request-target`.
    pub components: &'a [&'a str],
    /// Signature parameters in the order they are written, e.g. `created`,
    /// `expires`, `nonce`, `keyid`, `tag`, `alg`.
    pub params: &'a [(&'a str, ParamValue)],
}

/// The fields a signed request carries.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct SignedFields {
    /// The `Signature-Input` field value.
    pub signature_input: String,
    /// The `Signature` field value.
    pub signature: String,
    /// A `Content-Digest` (`sha-256`) to send with the request, when the
    /// signature covers `content-digest`, the body is not empty and the
    /// headers had none.
    pub content_digest: Option<String>,
}

/// A received request to verify.
///
/// `headers` must include `Signature`, `Signature-Input` and any covered
/// field such as `Content-Digest`; it takes any [`HeaderMap`], as
/// [`SignRequest::headers`] does.
pub struct VerifyRequest<'a, H: HeaderMap + ?Sized = dyn HeaderMap + 'a> {
    /// HTTP method.
    pub method: &'a str,
    /// Absolute URL the request was sent to: `scheme://authority/path?query`.
    pub url: &'a str,
    /// The request's header fields.
    pub headers: &'a H,
    /// The raw body as received.
    pub body: &'a [u8],
}

// Written out: a derive would require `H: Copy`, which `dyn HeaderMap` and
// slices are not; only the reference is copied.
impl<H: HeaderMap + ?Sized> Clone for SignRequest<'_, H> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<H: HeaderMap + ?Sized> Copy for SignRequest<'_, H> {}

impl<H: HeaderMap + ?Sized> Clone for VerifyRequest<'_, H> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<H: HeaderMap + ?Sized> Copy for VerifyRequest<'_, H> {}

/// A successful verification: which signature matched, with which key.
///
/// Rotation check: once `key_id` stops naming the old key, it can be removed.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct Verified {
    /// The label of the signature that verified.
    pub label: String,
    /// Its `keyid`.
    pub key_id: String,
    /// Its `created` parameter, unix seconds.
    pub created: u64,
    /// The signature's bytes as presented (decoded): what a replay guard
    /// remembers, whatever base64 spelling carried them.
    pub signature: Vec<u8>,
}

/// The MAC key of a secret: standard base64 (padding optional) of at least 16 bytes.
fn derive(secret: &Secret) -> Result<MacKey, &'static str> {
    base64_mac_key(secret, "", 16, "secret decodes to fewer than 16 bytes")
}

#[cfg(test)]
mod tests;
