//! `payseal`: the gateway's command line (`payseal --help`). The commands
//! are thin: each parses its flags with clap, calls the library and maps
//! its failure to one of the documented exit codes ([`payseal_gateway::exit`]).

use std::io::{BufRead as _, IsTerminal as _, Write as _};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory as _, Parser, Subcommand};
use payseal_gateway::config::{EnvLookup, FileConfig, LogFormat, process_env};
use payseal_gateway::exit::{CliError, EXIT_CODES_HELP, Exit};
use payseal_gateway::gateway::{self, ConfigSource};
use payseal_gateway::lifecycle::cli::KeysArgs;
use payseal_gateway::{RedbStore, demo};
use tracing_subscriber::EnvFilter;

/// payseal: an API-key, signature and idempotency gateway in front of a payment API.
#[derive(Debug, Parser)]
#[command(name = "payseal", version, about, after_help = EXIT_CODES_HELP, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the gateway (SIGHUP reloads the configuration; SIGTERM or SIGINT stop it).
    Serve {
        /// The configuration file; relative paths in it are relative to it.
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
    },
    /// Validate a configuration: build the plugin pool once, on throwaway
    /// listeners and store; name every secret that is not set (exit 3).
    CheckConfig {
        /// The configuration file.
        #[arg(long, short, value_name = "FILE")]
        config: PathBuf,
        /// Print the plugin's view of the configuration as JSON.
        #[arg(long)]
        json: bool,
    },
    /// The key lifecycle, through a running gateway's admin API.
    Keys(KeysArgs),
    /// The example configuration, a demo upstream and a scripted session, all on loopback.
    Demo,
    /// The demo upstream alone: answers 201 to POST and 200 otherwise, with a small JSON body.
    DemoUpstream {
        /// Where to listen (the example configuration's upstream.url).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9000")]
        listen: SocketAddr,
    },
    /// Print a shell completion script (e.g. `payseal completions bash > /etc/bash_completion.d/payseal`).
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a key record (digest only) for the key read from stdin.
    KeyRecord {
        /// The record's id.
        id: String,
        /// The key's environment.
        #[arg(value_enum)]
        environment: payseal_gateway::lifecycle::cli::EnvironmentArg,
    },
    /// Make an admin token: prints it once, and the `[[admin.tokens]]` lines
    /// holding its digest for the configuration file.
    AdminToken {
        /// Its name: the audit names the caller `token:<name>`.
        #[arg(long)]
        name: String,
        /// `admin`, `operator`, `viewer` or `merchant:<webcode>`.
        #[arg(long, default_value = "admin")]
        role: String,
    },
    /// Check the integrity of a redb store no process has open.
    VerifyStore {
        /// The store file.
        file: PathBuf,
    },
}

/// Logs go to stderr: colour only on a terminal, JSON when configured, and
/// the request span's fields (request id, trace id) on every line.
/// With the `otlp` feature and `OTEL_EXPORTER_OTLP_ENDPOINT` set, the
/// request spans are exported too.
fn init_logging(format: LogFormat, level: &str) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(format!("{level},wasmtime=warn,cranelift=warn")));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
    let lines = match format {
        LogFormat::Json => fmt.json().flatten_event(true).with_current_span(true).with_span_list(false).boxed(),
        LogFormat::Text => fmt.compact().boxed(),
    };
    let registry = tracing_subscriber::registry().with(lines).with(filter);
    #[cfg(feature = "otlp")]
    let registry = registry.with(payseal_gateway::otlp::from_env());
    let _ = registry.try_init();
}

fn runtime() -> Result<tokio::runtime::Runtime, CliError> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| CliError::internal(format!("cannot start the runtime: {e}")))
}

fn load(path: &Path) -> Result<FileConfig, CliError> {
    FileConfig::load(path).map_err(|e| CliError::config(e.to_string()))
}

/// A failure of `server::start`: an address in use or a store that cannot
/// be opened is "unavailable"; anything else is the configuration's.
fn start_error(message: String) -> CliError {
    if message.starts_with("cannot listen on") || message.starts_with("cannot open the store") {
        CliError::unavailable(message)
    } else {
        CliError::config(message)
    }
}

fn serve(path: PathBuf) -> Result<(), CliError> {
    let config = load(&path)?;
    init_logging(config.log.format, &config.log.level);
    runtime()?.block_on(async move {
        let running = payseal_gateway::server::start(ConfigSource::File(path), process_env()).await.map_err(start_error)?;
        let scheme = |tls: bool| if tls { "https" } else { "http" };
        let (proxy, admin) = (scheme(running.shared.proxy_tls.is_some()), scheme(running.shared.admin_tls.is_some()));
        println!("payseal: listening on {proxy}://{} (admin {admin}://{})", running.proxy_addr, running.admin_addr);
        let _ = std::io::stdout().flush();
        wait_for_signals(&running).await?;
        tracing::info!("shutting down");
        running.shutdown().await;
        Ok(())
    })
}

/// Reloads on SIGHUP; returns on SIGTERM or SIGINT.
async fn wait_for_signals(running: &payseal_gateway::server::Running) -> Result<(), CliError> {
    use tokio::signal::unix::{SignalKind, signal};
    let install = |kind| signal(kind).map_err(|e| CliError::internal(format!("cannot install a signal handler: {e}")));
    let mut hangup = install(SignalKind::hangup())?;
    let mut terminate = install(SignalKind::terminate())?;
    let mut interrupt = install(SignalKind::interrupt())?;
    loop {
        tokio::select! {
            _ = hangup.recv() => {
                // The outcome is logged and counted by the reload itself.
                let _ = running.shared.reload().await;
            }
            _ = terminate.recv() => return Ok(()),
            _ = interrupt.recv() => return Ok(()),
        }
    }
}

/// One secret the configuration reads from the environment.
struct NamedSecret {
    /// The field that names it.
    field: String,
    /// The variable.
    variable: String,
}

/// Every environment variable the configuration reads a secret from.
fn secret_variables(config: &FileConfig) -> Vec<NamedSecret> {
    let mut named = Vec::new();
    for (i, source) in config.signed_requests.keys.iter().enumerate() {
        if let Some(variable) = &source.secret_env {
            named.push(NamedSecret { field: format!("signed_requests.keys[{i}] (key id {:?})", source.key_id), variable: variable.clone() });
        }
    }
    for (i, source) in config.signed_requests.rfc9421.iter().enumerate() {
        if let Some(variable) = &source.secret_env {
            named.push(NamedSecret { field: format!("signed_requests.rfc9421[{i}] (keyid {:?})", source.keyid), variable: variable.clone() });
        }
    }
    if let Some(variable) = &config.lifecycle.store_key_env {
        named.push(NamedSecret { field: "lifecycle.store_key_env (make one with: openssl rand -hex 32)".into(), variable: variable.clone() });
    }
    named
}

/// Stands in for a missing secret during `check-config`: 64 hex digits, so
/// also valid base64 and 32 bytes for a store key. Never used to serve.
const PLACEHOLDER_SECRET: &str = "a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1";

fn check_config(path: &Path, as_json: bool) -> Result<(), CliError> {
    let mut config = load(path)?;
    init_logging(LogFormat::Text, "warn");
    let missing: Vec<NamedSecret> = secret_variables(&config).into_iter().filter(|s| std::env::var_os(&s.variable).is_none()).collect();
    let missing_names: Vec<String> = missing.iter().map(|s| s.variable.clone()).collect();
    let env: EnvLookup = Arc::new(move |name| std::env::var(name).ok().or_else(|| missing_names.iter().any(|m| m == name).then(|| PLACEHOLDER_SECRET.to_owned())));
    // A throwaway store and listeners: only the pool matters here.
    let dir = std::env::temp_dir().join(format!("payseal-check-{}", std::process::id()));
    config.store.path = dir.join("check.redb");
    let text = std::fs::read_to_string(path).map_err(|e| CliError::config(format!("cannot read {}: {e}", path.display())))?;
    let result = runtime()?.block_on(async move {
        let mut table: toml::Table = toml::from_str(&text).map_err(|e| CliError::config(e.to_string()))?;
        for section in ["server", "admin"] {
            let entry = table.entry(section).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = entry {
                t.insert("listen".into(), "127.0.0.1:0".into());
            }
        }
        if let Some(toml::Value::Table(t)) = table.get_mut("store") {
            // A throwaway redb, never the shared Redis (server or cluster).
            t.remove("url");
            t.remove("cluster");
            t.insert("path".into(), config.store.path.display().to_string().into());
        } else {
            let mut t = toml::Table::new();
            t.insert("path".into(), config.store.path.display().to_string().into());
            table.insert("store".into(), toml::Value::Table(t));
        }
        let text = toml::to_string(&table).map_err(|e| CliError::internal(e.to_string()))?;
        let source = ConfigSource::Text { text, dir: gateway::config_dir(path) };
        let running = payseal_gateway::server::start(source, env).await.map_err(CliError::config)?;
        let runtime = running.shared.runtime.load_full();
        let view = runtime.pool.as_ref().map(|p| p.view().clone());
        running.shutdown().await;
        Ok::<_, CliError>(view)
    });
    let _ = std::fs::remove_dir_all(&dir);
    let view = result?.unwrap_or(serde_json::Value::Null);
    if as_json {
        println!("{}", serde_json::to_string_pretty(&view).unwrap_or_default());
    } else {
        let records = view.pointer("/keys/records").and_then(serde_json::Value::as_array).map_or(0, Vec::len);
        let routes = view.pointer("/routes").and_then(serde_json::Value::as_array).map_or(0, Vec::len);
        let scopes: Vec<&str> = view.pointer("/keys/policy/scope_routes").and_then(serde_json::Value::as_object).map(|m| m.keys().map(String::as_str).collect()).unwrap_or_default();
        let plugin = config.plugin.wasm.as_ref().map_or_else(|| "embedded".to_owned(), |p| p.display().to_string());
        println!("plugin       {plugin}");
        println!("key records  {records} in the file");
        println!("routes       {routes}");
        println!("scopes       {}", if scopes.is_empty() { "-".to_owned() } else { scopes.join(", ") });
    }
    if missing.is_empty() {
        println!("configuration OK");
        return Ok(());
    }
    let lines: Vec<String> = missing.iter().map(|s| format!("  {} is not set: {}", s.variable, s.field)).collect();
    Err(CliError::new(
        Exit::Config,
        "secrets_missing",
        format!("the configuration is valid, but {} secret(s) it reads from the environment are not set:\n{}", missing.len(), lines.join("\n")),
    ))
}

fn demo_upstream(listen: SocketAddr) -> Result<(), CliError> {
    runtime()?.block_on(async move {
        let upstream = demo::start_upstream(listen).await.map_err(|e| CliError::unavailable(format!("cannot listen on {listen}: {e}")))?;
        println!("payseal demo upstream: listening on http://{}", upstream.addr);
        let _ = std::io::stdout().flush();
        let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| CliError::internal(e.to_string()))?;
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = terminate.recv() => {}
        }
        Ok(())
    })
}

fn key_record(id: String, environment: payseal_gateway::lifecycle::cli::EnvironmentArg) -> Result<(), CliError> {
    use payseal_gateway::lifecycle::cli::EnvironmentArg;
    let environment = match environment {
        EnvironmentArg::Live => payseal_core::Environment::Live,
        EnvironmentArg::Test => payseal_core::Environment::Test,
    };
    let mut key = zeroize::Zeroizing::new(String::new());
    std::io::stdin().lock().read_line(&mut key).map_err(|e| CliError::internal(format!("cannot read stdin: {e}")))?;
    let trimmed = key.trim_end_matches(['\r', '\n']);
    let record = payseal_core::keys::KeyRecord::new(id, trimmed, environment);
    println!("{}", serde_json::to_string_pretty(&record).map_err(|e| CliError::internal(e.to_string()))?);
    Ok(())
}

fn admin_token(name: &str, role: &str) -> Result<(), CliError> {
    let text = payseal_gateway::access::cli::admin_token_text(name, role).map_err(|e| CliError::new(Exit::Usage, "invalid_argument", e))?;
    print!("{}", text.as_str());
    Ok(())
}

fn verify_store(path: &Path) -> Result<(), CliError> {
    let report = RedbStore::verify(path).map_err(|e| CliError::new(Exit::Failed, "store_invalid", format!("{}: {e}", path.display())))?;
    println!("store OK: {} idempotency records, {} key records", report.idempotency_records, report.key_records);
    Ok(())
}

fn run(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Command::Serve { config } => serve(config),
        Command::CheckConfig { config, json } => check_config(&config, json),
        Command::Keys(args) => payseal_gateway::lifecycle::cli::run(&args),
        Command::Demo => {
            init_logging(LogFormat::Text, "warn");
            let ok = runtime()?.block_on(demo::run()).map_err(CliError::unavailable)?;
            if ok { Ok(()) } else { Err(CliError::new(Exit::Failed, "demo_failed", "the demo session failed")) }
        }
        Command::AdminToken { name, role } => admin_token(&name, &role),
        Command::DemoUpstream { listen } => demo_upstream(listen),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "payseal", &mut std::io::stdout());
            Ok(())
        }
        Command::KeyRecord { id, environment } => key_record(id, environment),
        Command::VerifyStore { file } => verify_store(&file),
    }
}

fn main() -> ExitCode {
    // Help and version print on stdout and exit 0; a usage error prints
    // clap's message (with suggestions) on stderr and exits 2.
    let cli = Cli::try_parse().unwrap_or_else(|e| e.exit());
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("payseal: {error}");
            ExitCode::from(error.exit.code())
        }
    }
}
