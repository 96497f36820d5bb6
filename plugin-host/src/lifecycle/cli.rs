//! `payseal keys …`: a thin client of the admin API's lifecycle routes
//! ([`super::api`]). The running gateway owns the store (redb allows one
//! process) and reloads its plugin pool after each change, so the command
//! line never opens the store itself.
//!
//! The admin address comes from `--admin URL`, else from `--config FILE`'s
//! `admin.listen`, else `http://127.0.0.1:9090`. Answers are printed as
//! JSON on stdout; a refused operation prints the error on stderr and exits
//! non-zero.

use std::io::BufRead as _;
use std::path::Path;

use argon2::{Argon2, PasswordHasher as _};
use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::config::FileConfig;

/// Usage of `payseal keys`.
pub const USAGE: &str = "usage: payseal keys COMMAND [--admin URL | --config FILE] [--token-file FILE]
  (the admin token: --token-file FILE, else the PAYSEAL_ADMIN_TOKEN environment variable)
  create --environment live|test [--format prefixed|hex64|uuid|base64-secret]
         [--scope NAME]... [--allow-ip ADDR|CIDR]... [--webcode CODE] [--expires-in SECONDS]
  list
  get ID
  edit ID [--allow-ip ADDR|CIDR]... [--no-ips] [--scope NAME]... [--no-scopes]
  revoke ID
  regenerate ID [--grace SECONDS] [--expires-in SECONDS]
  rotate-client-secret live|test
  audit [--after N] [--limit N]
  hash-password                 (reads the password from stdin; prints an Argon2id PHC string)";

/// Parsed arguments: positionals, and every value of each `--flag VALUE`.
struct Args {
    positional: Vec<String>,
    flags: Vec<(String, String)>,
    switches: Vec<String>,
}

const SWITCHES: [&str; 2] = ["--no-ips", "--no-scopes"];

impl Args {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut parsed = Self { positional: Vec::new(), flags: Vec::new(), switches: Vec::new() };
        let mut iter = args.iter();
        while let Some(arg) = iter.next() {
            if SWITCHES.contains(&arg.as_str()) {
                parsed.switches.push(arg.clone());
            } else if arg.starts_with("--") {
                let value = iter.next().ok_or_else(|| format!("{arg} needs a value\n{USAGE}"))?;
                parsed.flags.push((arg.clone(), value.clone()));
            } else {
                parsed.positional.push(arg.clone());
            }
        }
        Ok(parsed)
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.flags.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
    }

    fn one(&self, name: &str) -> Option<&str> {
        self.all(name).last().copied()
    }

    fn number(&self, name: &str) -> Result<Option<u64>, String> {
        self.one(name).map(|v| v.parse::<u64>().map_err(|_| format!("{name}: not a number of seconds"))).transpose()
    }

    fn has(&self, name: &str) -> bool {
        self.switches.iter().any(|s| s == name)
    }

    fn id(&self) -> Result<&str, String> {
        self.positional.get(1).map(String::as_str).ok_or_else(|| format!("missing the key id\n{USAGE}"))
    }

    fn admin(&self) -> Result<String, String> {
        if let Some(url) = self.one("--admin") {
            return Ok(url.trim_end_matches('/').to_owned());
        }
        let listen = match self.one("--config") {
            Some(path) => FileConfig::load(Path::new(path)).map_err(|e| e.to_string())?.admin.listen,
            None => crate::config::AdminConfig::default().listen,
        };
        let host = if listen.ip().is_unspecified() {
            if listen.is_ipv4() { "127.0.0.1".to_owned() } else { "[::1]".to_owned() }
        } else if listen.is_ipv6() {
            format!("[{}]", listen.ip())
        } else {
            listen.ip().to_string()
        };
        Ok(format!("http://{host}:{}", listen.port()))
    }
}

/// Runs `payseal keys` with the arguments after `keys`.
///
/// # Errors
/// Bad arguments, an unreachable admin listener, or a refused operation
/// (its message).
pub fn run(args: &[String]) -> Result<(), String> {
    let args = Args::parse(args)?;
    let command = args.positional.first().map(String::as_str).ok_or_else(|| USAGE.to_owned())?;
    if command == "hash-password" {
        return hash_password();
    }
    let (method, path, body): (&str, String, Option<Value>) = match command {
        "create" => {
            let environment = args.one("--environment").ok_or_else(|| format!("missing --environment\n{USAGE}"))?;
            let mut body = json!({ "environment": environment, "scopes": args.all("--scope"), "allowedIps": args.all("--allow-ip") });
            if let Some(format) = args.one("--format") {
                body["format"] = json!(format);
            }
            if let Some(webcode) = args.one("--webcode") {
                body["webcode"] = json!(webcode);
            }
            if let Some(seconds) = args.number("--expires-in")? {
                body["expiresInSeconds"] = json!(seconds);
            }
            ("POST", "/lifecycle/keys".into(), Some(body))
        }
        "list" => ("GET", "/lifecycle/keys".into(), None),
        "get" => ("GET", format!("/lifecycle/keys/{}", args.id()?), None),
        "edit" => {
            let mut body = json!({});
            let ips = args.all("--allow-ip");
            if !ips.is_empty() || args.has("--no-ips") {
                body["allowedIps"] = json!(ips);
            }
            let scopes = args.all("--scope");
            if !scopes.is_empty() || args.has("--no-scopes") {
                body["scopes"] = json!(scopes);
            }
            ("PATCH", format!("/lifecycle/keys/{}", args.id()?), Some(body))
        }
        "revoke" => ("POST", format!("/lifecycle/keys/{}/revoke", args.id()?), None),
        "regenerate" => {
            let mut body = json!({});
            if let Some(grace) = args.number("--grace")? {
                body["graceSeconds"] = json!(grace);
            }
            if let Some(seconds) = args.number("--expires-in")? {
                body["expiresInSeconds"] = json!(seconds);
            }
            ("POST", format!("/lifecycle/keys/{}/regenerate", args.id()?), Some(body))
        }
        "rotate-client-secret" => ("POST", format!("/lifecycle/client-secrets/{}/rotate", args.id()?), None),
        "audit" => {
            let after = args.number("--after")?.unwrap_or(0);
            let limit = args.number("--limit")?.unwrap_or(1_000);
            ("GET", format!("/lifecycle/audit?after={after}&limit={limit}"), None)
        }
        _ => return Err(USAGE.into()),
    };
    let url = format!("{}{path}", args.admin()?);
    // The admin token (issue 14): --token-file FILE, else PAYSEAL_ADMIN_TOKEN.
    let token = crate::access::cli::read_token(args.one("--token-file").map(Path::new), &crate::env::process_env())?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let (status, answer) = runtime.block_on(call(method, &url, body.as_ref(), &token))?;
    if (200..300).contains(&status) {
        println!("{}", answer.as_str());
        Ok(())
    } else {
        let error: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
        let message = error["message"].as_str().map_or_else(|| answer.to_string(), str::to_owned);
        let code = error["code"].as_str().unwrap_or("error");
        Err(format!("{code} (HTTP {status}): {message}"))
    }
}

/// One call, authenticated with `token`; the answer's text is wiped when
/// dropped (it may hold a key).
async fn call(method: &str, url: &str, body: Option<&Value>, token: &str) -> Result<(u16, Zeroizing<String>), String> {
    let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let bytes = body.map(|b| Bytes::from(b.to_string())).unwrap_or_default();
    let request = Request::builder()
        .method(method)
        .uri(url)
        .header("content-type", "application/json")
        .header("authorization", bearer(token)?)
        .body(Full::new(bytes))
        .map_err(|e| format!("bad admin URL {url}: {e}"))?;
    let response = client.request(request).await.map_err(|e| format!("cannot reach the admin listener at {url}: {e}"))?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.map_err(|e| format!("the admin listener's answer broke off: {e}"))?.to_bytes();
    Ok((status, Zeroizing::new(String::from_utf8_lossy(&body).into_owned())))
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
fn hash_password() -> Result<(), String> {
    let mut line = Zeroizing::new(String::new());
    std::io::stdin().lock().read_line(&mut line).map_err(|e| e.to_string())?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err("the password (read from stdin) is empty".into());
    }
    let hash = Argon2::default().hash_password(password.as_bytes()).map_err(|e| format!("cannot hash: {e}"))?;
    println!("{hash}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Args {
        Args::parse(&list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn flags_repeat_and_switches_take_no_value() {
        let parsed = args(&["edit", "key_1", "--allow-ip", "10.0.0.1", "--no-scopes", "--allow-ip", "10.0.0.0/8", "--grace", "30"]);
        assert_eq!(parsed.positional, ["edit", "key_1"]);
        assert_eq!(parsed.all("--allow-ip"), ["10.0.0.1", "10.0.0.0/8"]);
        assert!(parsed.has("--no-scopes") && !parsed.has("--no-ips"));
        assert_eq!(parsed.number("--grace"), Ok(Some(30)));
        assert!(args(&["x", "--grace", "soon"]).number("--grace").is_err());
        assert!(Args::parse(&["create".to_owned(), "--environment".to_owned()]).is_err());
    }

    #[test]
    fn the_admin_address_comes_from_the_flag_or_the_config() {
        assert_eq!(args(&["list", "--admin", "http://10.0.0.5:9090/"]).admin().unwrap(), "http://10.0.0.5:9090");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("payseal.toml");
        // A listener on every interface needs a bootstrap admin token.
        let token = format!("[[admin.tokens]]\nname = \"ops\"\nrole = \"admin\"\nsha256 = \"{}\"\n", "ab".repeat(32));
        std::fs::write(&path, format!("[upstream]\nurl = \"http://127.0.0.1:1\"\n[admin]\nlisten = \"0.0.0.0:9191\"\n{token}")).unwrap();
        assert_eq!(args(&["list", "--config", path.to_str().unwrap()]).admin().unwrap(), "http://127.0.0.1:9191");
        std::fs::write(&path, "[upstream]\nurl = \"http://127.0.0.1:1\"\n[admin]\nlisten = \"[::1]:9292\"\n").unwrap();
        assert_eq!(args(&["list", "--config", path.to_str().unwrap()]).admin().unwrap(), "http://[::1]:9292");
        assert_eq!(args(&["list"]).admin().unwrap(), "http://127.0.0.1:9090");
    }
}
