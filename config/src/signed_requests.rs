//! The `signed_requests` section: per key record, the secrets its signed
//! routes are verified with (DVPay secrets, several during a rotation, and
//! RFC 9421 keys), and the accepted clock distance. A merchant's signature is
//! checked against its own secrets only.

use std::collections::BTreeMap;

use payseal_core::rfc9421;
use payseal_core::signing::{DEFAULT_TOLERANCE, dvpay};
use serde::{Deserialize, Serialize};

use crate::ConfigSecret;

fn default_tolerance() -> u64 {
    DEFAULT_TOLERANCE
}

/// The `signed_requests` section, as written; its secrets serialize as
/// `"[redacted]"`.
#[derive(Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SignedRequestsSection {
    /// Key record id → its DVPay API secrets (several during a rotation).
    #[serde(default)]
    secrets: BTreeMap<String, Vec<ConfigSecret>>,
    /// Key record id → its RFC 9421 signing keys (`keyid` → base64 secret).
    #[serde(default)]
    rfc9421: BTreeMap<String, BTreeMap<String, ConfigSecret>>,
    /// Accepted distance of a request timestamp from `now`, seconds.
    #[serde(default = "default_tolerance")]
    tolerance: u64,
}

impl Default for SignedRequestsSection {
    fn default() -> Self {
        Self { secrets: BTreeMap::new(), rfc9421: BTreeMap::new(), tolerance: DEFAULT_TOLERANCE }
    }
}

pub use payseal_core::gate::SignedRequests;

impl SignedRequestsSection {
    /// Prepares the verifiers; the section, and with it the secrets' text
    /// as read, is dropped (and wiped) here.
    pub fn prepare(self) -> SignedRequests {
        let dvpay = self
            .secrets
            .iter()
            .map(|(id, secrets)| (id.clone(), dvpay::Verifier::new(secrets.iter().map(|s| &s.0))))
            .collect();
        let rfc9421 = self
            .rfc9421
            .iter()
            .map(|(id, keys)| (id.clone(), rfc9421::Verifier::new(keys.iter().map(|(kid, s)| (kid.as_str(), &s.0)))))
            .collect();
        SignedRequests { dvpay, rfc9421, tolerance: self.tolerance }
    }
}

#[cfg(test)]
mod tests {
    use payseal_core::Secret;
    use payseal_core::signing::Clock;

    use super::*;

    const NOW: u64 = 1_719_500_000;

    fn section(text: &str) -> SignedRequestsSection {
        crate::parse(text.as_bytes()).unwrap()
    }

    fn dvpay_headers(secret: &str, body: &[u8]) -> Vec<(&'static str, String)> {
        dvpay::Signer::new("ak", &Secret::from_text(secret)).sign(body, NOW, "idem").unwrap().headers
    }

    #[test]
    fn empty_section_has_the_default_tolerance() {
        let prepared = section("{}").prepare();
        assert!(prepared.dvpay.is_empty() && prepared.rfc9421.is_empty());
        assert_eq!(prepared.tolerance, DEFAULT_TOLERANCE);
        assert_eq!(SignedRequestsSection::default().prepare().tolerance, DEFAULT_TOLERANCE);
        assert_eq!(section(r#"{"tolerance":30}"#).prepare().tolerance, 30);
    }

    #[test]
    fn each_key_verifies_with_its_own_dvpay_secrets() {
        let prepared = section(r#"{"secrets":{"a":["dvp_old_7Hq2Lm9X","dvp_new_c4Rt8Vb1"],"b":["dvp_b_Lm9Xc4Rt"]}}"#).prepare();
        let clock = Clock { now: NOW, tolerance: prepared.tolerance };
        let a = &prepared.dvpay["a"];
        // The rotation ring keeps the configured order.
        assert_eq!(a.verify(b"{}", &dvpay_headers("dvp_old_7Hq2Lm9X", b"{}"), clock).unwrap().secret_index, 0);
        assert_eq!(a.verify(b"{}", &dvpay_headers("dvp_new_c4Rt8Vb1", b"{}"), clock).unwrap().secret_index, 1);
        // Another key's secret is not one of `a`'s.
        assert_eq!(a.verify(b"{}", &dvpay_headers("dvp_b_Lm9Xc4Rt", b"{}"), clock).unwrap_err().code(), "bad_signature");
        assert!(prepared.dvpay["b"].verify(b"{}", &dvpay_headers("dvp_b_Lm9Xc4Rt", b"{}"), clock).is_ok());
    }

    /// `Signature-Input` and `Signature` of a POST signed with `secret` (base64) under `keyid`.
    fn rfc9421_headers(secret: &str, keyid: &str) -> Vec<(&'static str, String)> {
        let signer = rfc9421::Signer::new(&Secret::from_text(secret));
        let params = [("created", rfc9421::ParamValue::Integer(1_719_500_000)), ("keyid", keyid.to_owned().into())];
        let no_headers: [(&str, &str); 0] = [];
        let request = rfc9421::SignRequest {
            method: "POST",
            url: "https://psp.example/pay",
            headers: &no_headers,
            body: b"",
            label: "sig1",
            components: &["@method", "@path"],
            params: &params,
        };
        let fields = signer.sign(&request).unwrap();
        vec![("signature-input", fields.signature_input), ("signature", fields.signature)]
    }

    #[test]
    fn each_key_verifies_with_its_own_rfc9421_keys() {
        let prepared = section(r#"{"rfc9421":{"a":{"k1":"c2VjcmV0LWEtMDEyMzQ1Njc4OQ=="},"b":{"k2":"c2VjcmV0LWItMDEyMzQ1Njc4OQ=="}}}"#).prepare();
        let clock = Clock { now: NOW, tolerance: prepared.tolerance };
        let verify = |key: &str, headers: &[(&str, String)]| {
            let request = rfc9421::VerifyRequest { method: "POST", url: "https://psp.example/pay", headers, body: b"" };
            prepared.rfc9421[key].verify(&request, &["@method"], clock).map(|v| v.key_id).map_err(|e| e.code())
        };
        assert_eq!(verify("a", &rfc9421_headers("c2VjcmV0LWEtMDEyMzQ1Njc4OQ==", "k1")), Ok("k1".into()));
        assert_eq!(verify("b", &rfc9421_headers("c2VjcmV0LWItMDEyMzQ1Njc4OQ==", "k2")), Ok("k2".into()));
        // `b`'s key signs nothing for `a`.
        assert!(verify("a", &rfc9421_headers("c2VjcmV0LWItMDEyMzQ1Njc4OQ==", "k2")).is_err());
        assert!(prepared.dvpay.is_empty());
    }

    #[test]
    fn bad_fields_are_named_without_their_values() {
        let e = crate::parse::<SignedRequestsSection>(br#"{"secrets":{"a":["dvp_canary"]},"tolerance":"dvp_canary2"}"#)
            .err()
            .unwrap();
        assert_eq!(e.field, "tolerance");
        assert!(!e.message.contains("canary"), "{}", e.message);
        let e = crate::parse::<SignedRequestsSection>(br#"{"secrets":{"a":"dvp_canary"}}"#).err().unwrap();
        assert_eq!(e.field, "secrets.a");
        assert!(!e.message.contains("canary"), "{}", e.message);
        let e = crate::parse::<SignedRequestsSection>(br#"{"keys":{}}"#).err().unwrap();
        assert_eq!(e.message, "unknown field `keys`");
    }

    #[test]
    fn secrets_serialize_redacted() {
        let text = serde_json::to_string(&section(r#"{"secrets":{"a":["dvp_canary"]},"rfc9421":{"a":{"k":"canary"}}}"#)).unwrap();
        assert!(!text.contains("canary"), "{text}");
        assert_eq!(text, r#"{"secrets":{"a":["[redacted]"]},"rfc9421":{"a":{"k":"[redacted]"}},"tolerance":300}"#);
    }
}
