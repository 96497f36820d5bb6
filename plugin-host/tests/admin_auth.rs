//! The authenticated admin API on the real `payseal` binary (issue 14): no
//! credential is 401; roles decide (a viewer cannot create, a merchant
//! token sees and touches only its webcode's keys, tokens and audit
//! events); the cross-site `text/plain` POST, a foreign `Host` and a
//! foreign `Origin` are refused; the audit names the credential, never a
//! header; tokens created through the API work at once and stop at once
//! when revoked; a non-loopback admin listener without a bootstrap token
//! refuses to start, and `payseal admin-token` prints a token the file can
//! hold the digest of. Token clients and renewal accounts are managed with
//! the same roles and scopes, their secrets shown once; each key's traffic
//! of the last hour is read with the key's scope.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::too_many_lines)]

mod common;

use std::process::{Command, Stdio};

use common::{ADMIN_TOKEN, Answer, Gateway, Upstream, admin_token_lines, base_config, send, toml_of};
use serde_json::{Value, json};

const STORE_KEY: &str = "8f1c1d0e5b6a79e2c4d3b2a1908f7e6d5c4b3a29180f1e2d3c4b5a6978e0d1c2";
const VIEWER: &str = "psa_viewer-token-of-the-admin-auth-tests";
const SHOP01: &str = "psa_merchant-token-of-shop01-in-the-tests";
const SHOP02: &str = "psa_merchant-token-of-shop02-in-the-tests";
const PAY: &str = "/external/v1/payment/session";

fn config(upstream: &Upstream, dir: &std::path::Path) -> String {
    let mut text = base_config(upstream.addr, dir, "");
    // More bootstrap tokens under [admin] (base_config's table is before [upstream]).
    let extra = format!(
        "{}{}{}",
        admin_token_lines("viewer", "viewer", VIEWER),
        admin_token_lines("shop01", "merchant:SHOP01", SHOP01),
        admin_token_lines("shop02", "merchant:SHOP02", SHOP02)
    );
    text = text.replacen("[upstream]", &format!("{extra}\n[upstream]"), 1);
    text.push_str(&toml_of(&json!({
        "keys": { "policy": { "accepted_formats": ["prefixed"] } },
        "lifecycle": { "store_key_env": "PAYSEAL_TEST_STORE_KEY" },
        // One file client (the section needs one); the tests create the others.
        "tokens": { "clients": [{ "id": "file-client", "secret_sha256": payseal_core::tokens::TokenDigest::of(b"cs_file").to_hex(), "key_ids": ["key_file"] }] },
    })));
    text
}

fn start(upstream: &Upstream, dir: &std::path::Path) -> Gateway {
    Gateway::start(dir, &config(upstream, dir), &[("PAYSEAL_TEST_STORE_KEY", STORE_KEY)])
}

async fn json_as(gateway: &Gateway, token: &str, method: &str, path: &str, body: &Value) -> Answer {
    let bytes = if body.is_null() { Vec::new() } else { body.to_string().into_bytes() };
    gateway.admin_send_as(token, method, path, &[], &bytes).await
}

fn problem(answer: &Answer, status: u16, code: &str) {
    let body = answer.json();
    assert_eq!((answer.status, body["status"].as_u64(), body["code"].as_str()), (status, Some(u64::from(status)), Some(code)), "{}", answer.text());
    assert!(body["message"].is_string(), "{}", answer.text());
}

fn ids(listed: &Value) -> Vec<String> {
    listed.as_array().unwrap().iter().map(|k| k["keyId"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_credential_is_401_and_roles_decide() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&upstream, dir.path());
    // Probes need nothing; everything else a valid bearer token.
    assert_eq!(send(&gateway.admin_url("/healthz"), "GET", &[], b"").await.status, 200);
    assert_eq!(send(&gateway.admin_url("/readyz"), "GET", &[], b"").await.status, 200);
    for (method, path) in [("GET", "/metrics"), ("GET", "/config"), ("GET", "/keys"), ("POST", "/reload"), ("GET", "/lifecycle/keys"), ("GET", "/lifecycle/audit"), ("GET", "/admin-tokens"), ("PUT", "/clock")] {
        let answer = send(&gateway.admin_url(path), method, &[], b"").await;
        problem(&answer, 401, "unauthenticated");
        assert_eq!(answer.headers["www-authenticate"], "Bearer realm=\"payseal-admin\"", "{method} {path}");
    }
    let body = json!({ "environment": "live" }).to_string();
    let anonymous = send(&gateway.admin_url("/lifecycle/keys"), "POST", &[("content-type", "application/json")], body.as_bytes()).await;
    problem(&anonymous, 401, "unauthenticated");
    for wrong in ["Bearer psa_not-a-token-anyone-was-given", "Basic YWRtaW46YWRtaW4=", "Bearer", &format!("bearer {ADMIN_TOKEN}x")] {
        let answer = send(&gateway.admin_url("/lifecycle/keys"), "GET", &[("authorization", wrong)], b"").await;
        problem(&answer, 401, "unauthenticated");
    }
    assert_eq!(json_as(&gateway, ADMIN_TOKEN, "GET", "/lifecycle/keys", &Value::Null).await.json(), json!([]), "nothing was created");

    // A viewer reads and never gets a secret.
    assert_eq!(json_as(&gateway, VIEWER, "GET", "/lifecycle/keys", &Value::Null).await.status, 200);
    assert_eq!(json_as(&gateway, VIEWER, "GET", "/metrics", &Value::Null).await.status, 200);
    problem(&json_as(&gateway, VIEWER, "POST", "/lifecycle/keys", &json!({ "environment": "live" })).await, 403, "forbidden");
    problem(&json_as(&gateway, VIEWER, "POST", "/lifecycle/client-secrets/live/rotate", &Value::Null).await, 403, "forbidden");
    problem(&json_as(&gateway, VIEWER, "POST", "/admin-tokens", &json!({ "name": "mine", "role": "admin" })).await, 403, "forbidden");
    problem(&json_as(&gateway, VIEWER, "POST", "/reload", &Value::Null).await, 403, "forbidden");
    assert_eq!(json_as(&gateway, ADMIN_TOKEN, "GET", "/lifecycle/keys", &Value::Null).await.json(), json!([]));
    let created = json_as(&gateway, ADMIN_TOKEN, "POST", "/lifecycle/keys", &json!({ "environment": "live" })).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["keyId"].as_str().unwrap().to_owned();
    problem(&json_as(&gateway, VIEWER, "POST", &format!("/lifecycle/keys/{id}/regenerate"), &Value::Null).await, 403, "forbidden");
    problem(&json_as(&gateway, VIEWER, "POST", &format!("/lifecycle/keys/{id}/revoke"), &Value::Null).await, 403, "forbidden");
    problem(&json_as(&gateway, VIEWER, "PATCH", &format!("/lifecycle/keys/{id}"), &json!({ "scopes": [] })).await, 403, "forbidden");
    let seen = json_as(&gateway, VIEWER, "GET", &format!("/lifecycle/keys/{id}"), &Value::Null).await;
    assert_eq!((seen.status, seen.json()["status"].as_str()), (200, Some("ACTIVE")), "still active: {}", seen.text());
    assert!(!seen.text().contains(created.json()["key"].as_str().unwrap()));
    // Merchants do not reach the gateway's own routes.
    problem(&json_as(&gateway, SHOP01, "GET", "/config", &Value::Null).await, 403, "forbidden");
    problem(&json_as(&gateway, SHOP01, "GET", "/metrics", &Value::Null).await, 403, "forbidden");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merchant_token_sees_and_touches_only_its_webcode() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut gateway = start(&upstream, dir.path());
    let create = |webcode: &'static str| {
        let gateway = &gateway;
        async move {
            let answer = json_as(gateway, ADMIN_TOKEN, "POST", "/lifecycle/keys", &json!({ "environment": "live", "webcode": webcode })).await;
            assert_eq!(answer.status, 201, "{}", answer.text());
            answer.json()
        }
    };
    let theirs = create("SHOP02").await;
    let theirs_id = theirs["keyId"].as_str().unwrap().to_owned();
    let theirs_key = theirs["key"].as_str().unwrap().to_owned();
    // SHOP01 creates its own key: of its webcode whatever it names.
    let mine = json_as(&gateway, SHOP01, "POST", "/lifecycle/keys", &json!({ "environment": "live" })).await;
    assert_eq!(mine.status, 201, "{}", mine.text());
    let mine_id = mine.json()["keyId"].as_str().unwrap().to_owned();
    assert_eq!(json_as(&gateway, ADMIN_TOKEN, "GET", &format!("/lifecycle/keys/{mine_id}"), &Value::Null).await.json()["webcode"], "SHOP01");
    let foreign = json_as(&gateway, SHOP01, "POST", "/lifecycle/keys", &json!({ "environment": "live", "webcode": "SHOP02" })).await;
    problem(&foreign, 400, "invalid_request");
    assert_eq!(ids(&json_as(&gateway, ADMIN_TOKEN, "GET", "/lifecycle/keys", &Value::Null).await.json()).len(), 2, "nothing was created for SHOP02");

    // List: only its own.
    assert_eq!(ids(&json_as(&gateway, SHOP01, "GET", "/lifecycle/keys", &Value::Null).await.json()), std::slice::from_ref(&mine_id));
    assert_eq!(ids(&json_as(&gateway, SHOP02, "GET", "/lifecycle/keys", &Value::Null).await.json()), std::slice::from_ref(&theirs_id));
    // Get, edit, revoke, regenerate of SHOP02's key: 404, answered exactly
    // as for a key that does not exist (it cannot even learn it exists).
    let absent = "key_doesnotexist";
    for (method, suffix, body) in [
        ("GET", "", Value::Null),
        ("PATCH", "", json!({ "allowedIps": ["203.0.113.9"] })),
        ("POST", "/revoke", Value::Null),
        ("POST", "/regenerate", json!({ "graceSeconds": 0 })),
    ] {
        let answer = json_as(&gateway, SHOP01, method, &format!("/lifecycle/keys/{theirs_id}{suffix}"), &body).await;
        problem(&answer, 404, "key_not_found");
        let missing = json_as(&gateway, SHOP01, method, &format!("/lifecycle/keys/{absent}{suffix}"), &body).await;
        assert_eq!(answer.text().replace(&theirs_id, "ID"), missing.text().replace(absent, "ID"), "{method} {suffix}");
    }
    // SHOP02's key is untouched and still works.
    let after = json_as(&gateway, ADMIN_TOKEN, "GET", &format!("/lifecycle/keys/{theirs_id}"), &Value::Null).await.json();
    assert_eq!((after["status"].as_str(), after["allowedIps"].clone()), (Some("ACTIVE"), json!([])), "{after}");
    assert_eq!(send(&gateway.url(PAY), "POST", &[("x-api-key", theirs_key.as_str())], b"{}").await.status, 201);
    // The use is recorded (in memory first, no store write per request).
    let used = json_as(&gateway, ADMIN_TOKEN, "GET", &format!("/lifecycle/keys/{theirs_id}"), &Value::Null).await.json();
    assert!(used["lastUsedAt"].is_string(), "{used}");
    let unused = json_as(&gateway, SHOP01, "GET", &format!("/lifecycle/keys/{mine_id}"), &Value::Null).await.json();
    assert!(unused["lastUsedAt"].is_null(), "{unused}");
    // Client secrets belong to the whole environment: no merchant rotates one.
    problem(&json_as(&gateway, SHOP01, "POST", "/lifecycle/client-secrets/live/rotate", &Value::Null).await, 403, "forbidden");
    // Its own key it manages.
    let edited = json_as(&gateway, SHOP01, "PATCH", &format!("/lifecycle/keys/{mine_id}"), &json!({ "allowedIps": ["127.0.0.1"] })).await;
    assert_eq!(edited.status, 200, "{}", edited.text());
    let regenerated = json_as(&gateway, SHOP01, "POST", &format!("/lifecycle/keys/{mine_id}/regenerate"), &json!({ "graceSeconds": 60 })).await;
    assert_eq!(regenerated.status, 201, "{}", regenerated.text());
    let successor = regenerated.json()["keyId"].as_str().unwrap().to_owned();
    assert_eq!(json_as(&gateway, SHOP01, "POST", &format!("/lifecycle/keys/{successor}/revoke"), &Value::Null).await.status, 200);

    // Audit: its own keys' events only; SHOP02's key and the environment's
    // client secret never appear.
    let audit = json_as(&gateway, SHOP01, "GET", "/lifecycle/audit", &Value::Null).await.json();
    let subjects: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["subject"].as_str().unwrap()).collect();
    assert!(!subjects.is_empty() && subjects.iter().all(|s| *s == mine_id || *s == successor), "{audit}");
    let everything = json_as(&gateway, ADMIN_TOKEN, "GET", "/lifecycle/audit", &Value::Null).await.json();
    assert!(everything.as_array().unwrap().iter().any(|e| e["subject"] == theirs_id.as_str()), "{everything}");
    assert!(everything.as_array().unwrap().iter().any(|e| e["action"] == "client_secret_created"), "{everything}");
    let limited = json_as(&gateway, SHOP01, "GET", "/lifecycle/audit?limit=1", &Value::Null).await.json();
    assert_eq!(limited.as_array().unwrap().len(), 1, "a scoped page skips others' events: {limited}");
    assert_eq!(limited[0]["subject"], mine_id.as_str());

    // Tokens: a merchant creates, lists and revokes its own webcode's only.
    problem(&json_as(&gateway, SHOP01, "POST", "/admin-tokens", &json!({ "name": "escalate", "role": "admin" })).await, 403, "forbidden");
    problem(&json_as(&gateway, SHOP01, "POST", "/admin-tokens", &json!({ "name": "other", "role": "merchant:SHOP02" })).await, 403, "forbidden");
    let ci = json_as(&gateway, SHOP01, "POST", "/admin-tokens", &json!({ "name": "shop01-ci", "role": "merchant:SHOP01" })).await;
    assert_eq!((ci.status, ci.headers.get("cache-control").map(|v| v.to_str().unwrap())), (201, Some("no-store")), "{}", ci.text());
    let ci_token = ci.json()["token"].as_str().unwrap().to_owned();
    assert_eq!(ids(&json_as(&gateway, &ci_token, "GET", "/lifecycle/keys", &Value::Null).await.json()).len(), 2, "the new token sees SHOP01's two keys");
    let theirs_token = json_as(&gateway, SHOP02, "POST", "/admin-tokens", &json!({ "name": "shop02-ci", "role": "merchant:SHOP02" })).await;
    assert_eq!(theirs_token.status, 201);
    let listed = json_as(&gateway, SHOP01, "GET", "/admin-tokens", &Value::Null).await.json();
    let names: Vec<&str> = listed.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["shop01", "shop01-ci"], "{listed}");
    assert!(!listed.to_string().contains(&ci_token) && !listed.to_string().contains("sha256"), "{listed}");
    problem(&json_as(&gateway, SHOP01, "DELETE", "/admin-tokens/shop02-ci", &Value::Null).await, 404, "token_not_found");
    problem(&json_as(&gateway, SHOP01, "DELETE", "/admin-tokens/shop02", &Value::Null).await, 404, "token_not_found");
    problem(&json_as(&gateway, SHOP01, "DELETE", "/admin-tokens/shop01", &Value::Null).await, 409, "token_in_config");
    let token_audit = json_as(&gateway, SHOP01, "GET", "/lifecycle/audit", &Value::Null).await.text();
    assert!(token_audit.contains("shop01-ci") && !token_audit.contains("shop02-ci"), "{token_audit}");
    assert_eq!(json_as(&gateway, SHOP01, "DELETE", "/admin-tokens/shop01-ci", &Value::Null).await.status, 200);
    problem(&json_as(&gateway, &ci_token, "GET", "/lifecycle/keys", &Value::Null).await, 401, "unauthenticated");

    // The last use was written to the store at shutdown: a restart keeps it.
    gateway.stop();
    let gateway = Gateway::start_existing(dir.path(), &gateway.config_path, &[("PAYSEAL_TEST_STORE_KEY", STORE_KEY)]);
    let after_restart = json_as(&gateway, ADMIN_TOKEN, "GET", &format!("/lifecycle/keys/{theirs_id}"), &Value::Null).await.json();
    assert_eq!(after_restart["lastUsedAt"], used["lastUsedAt"], "{after_restart}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cross_site_requests_and_foreign_hosts_are_refused() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&upstream, dir.path());
    let body = br#"{"environment":"live"}"#;
    // The attack of the issue: a page on attacker.example posts text/plain
    // (no preflight) to the loopback listener, through DNS rebinding.
    let rebinding = send(
        &gateway.admin_url("/lifecycle/keys"),
        "POST",
        &[("host", "attacker.example"), ("origin", "http://attacker.example"), ("content-type", "text/plain")],
        body,
    )
    .await;
    problem(&rebinding, 421, "unknown_host");
    // The same from a page on another origin reaching the right host name:
    // refused even with a token (it could not send one, but a token does not
    // make a cross-site request acceptable).
    let bearer = format!("Bearer {ADMIN_TOKEN}");
    let csrf = send(
        &gateway.admin_url("/lifecycle/keys"),
        "POST",
        &[("origin", "http://attacker.example"), ("content-type", "text/plain"), ("authorization", bearer.as_str())],
        body,
    )
    .await;
    problem(&csrf, 403, "cross_origin");
    let fetch_metadata = gateway.admin_send("POST", "/lifecycle/client-secrets/live/rotate", &[("sec-fetch-site", "cross-site")], b"").await;
    problem(&fetch_metadata, 403, "cross_origin");
    // With the token and the right host, a body not declared JSON is 415.
    problem(&gateway.admin_send("POST", "/lifecycle/keys", &[("content-type", "text/plain")], body).await, 415, "unsupported_media_type");
    problem(&gateway.admin_send("POST", "/admin-tokens", &[("content-type", "application/x-www-form-urlencoded")], b"name=x&role=admin").await, 415, "unsupported_media_type");
    // A foreign Host is refused on reads too, token or not.
    let port = gateway.admin.port();
    for host in ["attacker.example".to_owned(), format!("attacker.example:{port}"), "127.0.0.1".to_owned()] {
        problem(&gateway.admin_send("GET", "/lifecycle/keys", &[("host", host.as_str())], b"").await, 421, "unknown_host");
    }
    assert_eq!(gateway.admin_send("GET", "/lifecycle/keys", &[("host", format!("localhost:{port}").as_str())], b"").await.status, 200);
    // The listener's own origin (the console) is accepted.
    let same = gateway.admin_send("POST", "/lifecycle/keys", &[("origin", format!("http://127.0.0.1:{port}").as_str())], body).await;
    assert_eq!(same.status, 201, "{}", same.text());
    let keys = gateway.admin_send("GET", "/lifecycle/keys", &[], b"").await.json();
    assert_eq!(ids(&keys).len(), 1, "only the same-origin request created a key: {keys}");
    let secrets = gateway.admin_send("GET", "/lifecycle/audit", &[], b"").await.json();
    assert_eq!(secrets.as_array().unwrap().iter().filter(|e| e["action"] == "client_secret_rotated").count(), 0, "{secrets}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_audit_names_the_credential_and_revoked_tokens_stop_at_once() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&upstream, dir.path());
    let made = json_as(&gateway, ADMIN_TOKEN, "POST", "/admin-tokens", &json!({ "name": "ops-bob", "role": "operator" })).await;
    assert_eq!(made.status, 201, "{}", made.text());
    let bob = made.json()["token"].as_str().unwrap().to_owned();
    assert!(bob.starts_with("psa_") && bob.len() == 47, "{bob}");
    problem(&json_as(&gateway, ADMIN_TOKEN, "POST", "/admin-tokens", &json!({ "name": "ops-bob", "role": "viewer" })).await, 409, "token_exists");
    problem(&json_as(&gateway, ADMIN_TOKEN, "POST", "/admin-tokens", &json!({ "name": "viewer", "role": "viewer" })).await, 409, "token_exists");
    problem(&json_as(&gateway, ADMIN_TOKEN, "POST", "/admin-tokens", &json!({ "name": "x", "role": "root" })).await, 400, "invalid_request");
    // An operator manages keys, not tokens; a header cannot rename it.
    problem(&json_as(&gateway, &bob, "GET", "/admin-tokens", &Value::Null).await, 403, "forbidden");
    let bearer = format!("Bearer {bob}");
    let created = send(
        &gateway.admin_url("/lifecycle/keys"),
        "POST",
        &[("authorization", bearer.as_str()), ("content-type", "application/json"), ("x-payseal-actor", "admin")],
        br#"{"environment":"test"}"#,
    )
    .await;
    assert_eq!(created.status, 201, "{}", created.text());
    let id = created.json()["keyId"].as_str().unwrap().to_owned();
    let rotated = json_as(&gateway, &bob, "POST", "/lifecycle/client-secrets/test/rotate", &Value::Null).await;
    assert_eq!(rotated.status, 200, "{}", rotated.text());
    assert_eq!(json_as(&gateway, ADMIN_TOKEN, "POST", &format!("/lifecycle/keys/{id}/revoke"), &Value::Null).await.status, 200);
    let audit = json_as(&gateway, ADMIN_TOKEN, "GET", "/lifecycle/audit", &Value::Null).await;
    let events = audit.json();
    let actor_of = |action: &str, subject: &str| {
        events.as_array().unwrap().iter().find(|e| e["action"] == action && e["subject"] == subject).map(|e| e["actor"].as_str().unwrap().to_owned())
    };
    assert_eq!(actor_of("admin_token_created", "ops-bob").as_deref(), Some("token:harness"));
    assert_eq!(actor_of("key_created", &id).as_deref(), Some("token:ops-bob"));
    assert_eq!(actor_of("client_secret_rotated", "test").as_deref(), Some("token:ops-bob"));
    assert_eq!(actor_of("key_revoked", &id).as_deref(), Some("token:harness"));
    let text = audit.text();
    for secret in [bob.as_str(), created.json()["key"].as_str().unwrap(), rotated.json()["clientSecret"].as_str().unwrap(), ADMIN_TOKEN] {
        assert!(!text.contains(secret), "the audit holds no token or key");
        assert!(!gateway.log().contains(secret), "the log holds no token or key");
    }
    // The stored token is a digest; revoking it refuses it on the next request.
    let listed = json_as(&gateway, ADMIN_TOKEN, "GET", "/admin-tokens", &Value::Null).await;
    assert!(listed.text().contains("ops-bob") && !listed.text().contains(&bob), "{}", listed.text());
    assert_eq!(json_as(&gateway, ADMIN_TOKEN, "DELETE", "/admin-tokens/ops-bob", &Value::Null).await.status, 200);
    problem(&json_as(&gateway, &bob, "GET", "/lifecycle/keys", &Value::Null).await, 401, "unauthenticated");
    problem(&json_as(&gateway, ADMIN_TOKEN, "DELETE", "/admin-tokens/ops-bob", &Value::Null).await, 404, "token_not_found");
    let revoked = json_as(&gateway, ADMIN_TOKEN, "GET", "/lifecycle/audit", &Value::Null).await.json();
    assert!(revoked.as_array().unwrap().iter().any(|e| e["action"] == "admin_token_revoked" && e["subject"] == "ops-bob" && e["actor"] == "token:harness"), "{revoked}");
}

/// `payseal serve` on `config`: its exit status and stderr when it stops
/// by itself within 60 s.
fn serve_refused(dir: &std::path::Path, config: &str) -> (bool, String) {
    let path = dir.join("refused.toml");
    std::fs::write(&path, config).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_payseal")).arg("serve").arg("--config").arg(&path).stdin(Stdio::null()).output().unwrap();
    (output.status.success(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_public_listener_needs_a_bootstrap_token_which_admin_token_prints() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let wasm = common::wasm_path();
    let open = |tokens: &str| {
        format!(
            "[admin]\nlisten = \"0.0.0.0:0\"\n{tokens}\n[server]\nlisten = \"127.0.0.1:0\"\n\n[upstream]\nurl = \"http://{}\"\n\n[store]\npath = \"{}\"\n\n[plugin]\nwasm = \"{}\"\ninstances = 1\n",
            upstream.addr,
            dir.path().join("store.redb").display(),
            wasm.display()
        )
    };
    let (ok, stderr) = serve_refused(dir.path(), &open(""));
    assert!(!ok && stderr.contains("admin.listen") && stderr.contains("payseal admin-token"), "{stderr}");

    // `payseal admin-token` prints the token and the lines holding its digest.
    let output = Command::new(env!("CARGO_BIN_EXE_payseal")).args(["admin-token", "--name", "first", "--role", "admin"]).output().unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let printed = String::from_utf8(output.stdout).unwrap();
    let token = printed.lines().find(|l| l.starts_with("psa_")).unwrap().to_owned();
    let lines = &printed[printed.find("[[admin.tokens]]").unwrap()..];
    assert!(!lines.contains(&token) && lines.contains("sha256 = "), "{printed}");
    let gateway = Gateway::start(dir.path(), &open(lines), &[]);
    // Reached on loopback (the listener is on every interface).
    let admin = format!("http://127.0.0.1:{}", gateway.admin.port());
    assert_eq!(send(&format!("{admin}/lifecycle/keys"), "GET", &[], b"").await.status, 401);
    let bearer = format!("Bearer {token}");
    let listed = send(&format!("{admin}/lifecycle/keys"), "GET", &[("authorization", bearer.as_str())], b"").await;
    assert_eq!((listed.status, listed.json()), (200, json!([])), "{}", listed.text());
    assert!(!gateway.log().contains(&token));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_configured_token_the_loopback_api_still_needs_one() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(&upstream, dir.path());
    let start = config.find("[[admin.tokens]]").unwrap();
    let end = config.find("[upstream]").unwrap();
    let without = format!("{}{}", &config[..start], &config[end..]);
    let gateway = Gateway::start(dir.path(), &without, &[("PAYSEAL_TEST_STORE_KEY", STORE_KEY)]);
    let attack = send(&gateway.admin_url("/lifecycle/keys"), "POST", &[("content-type", "text/plain")], br#"{"environment":"live"}"#).await;
    problem(&attack, 401, "unauthenticated");
    problem(&gateway.admin_send("GET", "/lifecycle/keys", &[], b"").await, 401, "unauthenticated");
    assert!(gateway.log().contains("payseal admin-token"), "the start explains how to create the first token: {}", gateway.log());
}

async fn token_for(gateway: &Gateway, client: &str, secret: &str) -> Answer {
    let body = json!({ "grant_type": "client_credentials", "client_id": client, "client_secret": secret }).to_string();
    send(&gateway.url("/api/v1/auth/token"), "POST", &[("content-type", "application/json")], body.as_bytes()).await
}

async fn renew(gateway: &Gateway, code_url: &str, code: &str, password: &str) -> Answer {
    let body: String = form_urlencoded::Serializer::new(String::new()).append_pair("accountOperationCode", code).append_pair("password", password).finish();
    send(&gateway.url(&format!("/{code_url}/renew-secret")), "POST", &[("content-type", "application/x-www-form-urlencoded")], body.as_bytes()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_clients_and_renewal_accounts_follow_the_roles_and_the_webcode() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&upstream, dir.path());
    let key_of = |answer: Answer| {
        assert_eq!(answer.status, 201, "{}", answer.text());
        answer.json()["keyId"].as_str().unwrap().to_owned()
    };
    let mine = key_of(json_as(&gateway, SHOP01, "POST", "/lifecycle/keys", &json!({ "environment": "live" })).await);
    let theirs = key_of(json_as(&gateway, SHOP02, "POST", "/lifecycle/keys", &json!({ "environment": "live" })).await);

    // A viewer reads, never creates; nobody reads a secret or a digest.
    let listed = json_as(&gateway, VIEWER, "GET", "/lifecycle/token-clients", &Value::Null).await;
    assert_eq!(listed.status, 200, "{}", listed.text());
    assert_eq!(listed.json()[0]["id"], "file-client");
    assert_eq!(listed.json()[0]["source"], "config");
    problem(&json_as(&gateway, VIEWER, "POST", "/lifecycle/token-clients", &json!({ "id": "v", "keyIds": [mine] })).await, 403, "forbidden");
    let account = json!({ "codeUrl": "viewer-renew", "operationAccountCode": "VIEW", "environment": "live" });
    problem(&json_as(&gateway, VIEWER, "POST", "/lifecycle/renewal-accounts", &account).await, 403, "forbidden");
    problem(&json_as(&gateway, VIEWER, "DELETE", "/lifecycle/token-clients/file-client", &Value::Null).await, 403, "forbidden");

    // SHOP01 creates a client of its key: the secret once, and it works at once.
    problem(&json_as(&gateway, SHOP01, "POST", "/lifecycle/token-clients", &json!({ "id": "shop01-app", "keyIds": [theirs] })).await, 400, "invalid_request");
    let created = json_as(&gateway, SHOP01, "POST", "/lifecycle/token-clients", &json!({ "id": "shop01-app", "keyIds": [mine] })).await;
    assert_eq!((created.status, created.headers.get("cache-control").map(|v| v.to_str().unwrap())), (201, Some("no-store")), "{}", created.text());
    let secret = created.json()["clientSecret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("cs_") && secret.len() == 46, "{secret}");
    assert_eq!(created.json()["webcode"], "SHOP01");
    assert_eq!(token_for(&gateway, "shop01-app", &secret).await.status, 200);
    problem(&json_as(&gateway, ADMIN_TOKEN, "POST", "/lifecycle/token-clients", &json!({ "id": "shop01-app", "keyIds": [mine] })).await, 409, "token_client_exists");
    let created = json_as(&gateway, SHOP02, "POST", "/lifecycle/token-clients", &json!({ "id": "shop02-app", "keyIds": [theirs] })).await;
    assert_eq!(created.status, 201, "{}", created.text());
    let all = json_as(&gateway, ADMIN_TOKEN, "GET", "/lifecycle/token-clients", &Value::Null).await.text();
    assert!(!all.contains(&secret) && !all.contains("sha256") && !all.contains("Sha256"), "{all}");
    let ids_of = |listed: &Value, field: &str| listed.as_array().unwrap().iter().map(|c| c[field].as_str().unwrap().to_owned()).collect::<Vec<_>>();
    assert_eq!(ids_of(&json_as(&gateway, SHOP01, "GET", "/lifecycle/token-clients", &Value::Null).await.json(), "id"), ["shop01-app"]);
    assert_eq!(ids_of(&json_as(&gateway, ADMIN_TOKEN, "GET", "/lifecycle/token-clients", &Value::Null).await.json(), "id"), ["file-client", "shop01-app", "shop02-app"]);
    // SHOP02's client (and the file's) answer SHOP01 as a missing one.
    for id in ["shop02-app", "file-client"] {
        let answer = json_as(&gateway, SHOP01, "DELETE", &format!("/lifecycle/token-clients/{id}"), &Value::Null).await;
        problem(&answer, 404, "token_client_not_found");
        let missing = json_as(&gateway, SHOP01, "DELETE", "/lifecycle/token-clients/nobody", &Value::Null).await;
        assert_eq!(answer.text().replace(id, "ID"), missing.text().replace("nobody", "ID"));
    }
    problem(&json_as(&gateway, ADMIN_TOKEN, "DELETE", "/lifecycle/token-clients/file-client", &Value::Null).await, 409, "token_client_in_config");

    // Renewal accounts: the password once; the renewal endpoint takes it at once.
    let account = json!({ "codeUrl": "shop01-renew", "operationAccountCode": "ACC01", "environment": "live", "webcode": "SHOP02" });
    problem(&json_as(&gateway, SHOP01, "POST", "/lifecycle/renewal-accounts", &account).await, 400, "invalid_request");
    let account = json!({ "codeUrl": "shop01-renew", "operationAccountCode": "ACC01", "environment": "live", "minIntervalSeconds": 0 });
    let created = json_as(&gateway, SHOP01, "POST", "/lifecycle/renewal-accounts", &account).await;
    assert_eq!((created.status, created.headers.get("cache-control").map(|v| v.to_str().unwrap())), (201, Some("no-store")), "{}", created.text());
    let password = created.json()["password"].as_str().unwrap().to_owned();
    assert!(password.starts_with("rp_"), "{password}");
    let renewed = renew(&gateway, "shop01-renew", "ACC01", &password).await;
    assert_eq!(renewed.status, 200, "{}", renewed.text());
    assert_eq!(renew(&gateway, "shop01-renew", "ACC01", "rp_wrong").await.status, 401);
    let account = json!({ "codeUrl": "shop02-renew", "operationAccountCode": "ACC02", "environment": "test" });
    assert_eq!(json_as(&gateway, SHOP02, "POST", "/lifecycle/renewal-accounts", &account).await.status, 201);
    let listed = json_as(&gateway, SHOP01, "GET", "/lifecycle/renewal-accounts", &Value::Null).await;
    assert_eq!(ids_of(&listed.json(), "codeUrl"), ["shop01-renew"]);
    assert_eq!(listed.json()[0]["webcode"], "SHOP01");
    let all = json_as(&gateway, VIEWER, "GET", "/lifecycle/renewal-accounts", &Value::Null).await.text();
    assert!(!all.contains(&password) && !all.contains("argon2"), "{all}");
    problem(&json_as(&gateway, SHOP01, "DELETE", "/lifecycle/renewal-accounts/shop02-renew", &Value::Null).await, 404, "renewal_account_not_found");
    problem(&json_as(&gateway, VIEWER, "DELETE", "/lifecycle/renewal-accounts/shop01-renew", &Value::Null).await, 403, "forbidden");

    // The audit names the credential; a merchant sees its own changes only.
    let audit = json_as(&gateway, SHOP01, "GET", "/lifecycle/audit", &Value::Null).await.json();
    let of = |action: &str| audit.as_array().unwrap().iter().filter(|e| e["action"] == action).map(|e| (e["actor"].as_str().unwrap().to_owned(), e["subject"].as_str().unwrap().to_owned())).collect::<Vec<_>>();
    assert_eq!(of("token_client_created"), [("token:shop01".to_owned(), "shop01-app".to_owned())], "{audit}");
    assert_eq!(of("renewal_account_created"), [("token:shop01".to_owned(), "shop01-renew".to_owned())], "{audit}");

    // Deleted: the client's tokens and the account's renewals stop.
    assert_eq!(json_as(&gateway, SHOP01, "DELETE", "/lifecycle/token-clients/shop01-app", &Value::Null).await.status, 200);
    assert_eq!(token_for(&gateway, "shop01-app", &secret).await.status, 401);
    assert_eq!(json_as(&gateway, SHOP01, "DELETE", "/lifecycle/renewal-accounts/shop01-renew", &Value::Null).await.status, 200);
    assert_eq!(renew(&gateway, "shop01-renew", "ACC01", &password).await.status, 400);
    let audit = json_as(&gateway, ADMIN_TOKEN, "GET", "/lifecycle/audit", &Value::Null).await.text();
    assert!(audit.contains("token_client_revoked") && audit.contains("renewal_account_deleted") && audit.contains("shop02-app"), "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_keys_traffic_of_the_last_hour_is_read_in_its_scope() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let gateway = start(&upstream, dir.path());
    let created = json_as(&gateway, SHOP01, "POST", "/lifecycle/keys", &json!({ "environment": "live" })).await;
    let (id, key) = (created.json()["keyId"].as_str().unwrap().to_owned(), created.json()["key"].as_str().unwrap().to_owned());
    let t0: u64 = 1_900_000_020;
    assert_eq!(gateway.admin_send("PUT", "/clock", &[], t0.to_string().as_bytes()).await.status, 200);
    for _ in 0..3 {
        assert_eq!(send(&gateway.url(PAY), "POST", &[("x-api-key", key.as_str())], b"{}").await.status, 201);
    }
    // An unknown key is refused before it has an id: counted nowhere here.
    assert_eq!(send(&gateway.url(PAY), "POST", &[("x-api-key", "sk_live_sprayed")], b"{}").await.status, 401);
    let read = |token: &'static str, id: String| {
        let gateway = &gateway;
        async move { json_as(gateway, token, "GET", &format!("/lifecycle/keys/{id}/traffic"), &Value::Null).await }
    };
    let traffic = read(SHOP01, id.clone()).await;
    assert_eq!(traffic.status, 200, "{}", traffic.text());
    let body = traffic.json();
    let minutes = body["minutes"].as_array().unwrap();
    assert_eq!((minutes.len(), body["keyId"].as_str(), body["now"].as_u64()), (60, Some(id.as_str()), Some(t0)));
    assert_eq!(minutes[59], json!({ "start": t0 - t0 % 60, "admitted": 3, "refused": {} }));
    assert!(minutes[..59].iter().all(|m| m["admitted"] == 0), "{body}");
    // An hour later the minute has left the window.
    assert_eq!(gateway.admin_send("PUT", "/clock", &[], (t0 + 3_600).to_string().as_bytes()).await.status, 200);
    let later = read(VIEWER, id.clone()).await.json();
    assert!(later["minutes"].as_array().unwrap().iter().all(|m| m["admitted"] == 0), "{later}");
    // Another webcode's key is a missing key.
    let theirs = read(SHOP02, id.clone()).await;
    problem(&theirs, 404, "key_not_found");
    assert_eq!(theirs.text().replace(&id, "ID"), read(SHOP02, "key_nope".into()).await.text().replace("key_nope", "ID"));
}
