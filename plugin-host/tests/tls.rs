//! TLS where the gateway talks, on the real binary: HTTPS and HTTP/2 on the
//! proxy listener, client certificates (on every connection or per route),
//! an `https://` upstream trusted through a configured CA (and a wrong CA
//! failing closed), a certificate reload that keeps requests in flight, and
//! the renewal's delivery of a new secret to an `https://` reception URL,
//! and `payseal keys` to an admin listener with TLS.
//! Every certificate is made by the test ([`common::tls::Pki`]).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::too_many_lines)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::tls::{Pki, client, send};
use common::{Gateway, Upstream, base_config, record, toml_of};
use hyper::{StatusCode, Version};
use serde_json::json;

const KEY: &str = "sk_live_TlsGatewayKey000000000000000";

fn keys() -> String {
    toml_of(&json!({ "keys": { "records": [record("k_live", KEY, "live")] } }))
}

/// `base_config` with `server_extra` in `[server]` and the key.
fn config(upstream: &str, dir: &Path, server_extra: &str) -> String {
    let mut text = base_config("127.0.0.1:1".parse().unwrap(), dir, server_extra).replace("http://127.0.0.1:1", upstream);
    text.push_str(&keys());
    text
}

fn https(gateway: &Gateway, path: &str) -> String {
    format!("https://localhost:{}{path}", gateway.proxy.port())
}

fn tls_table(cert: &Path, key: &Path, extra: &str) -> String {
    format!("tls = {{ cert = \"{}\", key = \"{}\"{extra} }}", cert.display(), key.display())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_and_http2_clients_through_the_tls_listener() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "listener");
    let (cert, key) = pki.server("gateway");
    let gateway = Gateway::start(dir.path(), &config(&format!("http://{}", upstream.addr), dir.path(), &tls_table(&cert, &key, "")), &[]);
    for (h2, version) in [(true, Version::HTTP_2), (false, Version::HTTP_11)] {
        let answer = send(&client(&pki.ca(), None, h2), &https(&gateway, "/api/v1/payments"), &[("x-api-key", KEY)], b"{}").await.unwrap();
        assert_eq!((answer.0, answer.1), (StatusCode::CREATED, version), "{:?}", answer.2);
    }
    assert_eq!(upstream.executions(), 2);
    // Plain HTTP to a TLS listener gets nothing through.
    let plain = common::send(&gateway.url("/api/v1/payments"), "POST", &[("x-api-key", KEY)], b"{}").await;
    assert_ne!(plain.status, 201);
    assert_eq!(upstream.executions(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_certificates_on_every_connection_or_per_route() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "server");
    let clients = Pki::new(dir.path(), "clients");
    let strangers = Pki::new(dir.path(), "strangers");
    let (cert, key) = pki.server("gateway");
    let merchant = clients.client("merchant");
    let stranger = strangers.client("stranger");
    let ca = clients.ca();
    // Per route: /api/v1/cards needs a certificate, other routes do not.
    let optional = tls_table(&cert, &key, &format!(", client_ca = \"{}\", client_auth = \"optional\", require_client_cert = [\"/api/v1/cards\"]", ca.display()));
    let gateway = Gateway::start(dir.path(), &config(&format!("http://{}", upstream.addr), dir.path(), &optional), &[]);
    let anonymous = client(&pki.ca(), None, true);
    let cards = send(&anonymous, &https(&gateway, "/API/v1/cards/7"), &[("x-api-key", KEY)], b"{}").await.unwrap();
    assert_eq!(cards.0, StatusCode::FORBIDDEN);
    assert!(String::from_utf8_lossy(&cards.2).contains("CLIENT_CERTIFICATE_REQUIRED"), "{:?}", cards.2);
    assert_eq!(send(&anonymous, &https(&gateway, "/api/v1/payments"), &[("x-api-key", KEY)], b"{}").await.unwrap().0, StatusCode::CREATED);
    let with_cert = send(&client(&pki.ca(), Some(&merchant), true), &https(&gateway, "/api/v1/cards/7"), &[("x-api-key", KEY)], b"{}").await.unwrap();
    assert_eq!(with_cert.0, StatusCode::CREATED);
    // A certificate of another CA fails the handshake even where optional.
    assert!(send(&client(&pki.ca(), Some(&stranger), true), &https(&gateway, "/api/v1/payments"), &[("x-api-key", KEY)], b"{}").await.is_err());
    assert_eq!(upstream.executions(), 2);
    drop(gateway);
    // Required: no handshake without a certificate.
    let dir2 = tempfile::tempdir().unwrap();
    let required = tls_table(&cert, &key, &format!(", client_ca = \"{}\"", ca.display()));
    let gateway = Gateway::start(dir2.path(), &config(&format!("http://{}", upstream.addr), dir2.path(), &required), &[]);
    assert!(send(&anonymous, &https(&gateway, "/api/v1/payments"), &[("x-api-key", KEY)], b"{}").await.is_err());
    assert_eq!(send(&client(&pki.ca(), Some(&merchant), false), &https(&gateway, "/api/v1/payments"), &[("x-api-key", KEY)], b"{}").await.unwrap().0, StatusCode::CREATED);
    assert_eq!(upstream.executions(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_upstream_behind_a_configured_ca_and_a_wrong_ca_failing_closed() {
    let dir = tempfile::tempdir().unwrap();
    let upstream_pki = Pki::new(dir.path(), "upstream");
    let other = Pki::new(dir.path(), "other");
    let (cert, key) = upstream_pki.server("upstream");
    let upstream = Upstream::start_tls(&cert, &key).await;
    let url = format!("https://localhost:{}", upstream.addr.port());
    let trusting = |ca: &Path| format!("{}[upstream.tls]\nca_file = \"{}\"\nonly_ca_file = true\n", "", ca.display());
    let mut text = config(&url, dir.path(), "");
    text.push_str(&trusting(&upstream_pki.ca()));
    let gateway = Gateway::start(dir.path(), &text, &[]);
    let answer = common::send(&gateway.url("/api/v1/payments"), "POST", &[("x-api-key", KEY), ("idempotency-key", "tls-1")], b"{}").await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    assert_eq!(upstream.executions_of("tls-1"), 1);
    drop(gateway);
    // Another CA: the handshake fails, nothing is sent, the client gets a 5xx.
    let dir2 = tempfile::tempdir().unwrap();
    let mut text = config(&url, dir2.path(), "");
    text.push_str(&trusting(&other.ca()));
    let gateway = Gateway::start(dir2.path(), &text, &[]);
    let refused = common::send(&gateway.url("/api/v1/payments"), "POST", &[("x-api-key", KEY), ("idempotency-key", "tls-2")], b"{}").await;
    assert!(matches!(refused.status, 502 | 503), "{} {}", refused.status, refused.text());
    assert_eq!(upstream.executions(), 1, "a request crossed a connection to an untrusted upstream");
    // Not stuck: the key was never sent, so it was released and a retry may run.
    let again = common::send(&gateway.url("/api/v1/payments"), "POST", &[("x-api-key", KEY), ("idempotency-key", "tls-2")], b"{}").await;
    assert!(matches!(again.status, 502 | 503), "{}", again.text());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_certificate_reload_keeps_the_request_in_flight() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let first = Pki::new(dir.path(), "first");
    let second = Pki::new(dir.path(), "second");
    let (cert, key) = first.server("gateway");
    let gateway = Gateway::start(dir.path(), &config(&format!("http://{}", upstream.addr), dir.path(), &tls_table(&cert, &key, "")), &[]);
    upstream.holding.store(true, std::sync::atomic::Ordering::SeqCst);
    let in_flight = {
        let (ca, url) = (first.ca(), https(&gateway, "/api/v1/payments"));
        tokio::spawn(async move { send(&client(&ca, None, true), &url, &[("x-api-key", KEY), ("x-test-hold", "1")], b"{}").await })
    };
    upstream.wait_for("", 1).await;
    // The files now hold a certificate of the second CA; reload.
    let (new_cert, new_key) = second.server("renewed");
    std::fs::copy(&new_cert, &cert).unwrap();
    std::fs::copy(&new_key, &key).unwrap();
    let reloaded = gateway.admin_send("POST", "/reload", &[], b"").await;
    assert_eq!(reloaded.status, 200, "{}", reloaded.text());
    // New handshakes present the new certificate: the old CA no longer works.
    assert!(send(&client(&first.ca(), None, true), &https(&gateway, "/api/v1/payments"), &[("x-api-key", KEY)], b"{}").await.is_err());
    assert_eq!(send(&client(&second.ca(), None, true), &https(&gateway, "/api/v1/payments"), &[("x-api-key", KEY)], b"{}").await.unwrap().0, StatusCode::CREATED);
    upstream.holding.store(false, std::sync::atomic::Ordering::SeqCst);
    let answer = tokio::time::timeout(Duration::from_secs(30), in_flight).await.unwrap().unwrap().unwrap();
    assert_eq!(answer.0, StatusCode::CREATED, "the request in flight was dropped by the reload");
    // A reload with an unreadable key keeps the running certificate.
    std::fs::write(&key, "garbage").unwrap();
    assert_eq!(gateway.admin_send("POST", "/reload", &[], b"").await.status, 500);
    assert_eq!(send(&client(&second.ca(), None, true), &https(&gateway, "/api/v1/payments"), &[("x-api-key", KEY)], b"{}").await.unwrap().0, StatusCode::CREATED);
}

/// `payseal keys list --json` with `args`: (exit code, stdout, stderr).
fn keys_list(args: &[&str]) -> (Option<i32>, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_payseal"))
        .args(["keys", "list", "--json"])
        .args(args)
        .env("PAYSEAL_ADMIN_TOKEN", common::ADMIN_TOKEN)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (output.status.code(), String::from_utf8_lossy(&output.stdout).into_owned(), String::from_utf8_lossy(&output.stderr).into_owned())
}

/// `payseal keys` to an admin listener with TLS that requires operators'
/// client certificates: `--admin https://…` with `--ca-file`; `--config`,
/// which finds the listener, speaks https and trusts the chain the listener
/// serves (here a chain file holding its CA). A certificate chaining to no
/// trusted root, no client certificate, and plain http get nothing (exit 4,
/// unavailable).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payseal_keys_speaks_https_to_an_admin_tls_listener() {
    let upstream = Upstream::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pki = Pki::new(dir.path(), "admin");
    let (cert, key) = pki.server("admin");
    let operators = Pki::new(dir.path(), "operators");
    let (op_cert, op_key) = operators.client("operator");
    let operator = ["--client-cert", op_cert.to_str().unwrap(), "--client-key", op_key.to_str().unwrap()];
    let chain = dir.path().join("admin-chain.pem");
    std::fs::write(&chain, [std::fs::read(&cert).unwrap(), std::fs::read(pki.ca()).unwrap()].concat()).unwrap();
    let text = config(&format!("http://{}", upstream.addr), dir.path(), "");
    let with_admin = |listen: &str| {
        let admin = "[admin]\nlisten = \"127.0.0.1:0\"\n";
        assert!(text.contains(admin), "the harness's admin section changed");
        let operators_ca = format!(", client_ca = \"{}\"", operators.ca().display());
        text.replacen(admin, &format!("[admin]\nlisten = \"{listen}\"\n{}\n", tls_table(&chain, &key, &operators_ca)), 1)
    };
    let gateway = Gateway::start(dir.path(), &with_admin("127.0.0.1:0"), &[]);
    let listed = |stdout: &str| serde_json::from_str::<serde_json::Value>(stdout).is_ok_and(|v| v.as_array().is_some_and(|keys| keys.iter().any(|k| k["keyId"] == "k_live")));

    let https_url = format!("https://{}", gateway.admin);
    let ca = pki.ca();
    let (code, stdout, stderr) = keys_list(&[&["--admin", &https_url, "--ca-file", ca.to_str().unwrap()], operator.as_slice()].concat());
    assert!(code == Some(0) && listed(&stdout), "{code:?} {stdout} {stderr}");
    let (code, _, stderr) = keys_list(&["--admin", &https_url, "--ca-file", ca.to_str().unwrap()]);
    assert_eq!(code, Some(4), "no client certificate: {stderr}");

    // The gateway's config with the port it got: --config finds the https
    // listener and trusts what it serves (no --ca-file).
    let cli_dir = tempfile::tempdir().unwrap();
    let cli_config = cli_dir.path().join("payseal.toml");
    std::fs::write(&cli_config, with_admin(&gateway.admin.to_string())).unwrap();
    let (code, stdout, stderr) = keys_list(&[&["--config", cli_config.to_str().unwrap()], operator.as_slice()].concat());
    assert!(code == Some(0) && listed(&stdout), "{code:?} {stdout} {stderr}");

    // No trusted root for the listener's certificate: refused, and said why.
    let (code, stdout, stderr) = keys_list(&[&["--admin", &https_url], operator.as_slice()].concat());
    assert_eq!((code, stdout.as_str()), (Some(4), ""), "{stderr}");
    assert!(stderr.contains("certificate"), "{stderr}");
    let stranger = Pki::new(dir.path(), "stranger");
    let (code, _, stderr) = keys_list(&[&["--admin", &https_url, "--ca-file", stranger.ca().to_str().unwrap()], operator.as_slice()].concat());
    assert_eq!(code, Some(4), "{stderr}");
    // Plain http to the TLS listener gets nothing either.
    let (code, _, stderr) = keys_list(&[&["--admin", &format!("http://{}", gateway.admin)], operator.as_slice()].concat());
    assert_eq!(code, Some(4), "{stderr}");
}
