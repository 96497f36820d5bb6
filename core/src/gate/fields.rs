//! Single-valued fields (`gate.md`, "Single-valued fields").
//!
//! A field sent twice is read differently by different parsers: one takes
//! the first value, one the last, one joins them. A gateway that checks one
//! value while the upstream reads another is bypassed, so a second value of
//! a field that decides anything is refused outright, the same way in every
//! runtime.

use crate::refusal::Refusal;
use crate::signing::HeaderMap;

/// Signature fields of every scheme the gate verifies or that an upstream
/// may verify again: never more than one of each.
pub const SIGNATURE_FIELDS: &[&str] = &[
    "x-timestamp",
    "x-signature",
    "signature",
    "signature-input",
    "digest",
    "content-digest",
    "webhook-id",
    "webhook-timestamp",
    "webhook-signature",
];

/// Fields whose syntax has no list, so a comma inside one value is two
/// values joined (RFC 9110 section 5.3): the DVPay timestamp and signature.
/// The runtime's token-like fields (API key, webcode, idempotency key,
/// access token) are passed as [`Field::Token`].
const TOKEN_SIGNATURE_FIELDS: &[&str] = &["x-timestamp", "x-signature", "webhook-id", "webhook-timestamp"];

/// A field to check, by the shape of its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field<'a> {
    /// A single token (API key, webcode, idempotency key, access token): a
    /// second field or a comma inside the value is a second value.
    Token(&'a str),
    /// A field whose value may contain commas (a structured dictionary, a
    /// date): only a second field is a second value.
    Structured(&'a str),
}

impl Field<'_> {
    fn name(&self) -> &str {
        match self {
            Self::Token(name) | Self::Structured(name) => name,
        }
    }
}

/// Refuses a request in which any of `fields`, or any of
/// [`SIGNATURE_FIELDS`], has more than one value.
///
/// # Errors
/// [`Refusal::DUPLICATE_FIELD`].
pub fn single_valued<'a>(
    headers: &(impl HeaderMap + ?Sized),
    fields: impl IntoIterator<Item = Field<'a>>,
) -> Result<(), Refusal> {
    let signature_fields = SIGNATURE_FIELDS.iter().map(|name| {
        if TOKEN_SIGNATURE_FIELDS.contains(name) { Field::Token(name) } else { Field::Structured(name) }
    });
    for field in fields.into_iter().chain(signature_fields) {
        let mut count = 0usize;
        let mut joined = false;
        headers.for_each_value(field.name(), &mut |value| {
            count += 1;
            joined |= matches!(field, Field::Token(_)) && value.contains(',');
        });
        if count > 1 || joined {
            return Err(Refusal::DUPLICATE_FIELD);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(headers: &[(&str, &str)]) -> Result<(), Refusal> {
        single_valued(headers, [Field::Token("x-api-key"), Field::Token("x-webcode"), Field::Token("idempotency-key")])
    }

    #[test]
    fn one_value_of_each_passes() {
        assert_eq!(check(&[("X-Api-Key", "k"), ("x-webcode", "SHOP01"), ("signature-input", "a=(), b=()")]), Ok(()));
        assert_eq!(check(&[("accept", "a"), ("Accept", "b")]), Ok(()), "other fields may repeat");
    }

    #[test]
    fn a_second_value_is_refused() {
        for headers in [
            &[("x-webcode", "SHOP01"), ("X-Webcode", "VICTIM")][..],
            &[("x-webcode", "SHOP01, VICTIM")],
            &[("x-api-key", "a"), ("x-api-key", "a")],
            &[("idempotency-key", "k1,k2")],
            &[("x-timestamp", "1"), ("x-timestamp", "2")],
            &[("x-signature", "aa,bb")],
            &[("signature", "a=:AA==:"), ("signature", "b=:AA==:")],
            &[("content-digest", "sha-256=:AA==:"), ("Content-Digest", "sha-256=:AA==:")],
        ] {
            assert_eq!(check(headers), Err(Refusal::DUPLICATE_FIELD), "{headers:?}");
        }
    }
}
