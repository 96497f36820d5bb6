//! `payseal keys …`: a thin client of the admin API's lifecycle routes
//! ([`super::api`]). The running gateway owns the store (redb allows one
//! process) and reloads its plugin pool after each change, so the command
//! line never opens the store itself.
//!
//! The admin address comes from `--admin URL`, else from `--config FILE`'s
//! `admin.listen` (`https://` when `[admin.tls]` is set), else
//! `http://127.0.0.1:9090`. An `https://` listener's certificate must chain
//! to the system's roots or to `--ca-file`; with `--config` and no
//! `--ca-file`, the certificates the listener serves (`admin.tls.cert`) are
//! trusted too, so a self-signed certificate or a chain file that holds its
//! CA works as configured. A listener that asks for a client certificate
//! gets `--client-cert` and `--client-key`. Answers are printed as a
//! table (or `key: value` lines) by default and as JSON with `--json`; a
//! refused operation prints the gateway's error code and message on stderr
//! and exits with [`Exit::Refused`]. Scopes are checked against the running
//! gateway's configuration (`GET /config`) before anything is sent: a typo
//! is an error, never a key that reaches every route.
//!
//! Authentication: an admin token (`--token-file FILE`, else the
//! `PAYSEAL_ADMIN_TOKEN` environment variable), sent as a bearer token by
//! [`AdminClient::request`] and nowhere else.

use std::collections::BTreeSet;
use std::io::BufRead as _;
use std::path::PathBuf;

use argon2::{Argon2, PasswordHasher as _};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::config::FileConfig;
use crate::exit::{CliError, Exit};
use crate::tls::{ClientTlsConfig, HttpsClient, https_client};

/// `payseal keys`: the key lifecycle, through a running gateway's admin API.
#[derive(Debug, clap::Args)]
pub struct KeysArgs {
    /// The admin listener's URL (default: `admin.listen` of --config, else `http://127.0.0.1:9090`).
    #[arg(long, global = true, value_name = "URL", conflicts_with = "config")]
    pub admin: Option<String>,
    /// The gateway's configuration file, to find its admin listener.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// CA certificates (PEM) an `https://` admin listener's certificate may
    /// chain to, besides the system's roots (default with --config and
    /// `[admin.tls]`: the listener's own `admin.tls.cert`).
    #[arg(long, global = true, value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// A client certificate chain (PEM) for an admin listener that asks for
    /// one (`admin.tls.client_ca`), with --client-key.
    #[arg(long, global = true, value_name = "FILE", requires = "client_key")]
    pub client_cert: Option<PathBuf>,
    /// The private key (PEM) of --client-cert.
    #[arg(long, global = true, value_name = "FILE", requires = "client_cert")]
    pub client_key: Option<PathBuf>,
    /// Print JSON (for scripts) instead of a table.
    #[arg(long, global = true)]
    pub json: bool,
    /// A file whose first line is the admin token (default: the
    /// `PAYSEAL_ADMIN_TOKEN` environment variable).
    #[arg(long, global = true, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The operation.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// `live` or `test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum EnvironmentArg {
    /// Live traffic.
    Live,
    /// Test traffic.
    Test,
}

impl EnvironmentArg {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Live => "live",
            Self::Test => "test",
        }
    }
}

/// A key format (`lifecycle.default_format` when not given).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// `sk_live_…` / `sk_test_…`.
    Prefixed,
    /// 64 hex digits.
    Hex64,
    /// An RFC 4122 UUID.
    Uuid,
    /// Standard base64 of 32 random bytes (also a DVPay shared secret).
    Base64Secret,
}

impl FormatArg {
    const fn as_str(self) -> &'static str {
        match self {
            Self::Prefixed => "prefixed",
            Self::Hex64 => "hex64",
            Self::Uuid => "uuid",
            Self::Base64Secret => "base64-secret",
        }
    }
}

/// The operations of `payseal keys`.
#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Issue a key from the OS CSPRNG; it is shown once.
    #[command(group(clap::ArgGroup::new("routes").required(true).multiple(false).args(["scopes", "all_routes"])))]
    Create {
        /// The key's environment.
        #[arg(long, value_enum)]
        environment: EnvironmentArg,
        /// The key's format.
        #[arg(long, value_enum)]
        format: Option<FormatArg>,
        /// A scope of the configuration's `keys.policy.scope_routes` (repeatable).
        #[arg(long = "scope", value_name = "NAME")]
        scopes: Vec<String>,
        /// No scope: the key reaches every route of its environment.
        #[arg(long)]
        all_routes: bool,
        /// An allowed client address or CIDR block (repeatable).
        #[arg(long = "allow-ip", value_name = "ADDR|CIDR", value_parser = parse_net)]
        allowed_ips: Vec<String>,
        /// The merchant the key is bound to.
        #[arg(long, value_name = "CODE")]
        webcode: Option<String>,
        /// Lifetime from now (no expiry when absent).
        #[arg(long, value_name = "SECONDS")]
        expires_in: Option<u64>,
    },
    /// Every key: the store's and the configuration file's (marked `file`).
    List,
    /// One stored key.
    Get {
        /// The key id.
        id: String,
    },
    /// Replace a key's allow-list and/or scopes; takes effect at once.
    Edit {
        /// The key id.
        id: String,
        /// The new allow-list (repeatable).
        #[arg(long = "allow-ip", value_name = "ADDR|CIDR", value_parser = parse_net, conflicts_with = "no_ips")]
        allowed_ips: Vec<String>,
        /// Remove the allow-list (any address).
        #[arg(long)]
        no_ips: bool,
        /// The new scopes (repeatable).
        #[arg(long = "scope", value_name = "NAME", conflicts_with = "all_routes")]
        scopes: Vec<String>,
        /// Remove every scope: the key reaches every route of its environment.
        #[arg(long, alias = "no-scopes")]
        all_routes: bool,
    },
    /// Revoke a key, permanently and at once.
    Revoke {
        /// The key id.
        id: String,
    },
    /// Issue a successor; the old key works during its grace.
    Regenerate {
        /// The key id.
        id: String,
        /// Grace of the old key (`lifecycle.grace_seconds` when absent).
        #[arg(long, value_name = "SECONDS")]
        grace: Option<u64>,
        /// Lifetime of the new key (the old key's when absent).
        #[arg(long, value_name = "SECONDS")]
        expires_in: Option<u64>,
    },
    /// Rotate an environment's client secret; the new one is shown once.
    RotateClientSecret {
        /// The environment.
        #[arg(value_enum)]
        environment: EnvironmentArg,
    },
    /// Audit events, oldest first.
    Audit {
        /// Only events after this sequence number.
        #[arg(long, value_name = "N", default_value_t = 0)]
        after: u64,
        /// At most this many events.
        #[arg(long, value_name = "N", default_value_t = 1_000)]
        limit: u64,
    },
    /// Read a password from stdin; print its Argon2id PHC string (for `password_argon2`).
    HashPassword,
}

/// `--allow-ip`: an address or CIDR block, kept as written once it parses.
fn parse_net(text: &str) -> Result<String, String> {
    text.parse::<payseal_core::keys::IpNet>()
        .map(|_| text.to_owned())
        .map_err(|_| format!("{text:?} is not an IP address or CIDR block (e.g. 203.0.113.7 or 10.0.0.0/8)"))
}

/// How the client proves itself to the admin listener, applied in
/// [`AdminClient::request`] only.
#[non_exhaustive]
#[derive(Clone, Default)]
pub enum Credentials {
    /// No credentials (only `/healthz` and `/readyz` answer).
    #[default]
    None,
    /// An admin token, sent as `Authorization: Bearer …` (wiped when dropped).
    Bearer(Zeroizing<String>),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::None => f.write_str("Credentials::None"),
            Self::Bearer(_) => f.write_str("Credentials::Bearer([redacted])"),
        }
    }
}

/// Where the admin listener is, and what its certificate must chain to.
#[derive(Debug, Clone)]
pub struct AdminTarget {
    /// `http://host:port` or `https://host:port`.
    pub base: String,
    /// With `https://`: trusted besides the system's roots.
    pub tls: ClientTlsConfig,
}

/// A client of the admin API.
#[derive(Debug)]
pub struct AdminClient {
    base: String,
    credentials: Credentials,
    client: HttpsClient,
    runtime: tokio::runtime::Runtime,
}

/// An answer of the admin API; its text is wiped when dropped (it may hold a key).
struct Answered {
    status: u16,
    text: Zeroizing<String>,
}

impl AdminClient {
    /// A client of the admin listener of `target`.
    ///
    /// # Errors
    /// The CA file cannot be read ([`Exit::Usage`]), the runtime cannot
    /// start ([`Exit::Internal`]).
    pub fn new(target: AdminTarget, credentials: Credentials) -> Result<Self, CliError> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| CliError::internal(format!("cannot start the runtime: {e}")))?;
        let client = https_client(&target.tls, "--ca-file").map_err(|e| CliError::usage("bad_ca_file", e))?;
        Ok(Self { base: target.base, credentials, client, runtime })
    }

    /// The request to `path`, with the client's credentials applied.
    fn request(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Request<Full<Bytes>>, CliError> {
        let url = format!("{}{path}", self.base);
        let builder = Request::builder().method(method).uri(&url).header("content-type", "application/json");
        let builder = match &self.credentials {
            Credentials::None => builder,
            Credentials::Bearer(token) => builder.header("authorization", bearer(token).map_err(|e| CliError::usage("invalid_token", e))?),
        };
        let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
        builder.body(Full::new(bytes)).map_err(|e| CliError::usage("bad_admin_url", format!("bad admin URL {url}: {e}")))
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Answered, CliError> {
        let request = self.request(method, path, body)?;
        let base = self.base.clone();
        self.runtime.block_on(async move {
            let response = self.client.request(request).await.map_err(|e| {
                CliError::unavailable(format!("cannot reach the admin listener at {base}: {} (is `payseal serve` running? --admin URL or --config FILE names another)", causes(&e)))
            })?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.map_err(|e| CliError::unavailable(format!("the admin listener's answer broke off: {e}")))?.to_bytes();
            Ok(Answered { status, text: Zeroizing::new(String::from_utf8_lossy(&body).into_owned()) })
        })
    }

    /// A call that must succeed: its JSON answer, or the gateway's error.
    fn json(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Answered, CliError> {
        let answer = self.call(method, path, body)?;
        if (200..300).contains(&answer.status) {
            return Ok(answer);
        }
        let error: Value = serde_json::from_str(&answer.text).unwrap_or(Value::Null);
        let message = error["error"].as_str().or_else(|| error["message"].as_str()).map_or_else(|| answer.text.to_string(), str::to_owned);
        let code = error["code"].as_str().unwrap_or("error").to_owned();
        Err(CliError::new(Exit::Refused, code.clone(), format!("{code} (HTTP {}): {message}", answer.status)))
    }

    /// The running gateway's plugin view (`GET /config`'s `plugin`).
    fn view(&self) -> Result<Value, CliError> {
        let answer = self.json("GET", "/config", None)?;
        let config: Value = serde_json::from_str(&answer.text).map_err(|_| CliError::unavailable("the admin listener's /config is not JSON"))?;
        Ok(config["plugin"].clone())
    }
}

/// An error and its causes, outermost first: hyper's "client error
/// (Connect)" alone does not say that a certificate was refused.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

impl KeysArgs {
    /// The admin listener's base URL and the roots its certificate may chain to.
    fn admin(&self) -> Result<AdminTarget, CliError> {
        let trust = |ca_file: Option<PathBuf>| ClientTlsConfig { ca_file, client_cert: self.client_cert.clone(), client_key: self.client_key.clone(), ..ClientTlsConfig::default() };
        if let Some(url) = &self.admin {
            if !url.starts_with("http://") && !url.starts_with("https://") {
                return Err(CliError::usage("bad_admin_url", format!("--admin {url}: must start with http:// or https://")));
            }
            return Ok(AdminTarget { base: url.trim_end_matches('/').to_owned(), tls: trust(self.ca_file.clone()) });
        }
        let admin = match &self.config {
            Some(path) => FileConfig::load(path).map_err(|e| CliError::config(e.to_string()))?.admin,
            None => crate::config::AdminConfig::default(),
        };
        let listen = admin.listen;
        let host = if listen.ip().is_unspecified() {
            if listen.is_ipv4() { "127.0.0.1".to_owned() } else { "[::1]".to_owned() }
        } else if listen.is_ipv6() {
            format!("[{}]", listen.ip())
        } else {
            listen.ip().to_string()
        };
        let (scheme, ca_file) = match &admin.tls {
            Some(tls) => ("https", self.ca_file.clone().or_else(|| Some(tls.cert.clone()))),
            None => ("http", self.ca_file.clone()),
        };
        Ok(AdminTarget { base: format!("{scheme}://{host}:{}", listen.port()), tls: trust(ca_file) })
    }
}

/// The scopes the running configuration defines (`keys.policy.scope_routes`).
fn known_scopes(view: &Value) -> BTreeSet<String> {
    view.pointer("/keys/policy/scope_routes").and_then(Value::as_object).map(|m| m.keys().cloned().collect()).unwrap_or_default()
}

/// Edit distance, for "did you mean".
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let current = row[j + 1];
            row[j + 1] = (previous + usize::from(ca != *cb)).min(row[j] + 1).min(current + 1);
            previous = current;
        }
    }
    row[b.len()]
}

/// Every scope in `scopes` is one of `known`, or a usage error naming it.
fn check_scopes(scopes: &[String], known: &BTreeSet<String>) -> Result<(), CliError> {
    for scope in scopes {
        if known.contains(scope) {
            continue;
        }
        let listed = if known.is_empty() { "none: keys.policy.scope_routes is empty".to_owned() } else { known.iter().cloned().collect::<Vec<_>>().join(", ") };
        let suggestion = known.iter().map(|k| (distance(scope, k), k)).filter(|(d, _)| *d <= 3).min().map(|(_, k)| format!("; did you mean {k:?}?")).unwrap_or_default();
        return Err(CliError::usage("unknown_scope", format!("unknown scope {scope:?} (the gateway's scopes: {listed}){suggestion}")));
    }
    Ok(())
}

/// Runs `payseal keys`.
///
/// # Errors
/// A [`CliError`] with its exit code: an unknown scope (usage), an
/// unreachable admin listener (unavailable), a refused operation (refused).
pub fn run(args: &KeysArgs) -> Result<(), CliError> {
    if matches!(args.command, KeysCommand::HashPassword) {
        return hash_password();
    }
    let token = crate::access::cli::read_token(args.token_file.as_deref(), &crate::env::process_env()).map_err(|e| CliError::usage("admin_token_missing", e))?;
    let client = AdminClient::new(args.admin()?, Credentials::Bearer(token))?;
    let (method, path, body): (&str, String, Option<Value>) = match &args.command {
        KeysCommand::Create { environment, format, scopes, all_routes: _, allowed_ips, webcode, expires_in } => {
            check_scopes(scopes, &known_scopes(&client.view()?))?;
            let mut body = json!({ "environment": environment.as_str(), "scopes": scopes, "allowedIps": allowed_ips });
            if let Some(format) = format {
                body["format"] = json!(format.as_str());
            }
            if let Some(webcode) = webcode {
                body["webcode"] = json!(webcode);
            }
            if let Some(seconds) = expires_in {
                body["expiresInSeconds"] = json!(seconds);
            }
            ("POST", "/lifecycle/keys".into(), Some(body))
        }
        KeysCommand::List => return list(&client, args.json),
        KeysCommand::Get { id } => ("GET", format!("/lifecycle/keys/{id}"), None),
        KeysCommand::Edit { id, allowed_ips, no_ips, scopes, all_routes } => {
            let mut body = json!({});
            if !allowed_ips.is_empty() || *no_ips {
                body["allowedIps"] = json!(allowed_ips);
            }
            if !scopes.is_empty() {
                check_scopes(scopes, &known_scopes(&client.view()?))?;
            }
            if !scopes.is_empty() || *all_routes {
                body["scopes"] = json!(scopes);
            }
            if body.as_object().is_some_and(serde_json::Map::is_empty) {
                return Err(CliError::usage("nothing_to_edit", "give --allow-ip, --no-ips, --scope or --all-routes"));
            }
            ("PATCH", format!("/lifecycle/keys/{id}"), Some(body))
        }
        KeysCommand::Revoke { id } => ("POST", format!("/lifecycle/keys/{id}/revoke"), None),
        KeysCommand::Regenerate { id, grace, expires_in } => {
            let mut body = json!({});
            if let Some(grace) = grace {
                body["graceSeconds"] = json!(grace);
            }
            if let Some(seconds) = expires_in {
                body["expiresInSeconds"] = json!(seconds);
            }
            ("POST", format!("/lifecycle/keys/{id}/regenerate"), Some(body))
        }
        KeysCommand::RotateClientSecret { environment } => ("POST", format!("/lifecycle/client-secrets/{}/rotate", environment.as_str()), None),
        KeysCommand::Audit { after, limit } => ("GET", format!("/lifecycle/audit?after={after}&limit={limit}"), None),
        KeysCommand::HashPassword => return hash_password(),
    };
    let answer = client.json(method, &path, body.as_ref())?;
    if args.json {
        println!("{}", answer.text.as_str());
        return Ok(());
    }
    let value: Zeroizing<String> = answer.text;
    let parsed: Value = serde_json::from_str(&value).unwrap_or(Value::Null);
    match &parsed {
        Value::Array(events) => print_table(&["SEQ", "TIME", "ACTOR", "ACTION", "SUBJECT"], &events.iter().map(audit_row).collect::<Vec<_>>()),
        Value::Object(fields) => {
            for (name, value) in fields {
                println!("{name}: {}", cell(value));
            }
            if fields.contains_key("key") || fields.contains_key("clientSecret") {
                println!("\nThe key and client secret above are shown once: store them now.");
            }
        }
        other => println!("{other}"),
    }
    Ok(())
}

/// `payseal keys list`: the store's keys, then the file's (marked `file`).
fn list(client: &AdminClient, as_json: bool) -> Result<(), CliError> {
    let stored: Value = serde_json::from_str(&client.json("GET", "/lifecycle/keys", None)?.text).unwrap_or(Value::Null);
    let view = client.view()?;
    let mut rows: Vec<Value> = Vec::new();
    let mut stored_ids = BTreeSet::new();
    for key in stored.as_array().into_iter().flatten() {
        let mut key = key.clone();
        if let Some(id) = key["keyId"].as_str() {
            stored_ids.insert(id.to_owned());
        }
        key["source"] = json!("store");
        rows.push(key);
    }
    // The plugin's view holds the file's records followed by the store's.
    for record in view.pointer("/keys/records").and_then(Value::as_array).into_iter().flatten() {
        let Some(id) = record["id"].as_str() else { continue };
        if stored_ids.contains(id) {
            continue;
        }
        rows.push(json!({
            "keyId": id,
            "status": record["status"].as_str().map(str::to_ascii_uppercase),
            "environment": record["environment"],
            "scopes": record["scopes"],
            "allowedIps": record["allowed_ips"],
            "webcode": record["webcode"],
            "expiresAt": record["expires_at"],
            "source": "file",
        }));
    }
    if as_json {
        println!("{}", Value::Array(rows));
        return Ok(());
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let scopes = r["scopes"].as_array().filter(|a| !a.is_empty()).map_or_else(|| "(all routes)".to_owned(), |a| a.iter().map(cell).collect::<Vec<_>>().join(","));
            vec![cell(&r["keyId"]), cell(&r["source"]), cell(&r["environment"]), cell(&r["status"]), scopes, cell(&r["allowedIps"]), cell(&r["expirationDate"])]
        })
        .collect();
    print_table(&["ID", "SOURCE", "ENV", "STATUS", "SCOPES", "ALLOWED IPS", "EXPIRES"], &table);
    Ok(())
}

fn audit_row(event: &Value) -> Vec<String> {
    vec![cell(&event["sequence"]), cell(&event["at"]), cell(&event["actor"]), cell(&event["action"]), cell(&event["subject"])]
}

/// A JSON value as a table cell (`-` for none).
fn cell(value: &Value) -> String {
    match value {
        Value::Null => "-".to_owned(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.is_empty() => "-".to_owned(),
        Value::Array(items) => items.iter().map(cell).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Columns padded to their widest cell.
fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        println!("{}", padded.join("  ").trim_end());
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
}

/// `Authorization: Bearer <token>`, marked sensitive (never printed by
/// the HTTP stack's debug output).
fn bearer(token: &str) -> Result<hyper::header::HeaderValue, String> {
    let mut value = hyper::header::HeaderValue::from_str(&Zeroizing::new(format!("Bearer {token}"))).map_err(|_| "the admin token is not a valid header value".to_owned())?;
    value.set_sensitive(true);
    Ok(value)
}

/// `payseal keys hash-password`: an Argon2id PHC string (default
/// parameters, random salt) for `password_argon2`.
fn hash_password() -> Result<(), CliError> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin().lock().read_line(&mut line).map_err(|e| CliError::internal(format!("cannot read stdin: {e}")))?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(CliError::usage("empty_password", "the password (read from stdin) is empty"));
    }
    let hash = Argon2::default().hash_password(password.as_bytes()).map_err(|e| CliError::internal(format!("cannot hash: {e}")))?;
    println!("{hash}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser as _;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(flatten)]
        keys: KeysArgs,
    }

    fn args(list: &[&str]) -> Result<KeysArgs, clap::Error> {
        Cli::try_parse_from(std::iter::once("keys").chain(list.iter().copied())).map(|c| c.keys)
    }

    #[test]
    fn flags_repeat_are_typed_and_a_key_without_scope_is_explicit() {
        let parsed = args(&["edit", "key_1", "--allow-ip", "10.0.0.1", "--all-routes", "--allow-ip", "10.0.0.0/8"]).unwrap();
        let KeysCommand::Edit { allowed_ips, all_routes, .. } = parsed.command else { panic!("not edit") };
        assert_eq!(allowed_ips, ["10.0.0.1", "10.0.0.0/8"]);
        assert!(all_routes);
        assert!(args(&["regenerate", "k", "--grace", "soon"]).is_err());
        assert!(args(&["create", "--environment"]).is_err());
        let e = args(&["create", "--environment", "live"]).unwrap_err();
        assert!(e.to_string().contains("--scope") && e.to_string().contains("--all-routes"), "{e}");
        assert!(args(&["create", "--environment", "live", "--all-routes", "--scope", "a"]).is_err());
        let e = args(&["create", "--environment", "live", "--all-routes", "--allow-ip", "10.0.0.0/33"]).unwrap_err();
        assert!(e.to_string().contains("10.0.0.0/33"), "{e}");
        let e = args(&["create", "--environment", "prod", "--all-routes"]).unwrap_err();
        assert!(e.to_string().contains("live") && e.to_string().contains("test"), "{e}");
    }

    #[test]
    fn scopes_are_checked_with_a_suggestion() {
        let known: BTreeSet<String> = ["external_api_live".to_owned(), "payment_gateway".to_owned()].into();
        assert!(check_scopes(&["payment_gateway".into()], &known).is_ok());
        let e = check_scopes(&["payment_gatewy".into()], &known).unwrap_err();
        assert_eq!((e.exit, e.code.as_str()), (Exit::Usage, "unknown_scope"));
        assert!(e.message.contains("did you mean \"payment_gateway\""), "{}", e.message);
        assert!(check_scopes(&["x".into()], &BTreeSet::new()).unwrap_err().message.contains("scope_routes is empty"));
    }

    #[test]
    fn the_admin_address_comes_from_the_flag_or_the_config() {
        let base = |list: &[&str]| args(list).unwrap().admin().unwrap().base;
        assert_eq!(base(&["list", "--admin", "http://10.0.0.5:9090/"]), "http://10.0.0.5:9090");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payseal.toml");
        let config = path.to_str().unwrap();
        // A listener on every interface needs a bootstrap admin token.
        let token = format!("[[admin.tokens]]\nname = \"ops\"\nrole = \"admin\"\nsha256 = \"{}\"\n", "ab".repeat(32));
        std::fs::write(&path, format!("[upstream]\nurl = \"http://127.0.0.1:1\"\n[admin]\nlisten = \"0.0.0.0:9191\"\n{token}")).unwrap();
        assert_eq!(base(&["list", "--config", config]), "http://127.0.0.1:9191");
        std::fs::write(&path, "[upstream]\nurl = \"http://127.0.0.1:1\"\n[admin]\nlisten = \"[::1]:9292\"\n").unwrap();
        assert_eq!(base(&["list", "--config", config]), "http://[::1]:9292");
        assert_eq!(base(&["list"]), "http://127.0.0.1:9090");
        let e = args(&["list", "--admin", "10.0.0.5:9090"]).unwrap().admin().unwrap_err();
        assert_eq!((e.exit, e.code.as_str()), (Exit::Usage, "bad_admin_url"));
    }

    #[test]
    fn an_admin_tls_listener_is_reached_over_https_trusting_its_certificates() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payseal.toml");
        let config = path.to_str().unwrap();
        std::fs::write(&path, "[upstream]\nurl = \"http://127.0.0.1:1\"\n[admin]\nlisten = \"127.0.0.1:9393\"\ntls = { cert = \"admin-chain.pem\", key = \"admin.key\" }\n").unwrap();
        let target = args(&["list", "--config", config]).unwrap().admin().unwrap();
        assert_eq!(target.base, "https://127.0.0.1:9393");
        assert_eq!(target.tls.ca_file, Some(dir.path().join("admin-chain.pem")), "the listener's own chain, relative to the config");
        let target = args(&["list", "--config", config, "--ca-file", "/etc/ops-ca.pem"]).unwrap().admin().unwrap();
        assert_eq!(target.tls.ca_file.as_deref(), Some(std::path::Path::new("/etc/ops-ca.pem")));
        let target = args(&["list", "--admin", "https://admin.example:9090", "--ca-file", "ca.pem"]).unwrap().admin().unwrap();
        assert_eq!((target.base.as_str(), target.tls.ca_file.as_deref()), ("https://admin.example:9090", Some(std::path::Path::new("ca.pem"))));
        let target = args(&["list", "--config", config, "--client-cert", "op.pem", "--client-key", "op.key"]).unwrap().admin().unwrap();
        assert_eq!((target.tls.client_cert.as_deref(), target.tls.client_key.as_deref()), (Some(std::path::Path::new("op.pem")), Some(std::path::Path::new("op.key"))));
        assert!(args(&["list", "--client-cert", "op.pem"]).is_err(), "a certificate without its key");
        let target = args(&["list", "--admin", "https://admin.example:9090", "--ca-file", "ca.pem"]).unwrap().admin().unwrap();
        let e = AdminClient::new(AdminTarget { tls: ClientTlsConfig { ca_file: Some(dir.path().join("none.pem")), ..ClientTlsConfig::default() }, ..target }, Credentials::None).unwrap_err();
        assert_eq!((e.exit, e.code.as_str()), (Exit::Usage, "bad_ca_file"));
        assert!(e.message.contains("none.pem"), "{}", e.message);
    }
}
