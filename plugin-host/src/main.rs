//! `payseal`: the gateway's command line.
//!
//! ```text
//! payseal serve --config payseal.toml      run the gateway (SIGHUP reloads, SIGTERM/SIGINT stop)
//! payseal demo                             the example config, a demo upstream and a scripted session
//! payseal check-config --config FILE       build the plugin pool once and print its view of the config
//! payseal demo-upstream --listen ADDR      the demo upstream alone (for benchmarks)
//! payseal key-record ID ENVIRONMENT        a key record (digest only) for the key read from stdin
//! payseal verify-store FILE                integrity check of a store no process has open
//! payseal keys COMMAND …                   the key lifecycle, through a running gateway's admin API
//! payseal admin-token --name NAME          a new admin token and the [[admin.tokens]] lines holding its digest
//! ```

use std::io::{BufRead as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;

use payseal_gateway::config::{FileConfig, LogFormat, process_env};
use payseal_gateway::gateway::{self, ConfigSource};
use payseal_gateway::{RedbStore, demo};
use tracing_subscriber::EnvFilter;

const USAGE: &str = "usage:
  payseal serve --config FILE
  payseal demo
  payseal check-config --config FILE
  payseal demo-upstream --listen ADDR
  payseal key-record ID live|test      (reads the key from stdin)
  payseal verify-store FILE
  payseal keys COMMAND …             (payseal keys help)
  payseal admin-token --name NAME [--role ROLE]";

fn init_logging(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(format!("{level},extism=warn,wasmtime=warn,cranelift=warn")));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(|e| format!("cannot start the runtime: {e}"))
}

fn flag(args: &[String], name: &str) -> Result<String, String> {
    args.windows(2).find(|w| w[0] == name).map(|w| w[1].clone()).ok_or_else(|| format!("missing {name}\n{USAGE}"))
}

fn serve(args: &[String]) -> Result<(), String> {
    let path = PathBuf::from(flag(args, "--config")?);
    let config = FileConfig::load(&path).map_err(|e| e.to_string())?;
    init_logging(config.log.format, &config.log.level);
    runtime()?.block_on(async move {
        let running = payseal_gateway::server::start(ConfigSource::File(path), process_env()).await?;
        println!("payseal: listening on http://{} (admin http://{})", running.proxy_addr, running.admin_addr);
        let _ = std::io::stdout().flush();
        wait_for_signals(&running).await?;
        tracing::info!("shutting down");
        running.shutdown().await;
        Ok(())
    })
}

/// Reloads on SIGHUP; returns on SIGTERM or SIGINT.
async fn wait_for_signals(running: &payseal_gateway::server::Running) -> Result<(), String> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
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

fn check_config(args: &[String]) -> Result<(), String> {
    let path = PathBuf::from(flag(args, "--config")?);
    let mut config = FileConfig::load(&path).map_err(|e| e.to_string())?;
    init_logging(LogFormat::Text, "warn");
    // A throwaway store and listeners: only the pool matters here.
    let dir = std::env::temp_dir().join(format!("payseal-check-{}", std::process::id()));
    config.store.path = dir.join("check.redb");
    let result = runtime()?.block_on(async move {
        let mut table: toml::Table = toml::from_str(&std::fs::read_to_string(&path).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
        for section in ["server", "admin"] {
            let entry = table.entry(section).or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if let toml::Value::Table(t) = entry {
                t.insert("listen".into(), "127.0.0.1:0".into());
            }
        }
        if let Some(toml::Value::Table(t)) = table.get_mut("store") {
            // A throwaway redb, never the shared Redis.
            t.remove("url");
            t.insert("path".into(), config.store.path.display().to_string().into());
        } else {
            let mut t = toml::Table::new();
            t.insert("path".into(), config.store.path.display().to_string().into());
            table.insert("store".into(), toml::Value::Table(t));
        }
        let text = toml::to_string(&table).map_err(|e| e.to_string())?;
        let source = ConfigSource::Text { text, dir: gateway::config_dir(&path) };
        let running = payseal_gateway::server::start(source, process_env()).await?;
        let runtime = running.shared.runtime.load_full();
        let view = runtime.pool.as_ref().map(|p| p.view().clone());
        running.shutdown().await;
        Ok::<_, String>(view)
    });
    let _ = std::fs::remove_dir_all(&dir);
    let view = result?;
    println!("{}", serde_json::to_string_pretty(&view).unwrap_or_default());
    println!("configuration OK");
    Ok(())
}

fn demo_upstream(args: &[String]) -> Result<(), String> {
    let listen = flag(args, "--listen")?.parse().map_err(|_| "--listen: not an address".to_owned())?;
    runtime()?.block_on(async move {
        let upstream = demo::start_upstream(listen).await.map_err(|e| e.to_string())?;
        println!("payseal demo upstream: listening on http://{}", upstream.addr);
        let _ = std::io::stdout().flush();
        let _ = tokio::signal::ctrl_c().await;
        Ok(())
    })
}

fn key_record(args: &[String]) -> Result<(), String> {
    let (Some(id), Some(environment)) = (args.get(2), args.get(3)) else { return Err(USAGE.into()) };
    let environment = match environment.as_str() {
        "live" => payseal_core::Environment::Live,
        "test" => payseal_core::Environment::Test,
        _ => return Err("the environment is live or test".into()),
    };
    let mut key = zeroize::Zeroizing::new(String::new());
    std::io::stdin().lock().read_line(&mut key).map_err(|e| e.to_string())?;
    let trimmed = key.trim_end_matches(['\r', '\n']);
    let record = payseal_core::keys::KeyRecord::new(id.clone(), trimmed, environment);
    println!("{}", serde_json::to_string_pretty(&record).map_err(|e| e.to_string())?);
    Ok(())
}

fn verify_store(args: &[String]) -> Result<(), String> {
    let path = args.get(2).ok_or_else(|| USAGE.to_owned())?;
    let report = RedbStore::verify(std::path::Path::new(path)).map_err(|e| e.to_string())?;
    println!("store OK: {} idempotency records, {} key records", report.idempotency_records, report.key_records);
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.get(1).map(String::as_str) {
        Some("serve") => serve(&args),
        Some("demo") => {
            init_logging(LogFormat::Text, "warn");
            runtime().and_then(|rt| rt.block_on(demo::run())).and_then(|ok| if ok { Ok(()) } else { Err("the demo session failed".into()) })
        }
        Some("check-config") => check_config(&args),
        Some("demo-upstream") => demo_upstream(&args),
        Some("key-record") => key_record(&args),
        Some("verify-store") => verify_store(&args),
        Some("keys") => payseal_gateway::lifecycle::cli::run(&args[2..]),
        // Admin tokens (issue 14): prints a new token and its [[admin.tokens]] lines.
        Some("admin-token") => payseal_gateway::access::cli::run(&args[2..]),
        Some("--version" | "-V") => {
            println!("payseal {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        _ => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("payseal: {error}");
            ExitCode::FAILURE
        }
    }
}
