//! Pieces of the call inputs that several functions share: header lists and
//! bodies.

use std::borrow::Cow;

use payseal_core::HeaderMap;
use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::error::PluginError;

/// A request's or response's header fields, in the order received.
///
/// Accepted as a JSON object (`{"X-Signature": "…"}`) or, for fields sent
/// several times, as a list of `[name, value]` pairs. Names are matched
/// ASCII case-insensitively by the core.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Headers(pub Vec<(String, String)>);

impl Headers {
    /// Every value of `name`, joined as HTTP combines a field sent several
    /// times (`, `), without trimming: `None` when absent.
    pub fn combined(&self, name: &str) -> Option<String> {
        let mut joined: Option<String> = None;
        self.0.for_each_value(name, &mut |value| match joined.as_mut() {
            Some(acc) => {
                acc.push_str(", ");
                acc.push_str(value);
            }
            None => joined = Some(value.to_owned()),
        });
        joined
    }
}

impl HeaderMap for Headers {
    fn for_each_value(&self, name: &str, f: &mut dyn FnMut(&str)) {
        self.0.for_each_value(name, f);
    }
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct HeadersVisitor;

        impl<'de> Visitor<'de> for HeadersVisitor {
            type Value = Headers;

            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("an object of header values or a list of [name, value] pairs")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Headers, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = map.next_entry::<String, String>()? {
                    pairs.push(pair);
                }
                Ok(Headers(pairs))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Headers, A::Error> {
                let mut pairs = Vec::new();
                while let Some(pair) = seq.next_element::<(String, String)>()? {
                    pairs.push(pair);
                }
                Ok(Headers(pairs))
            }
        }

        deserializer.deserialize_any(HeadersVisitor)
    }
}

/// The call's raw body: the framed one ([`crate::frame`]) when the input was
/// a frame, else `body` (UTF-8 text) or `body_base64` (any bytes) of the
/// JSON; `None` when there is none. A framed body is borrowed, not copied.
/// `prefix` is the path of the fields' object in the input (`response.`).
///
/// # Errors
/// A frame and a body field both given (the field is named: the body is in
/// the frame), both fields given, or `body_base64` that is not standard
/// base64.
pub fn body<'a>(
    framed: Option<&'a [u8]>,
    text: Option<String>,
    base64: Option<&str>,
    prefix: &str,
) -> Result<Option<Cow<'a, [u8]>>, PluginError> {
    if let Some(framed) = framed {
        return match (&text, base64) {
            (Some(_), _) => Err(PluginError::input(format!("{prefix}body"), "the body is in the frame")),
            (None, Some(_)) => Err(PluginError::input(format!("{prefix}body_base64"), "the body is in the frame")),
            (None, None) => Ok(Some(Cow::Borrowed(framed))),
        };
    }
    match (text, base64) {
        (Some(_), Some(_)) => Err(PluginError::input(format!("{prefix}body_base64"), "give body or body_base64, not both")),
        (Some(text), None) => Ok(Some(Cow::Owned(text.into_bytes()))),
        (None, Some(encoded)) => decode_base64(encoded)
            .map(|bytes| Some(Cow::Owned(bytes)))
            .ok_or_else(|| PluginError::input(format!("{prefix}body_base64"), "not standard base64")),
        (None, None) => Ok(None),
    }
}

/// Standard base64, the alphabet of `body_base64` fields.
fn decode_base64(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// Standard base64 of `bytes`, for `body_base64` outputs.
pub(crate) fn encode_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_as_object_or_pairs() {
        let a: Headers = serde_json::from_str(r#"{"X-A":"1","b":"2"}"#).unwrap();
        let b: Headers = serde_json::from_str(r#"[["X-A","1"],["b","2"]]"#).unwrap();
        assert_eq!(a, b);
        let repeated: Headers = serde_json::from_str(r#"[["x-api-key","a"],["X-Api-Key","b "]]"#).unwrap();
        assert_eq!(repeated.combined("x-api-key").as_deref(), Some("a, b "));
        assert_eq!(repeated.combined("absent"), None);
        assert!(serde_json::from_str::<Headers>(r#"[["only-name"]]"#).is_err());
    }

    #[test]
    fn body_fields() {
        assert_eq!(body(None, Some("x".into()), None, "").unwrap().as_deref(), Some(&b"x"[..]));
        assert_eq!(body(None, None, Some("AAE="), "").unwrap().as_deref(), Some(&[0, 1][..]));
        assert_eq!(body(None, None, None, "").unwrap(), None);
        assert!(body(None, Some("x".into()), Some("AA=="), "").is_err());
        assert!(body(None, None, Some("!"), "response.").is_err());
    }

    #[test]
    fn a_framed_body_is_borrowed_and_excludes_the_fields() {
        let framed = b"\x00raw";
        assert!(matches!(body(Some(framed), None, None, ""), Ok(Some(Cow::Borrowed(b))) if b == framed));
        assert!(matches!(body(Some(b""), None, None, ""), Ok(Some(Cow::Borrowed(b"")))));
        let in_frame = |field: &str| PluginError::input(field, "the body is in the frame");
        assert_eq!(body(Some(framed), Some("x".into()), None, "").unwrap_err(), in_frame("body"));
        assert_eq!(body(Some(framed), None, Some("AA=="), "").unwrap_err(), in_frame("body_base64"));
        assert_eq!(body(Some(framed), Some(String::new()), Some("!"), "response.").unwrap_err(), in_frame("response.body"));
    }
}
