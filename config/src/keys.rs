//! The `keys` section: the key records, the gateway's policy, and the header
//! that carries the API key, prepared into the core's [`KeySet`].

use payseal_core::keys::{KeyRecord, KeySet, Policy};
use serde::{Deserialize, Serialize};

use crate::SectionError;

/// The header carrying the API key when `keys.header` is not given.
pub const DEFAULT_KEY_HEADER: &str = "x-api-key";

fn default_key_header() -> String {
    DEFAULT_KEY_HEADER.into()
}

/// The `keys` section, as written. It serializes back with the records'
/// `key_sha256` digests in it: a public view must drop them.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KeysSection {
    #[serde(default)]
    policy: Policy,
    #[serde(default)]
    records: Vec<KeyRecord>,
    /// The header carrying the API key.
    #[serde(default = "default_key_header")]
    header: String,
}

/// The key check's configuration, prepared.
pub struct Keys {
    /// Records, validated and indexed.
    pub set: KeySet,
    /// The gateway's policy.
    pub policy: Policy,
    /// The header carrying the API key.
    pub header: String,
}

impl KeysSection {
    /// Validates and indexes the records.
    ///
    /// # Errors
    /// [`SectionError::KeyRecords`] when two records share an id or a digest.
    pub fn prepare(self) -> Result<Keys, SectionError> {
        let set = KeySet::new(self.records).map_err(SectionError::KeyRecords)?;
        Ok(Keys { set, policy: self.policy, header: self.header })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST: &str = "b9221c5bfc900f3541492a62e14a7662976b0e845a60358d60e351628a9f6110";

    fn section(text: &str) -> KeysSection {
        crate::parse(text.as_bytes()).unwrap()
    }

    fn record(id: &str) -> String {
        format!(r#"{{"id":"{id}","key_sha256":"{DIGEST}","environment":"live"}}"#)
    }

    #[test]
    fn empty_section_has_the_defaults() {
        let keys = section("{}").prepare().unwrap();
        assert_eq!(keys.header, "x-api-key");
        assert_eq!(keys.policy, Policy::default());
    }

    #[test]
    fn records_are_prepared_into_the_key_set() {
        let keys = section(&format!(r#"{{"records":[{}],"header":"x-merchant-key"}}"#, record("a"))).prepare().unwrap();
        assert_eq!(keys.header, "x-merchant-key");
        // DIGEST is the SHA-256 of this live key.
        let request = payseal_core::keys::Request {
            api_key: Some("sk_live_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5Yg0Jk2"),
            method: "POST",
            path: "/v1",
            client_ip: None,
            webcode: None,
        };
        assert_eq!(keys.set.check(&request, &keys.policy, 1_719_500_000).unwrap().key_id, "a");
        let request = payseal_core::keys::Request { api_key: Some("sk_live_9Qm2Xv7Lp4Tz8Rb1Nc6Hd3Wf5Yg0Jk3"), ..request };
        assert!(keys.set.check(&request, &keys.policy, 1_719_500_000).is_err());
    }

    #[test]
    fn duplicate_records_name_keys_records() {
        let e = section(&format!(r#"{{"records":[{},{}]}}"#, record("a"), record("a"))).prepare().err().unwrap();
        assert_eq!((e.field(), e.code()), ("keys.records", "invalid_key_records"));
        assert_eq!(e.to_string(), r#"records: id "a" appears twice"#);
        let e = section(&format!(r#"{{"records":[{},{}]}}"#, record("a"), record("b"))).prepare().err().unwrap();
        assert!(!e.to_string().contains(DIGEST), "{e}");
    }

    #[test]
    fn bad_fields_are_named_without_their_values() {
        let e = crate::parse::<KeysSection>(br#"{"records":[{"id":"a","key_sha256":"sk_live_canary","environment":"live"}]}"#)
            .err()
            .unwrap();
        assert_eq!(e.field, "records[0].key_sha256");
        assert!(!e.message.contains("canary"), "{}", e.message);
        let e = crate::parse::<KeysSection>(br#"{"policy":{"clock_skw":1}}"#).err().unwrap();
        assert_eq!((e.field.as_str(), e.message.as_str()), ("policy.clock_skw", "unknown field `clock_skw`"));
        let e = crate::parse::<KeysSection>(br#"{"head":"x"}"#).err().unwrap();
        assert_eq!(e.message, "unknown field `head`");
    }
}
