//! Operating the gateway (issue 17), on the real binary: the command line
//! (help, version, usage errors with suggestions, typed values, scopes
//! checked against the running configuration, exit codes, completions,
//! tables and `--json`), `check-config` naming missing secrets, and
//! traceable requests (`x-request-id` and `traceparent` forwarded and
//! returned, the request log line, colourless text logs), the
//! `Idempotent-Replayed` marker, `payseal_build_info`, the process metrics
//! and the `status` label.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::too_many_lines)]

mod common;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use common::{Gateway, Upstream, base_config, record, send, toml_of};
use serde_json::{Value, json};

const LIVE_KEY: &str = "sk_live_OperationsLiveKey00000000000";
const STORE_KEY: &str = "3f2a6c0e9b1d4e7f8a2b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f";

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Runs `payseal ARGS` with stdin closed.
fn payseal(args: &[&str]) -> Output {
    payseal_env(args, &[])
}

fn payseal_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_payseal"));
    command.args(args).stdin(Stdio::null());
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts the exit code, showing both streams when it differs.
fn assert_exit(output: &Output, code: i32) {
    assert_eq!(output.status.code(), Some(code), "stdout:\n{}\nstderr:\n{}", stdout(output), stderr(output));
}

/// A gateway with a file key, two scopes and the lifecycle on.
fn config(upstream: &Upstream, dir: &Path, log_format: &str) -> String {
    let text = base_config(upstream.addr, dir, "").replace("format = \"json\"", &format!("format = \"{log_format}\""));
    let mut with_live = record("k_file", LIVE_KEY, "live");
    with_live["scopes"] = json!(["payment_gateway"]);
    text + &toml_of(&json!({
        "keys": {
            "policy": { "accepted_formats": ["prefixed"], "scope_routes": { "external_api_live": ["/external/v1/"], "payment_gateway": ["/api/v1/payment-gateway/"] } },
            "records": [with_live],
        },
        "idempotency": { "headers": ["idempotency-key"], "methods": ["POST"] },
        "lifecycle": { "store_key_env": "PAYSEAL_TEST_STORE_KEY" },
    }))
}

fn start(upstream: &Upstream, dir: &Path, log_format: &str) -> Gateway {
    Gateway::start(dir, &config(upstream, dir, log_format), &[("PAYSEAL_TEST_STORE_KEY", STORE_KEY)])
}

// ---------------------------------------------------------------------------
// The command line, without a gateway

#[test]
fn help_and_version_go_to_stdout_and_exit_0() {
    let help = payseal(&["--help"]);
    assert_exit(&help, 0);
    for command in ["serve", "check-config", "keys", "demo", "demo-upstream", "completions"] {
        assert!(stdout(&help).contains(command), "{command} missing from --help:\n{}", stdout(&help));
    }
    assert!(stdout(&help).contains("Exit codes: 0 ok") && stderr(&help).is_empty());
    let keys = payseal(&["keys", "--help"]);
    assert_exit(&keys, 0);
    assert!(stdout(&keys).contains("create") && stdout(&keys).contains("--json"), "{}", stdout(&keys));
    let create = payseal(&["keys", "create", "--help"]);
    assert_exit(&create, 0);
    assert!(stdout(&create).contains("<--scope <NAME>|--all-routes>") && stdout(&create).contains("- live: Live traffic"), "{}", stdout(&create));
    let version = payseal(&["--version"]);
    assert_exit(&version, 0);
    assert_eq!(stdout(&version).trim(), format!("payseal {}", env!("CARGO_PKG_VERSION")));
    assert_exit(&payseal(&["keys", "list", "-V"]), 0);
}

#[test]
fn usage_errors_exit_2_with_suggestions() {
    let no_command = payseal(&[]);
    assert_exit(&no_command, 2);
    assert!(stderr(&no_command).contains("Usage:"), "{}", stderr(&no_command));

    let unknown = payseal(&["serve", "--confg", "x.toml"]);
    assert_exit(&unknown, 2);
    assert!(stderr(&unknown).contains("unexpected argument '--confg'") && stderr(&unknown).contains("--config"), "{}", stderr(&unknown));

    let typo = payseal(&["keys", "create", "--environment", "live", "--scopes", "payment_gateway"]);
    assert_exit(&typo, 2);
    assert!(stderr(&typo).contains("'--scopes'") && stderr(&typo).contains("a similar argument exists: '--scope'"), "{}", stderr(&typo));

    let subcommand = payseal(&["keys", "lst"]);
    assert_exit(&subcommand, 2);
    assert!(stderr(&subcommand).contains("similar subcommand exists: 'list'"), "{}", stderr(&subcommand));

    let environment = payseal(&["keys", "create", "--environment", "prod", "--all-routes"]);
    assert_exit(&environment, 2);
    assert!(stderr(&environment).contains("invalid value 'prod'") && stderr(&environment).contains("[possible values: live, test]"), "{}", stderr(&environment));

    let format = payseal(&["keys", "create", "--environment", "live", "--all-routes", "--format", "hex"]);
    assert_exit(&format, 2);
    assert!(stderr(&format).contains("hex64") && stderr(&format).contains("base64-secret"), "{}", stderr(&format));

    let cidr = payseal(&["keys", "create", "--environment", "live", "--all-routes", "--allow-ip", "10.0.0.1", "--allow-ip", "10.0.0.0/33"]);
    assert_exit(&cidr, 2);
    assert!(stderr(&cidr).contains("\"10.0.0.0/33\" is not an IP address or CIDR block"), "{}", stderr(&cidr));

    let unscoped = payseal(&["keys", "create", "--environment", "live"]);
    assert_exit(&unscoped, 2);
    assert!(stderr(&unscoped).contains("--scope <NAME>") && stderr(&unscoped).contains("--all-routes"), "{}", stderr(&unscoped));

    let both = payseal(&["keys", "create", "--environment", "live", "--all-routes", "--scope", "payment_gateway"]);
    assert_exit(&both, 2);

    let seconds = payseal(&["keys", "regenerate", "key_1", "--grace", "soon"]);
    assert_exit(&seconds, 2);
    let shell = payseal(&["completions", "tcsh"]);
    assert_exit(&shell, 2);
    assert!(stderr(&shell).contains("bash") && stderr(&shell).contains("zsh"), "{}", stderr(&shell));
}

#[test]
fn completions_generate_for_every_shell() {
    let dir = tempdir();
    for shell in ["bash", "zsh", "fish"] {
        let output = payseal(&["completions", shell]);
        assert_exit(&output, 0);
        let script = stdout(&output);
        assert!(script.contains("payseal") && script.contains("check-config") && script.contains("rotate-client-secret"), "{shell}: {script}");
        let path = dir.path().join(format!("payseal.{shell}"));
        std::fs::write(&path, &script).unwrap();
        if shell == "bash" {
            // The script is valid bash (parsed, not run).
            let status = Command::new("bash").arg("-n").arg(&path).status().unwrap();
            assert!(status.success(), "bash -n refused the completion script");
            assert!(script.contains("complete -F"), "{script}");
        }
        if shell == "fish" {
            assert!(script.contains("complete -c payseal"), "{script}");
        }
    }
}

#[test]
fn configuration_errors_exit_3_and_an_unreachable_admin_exits_4() {
    let dir = tempdir();
    let missing = dir.path().join("nope.toml");
    let output = payseal(&["check-config", "--config", missing.to_str().unwrap()]);
    assert_exit(&output, 3);
    assert!(stderr(&output).contains(missing.to_str().unwrap()), "{}", stderr(&output));
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[upstream]\nurl = \"http://127.0.0.1:1\"\n[server]\ntrusted_proxies = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n").unwrap();
    let output = payseal(&["serve", "--config", bad.to_str().unwrap()]);
    assert_exit(&output, 3);
    assert!(stderr(&output).contains("server.trusted_proxies[1]"), "the message names the entry: {}", stderr(&output));
    // A plugin path that does not exist: the resolved path, relative to the file.
    let plugin = dir.path().join("plugin.toml");
    std::fs::write(&plugin, "[upstream]\nurl = \"http://127.0.0.1:1\"\n[plugin]\nwasm = \"no/such.wasm\"\n").unwrap();
    let output = payseal(&["check-config", "--config", plugin.to_str().unwrap()]);
    assert_exit(&output, 3);
    assert!(stderr(&output).contains(&dir.path().join("no/such.wasm").display().to_string()), "{}", stderr(&output));
    // Nothing listens on port 1.
    let output = payseal_env(&["keys", "list", "--admin", "http://127.0.0.1:1"], &[("PAYSEAL_ADMIN_TOKEN", common::ADMIN_TOKEN)]);
    assert_exit(&output, 4);
    assert!(stderr(&output).contains("cannot reach the admin listener at http://127.0.0.1:1"), "{}", stderr(&output));
    // Without a token nothing is sent: a usage error naming where it goes.
    let output = payseal(&["keys", "list", "--admin", "http://127.0.0.1:1"]);
    assert_exit(&output, 2);
    assert!(stderr(&output).contains("PAYSEAL_ADMIN_TOKEN"), "{}", stderr(&output));
}

#[test]
fn check_config_names_missing_secrets_without_values() {
    // The example, copied elsewhere: paths resolve next to the copy, the
    // embedded plugin loads, and only the store key is needed.
    let dir = tempdir();
    let example = dir.path().join("payseal.toml");
    std::fs::copy(concat!(env!("CARGO_MANIFEST_DIR"), "/examples/payseal.toml"), &example).unwrap();
    let path = example.to_str().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_payseal")).args(["check-config", "--config", path]).env_remove("PAYSEAL_STORE_KEY").output().unwrap();
    assert_exit(&output, 3);
    let text = stderr(&output);
    assert!(text.contains("PAYSEAL_STORE_KEY is not set") && text.contains("openssl rand -hex 32"), "{text}");
    assert!(stdout(&output).contains("plugin       embedded") && stdout(&output).contains("key records  2"), "{}", stdout(&output));
    let output = payseal_env(&["check-config", "--config", path], &[("PAYSEAL_STORE_KEY", STORE_KEY)]);
    assert_exit(&output, 0);
    assert!(stdout(&output).ends_with("configuration OK\n"), "{}", stdout(&output));
    let output = payseal_env(&["check-config", "--config", path, "--json"], &[("PAYSEAL_STORE_KEY", STORE_KEY)]);
    assert_exit(&output, 0);
    let view: Value = serde_json::from_str(stdout(&output).trim_end().trim_end_matches("configuration OK")).unwrap();
    assert_eq!(view["signed_requests"]["secrets"]["k_live"], json!(["[redacted]"]), "the demo secret is never printed");
    assert!(!stdout(&output).contains("demo-dvpay-api-secret"));
    // A value that is not a store key: named, never shown.
    let output = payseal_env(&["check-config", "--config", path], &[("PAYSEAL_STORE_KEY", "not-a-key-value")]);
    assert_exit(&output, 3);
    assert!(stderr(&output).contains("must hold 32 bytes") && !stderr(&output).contains("not-a-key-value"), "{}", stderr(&output));
}

// ---------------------------------------------------------------------------
// The command line, against a running gateway

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_scopes_are_checked_and_list_shows_file_keys() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let gateway = start(&upstream, dir.path(), "json");
    let admin = gateway.admin_url("");
    let keys = |args: &[&str]| {
        let mut all = vec!["keys"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--admin", &admin]);
        payseal_env(&all, &[("PAYSEAL_ADMIN_TOKEN", common::ADMIN_TOKEN)])
    };

    let unknown = keys(&["create", "--environment", "live", "--scope", "payment_gatewy"]);
    assert_exit(&unknown, 2);
    assert!(stderr(&unknown).contains("unknown scope \"payment_gatewy\"") && stderr(&unknown).contains("did you mean \"payment_gateway\"?"), "{}", stderr(&unknown));
    let edit = keys(&["edit", "k_any", "--scope", "no_such_scope"]);
    assert_exit(&edit, 2);

    let created = keys(&["create", "--environment", "live", "--scope", "payment_gateway", "--allow-ip", "127.0.0.1", "--json"]);
    assert_exit(&created, 0);
    let created: Value = serde_json::from_str(&stdout(&created)).unwrap();
    let id = created["keyId"].as_str().unwrap().to_owned();
    let got = keys(&["get", &id, "--json"]);
    assert_exit(&got, 0);
    let got: Value = serde_json::from_str(&stdout(&got)).unwrap();
    assert_eq!((&got["scopes"], &got["allowedIps"]), (&json!(["payment_gateway"]), &json!(["127.0.0.1/32"])), "{got}");
    let key = created["key"].as_str().unwrap().to_owned();
    let answer = send(&gateway.url("/api/v1/payment-gateway/pay"), "POST", &[("x-api-key", &key)], b"{}").await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let answer = send(&gateway.url("/external/v1/pay"), "POST", &[("x-api-key", &key)], b"{}").await;
    assert_eq!(answer.status, 403, "out of scope: {}", answer.text());
    let unscoped = keys(&["create", "--environment", "test", "--all-routes"]);
    assert_exit(&unscoped, 0);
    assert!(stdout(&unscoped).contains("keyId: key_") && stdout(&unscoped).contains("shown once"), "a human answer: {}", stdout(&unscoped));

    let listed = keys(&["list", "--json"]);
    assert_exit(&listed, 0);
    let listed: Value = serde_json::from_str(&stdout(&listed)).unwrap();
    let sources: Vec<(&str, &str)> = listed.as_array().unwrap().iter().map(|k| (k["keyId"].as_str().unwrap(), k["source"].as_str().unwrap())).collect();
    assert!(sources.contains(&("k_file", "file")) && sources.contains(&(id.as_str(), "store")) && sources.len() == 3, "{sources:?}");
    let table = keys(&["list"]);
    assert_exit(&table, 0);
    let text = stdout(&table);
    assert!(text.starts_with("ID ") && text.contains("SOURCE"), "{text}");
    let file_row = text.lines().find(|l| l.starts_with("k_file")).unwrap_or_else(|| panic!("no file key in:\n{text}"));
    assert!(file_row.contains("file") && file_row.contains("payment_gateway"), "{file_row}");
    assert!(!text.contains(&key));

    let refused = keys(&["revoke", "key_unknown"]);
    assert_exit(&refused, 5);
    assert!(stderr(&refused).contains("key_not_found"), "{}", stderr(&refused));
    let revoked = keys(&["revoke", &id]);
    assert_exit(&revoked, 0);
    assert!(stdout(&revoked).contains("status: REVOKED"), "{}", stdout(&revoked));
}

// ---------------------------------------------------------------------------
// Traceable requests

const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_ids_and_traces_reach_the_upstream_the_client_and_the_log() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let gateway = start(&upstream, dir.path(), "json");
    let path = "/api/v1/payment-gateway/pay";

    // The client's ids: kept, the trace continued under the gateway's span.
    let answer = send(&gateway.url(path), "POST", &[("x-api-key", LIVE_KEY), ("x-request-id", "req-4711"), ("traceparent", TRACEPARENT)], b"{}").await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let seen = upstream.last_headers();
    assert_eq!(seen.get_all("x-request-id").iter().collect::<Vec<_>>(), ["req-4711"]);
    let forwarded = seen["traceparent"].to_str().unwrap().to_owned();
    assert!(forwarded.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-") && forwarded.ends_with("-01"), "{forwarded}");
    assert_ne!(forwarded, TRACEPARENT, "the gateway's own span id is the upstream's parent");
    assert_eq!(answer.headers["x-request-id"], "req-4711");
    assert_eq!(answer.headers["traceparent"].to_str().unwrap(), forwarded);

    // None sent, or invalid ones: new ids, the same on both sides.
    for headers in [vec![], vec![("x-request-id", "has space"), ("traceparent", "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01")]] {
        let mut all = vec![("x-api-key", LIVE_KEY)];
        all.extend(headers);
        let answer = send(&gateway.url(path), "POST", &all, b"{}").await;
        assert_eq!(answer.status, 201);
        let seen = upstream.last_headers();
        let id = answer.headers["x-request-id"].to_str().unwrap();
        assert!(id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()), "{id}");
        assert_eq!(seen["x-request-id"], id);
        assert_eq!(seen["traceparent"], answer.headers["traceparent"]);
        assert!(!answer.headers["traceparent"].to_str().unwrap().contains("4bf92f3577b34da6a3ce929d0e0e4736"));
    }

    // A refused request has them too (never forwarded).
    let refused = send(&gateway.url(path), "POST", &[("x-api-key", "sk_live_NotAKnownKey00000000000000000"), ("x-request-id", "req-refused")], b"{}").await;
    assert_eq!((refused.status, refused.headers["x-request-id"].to_str().unwrap()), (401, "req-refused"));

    // The request log: the request id and trace in the span, the resolved
    // client and the key id in the line.
    let mut line = None;
    for _ in 0..100 {
        line = gateway.log().lines().find(|l| l.contains("req-4711") && l.contains("payseal::request")).map(str::to_owned);
        if line.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let line: Value = serde_json::from_str(&line.unwrap_or_else(|| panic!("no request line:\n{}", gateway.log()))).unwrap();
    assert_eq!(line["span"]["request_id"], "req-4711", "{line}");
    assert_eq!(line["span"]["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736", "{line}");
    assert_eq!((line["client"].as_str(), line["key_id"].as_str(), line["status"].as_u64()), (Some("127.0.0.1"), Some("k_file"), Some(201)), "{line}");
    let refused_line = gateway.log().lines().find(|l| l.contains("req-refused")).map(str::to_owned).unwrap_or_default();
    assert!(refused_line.contains("\"reason\":\"unknown_key\""), "{refused_line}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replays_say_so_and_metrics_have_build_process_and_status() {
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let gateway = start(&upstream, dir.path(), "text");
    let path = "/api/v1/payment-gateway/pay";
    let headers = [("x-api-key", LIVE_KEY), ("idempotency-key", "order-17")];
    let first = send(&gateway.url(path), "POST", &headers, b"{\"amount\":1}").await;
    assert_eq!(first.status, 201, "{}", first.text());
    assert!(first.headers.get("idempotent-replayed").is_none(), "a first execution is no replay");
    let again = send(&gateway.url(path), "POST", &headers, b"{\"amount\":1}").await;
    assert_eq!((again.status, again.body.clone()), (201, first.body.clone()));
    assert_eq!(again.headers.get_all("idempotent-replayed").iter().collect::<Vec<_>>(), ["true"]);
    assert_eq!(upstream.executions_of("order-17"), 1);
    let refused = send(&gateway.url(path), "POST", &[("x-api-key", "sk_live_NotAKnownKey00000000000000000")], b"{}").await;
    assert_eq!(refused.status, 401);

    let metrics = gateway.admin_send("GET", "/metrics", &[], b"").await.text();
    assert!(metrics.contains(&format!("payseal_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"))), "{metrics}");
    assert!(metrics.contains("payseal_requests_total{outcome=\"forwarded\",reason=\"\",status=\"201\"} 1"), "{metrics}");
    assert!(metrics.contains("payseal_requests_total{outcome=\"replayed\",reason=\"\",status=\"201\"} 1"), "{metrics}");
    assert!(metrics.contains("payseal_requests_total{outcome=\"refused\",reason=\"unknown_key\",status=\"401\"} 1"), "{metrics}");
    let value = |name: &str| -> f64 {
        metrics.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')).and_then(|v| v.parse().ok())).unwrap_or_else(|| panic!("no {name}"))
    };
    assert!(value("process_resident_memory_bytes") > 4_000_000.0);
    assert!(value("process_cpu_seconds_total") > 0.0);
    assert!(value("process_open_fds") >= 4.0);

    // Text logs written to a file carry no colour codes, and keep the span's fields.
    let log = gateway.log();
    assert!(log.contains("payseal::request") && log.contains("request_id="), "{log}");
    assert!(!log.contains('\u{1b}'), "ANSI escape codes in a log file:\n{log}");
}

// ---------------------------------------------------------------------------
// OpenTelemetry (cargo feature `otlp`): scripts/test-otlp.sh runs this.

/// An in-process OTLP/HTTP collector: keeps every JSON body posted to `/v1/traces`.
#[cfg(feature = "otlp")]
async fn collector() -> (std::net::SocketAddr, std::sync::Arc<std::sync::Mutex<Vec<Value>>>) {
    use http_body_util::BodyExt as _;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let received = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let kept = std::sync::Arc::clone(&received);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let kept = std::sync::Arc::clone(&kept);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                    let kept = std::sync::Arc::clone(&kept);
                    async move {
                        let path = request.uri().path().to_owned();
                        let json = request.headers().get("content-type").is_some_and(|v| v == "application/json");
                        let body = request.into_body().collect().await.map(http_body_util::Collected::to_bytes).unwrap_or_default();
                        let status = if path == "/v1/traces" && json {
                            kept.lock().unwrap().push(serde_json::from_slice(&body).unwrap_or(Value::Null));
                            200
                        } else {
                            404
                        };
                        let mut response = hyper::Response::new(http_body_util::Full::new(bytes::Bytes::from_static(b"{}")));
                        *response.status_mut() = hyper::StatusCode::from_u16(status).unwrap();
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new().serve_connection(hyper_util::rt::TokioIo::new(stream), service).await;
            });
        }
    });
    (addr, received)
}

#[cfg(feature = "otlp")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_spans_reach_an_otlp_collector() {
    let (collector_addr, received) = collector().await;
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let endpoint = format!("http://{collector_addr}");
    let gateway = Gateway::start(
        dir.path(),
        &config(&upstream, dir.path(), "json"),
        &[("PAYSEAL_TEST_STORE_KEY", STORE_KEY), ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint), ("OTEL_SERVICE_NAME", "payseal-test")],
    );
    let answer = send(&gateway.url("/api/v1/payment-gateway/pay"), "POST", &[("x-api-key", LIVE_KEY), ("x-request-id", "req-otlp"), ("traceparent", TRACEPARENT)], b"{}").await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let forwarded = upstream.last_headers()["traceparent"].to_str().unwrap().to_owned();
    let gateway_span = forwarded.split('-').nth(2).unwrap().to_owned();
    let mut found = None;
    for _ in 0..100 {
        found = received.lock().unwrap().iter().find_map(|batch| {
            let resource = &batch["resourceSpans"][0];
            let spans = resource["scopeSpans"][0]["spans"].as_array()?;
            spans.iter().find(|s| s["traceId"] == "4bf92f3577b34da6a3ce929d0e0e4736").map(|s| (resource["resource"].clone(), s.clone()))
        });
        if found.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (resource, span) = found.unwrap_or_else(|| panic!("no span reached the collector; log:\n{}", gateway.log()));
    assert_eq!(resource["attributes"][0]["value"]["stringValue"], "payseal-test");
    assert_eq!(span["name"], "request");
    assert_eq!(span["spanId"], gateway_span.as_str(), "the span the upstream's parent names");
    assert_eq!(span["parentSpanId"], "00f067aa0ba902b7", "the client's span");
    assert_eq!(span["kind"], 2);
    let attributes = span["attributes"].as_array().unwrap();
    assert!(attributes.contains(&json!({ "key": "http.response.status_code", "value": { "intValue": "201" } })), "{span}");
    assert!(attributes.contains(&json!({ "key": "http.request.header.x-request-id", "value": { "stringValue": "req-otlp" } })), "{span}");
    let start: u128 = span["startTimeUnixNano"].as_str().unwrap().parse().unwrap();
    let end: u128 = span["endTimeUnixNano"].as_str().unwrap().parse().unwrap();
    assert!(start > 0 && end >= start);
    assert!(!span.to_string().contains(LIVE_KEY), "no key in a span");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_covering_traceparent_is_checked_on_the_client_s_value() {
    use payseal_core::Secret;
    use payseal_core::rfc9421::{ParamValue, SignRequest, Signer};
    const NOW: u64 = 1_719_500_100;
    let upstream = Upstream::start().await;
    let dir = tempdir();
    let secret = "oTi/maBUu4/4XtTo5JrJgHJkglvkb0tIgG/sgAVFGQY=";
    let mut text = base_config(upstream.addr, dir.path(), "public_origin = \"https://api.example.test\"");
    text.push_str(&toml_of(&json!({
        "keys": { "records": [record("k_live", LIVE_KEY, "live")] },
        "routes": [ { "prefix": "/external/v1/payouts", "methods": ["POST"], "rfc9421": { "required": ["@method", "@path", "traceparent", "x-request-id"] } } ],
        "signed_requests": { "rfc9421": [ { "key_id": "k_live", "keyid": "psk-live-1", "secret_env": "PAYSEAL_TEST_RFC9421" } ] },
    })));
    let gateway = Gateway::start(dir.path(), &text, &[("PAYSEAL_TEST_RFC9421", secret)]);
    gateway.set_clock(NOW).await;
    let path = "/external/v1/payouts";
    let params = [("created", ParamValue::Integer(i64::try_from(NOW).unwrap())), ("keyid", ParamValue::from("psk-live-1"))];
    // The gateway replaces both fields on the way up (a new span id; an
    // invalid request id): the signature is still checked on what was sent.
    let request_id = "not a token";
    let signed = Signer::new(&Secret::from_text(secret))
        .sign(&SignRequest {
            method: "POST",
            url: &format!("https://api.example.test{path}"),
            headers: &[("traceparent", TRACEPARENT), ("x-request-id", request_id)],
            body: b"{}",
            label: "sig1",
            components: &["@method", "@path", "traceparent", "x-request-id"],
            params: &params,
        })
        .unwrap();
    let headers = [
        ("x-api-key", LIVE_KEY),
        ("traceparent", TRACEPARENT),
        ("x-request-id", request_id),
        ("idempotency-key", "payout-1"),
        ("signature-input", signed.signature_input.as_str()),
        ("signature", signed.signature.as_str()),
    ];
    let answer = send(&gateway.url(path), "POST", &headers, b"{}").await;
    assert_eq!(answer.status, 201, "{}", answer.text());
    let seen = upstream.last_headers();
    assert_ne!(seen["traceparent"], TRACEPARENT, "the upstream gets the gateway's span");
    assert_ne!(seen["x-request-id"], request_id, "an invalid request id is replaced");
    assert_eq!(seen["x-request-id"], answer.headers["x-request-id"]);
}
