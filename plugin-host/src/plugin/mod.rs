//! A pool of payseal plugin instances, hosted on wasmtime directly.
//!
//! The plugin is an Extism plugin, and stays one: the same `.wasm` loads in
//! the Rust, Node and Python Extism hosts (the conformance suites run it
//! there). The gateway serves the part of Extism's ABI the plugin imports
//! itself ([`kernel`]) instead of linking the `extism` crate: a call is one
//! typed wasm call plus the guest's own reads of its input, with no timer
//! thread messages and no lookups by name, and the plugin document never
//! sits in a runtime's heap (see [`PluginPool::build`]).
//!
//! Every instance runs with no WASI, no other import, a memory limit, a fuel
//! limit and a wall-clock deadline ([`engine`]). A call takes a free
//! instance and runs on the caller's thread: a check costs microseconds,
//! the deadline bounds a runaway one, and there is no await while the
//! instance is out of the pool, so a caller that goes away cannot lose it.
//! An instance whose call trapped, ran out of fuel or timed out is replaced,
//! since its memory may be half-written.

mod engine;
mod instance;
mod kernel;
#[cfg(feature = "native-checks")]
mod native;

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde_json::Value;
use tokio::sync::Semaphore;

use self::instance::{Instance, Template};
pub use self::kernel::CONFIG_KEY;

/// The plugin built into the binary (`build.rs`): used unless the
/// configuration's `plugin.wasm` names a file.
pub const EMBEDDED_WASM: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/payseal_plugin.wasm"));

/// The limits every instance runs under.
#[derive(Debug, Clone, Copy)]
pub struct PluginLimits {
    /// Linear memory, in 64 KiB pages (the kernel memory has the same limit).
    pub memory_max_pages: u32,
    /// Wall-clock limit of one call; zero for none (fuel still bounds it).
    pub timeout: Duration,
    /// Instructions one call may execute; zero for no fuel metering (the
    /// deadline alone bounds a call).
    pub fuel: u64,
}

impl PluginLimits {
    const fn metering(&self) -> engine::Metering {
        if self.fuel == 0 { engine::Metering::DeadlineOnly } else { engine::Metering::Fuel }
    }
}

/// The pool could not be built.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PoolError {
    /// The module does not compile or instantiate (the engine's message).
    Load(String),
    /// The module imports a function this host does not provide
    /// (`module::name`).
    MissingImport(String),
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
            Self::MissingImport(name) => write!(f, "the plugin imports {name}, which payseal does not provide"),
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
    /// `fuel_exhausted`, `trap`, `no_such_function`, or an output that is
    /// not the expected JSON.
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

/// How one call on one instance failed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum CallFailure {
    /// The plugin's typed error, as the JSON it set.
    Plugin(Vec<u8>),
    /// The deadline passed.
    Timeout,
    /// The fuel ran out.
    FuelExhausted,
    /// Any other trap, the host's bounds checks included.
    Trap,
    /// The module exports no such function.
    NoSuchFunction(String),
}

impl CallFailure {
    /// Whether the instance's memory may be half-written.
    const fn breaks_instance(&self) -> bool {
        matches!(self, Self::Timeout | Self::FuelExhausted | Self::Trap)
    }

    /// The plugin's JSON error as it is, or the class.
    fn describe(&self) -> String {
        match self {
            Self::Plugin(json) => String::from_utf8_lossy(json).into_owned(),
            Self::Timeout => "timeout".into(),
            Self::FuelExhausted => "fuel_exhausted".into(),
            Self::Trap => "trap".into(),
            Self::NoSuchFunction(name) => format!("no_such_function: {name}"),
        }
    }
}

/// Instances of one configuration.
pub struct PluginPool {
    template: Template,
    /// The instance that parsed the plugin document. It serves no call: a
    /// replacement instance takes its memory ([`Instance::copy_state_from`]),
    /// so the document itself is never kept.
    donor: Mutex<Instance>,
    idle: Mutex<Vec<Instance>>,
    permits: Arc<Semaphore>,
    size: usize,
    acquire_timeout: Duration,
    view: Value,
    #[cfg(feature = "native-checks")]
    native: native::NativeChecks,
}

impl fmt::Debug for PluginPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PluginPool").field("size", &self.size).finish_non_exhaustive()
    }
}

impl PluginPool {
    /// Compiles `wasm` (or finds it compiled), hands `document` to one
    /// instance, whose `describe` parses it (a document the plugin rejects
    /// fails here, before the pool serves a request), then makes `size`
    /// instances with that instance's state. The host's only copy of the
    /// document is the one that instance's `config_get` read, wiped when
    /// the call ended; the caller wipes its own. Blocking: run it off the
    /// async threads.
    ///
    /// # Errors
    /// The module does not compile or instantiate, imports what the host
    /// lacks, or the plugin rejects the document.
    pub fn build(wasm: &[u8], document: &str, size: usize, limits: PluginLimits, acquire_timeout: Duration) -> Result<Self, PoolError> {
        let size = size.max(1);
        let template = Template::new(engine::compile(wasm, limits.metering()).map_err(PoolError::Load)?, limits)?;
        let mut donor = template.instantiate()?;
        let described = donor.call("describe", b"", Some(document.as_bytes())).map_err(|failure| PoolError::Rejected(failure.describe()))?;
        let described: Value = serde_json::from_slice(&described).map_err(|_| PoolError::Describe)?;
        let view = described.get("config").cloned().unwrap_or(Value::Null);
        let mut idle = Vec::with_capacity(size);
        for _ in 0..size {
            let mut instance = template.instantiate()?;
            instance.copy_state_from(&mut donor)?;
            idle.push(instance);
        }
        Ok(Self {
            template,
            donor: Mutex::new(donor),
            idle: Mutex::new(idle),
            permits: Arc::new(Semaphore::new(size)),
            size,
            acquire_timeout,
            view,
            #[cfg(feature = "native-checks")]
            native: native::NativeChecks::new(document)?,
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
        let output = self.call_raw(function, input).await?;
        serde_json::from_slice::<T>(&output).map_err(|_| CallError::Failed(format!("{function} answered an unexpected output")))
    }

    async fn call_raw(&self, function: &str, input: &[u8]) -> Result<Vec<u8>, CallError> {
        #[cfg(feature = "native-checks")]
        return self.native.call(function, input).map_err(|failure| CallError::Failed(failure.describe()));
        #[cfg_attr(feature = "native-checks", allow(unreachable_code))]
        // A free instance is taken without arming the acquire timer (a
        // clock read and a timer entry on every call otherwise).
        let permit = match self.permits.try_acquire() {
            Ok(permit) => permit,
            Err(_) => tokio::time::timeout(self.acquire_timeout, self.permits.acquire())
                .await
                .map_err(|_| CallError::Busy)?
                .map_err(|_| CallError::Busy)?,
        };
        // From here to the end there is no await: the instance is back in
        // the pool (or replaced) before anyone could cancel this future.
        let taken = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let Some(mut instance) = taken else {
            // A slot whose instance could not be replaced: never served again.
            permit.forget();
            return Err(CallError::Busy);
        };
        let result = instance.call(function, input, None);
        if let Err(failure) = &result
            && failure.breaks_instance()
        {
            match self.fresh_instance() {
                Ok(fresh) => instance = fresh,
                Err(error) => {
                    tracing::error!("a plugin instance could not be replaced ({error}): the pool has one instance less");
                    permit.forget();
                    return result.map_err(|failure| CallError::Failed(failure.describe()));
                }
            }
        }
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(instance);
        drop(permit);
        result.map_err(|failure| CallError::Failed(failure.describe()))
    }

    fn fresh_instance(&self) -> Result<Instance, PoolError> {
        let mut fresh = self.template.instantiate()?;
        fresh.copy_state_from(&mut self.donor.lock().unwrap_or_else(PoisonError::into_inner))?;
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests;
