//! Key formats a policy can accept (`keys.md`, "Key formats").

use serde::{Deserialize, Serialize};

use super::KeyRejection;
use crate::Environment;

/// What a matching format tells about a key.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Shape {
    /// The environment a `prefixed` key's prefix names.
    pub(super) environment: Option<Environment>,
}

/// A shape of API key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum KeyFormat {
    /// `sk_live_` / `sk_test_` + 24–128 ASCII alphanumerics; the prefix names the environment.
    Prefixed,
    /// Exactly 64 hex characters.
    Hex64,
    /// An RFC 4122 UUID.
    Uuid,
    /// Standard base64 of at least 32 bytes.
    Base64Secret,
}

impl KeyFormat {
    /// Whether `key` has this shape, and what it says about its environment.
    pub(super) fn matches(self, key: &str) -> Option<Shape> {
        match self {
            Self::Prefixed => {
                let (environment, rest) = if let Some(rest) = key.strip_prefix("sk_live_") {
                    (Environment::Live, rest)
                } else {
                    (Environment::Test, key.strip_prefix("sk_test_")?)
                };
                ((24..=128).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
                    .then_some(Shape { environment: Some(environment) })
            }
            Self::Hex64 => (key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit())).then_some(Shape::default()),
            Self::Uuid => is_uuid(key).then_some(Shape::default()),
            Self::Base64Secret => crate::encoding::decode_standard(key)
                .filter(|bytes| bytes.len() >= 32)
                .map(|_| Shape::default()),
        }
    }
}

/// 8-4-4-4-12 hex digits, a version of 1 to 8 and the RFC 4122 variant.
fn is_uuid(key: &str) -> bool {
    let b = key.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
        && (b'1'..=b'8').contains(&b[14])
        && matches!(b[19].to_ascii_lowercase(), b'8' | b'9' | b'a' | b'b')
}

/// What is wrong with a presented key's surroundings, without echoing it.
fn transport_problem(key: &str) -> Option<&'static str> {
    if key.starts_with(|c: char| c.is_whitespace()) {
        Some("key has leading whitespace")
    } else if key.ends_with(['\n', '\r']) {
        Some("key has a trailing line break")
    } else if key.ends_with(|c: char| c.is_whitespace()) {
        Some("key has trailing whitespace")
    } else if let Some((scheme, _)) = key.split_once(' ')
        && ["bearer", "basic", "token", "apikey"].iter().any(|s| s.eq_ignore_ascii_case(scheme))
    {
        Some("key has an authorization scheme prefix such as Bearer")
    } else if key.contains(|c: char| c.is_whitespace() || c.is_control()) {
        Some("key contains whitespace or control characters")
    } else {
        None
    }
}

/// Checks 1 and 2: the key is present and has an accepted format.
///
/// Returns the environment named by a `prefixed` key, if any.
pub(super) fn classify(
    key: Option<&str>,
    accepted: &[KeyFormat],
) -> Result<Option<Environment>, KeyRejection> {
    let key = key.filter(|k| !k.is_empty()).ok_or(KeyRejection::MissingKey)?;
    if let Some(problem) = transport_problem(key) {
        return Err(KeyRejection::MalformedKey(problem));
    }
    accepted
        .iter()
        .find_map(|format| format.matches(key))
        .map(|shape| shape.environment)
        .ok_or(KeyRejection::MalformedKey("key does not match any accepted format"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let ok = |f: KeyFormat, k: &str| f.matches(k).is_some();
        assert!(ok(KeyFormat::Prefixed, "sk_live_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5"));
        assert!(!ok(KeyFormat::Prefixed, "sk_live_short"));
        assert!(!ok(KeyFormat::Prefixed, "pk_live_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5"));
        assert!(ok(KeyFormat::Hex64, &"aB".repeat(32)));
        assert!(!ok(KeyFormat::Hex64, &"a".repeat(63)));
        assert!(ok(KeyFormat::Uuid, "08c94330-f618-42a3-b09d-e1e43be5efd0"));
        assert!(!ok(KeyFormat::Uuid, "08c94330-f618-02a3-b09d-e1e43be5efd0"));
        assert!(!ok(KeyFormat::Uuid, "08c94330-f618-42a3-709d-e1e43be5efd0"));
        assert!(ok(KeyFormat::Base64Secret, "4o0bmF1eTd1ZmONmX6igz5A6QpHErVvCCZU97s/ua1I="));
        assert!(!ok(KeyFormat::Base64Secret, "AAAA"));
    }

    #[test]
    fn messages_name_the_problem_not_the_key() {
        let all = [KeyFormat::Prefixed];
        let reason = |k| match classify(Some(k), &all) {
            Err(KeyRejection::MalformedKey(why)) => why,
            other => panic!("{other:?}"),
        };
        assert_eq!(reason(" sk_live_x"), "key has leading whitespace");
        assert_eq!(reason("sk_live_x\n"), "key has a trailing line break");
        assert_eq!(reason("sk_live_x "), "key has trailing whitespace");
        assert_eq!(reason("Bearer sk_live_x"), "key has an authorization scheme prefix such as Bearer");
        assert_eq!(classify(None, &all), Err(KeyRejection::MissingKey));
        assert_eq!(classify(Some(""), &all), Err(KeyRejection::MissingKey));
    }
}
