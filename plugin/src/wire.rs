//! Pieces of the call inputs that several functions share: header lists and
//! bodies.

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

/// The raw body from `body` (UTF-8 text) or `body_base64` (any bytes);
/// `None` when neither is given.
///
/// # Errors
/// Both fields given, or `body_base64` that is not standard base64.
pub fn body(text: Option<String>, base64: Option<&str>, prefix: &str) -> Result<Option<Vec<u8>>, PluginError> {
    match (text, base64) {
        (Some(_), Some(_)) => Err(PluginError::input(format!("{prefix}body_base64"), "give body or body_base64, not both")),
        (Some(text), None) => Ok(Some(text.into_bytes())),
        (None, Some(encoded)) => decode_base64(encoded)
            .map(Some)
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
        assert_eq!(body(Some("x".into()), None, "").unwrap(), Some(b"x".to_vec()));
        assert_eq!(body(None, Some("AAE="), "").unwrap(), Some(vec![0, 1]));
        assert_eq!(body(None, None, "").unwrap(), None);
        assert!(body(Some("x".into()), Some("AA=="), "").is_err());
        assert!(body(None, Some("!"), "response.").is_err());
    }
}
