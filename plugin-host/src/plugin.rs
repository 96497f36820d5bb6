//! A pool of payseal plugin instances.
//!
//! The module is compiled once per configuration (wasmtime's cache makes a
//! recompilation of the same module a lookup), then instantiated once per
//! pool slot; every instance runs with WASI off, no allowed host, a memory
//! limit, a fuel limit and a wall-clock timeout (epoch interruption). The
//! configuration document travels in the manifest's `config`, entry
//! `payseal`: the only way the plugin receives secrets and key records.
//!
//! A call takes a free instance, runs synchronously (a check costs
//! microseconds) and puts it back. An instance whose call trapped, ran out of
//! fuel or timed out is replaced by a fresh one, since its memory may be
//! half-written.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use extism::{CompiledPlugin, Manifest, Plugin, PluginBuilder, Wasm};
use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Semaphore;

/// The plugin built into the binary (`build.rs`): used unless the
/// configuration's `plugin.wasm` names a file.
pub const EMBEDDED_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/payseal_plugin.wasm"));

/// The manifest config entry the plugin reads.
pub const CONFIG_KEY: &str = "payseal";

/// The limits every instance runs under.
#[derive(Debug, Clone, Copy)]
pub struct PluginLimits {
    /// Linear memory, in 64 KiB pages.
    pub memory_max_pages: u32,
    /// Wall-clock limit of one call; zero for none (fuel still bounds it).
    pub timeout: Duration,
    /// Instructions one call may execute.
    pub fuel: u64,
}

/// The pool could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PoolError {
    /// The module does not compile or instantiate (the engine's message).
    Load(String),
    /// The plugin rejected the configuration: its typed error, which names
    /// the field and never a value.
    Rejected(String),
    /// `describe` answered something that is not JSON.
    Describe,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Load(detail) => f.write_str(detail),
            Self::Rejected(error) => write!(f, "the plugin rejects the configuration: {error}"),
            Self::Describe => f.write_str("describe did not answer JSON"),
        }
    }
}

impl std::error::Error for PoolError {}

/// A call that gave no usable answer. The request it served fails closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// No instance became free in time.
    Busy,
    /// The call failed: a typed plugin error (its JSON), `timeout`,
    /// `fuel_exhausted`, `trap`, or an output that is not the expected JSON.
    Failed(String),
}

impl fmt::Display for CallError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Busy => f.write_str("no plugin instance became free in time"),
            Self::Failed(kind) => write!(f, "plugin call failed: {kind}"),
        }
    }
}

impl std::error::Error for CallError {}

/// Instances of one configuration.
pub struct PluginPool {
    compiled: Arc<CompiledPlugin>,
    idle: Arc<Mutex<Vec<Plugin>>>,
    permits: Arc<Semaphore>,
    size: usize,
    acquire_timeout: Duration,
    view: Value,
}

impl fmt::Debug for PluginPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginPool").field("size", &self.size).finish_non_exhaustive()
    }
}

impl PluginPool {
    /// Compiles `wasm` with `document` as its configuration and instantiates
    /// `size` instances. Each instance answers `describe` once, which parses
    /// the configuration: a document the plugin rejects fails here, before
    /// the pool serves a request. Blocking: run it off the async threads.
    ///
    /// # Errors
    /// The module does not compile or instantiate, or the plugin rejects the document.
    pub fn build(
        wasm: &[u8],
        document: &str,
        size: usize,
        limits: PluginLimits,
        acquire_timeout: Duration,
    ) -> Result<Self, PoolError> {
        let size = size.max(1);
        let mut manifest = Manifest::new([Wasm::data(wasm.to_vec())])
            .disallow_all_hosts()
            .with_memory_max(limits.memory_max_pages)
            .with_config_key(CONFIG_KEY, document);
        if !limits.timeout.is_zero() {
            manifest = manifest.with_timeout(limits.timeout);
        }
        let builder = PluginBuilder::new(manifest).with_wasi(false).with_fuel_limit(limits.fuel);
        let compiled = CompiledPlugin::new(builder).map_err(|e| PoolError::Load(format!("the plugin module does not load: {e}")))?;
        let mut idle = Vec::with_capacity(size);
        let mut view = Value::Null;
        for _ in 0..size {
            let mut plugin = Plugin::new_from_compiled(&compiled)
                .map_err(|e| PoolError::Load(format!("the plugin does not instantiate: {e}")))?;
            let described: Value = match plugin.call::<&[u8], &[u8]>("describe", b"") {
                Ok(output) => serde_json::from_slice(output).map_err(|_| PoolError::Describe)?,
                Err(e) => return Err(PoolError::Rejected(classify(&e).0)),
            };
            view = described.get("config").cloned().unwrap_or(Value::Null);
            idle.push(plugin);
        }
        Ok(Self {
            compiled: Arc::new(compiled),
            idle: Arc::new(Mutex::new(idle)),
            permits: Arc::new(Semaphore::new(size)),
            size,
            acquire_timeout,
            view,
        })
    }

    /// Instances in the pool.
    pub const fn size(&self) -> usize {
        self.size
    }

    /// The configuration as the plugin sees it (`describe`): secrets are
    /// `"[redacted]"`, key digests left out, defaults filled in.
    pub const fn view(&self) -> &Value {
        &self.view
    }

    /// Calls `function` with `input` and parses its JSON output as `T`.
    ///
    /// # Errors
    /// [`CallError::Busy`] when no instance is free within the acquire
    /// timeout; [`CallError::Failed`] for an error, trap, timeout or an
    /// output that is not `T`.
    pub async fn call<T: DeserializeOwned>(&self, function: &str, input: &[u8]) -> Result<T, CallError> {
        let permit = tokio::time::timeout(self.acquire_timeout, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| CallError::Busy)?
            .map_err(|_| CallError::Busy)?;
        let taken = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let Some(mut plugin) = taken else {
            // A slot whose instance could not be replaced: never served again.
            permit.forget();
            return Err(CallError::Busy);
        };
        // The call runs on the blocking pool, never on an async worker: a
        // slow call (a huge header to parse) cannot stall other requests or
        // `/healthz`. The pool's permits bound how many run at once. The
        // task itself puts the instance back and releases its slot, so a
        // caller that goes away mid-call (a client hanging up) cannot lose it.
        let (function_name, input) = (function.to_owned(), input.to_vec());
        let (idle, compiled) = (Arc::clone(&self.idle), Arc::clone(&self.compiled));
        let called = tokio::task::spawn_blocking(move || {
            let result = plugin.call::<&[u8], &[u8]>(&function_name, &input).map(<[u8]>::to_vec).map_err(|e| classify(&e));
            if matches!(result, Err((_, false))) {
                let Ok(fresh) = Plugin::new_from_compiled(&compiled) else {
                    permit.forget();
                    return result;
                };
                plugin = fresh;
            }
            idle.lock().unwrap_or_else(PoisonError::into_inner).push(plugin);
            drop(permit);
            result
        })
        .await;
        // A panic took the instance and its slot with it.
        let called = called.map_err(|_| CallError::Failed("panic".into()))?;
        match called {
            Ok(output) => serde_json::from_slice::<T>(&output)
                .map_err(|_| CallError::Failed(format!("{function} answered an unexpected output"))),
            Err((kind, _)) => Err(CallError::Failed(kind)),
        }
    }
}

/// What a failed call was, for the log and the metrics, and whether the
/// instance is still sound. The plugin's own errors are JSON without
/// secrets (`{"kind":…,"field":…}`); anything else is named by its class
/// only, since a trap message is not the plugin's to vouch for.
fn classify(error: &extism::Error) -> (String, bool) {
    let text = error.to_string();
    if let Ok(value) = serde_json::from_str::<Value>(&text)
        && value.get("kind").is_some_and(Value::is_string)
    {
        return (text, true);
    }
    let detail = format!("{error:?}").to_ascii_lowercase();
    let kind = if detail.contains("fuel") {
        "fuel_exhausted"
    } else if detail.contains("timeout") || detail.contains("interrupt") || detail.contains("epoch") {
        "timeout"
    } else {
        "trap"
    };
    (kind.to_owned(), false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_caller_that_goes_away_mid_call_does_not_lose_the_instance() {
        let path = crate::demo::default_wasm_path();
        let wasm = std::fs::read(&path).unwrap_or_else(|e| panic!("the plugin is not built ({}): {e}; run scripts/build-plugin.sh", path.display()));
        let limits = PluginLimits { memory_max_pages: 1024, timeout: Duration::ZERO, fuel: 4_000_000_000 };
        let pool = tokio::task::spawn_blocking(move || PluginPool::build(&wasm, "{}", 1, limits, Duration::from_secs(5))).await.unwrap().unwrap();
        // Dropped as soon as the call is on the blocking pool, as when a
        // client hangs up.
        for _ in 0..5 {
            let call = pool.call::<Value>("describe", b"");
            tokio::pin!(call);
            // Polled once (the call is handed to the blocking pool), then dropped.
            tokio::select! {
                biased;
                _ = &mut call => {}
                () = std::future::ready(()) => {}
            }
        }
        // The one instance is still served.
        for _ in 0..3 {
            assert!(pool.call::<Value>("describe", b"").await.is_ok(), "the pool lost its instance");
        }
    }
}
