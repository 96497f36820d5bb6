//! Sign and verify together. The JSON vectors are run by `tests/vectors/`;
//! the few values here come from them and from RFC 9421 Appendix B.2.5.

use alloc::string::{String, ToString as _};
use alloc::vec::Vec;
use alloc::{format, vec};

use proptest::prelude::*;

use super::*;
use crate::signing::{Clock, SignatureError};

const KEY_2024: &str = "sx5r52GkfiaVN9f5ZbwBpPmvrMrFTzSijfRZ/G/nvfg=";
const KEY_2025: &str = "oTi/maBUu4/4XtTo5JrJgHJkglvkb0tIgG/sgAVFGQY=";
const URL: &str = "https://api.example-psp.com/v1/payments?expand=charges";
const BODY: &[u8] = br#"{"amount":10000,"currency":"EUR","orderId":"order-12345"}"#;
const DIGEST: &str = "sha-256=:rIakb/JRcRiJK6RFjZh+KbAsRWKRb5kOfAn/cefS2B4=:";
const COMPONENTS: &str = r#"("@method" "@authority" "@path" "@query" "content-type" "content-digest")"#;
/// Signed by psk-live-2025 over `COMPONENTS`;created=1719500000;expires=1719500120;keyid="psk-live-2025";alg="hmac-sha256".
const SIG_2025: &str = ":MIH+HF/UZ8fKALLw9uaTfooJEJIBi4OsY6VB9i67Ud8=:";
/// Signed by psk-live-2024 over `COMPONENTS`;created=1719500000;keyid="psk-live-2024".
const SIG_2024: &str = ":BtYpMW4zPNLuIBWAi3k1Z+YfsluiMfC5kMv6EF497vc=:";
const NOW: u64 = 1_719_500_010;
const REQUIRED: &[&str] = &["@method", "@authority", "@path", "content-digest"];

fn input_2025(label: &str) -> String {
    format!(r#"{label}={COMPONENTS};created=1719500000;expires=1719500120;keyid="psk-live-2025";alg="hmac-sha256""#)
}

fn input_2024(label: &str) -> String {
    format!(r#"{label}={COMPONENTS};created=1719500000;keyid="psk-live-2024""#)
}

fn secret(text: &str) -> Secret {
    Secret::from_text(text)
}

/// The vectors' POST request with the given signature fields.
fn headers(signature_input: &str, signature: &str) -> Vec<(String, String)> {
    [
        ("content-type", "application/json"),
        ("content-digest", DIGEST),
        ("signature-input", signature_input),
        ("signature", signature),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn verify_with(
    verifier: &Verifier,
    headers: &[(String, String)],
    body: &[u8],
    now: u64,
) -> Result<Verified, SignatureError> {
    let request = VerifyRequest { method: "POST", url: URL, headers, body };
    verifier.verify(&request, REQUIRED, Clock { now, tolerance: 300 })
}

fn both_keys() -> Verifier {
    Verifier::new([("psk-live-2024", &secret(KEY_2024)), ("psk-live-2025", &secret(KEY_2025))])
}

fn code(result: Result<Verified, SignatureError>) -> &'static str {
    result.err().map_or("ok", |e| e.code())
}

fn with_header(mut headers: Vec<(String, String)>, name: &str, value: &str) -> Vec<(String, String)> {
    headers.retain(|(k, _)| k != name);
    headers.push((name.to_string(), value.to_string()));
    headers
}

#[test]
fn signs_like_the_vectors() {
    let params = [
        ("created", ParamValue::Integer(1_719_493_637)),
        ("expires", ParamValue::Integer(1_719_493_937)),
        ("nonce", ParamValue::from("bl3wEdTma8p16wkJ")),
        ("keyid", ParamValue::from("psk-live-2025")),
        ("tag", ParamValue::from("payseal")),
    ];
    let components = ["@method", "@authority", "@path", "@query", "content-type", "content-digest"];
    let with_digest =
        [("date", "Thu, 27 Jun 2024 13:07:17 GMT"), ("content-type", "application/json"), ("content-digest", DIGEST)];
    let mut request = SignRequest {
        method: "POST",
        url: URL,
        headers: &with_digest[..],
        body: BODY,
        label: "sig1",
        components: &components,
        params: &params,
    };
    let signer = Signer::new(&secret(KEY_2025));
    let expected = SignedFields {
        signature_input: String::from(
            r#"sig1=("@method" "@authority" "@path" "@query" "content-type" "content-digest");created=1719493637;expires=1719493937;nonce="bl3wEdTma8p16wkJ";keyid="psk-live-2025";tag="payseal""#,
        ),
        signature: String::from("sig1=:6yrE7HfV2qZGGfAptyJDuQAE5tkEoF6dxOmLCbhyEnU=:"),
        content_digest: None,
    };
    assert_eq!(signer.sign(&request).unwrap(), expected);

    // Without a Content-Digest the signer makes the same one and signs it.
    let without_digest = [("date", "Thu, 27 Jun 2024 13:07:17 GMT"), ("content-type", "application/json")];
    request.headers = &without_digest[..];
    assert_eq!(signer.sign(&request).unwrap(), SignedFields { content_digest: Some(DIGEST.to_string()), ..expected });
}

#[test]
fn signs_rfc_9421_appendix_b25() {
    let key = "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ==";
    let headers = [
        ("host", "example.com"),
        ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
        ("content-type", "application/json"),
        ("content-length", "18"),
    ];
    let params = [("created", ParamValue::Integer(1_618_884_473)), ("keyid", ParamValue::from("test-shared-secret"))];
    let signed = Signer::new(&secret(key))
        .sign(&SignRequest {
            method: "POST",
            url: "https://example.com/foo?param=Value&Pet=dog",
            headers: &headers,
            body: br#"{"hello": "world"}"#,
            label: "sig-b25",
            components: &["date", "@authority", "content-type"],
            params: &params,
        })
        .unwrap();
    assert_eq!(
        signed.signature_input,
        r#"sig-b25=("date" "@authority" "content-type");created=1618884473;keyid="test-shared-secret""#
    );
    assert_eq!(signed.signature, "sig-b25=:pxcQw6G3AjtMBQjwo8XzkZf/bws5LelbaMk5rGIGtE8=:");
    assert_eq!(signed.content_digest, None, "content-digest is not covered");

    let received = [
        headers.as_slice(),
        &[("signature-input", signed.signature_input.as_str()), ("signature", signed.signature.as_str())],
    ]
    .concat();
    let verifier = Verifier::new([("test-shared-secret", &secret(key))]);
    let request = VerifyRequest {
        method: "POST",
        url: "https://example.com/foo?param=Value&Pet=dog",
        headers: &received,
        body: br#"{"hello": "world"}"#,
    };
    let outcome = verifier.verify(&request, &["@authority", "date"], Clock::at(1_618_884_533)).unwrap();
    assert_eq!((outcome.label.as_str(), outcome.key_id.as_str(), outcome.created), ("sig-b25", "test-shared-secret", 1_618_884_473));
    assert_eq!(outcome.signature.len(), 32, "the presented HMAC-SHA256 bytes");
}

#[test]
fn rotation_and_several_labels() {
    let both =
        headers(&format!("{}, {}", input_2024("old"), input_2025("sig1")), &format!("old={SIG_2024}, sig1={SIG_2025}"));
    // The first label with a configured key that passes wins.
    let label_and_key = |v: Verified| (v.label, v.key_id);
    assert_eq!(verify_with(&both_keys(), &both, BODY, NOW).map(label_and_key), Ok(("old".into(), "psk-live-2024".into())));
    // A label whose key is not configured is skipped.
    let new_only = Verifier::new([("psk-live-2025", &secret(KEY_2025))]);
    assert_eq!(verify_with(&new_only, &both, BODY, NOW).map(label_and_key), Ok(("sig1".into(), "psk-live-2025".into())));
    // No label names a configured key.
    let other = Verifier::new([("psk-other", &secret(KEY_2025))]);
    assert_eq!(code(verify_with(&other, &both, BODY, NOW)), "unknown_key");
    let no_keyid = headers(&format!("sig1={COMPONENTS};created=1719500000"), &format!("sig1={SIG_2025}"));
    assert_eq!(code(verify_with(&both_keys(), &no_keyid, BODY, NOW)), "unknown_key");
}

#[test]
fn labels_for_other_verifiers_are_not_judged() {
    // A proxy's signature with another algorithm and a component payseal does
    // not support travels beside ours; only the fields' syntax is ours to check.
    let foreign = r#"proxy=("@status" "@method");created=1719500000;keyid="proxy-ed25519";alg="ed25519""#;
    let both = headers(&format!("{foreign}, {}", input_2025("sig1")), &format!("proxy=:AAAA:, sig1={SIG_2025}"));
    let ours = Verifier::new([("psk-live-2025", &secret(KEY_2025))]);
    assert_eq!(verify_with(&ours, &both, BODY, NOW).unwrap().label, "sig1");
    // The same label under a configured key is judged: unsupported, so malformed.
    let mine = Verifier::new([("proxy-ed25519", &secret(KEY_2025)), ("psk-live-2025", &secret(KEY_2025))]);
    assert_eq!(code(verify_with(&mine, &both, BODY, NOW)), "malformed_header");
    // Syntax holds for every label: a foreign signature that is not a byte sequence is malformed.
    let broken = headers(&format!("{foreign}, {}", input_2025("sig1")), &format!("proxy=\"x\", sig1={SIG_2025}"));
    assert_eq!(code(verify_with(&ours, &broken, BODY, NOW)), "malformed_header");
}

#[test]
fn the_first_configured_label_names_the_error() {
    // `old` is stale at this time (no expires, but created is more than 300 s
    // before), `sig1` has expired: the first one's error is reported.
    let both =
        headers(&format!("{}, {}", input_2024("old"), input_2025("sig1")), &format!("old={SIG_2024}, sig1={SIG_2025}"));
    assert_eq!(code(verify_with(&both_keys(), &both, BODY, 1_719_500_301)), "stale_timestamp");
    // `old` carries a wrong MAC, `sig1` a right one: `sig1` wins.
    let wrong_old = headers(
        &format!("{}, {}", input_2024("old"), input_2025("sig1")),
        &format!("old=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:, sig1={SIG_2025}"),
    );
    assert_eq!(verify_with(&both_keys(), &wrong_old, BODY, NOW).unwrap().label, "sig1");
    // Both wrong: `old`'s error (bad_signature) beats `sig1`'s invalid secret.
    let bad_2025 = Verifier::new([("psk-live-2024", &secret(KEY_2024)), ("psk-live-2025", &secret("short"))]);
    assert_eq!(code(verify_with(&bad_2025, &wrong_old, BODY, NOW)), "bad_signature");
    let swapped = headers(
        &format!("{}, {}", input_2025("sig1"), input_2024("old")),
        &format!("old=:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=:, sig1={SIG_2025}"),
    );
    assert_eq!(code(verify_with(&bad_2025, &swapped, BODY, NOW)), "invalid_secret");
}

fn good() -> Vec<(String, String)> {
    headers(&input_2025("sig1"), &format!("sig1={SIG_2025}"))
}

/// The outcome for the good request with the field `name` set to `value`.
fn with(name: &str, value: &str) -> &'static str {
    code(verify_with(&both_keys(), &with_header(good(), name, value), BODY, NOW))
}

/// The outcome for the good request with `from` replaced by `to` in its `Signature-Input`.
fn with_input(from: &str, to: &str) -> &'static str {
    with("signature-input", &input_2025("sig1").replace(from, to))
}

#[test]
fn checks_1_and_2_on_the_fields() {
    assert_eq!(code(verify_with(&both_keys(), &good(), BODY, NOW)), "ok");
    assert_eq!(with("signature", "  "), "missing_signature");
    assert_eq!(with("signature-input", ""), "missing_signature");

    assert_eq!(with("signature", "sig1=:x"), "malformed_header", "not a dictionary");
    assert_eq!(with("signature-input", "sig1=("), "malformed_header", "not a dictionary");
    assert_eq!(
        with("signature", &format!("sig1={SIG_2025}, sig2=:AA==:")),
        "malformed_header",
        "label only in Signature"
    );
    assert_eq!(with("signature", &format!("sig2={SIG_2025}")), "malformed_header", "label only in Signature-Input");
    assert_eq!(with("signature", "sig1=\"not-bytes\""), "malformed_header");
    assert_eq!(with("signature-input", r#"sig1="@method""#), "malformed_header", "not an inner list");
    assert_eq!(with_input("hmac-sha256", "hmac-sha512"), "malformed_header");
    assert_eq!(with_input("\"content-type\"", "\"content-type\";sf"), "malformed_header");
    assert_eq!(with_input("\"@query\"", "\"@status\""), "malformed_header");
    assert_eq!(with_input("\"content-type\"", "\"x-absent\""), "malformed_header", "covered field absent");
    assert_eq!(with("content-digest", "sha-256=abc"), "malformed_header");
    // Every label must be well formed, even one whose key is not configured.
    let unknown_and_malformed = format!(r#"{}, x=("@status");keyid="nobody""#, input_2025("sig1"));
    assert_eq!(with("signature-input", &unknown_and_malformed), "malformed_header");
}

#[test]
fn checks_3_to_8_on_the_label() {
    let verifier = both_keys();
    let good = good();
    assert_eq!(with_input("psk-live-2025", "psk-2030"), "unknown_key");
    let unusable = Verifier::new([("psk-live-2025", &secret("c2hvcnQ="))]);
    assert_eq!(code(verify_with(&unusable, &good, BODY, NOW)), "invalid_secret");
    assert_eq!(with_input(" \"content-digest\"", ""), "insufficient_coverage");

    assert_eq!(code(verify_with(&verifier, &good, BODY, 1_719_500_000 + 301)), "stale_timestamp", "too old");
    assert_eq!(code(verify_with(&verifier, &good, BODY, 1_719_500_000 - 301)), "stale_timestamp", "future");
    assert_eq!(code(verify_with(&verifier, &good, BODY, 1_719_500_121)), "stale_timestamp", "expired");
    assert_eq!(with_input(";created=1719500000", ""), "stale_timestamp", "no created");

    assert_eq!(code(verify_with(&verifier, &good, b"{}", NOW)), "bad_digest");
    assert_eq!(with("content-digest", "md5=:AAAA:"), "bad_digest", "only unknown algorithms");

    let new_digest = with_header(good.clone(), "content-digest", &content_digest(DigestAlgorithm::Sha256, b"{}"));
    assert_eq!(code(verify_with(&verifier, &new_digest, b"{}", NOW)), "bad_signature");
    assert_eq!(with("signature", "sig1=:AAAA:"), "bad_signature", "wrong length");

    // The tolerance is inclusive, and `expires` itself is still valid.
    assert_eq!(code(verify_with(&verifier, &good, BODY, 1_719_500_000 + 120)), "ok");
    assert_eq!(code(verify_with(&verifier, &good, BODY, 1_719_500_000 - 300)), "ok");
}

#[test]
fn structured_field_leeway_on_the_wire() {
    let verifier = both_keys();
    // Whitespace around members, with and without a space after the comma.
    for sep in [",", ", ", " ,\t"] {
        let h = headers(
            &format!("{}{sep}{}", input_2024("old"), input_2025("sig1")),
            &format!("sig1={SIG_2025}{sep}old=:AAAA:"),
        );
        assert_eq!(verify_with(&verifier, &h, BODY, NOW).unwrap().label, "sig1", "{sep:?}");
    }
    // A repeated label: the last one counts, in either field.
    let h = headers(
        &format!(r#"sig1=("@method");created=1;keyid="psk-live-2025", {}"#, input_2025("sig1")),
        &format!("sig1=:AAAA:, sig1={SIG_2025}"),
    );
    assert_eq!(verify_with(&verifier, &h, BODY, NOW).unwrap().label, "sig1");
    // Unpadded base64 in Signature.
    let h = headers(&input_2025("sig1"), &format!("sig1={}", SIG_2025.replace('=', "")));
    assert_eq!(code(verify_with(&verifier, &h, BODY, NOW)), "ok");
    // Split over two field lines.
    let mut h = headers(&input_2025("sig1"), &format!("sig1={SIG_2025}"));
    h.push(("Signature".into(), "other=:AAAA:".into()));
    h.push(("Signature-Input".into(), r#"other=();created=1;keyid="nobody""#.into()));
    assert_eq!(code(verify_with(&verifier, &h, BODY, NOW)), "ok");
}

#[test]
fn created_and_expires_have_one_spelling() {
    // The signature base re-serializes the parameters, so `01719500000` would
    // even verify; the spec gives a timestamp one spelling regardless.
    assert_eq!(with_input("created=1719500000", "created=01719500000"), "malformed_header");
    assert_eq!(with_input("expires=1719500120", "expires=001719500120"), "malformed_header");
    assert_eq!(with_input(";created=1719500000", ";created=-0"), "malformed_header");
    // Like the rest of the field syntax, this holds for labels of other verifiers too.
    let foreign = format!(r#"{}, x=();created=01;keyid="nobody""#, input_2025("sig1"));
    assert_eq!(with("signature-input", &foreign), "malformed_header");
}

/// `count` labels: ours (`sig1`, verifying) first, then labels of a key
/// nobody configured, in both fields.
fn with_labels(count: usize) -> Vec<(String, String)> {
    let others = 1..count;
    let inputs: Vec<String> = core::iter::once(input_2025("sig1"))
        .chain(others.clone().map(|i| format!(r#"o{i}=();created=1719500000;keyid="nobody""#)))
        .collect();
    let signatures: Vec<String> =
        core::iter::once(format!("sig1={SIG_2025}")).chain(others.map(|i| format!("o{i}=:AAAA:"))).collect();
    headers(&inputs.join(", "), &signatures.join(", "))
}

#[test]
fn the_number_of_labels_is_bounded() {
    assert_eq!(code(verify_with(&both_keys(), &with_labels(sf::MAX_MEMBERS), BODY, NOW)), "ok");
    assert_eq!(code(verify_with(&both_keys(), &with_labels(sf::MAX_MEMBERS + 1), BODY, NOW)), "malformed_header");
    // 32k members once took seconds (each searched the ones before it); now
    // the length bound refuses the field before it is parsed.
    let members = (0..32 * 1024).map(|i| format!("s{i}=()")).collect::<Vec<_>>().join(",");
    assert_eq!(with("signature-input", &members), "malformed_header");
}

#[test]
fn the_signer_stays_within_the_verifiers_bounds() {
    let signer = Signer::new(&secret(KEY_2025));
    let no_headers: [(&str, &str); 0] = [];
    let sign = |components: &[&str], params: &[(&str, ParamValue)]| {
        let request =
            SignRequest { method: "GET", url: URL, headers: &no_headers, body: b"", label: "s", components, params };
        signer.sign(&request).map(|signed| signed.signature_input)
    };
    let too_many = Err(SignatureError::MalformedHeader("more components or parameters than a verifier accepts"));
    let names: Vec<String> = (0..=sf::MAX_PARAMETERS).map(|i| format!("p{i}")).collect();
    let params: Vec<(&str, ParamValue)> = names.iter().map(|n| (n.as_str(), ParamValue::Integer(1))).collect();
    assert!(sign(&[], &params[..sf::MAX_PARAMETERS]).is_ok());
    assert_eq!(sign(&[], &params), too_many);
    // Refused by count, before the components themselves are looked at.
    let fields: Vec<String> = (0..=sf::MAX_INNER_LIST_ITEMS).map(|i| format!("x-field-{i}")).collect();
    let components: Vec<&str> = fields.iter().map(String::as_str).collect();
    assert_eq!(sign(&components, &[]), too_many);
    // Few parameters, but too long a field for a verifier to read.
    let nonce = "n".repeat(sf::MAX_FIELD_LENGTH);
    assert_eq!(
        sign(&["@method"], &[("nonce", ParamValue::from(nonce.as_str()))]),
        Err(SignatureError::MalformedHeader("Signature-Input is longer than a verifier accepts"))
    );
}

#[test]
fn parameters_in_any_order_verify() {
    let by_2025 = Signer::new(&secret(KEY_2025));
    let headers_in = [("content-type", "application/json")];
    let params = [
        ("keyid", ParamValue::from("psk-live-2025")),
        ("alg", ParamValue::from("hmac-sha256")),
        ("created", ParamValue::Integer(1_719_500_000)),
        ("nonce", ParamValue::from(r#"a "quoted" \ nonce"#)),
    ];
    let signed = by_2025
        .sign(&SignRequest {
            method: "POST",
            url: URL,
            headers: &headers_in,
            body: BODY,
            label: "sig1",
            components: &["@method", "@authority", "@path", "content-digest"],
            params: &params,
        })
        .unwrap();
    assert_eq!(
        signed.signature_input,
        r#"sig1=("@method" "@authority" "@path" "content-digest");keyid="psk-live-2025";alg="hmac-sha256";created=1719500000;nonce="a \"quoted\" \\ nonce""#
    );
    let h = headers(&signed.signature_input, &signed.signature);
    assert_eq!(code(verify_with(&both_keys(), &h, BODY, NOW)), "ok");
}

#[test]
fn signer_refusals() {
    let signer = Signer::new(&secret(KEY_2025));
    let h = [("date", "x")];
    let sign = |label: &str, components: &[&str], params: &[(&str, ParamValue)], body: &[u8]| {
        signer
            .sign(&SignRequest { method: "GET", url: URL, headers: &h, body, label, components, params })
            .map_err(|e| e.code())
    };
    let created = [("created", ParamValue::Integer(1))];
    assert!(sign("sig1", &["date", "@method"], &created, b"").is_ok());
    assert_eq!(
        sign("sig1", &["Date", "@Method"], &created, b"").unwrap().signature_input,
        r#"sig1=("date" "@method");created=1"#,
        "component names are lowercased"
    );
    for (label, components, params, body, expected) in [
        ("Sig1", &["date"][..], &created[..], &b""[..], "malformed_header"),
        ("", &["date"], &created, b"", "malformed_header"),
        ("sig1", &["date", "DATE"], &created, b"", "malformed_header"),
        ("sig1", &["@status"], &created, b"", "malformed_header"),
        ("sig1", &["a b"], &created, b"", "malformed_header"),
        (
            "sig1",
            &["date"],
            &[("created", ParamValue::Integer(1)), ("created", ParamValue::Integer(2))],
            b"",
            "malformed_header",
        ),
        ("sig1", &["date"], &[("Created", ParamValue::Integer(1))], b"", "malformed_header"),
        ("sig1", &["date"], &[("created", ParamValue::Integer(-1))], b"", "malformed_header"),
        ("sig1", &["date"], &[("keyid", ParamValue::Integer(1))], b"", "malformed_header"),
        ("sig1", &["date"], &[("keyid", ParamValue::from("caf\u{e9}"))], b"", "malformed_header"),
        ("sig1", &["date"], &[("alg", ParamValue::from("rsa-pss-sha512"))], b"", "malformed_header"),
        ("sig1", &["x-absent"], &created, b"", "missing_signature"),
        // An empty body gets no Content-Digest, so covering it needs one in the headers.
        ("sig1", &["content-digest"], &created, b"", "missing_signature"),
    ] {
        assert_eq!(sign(label, components, params, body).err(), Some(expected), "{label} {components:?} {params:?}");
    }
    assert!(sign("sig1", &["content-digest"], &created, b"x").is_ok());
    for bad in ["", " oTi/maBUu4/4XtTo5JrJgHJkglvkb0tIgG/sgAVFGQY=", "c2hvcnQ=", "not base64!"] {
        let signer = Signer::new(&secret(bad));
        let request =
            SignRequest { method: "GET", url: URL, headers: &h, body: b"", label: "s", components: &[], params: &[] };
        assert_eq!(signer.sign(&request).err().map(|e| e.code()), Some("invalid_secret"), "{bad:?}");
    }
}

#[test]
fn secrets_stay_out_of_debug_and_errors() {
    let signer = Signer::new(&secret(KEY_2025));
    let verifier = both_keys();
    let text = format!("{signer:?} {verifier:?}");
    assert!(!text.contains("oTi/") && !text.contains("sx5r"), "{text}");
    assert!(text.contains("psk-live-2024"), "key ids are shown: {text}");
}

const POOL: [&str; 11] = [
    "@method",
    "@target-uri",
    "@authority",
    "@scheme",
    "@request-target",
    "@path",
    "@query",
    "content-type",
    "date",
    "content-digest",
    "x-empty",
];

prop_compose! {
    fn url()(
        scheme in prop::sample::select(vec!["http", "https", "HTTPS"]),
        host in "[a-zA-Z0-9.-]{1,12}",
        port in prop::option::of(any::<u16>()),
        path in "(/[a-zA-Z0-9%._~-]{0,6}){0,3}",
        query in prop::option::of("[a-zA-Z0-9=&%]{0,10}"),
    ) -> String {
        let port = port.map(|p| format!(":{p}")).unwrap_or_default();
        let query = query.map(|q| format!("?{q}")).unwrap_or_default();
        format!("{scheme}://{host}{port}{path}{query}")
    }
}

prop_compose! {
    fn params()(
        created in 0..=crate::time::MAX_SECONDS - 1_000,
        lifetime in prop::option::of(0u64..1_000),
        nonce in prop::option::of("[ -~]{0,12}"),
        tag in prop::option::of("[ -~]{0,12}"),
        alg in any::<bool>(),
        key_id in "[ -~]{1,12}",
        order in any::<u64>(),
    ) -> (u64, Vec<(String, ParamValue)>) {
        let mut params = vec![
            ("created".to_string(), ParamValue::Integer(i64::try_from(created).unwrap())),
            ("keyid".to_string(), ParamValue::String(key_id)),
        ];
        if let Some(lifetime) = lifetime {
            params.push(("expires".into(), ParamValue::Integer(i64::try_from(created + lifetime).unwrap())));
        }
        params.extend(nonce.map(|n| ("nonce".to_string(), ParamValue::String(n))));
        params.extend(tag.map(|t| ("tag".to_string(), ParamValue::String(t))));
        if alg {
            params.push(("alg".into(), ParamValue::from("hmac-sha256")));
        }
        let len = params.len();
        params.rotate_left(usize::try_from(order).unwrap_or(0) % len);
        (created, params)
    }
}

proptest! {
    #[test]
    fn sign_then_verify(
        body in prop::collection::vec(any::<u8>(), 0..64),
        components in prop::sample::subsequence(POOL.to_vec(), 0..=POOL.len()).prop_shuffle(),
        (created, params) in params(),
        label in "[a-z*][a-z0-9_.*-]{0,6}",
        method in prop::sample::select(vec!["GET", "post", "Put", "DELETE"]),
        url in url(),
    ) {
        let key = "uzvJfB4u3N0Jy4T7NZ75MDVcr8zSTInedJtkgcu46YW4XByzNJjxBdtjUkdJPBtbmHhIDi6pcl8jsasjlTMtDQ";
        let request_headers = vec![
            ("Content-Type", "text/plain"),
            ("date", "Tue, 20 Apr 2021 02:07:55 GMT"),
            ("x-empty", ""),
        ];
        let params: Vec<(&str, ParamValue)> = params.iter().map(|(k, v)| (k.as_str(), v.clone())).collect();
        let key_id = params.iter().find_map(|(k, v)| match (k, v) {
            (&"keyid", ParamValue::String(id)) => Some(id.clone()),
            _ => None,
        }).unwrap();
        let request = SignRequest {
            method, url: &url, headers: &request_headers, body: &body, label: &label,
            components: &components, params: &params,
        };
        let signed = Signer::new(&secret(key)).sign(&request);
        let covers_digest = components.contains(&"content-digest");
        if covers_digest && body.is_empty() {
            prop_assert_eq!(signed.err().map(|e| e.code()), Some("missing_signature"));
            return Ok(());
        }
        let signed = signed.unwrap();
        prop_assert_eq!(signed.content_digest.is_some(), covers_digest);

        let mut received: Vec<(&str, &str)> = request_headers.clone();
        received.push(("signature-input", signed.signature_input.as_str()));
        received.push(("signature", signed.signature.as_str()));
        if let Some(digest) = &signed.content_digest {
            received.push(("content-digest", digest.as_str()));
        }
        let secret = secret(key);
        let verifier = Verifier::new([("unused", &secret), (key_id.as_str(), &secret)]);
        let clock = Clock { now: created, tolerance: 0 };
        let verify = |body: &[u8]| {
            verifier.verify(&VerifyRequest { method, url: &url, headers: &received, body }, &components, clock)
        };
        prop_assert_eq!(verify(&body).map(|v| (v.label, v.key_id, v.created)), Ok((label.clone(), key_id.clone(), created)));
        if covers_digest {
            let mut changed = body.clone();
            changed[0] ^= 1;
            prop_assert_eq!(verify(&changed), Err(SignatureError::BadDigest));
        }
    }

    #[test]
    fn verify_never_panics(
        signature in r#"[a-z0-9=:;,()" +/\-@.]{0,40}"#,
        signature_input in prop_oneof![
            r#"[a-z0-9=:;,()" +/\-@.]{0,60}"#,
            r#"sig1=\("[@a-z-]{0,12}"( "[@a-z-]{0,12}"){0,3}\)(;[a-z]{1,7}=[0-9"a-z-]{1,8}){0,4}"#,
        ],
        content_digest in "[a-z0-9=:;,() +/-]{0,30}",
        url in ".{0,30}",
        method in ".{0,6}",
        body in prop::collection::vec(any::<u8>(), 0..16),
        now in any::<u64>(),
        tolerance in any::<u64>(),
    ) {
        let headers = [
            ("signature", signature.as_str()),
            ("signature-input", signature_input.as_str()),
            ("content-digest", content_digest.as_str()),
            ("date", "d"),
        ];
        let verifier = Verifier::new([("k", &secret(KEY_2025)), ("bad", &secret(""))]);
        let request = VerifyRequest { method: &method, url: &url, headers: &headers, body: &body };
        let _ = verifier.verify(&request, &["@method"], Clock { now, tolerance });
    }
}

/// A route that requires a `nonce` refuses a label without one (or with an
/// empty one) as `insufficient_coverage`, and accepts one the caller signed.
#[test]
fn a_required_nonce_is_checked_per_label() {
    let key = secret(KEY_2025);
    let verifier = Verifier::new([("psk-live-2025", &key)]);
    let sign = |nonce: Option<&str>| {
        let mut params = vec![("created", ParamValue::Integer(1_719_500_000)), ("keyid", ParamValue::from("psk-live-2025"))];
        if let Some(nonce) = nonce {
            params.push(("nonce", ParamValue::from(nonce)));
        }
        let request = SignRequest {
            method: "POST",
            url: URL,
            headers: &[("content-type", "application/json")][..],
            body: BODY,
            label: "sig1",
            components: &["@method", "@path"],
            params: &params,
        };
        let signed = Signer::new(&key).sign(&request).unwrap();
        vec![("signature-input".to_string(), signed.signature_input), ("signature".to_string(), signed.signature)]
    };
    let verify = |headers: &Vec<(String, String)>, nonce: bool| {
        let request = VerifyRequest { method: "POST", url: URL, headers, body: BODY };
        code(verifier.verify_requiring(&request, Required { components: &["@method"], nonce }, Clock { now: NOW, tolerance: 300 }))
    };
    let without = sign(None);
    assert_eq!((verify(&without, false), verify(&without, true)), ("ok", "insufficient_coverage"));
    assert_eq!(verify(&sign(Some("")), true), "insufficient_coverage");
    let with = sign(Some("bl3wEdTma8p16wkJ"));
    assert_eq!(verify(&with, true), "ok");
    // Two signatures of the same request differ by their nonces: the replay
    // guard, which remembers signature bytes, tells them apart.
    assert_ne!(with, sign(Some("another-nonce-000")));
}
