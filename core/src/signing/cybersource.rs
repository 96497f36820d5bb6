//! Cybersource REST "HTTP Signature" with a shared secret (draft-cavage HMAC).
//!
//! ```text
//! Signature: keyid="<key id>", algorithm="HmacSHA256",
//!            headers="host date request-target digest v-c-merchant-id", signature="<base64>"
//! ```
//! The MAC key is the base64-decoded shared secret; the signed string is one
//! `name: value` line per entry of `headers`.

use alloc::string::String;
use alloc::vec::Vec;

use sha2::{Digest as _, Sha256};

use super::{Clock, HeaderMap, KeyRing, SignatureError, Verified, field};
use crate::encoding;
use crate::mac::{MacKey, tags_equal};
use crate::secret::{Secret, base64_mac_key};

/// The only algorithm of a shared-secret Cybersource signature.
pub const ALGORITHM: &str = "HmacSHA256";
/// Merchant id header, always signed.
pub const MERCHANT_ID_HEADER: &str = "v-c-merchant-id";

fn derive(secret: &Secret) -> Result<MacKey, &'static str> {
    base64_mac_key(secret, "", 16, "shared secret decodes to fewer than 16 bytes")
}

/// Only requests with a body carry and sign a `Digest`.
fn has_body(method: &str) -> bool {
    ["POST", "PUT", "PATCH"].iter().any(|m| m.eq_ignore_ascii_case(method))
}

/// The `Digest` header value for `body`: `SHA-256=<base64>`.
pub fn digest_header(body: &[u8]) -> String {
    alloc::format!("SHA-256={}", encoding::encode_standard(&Sha256::digest(body)))
}

/// A request to sign, as the Cybersource SDK sees it.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// `Host` (e.g. `apitest.cybersource.com`).
    pub host: &'a str,
    /// HTTP method.
    pub method: &'a str,
    /// Path and query, as sent.
    pub target: &'a str,
    /// `Date`, an IMF-fixdate.
    pub date: &'a str,
    /// `v-c-merchant-id`.
    pub merchant_id: &'a str,
    /// Raw body; `None` is the same as empty.
    pub body: Option<&'a [u8]>,
}

/// A signed request's headers.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct SignedHeaders {
    /// The `Signature` header value.
    pub signature: String,
    /// The `Digest` header value, for POST, PUT and PATCH.
    pub digest: Option<String>,
}

/// Signs requests with one key id and its shared secret.
#[derive(Clone, Debug)]
pub struct Signer {
    key_id: String,
    keys: KeyRing,
}

impl Signer {
    /// A signer for `key_id` and its base64 shared secret.
    pub fn new(key_id: impl Into<String>, secret: &Secret) -> Self {
        Self { key_id: key_id.into(), keys: KeyRing::new([secret], derive) }
    }

    /// The `Signature` and `Digest` headers, byte for byte as the official Node SDK writes them.
    ///
    /// # Errors
    /// `invalid_secret` when the secret is not base64 of at least 16 bytes.
    pub fn sign(&self, request: &Request<'_>) -> Result<SignedHeaders, SignatureError> {
        let digest = has_body(request.method).then(|| digest_header(request.body.unwrap_or_default()));
        let names: &[&str] = if digest.is_some() {
            &["host", "date", "request-target", "digest", MERCHANT_ID_HEADER]
        } else {
            &["host", "date", "request-target", MERCHANT_ID_HEADER]
        };
        let lookup = |name: &str| match name {
            "host" => Some(String::from(request.host)),
            "date" => Some(String::from(request.date)),
            "digest" => digest.clone(),
            MERCHANT_ID_HEADER => Some(String::from(request.merchant_id)),
            _ => None,
        };
        let signing_string = signing_string(names, request.method, request.target, lookup)
            .ok_or(SignatureError::MissingSignature("a signed header"))?;
        let tag = self.keys.sign(&[signing_string.as_bytes()])?;
        Ok(SignedHeaders {
            signature: alloc::format!(
                "keyid=\"{}\", algorithm=\"{ALGORITHM}\", headers=\"{}\", signature=\"{}\"",
                self.key_id,
                names.join(" "),
                encoding::encode_standard(&tag)
            ),
            digest,
        })
    }
}

/// `name: value` lines joined by `\n`; `request-target` (or the draft's
/// `(request-target)`) is `<method lowercase> <target>`.
fn signing_string(
    names: &[&str],
    method: &str,
    target: &str,
    lookup: impl Fn(&str) -> Option<String>,
) -> Option<String> {
    let mut out = String::new();
    for (i, name) in names.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(name);
        out.push_str(": ");
        if *name == "request-target" || *name == "(request-target)" {
            out.push_str(&method.to_ascii_lowercase());
            out.push(' ');
            out.push_str(target);
        } else {
            out.push_str(&lookup(name)?);
        }
    }
    Some(out)
}

/// A configured verification key: the key id the sender names, and its secret.
#[derive(Clone, Debug)]
pub struct Key<'a> {
    /// The `keyid` the sender puts in `Signature`.
    pub key_id: &'a str,
    /// Base64 shared secret.
    pub secret: &'a Secret,
}

/// Verifies Cybersource HTTP Signatures against one or more keys.
#[derive(Clone, Debug)]
pub struct Verifier {
    key_ids: Vec<String>,
    keys: KeyRing,
}

/// The parameters of a `Signature` header.
struct Params {
    key_id: String,
    headers: Vec<String>,
    signature: String,
}

fn parse_params(value: &str) -> Result<Params, SignatureError> {
    let malformed = SignatureError::MalformedHeader;
    let (mut key_id, mut algorithm, mut headers, mut signature) = (None, None, None, None);
    let mut rest = value.trim();
    while !rest.is_empty() {
        let (name, after) = rest.split_once('=').ok_or(malformed("Signature parameter without ="))?;
        let after = after.strip_prefix('"').ok_or(malformed("Signature parameter is not quoted"))?;
        let (param, after) = after.split_once('"').ok_or(malformed("Signature has an unclosed quote"))?;
        let slot = match name.trim() {
            "keyid" => &mut key_id,
            "algorithm" => &mut algorithm,
            "headers" => &mut headers,
            "signature" => &mut signature,
            // Later drafts add created/expires; nothing here relies on them.
            _ => &mut None,
        };
        if slot.replace(param).is_some() {
            return Err(malformed("Signature repeats a parameter"));
        }
        rest = after.trim_start();
        if !rest.is_empty() {
            rest = rest.strip_prefix(',').ok_or(malformed("Signature parameters are not comma-separated"))?;
            rest = rest.trim_start();
        }
    }
    let algorithm = algorithm.ok_or(malformed("Signature has no algorithm"))?;
    if !algorithm.eq_ignore_ascii_case(ALGORITHM) {
        return Err(malformed("Signature algorithm is not HmacSHA256"));
    }
    Ok(Params {
        key_id: String::from(key_id.ok_or(malformed("Signature has no keyid"))?),
        headers: headers
            .ok_or(malformed("Signature has no headers list"))?
            .split_ascii_whitespace()
            .map(str::to_ascii_lowercase)
            .collect(),
        signature: String::from(signature.ok_or(malformed("Signature has no signature"))?),
    })
}

impl Verifier {
    /// A verifier for the given keys (several during a rotation).
    pub fn new<'k>(keys: impl IntoIterator<Item = Key<'k>>) -> Self {
        let keys: Vec<Key<'k>> = keys.into_iter().collect();
        Self {
            key_ids: keys.iter().map(|k| String::from(k.key_id)).collect(),
            keys: KeyRing::new(keys.iter().map(|k| k.secret), derive),
        }
    }

    /// Verifies a request's `Signature`, `Date` and `Digest`.
    ///
    /// The signature must cover `host`, `date`, the request target,
    /// `v-c-merchant-id`, and `digest` on POST/PUT/PATCH; a signature that
    /// leaves one out is refused as `malformed_header`, since it would let the
    /// uncovered part be changed.
    ///
    /// # Errors
    /// `missing_signature`, `malformed_header`, `invalid_secret`,
    /// `stale_timestamp`, `bad_digest`, `bad_signature`, in that order.
    pub fn verify(
        &self,
        method: &str,
        target: &str,
        headers: &(impl HeaderMap + ?Sized),
        body: &[u8],
        clock: Clock,
    ) -> Result<Verified, SignatureError> {
        let missing = SignatureError::MissingSignature;
        let malformed = SignatureError::MalformedHeader;
        let signature = field(headers, "signature").ok_or(missing("Signature"))?;
        let date = field(headers, "date").ok_or(missing("Date"))?;
        field(headers, "host").ok_or(missing("Host"))?;
        field(headers, MERCHANT_ID_HEADER).ok_or(missing("v-c-merchant-id"))?;
        let digest = if has_body(method) { Some(field(headers, "digest").ok_or(missing("Digest"))?) } else { None };

        let params = parse_params(&signature)?;
        let timestamp = crate::time::parse_imf_fixdate(&date).ok_or(malformed("Date is not an IMF-fixdate"))?;
        let presented_digest = match &digest {
            Some(value) => Some(parse_digest(value)?),
            None => None,
        };
        let covers = |name: &str| params.headers.iter().any(|h| h == name);
        let covers_target = covers("request-target") || covers("(request-target)");
        if !(covers("host") && covers("date") && covers_target && covers(MERCHANT_ID_HEADER))
            || (digest.is_some() && !covers("digest"))
        {
            return Err(malformed("Signature does not cover every required header"));
        }
        let names: Vec<&str> = params.headers.iter().map(String::as_str).collect();
        let signing_string = signing_string(&names, method, target, |name| field(headers, name))
            .ok_or(malformed("Signature lists a header the request lacks"))?;

        let usable = self.keys.usable()?;
        clock.check(timestamp)?;
        if let Some(presented) = presented_digest
            && !tags_equal(&Sha256::digest(body), &presented)
        {
            return Err(SignatureError::BadDigest);
        }
        let presented = encoding::decode_standard(&params.signature).unwrap_or_default();
        for (index, key) in usable {
            if self.key_ids[index] == params.key_id
                && tags_equal(&key.tag(&[signing_string.as_bytes()]), &presented)
            {
                return Ok(Verified { secret_index: index });
            }
        }
        Err(SignatureError::BadSignature)
    }
}

/// `SHA-256=<base64 of 32 bytes>`; the algorithm name is case-insensitive.
fn parse_digest(value: &str) -> Result<[u8; 32], SignatureError> {
    let malformed = SignatureError::MalformedHeader("Digest is not SHA-256=<base64>");
    let (algorithm, b64) = value.split_once('=').ok_or(malformed)?;
    if !algorithm.eq_ignore_ascii_case("SHA-256") {
        return Err(malformed);
    }
    encoding::decode_standard(b64).and_then(|d| d.try_into().ok()).ok_or(malformed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_parse_with_and_without_space() {
        for sep in [", ", ","] {
            let v = alloc::format!(
                "keyid=\"k\"{sep}algorithm=\"HmacSHA256\"{sep}headers=\"host (request-target)\"{sep}signature=\"c2ln\""
            );
            let p = parse_params(&v).unwrap();
            assert_eq!(p.key_id, "k");
            assert_eq!(p.headers, ["host", "(request-target)"]);
        }
    }

    #[test]
    fn params_refusals() {
        for bad in [
            "keyid=\"k\", algorithm=\"HmacSHA512\", headers=\"host\", signature=\"x\"",
            "keyid=\"k\", headers=\"host\", signature=\"x\"",
            "keyid=k, algorithm=\"HmacSHA256\"",
            "keyid=\"k\" algorithm=\"HmacSHA256\"",
            "keyid=\"k\", keyid=\"j\", algorithm=\"HmacSHA256\", headers=\"h\", signature=\"x\"",
        ] {
            assert_eq!(parse_params(bad).err().map(|e| e.code()), Some("malformed_header"), "{bad}");
        }
    }

    #[test]
    fn round_trip_draft_spelling() {
        let secret = Secret::from_text("4o0bmF1eTd1ZmONmX6igz5A6QpHErVvCCZU97s/ua1I=");
        let key = MacKey::new(&encoding::decode_standard("4o0bmF1eTd1ZmONmX6igz5A6QpHErVvCCZU97s/ua1I=").unwrap());
        let names = ["(request-target)", "host", "date", "v-c-merchant-id"];
        let date = "Thu, 27 Jun 2024 13:07:18 GMT";
        let headers = [("host", "h"), ("date", date), ("v-c-merchant-id", "m")];
        let lookup = |n: &str| field(&headers, n);
        let s = signing_string(&names, "GET", "/x", lookup).unwrap();
        let sig = alloc::format!(
            "keyid=\"k1\",algorithm=\"HmacSHA256\",headers=\"{}\",signature=\"{}\"",
            names.join(" "),
            encoding::encode_standard(&key.tag(&[s.as_bytes()]))
        );
        let mut all: Vec<(&str, &str)> = headers.to_vec();
        all.push(("signature", &sig));
        let v = Verifier::new([Key { key_id: "k1", secret: &secret }]);
        assert!(v.verify("GET", "/x", &all, b"", Clock::at(1_719_493_638)).is_ok());
        let other = Verifier::new([Key { key_id: "k2", secret: &secret }]);
        assert_eq!(other.verify("GET", "/x", &all, b"", Clock::at(1_719_493_638)).unwrap_err().code(), "bad_signature");
    }
}
