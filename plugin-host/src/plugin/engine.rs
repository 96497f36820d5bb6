//! The one wasmtime engine of the process, the compiled plugin module, and
//! the clock that bounds a call.
//!
//! Every pool shares one engine, so a reload that hands the same `.wasm` to
//! a new pool finds the module already compiled. Wall-clock deadlines use
//! wasmtime's epochs: one ticker thread advances the engine's epoch every
//! [`TICK`], and each store sets its own deadline in ticks before a call.
//! A call that overruns traps in its own store only; nothing ever bumps the
//! epoch to interrupt a particular call (what extism's timer does, and why
//! one timeout there failed calls in flight on other instances).

use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

use wasmtime::{Config, Engine, Module, OptLevel};

/// How often the epoch advances: the granularity of a call's deadline.
pub const TICK: Duration = Duration::from_millis(5);

/// How a call is bounded besides its wall-clock deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metering {
    /// Fuel: a deterministic bound on the instructions of one call.
    Fuel,
    /// The deadline alone (`plugin.fuel = 0`): no per-instruction count.
    DeadlineOnly,
}

/// The engine for `metering`, with epoch interruption on, and its ticker
/// thread started the first time it is asked for.
pub fn engine(metering: Metering) -> &'static Engine {
    static FUEL: OnceLock<Engine> = OnceLock::new();
    static DEADLINE_ONLY: OnceLock<Engine> = OnceLock::new();
    let cell = match metering {
        Metering::Fuel => &FUEL,
        Metering::DeadlineOnly => &DEADLINE_ONLY,
    };
    cell.get_or_init(|| {
        let mut config = Config::new();
        config.consume_fuel(metering == Metering::Fuel).epoch_interruption(true).cranelift_opt_level(OptLevel::Speed);
        // wasmtime's on-disk cache of compiled modules (its default place,
        // `~/.cache/wasmtime`, or its config file), as the Extism hosts use:
        // a restart on the same machine finds the plugin compiled instead of
        // compiling it again. Without it payseal still runs, compiling at start.
        match wasmtime::Cache::from_file(None) {
            Ok(cache) => {
                config.cache(Some(cache));
            }
            Err(e) => tracing::warn!("wasmtime's compilation cache is off ({e}): the plugin is compiled at every start"),
        }
        // Only an impossible combination of settings fails here, and the
        // settings are fixed above.
        let engine = Engine::new(&config).unwrap_or_else(|e| unreachable!("wasmtime rejects fixed settings: {e}"));
        let ticking = engine.clone();
        // The ticker outlives every pool; it holds no secret and costs one
        // wake-up per tick.
        let spawned = std::thread::Builder::new().name("payseal-epoch".into()).spawn(move || {
            loop {
                std::thread::sleep(TICK);
                ticking.increment_epoch();
            }
        });
        if let Err(e) = spawned {
            tracing::error!("the plugin deadline ticker did not start ({e}): plugin calls are bounded by fuel only");
        }
        engine
    })
}

/// Ticks that stand for "no wall-clock limit": wasmtime adds a deadline to
/// the current epoch, so `u64::MAX` would overflow; this is millions of
/// years of ticks.
const NO_DEADLINE: u64 = u64::MAX / 2;

/// Deadline of a call, in ticks beyond the current epoch; a zero timeout
/// is no wall-clock limit (fuel still bounds the call). One tick more than
/// the timeout needs, since the current tick may be about to end.
pub fn deadline_ticks(timeout: Duration) -> u64 {
    if timeout.is_zero() {
        return NO_DEADLINE;
    }
    let ticks = timeout.as_nanos().div_ceil(TICK.as_nanos());
    u64::try_from(ticks).map_or(NO_DEADLINE, |ticks| ticks.saturating_add(1).min(NO_DEADLINE))
}

/// Compiles `wasm` for `metering`'s engine, or answers the module compiled
/// from the same bytes last time (a reload usually keeps the plugin).
///
/// # Errors
/// The bytes are not a module wasmtime accepts (its message).
pub fn compile(wasm: &[u8], metering: Metering) -> Result<Module, String> {
    static LAST: Mutex<Vec<(Metering, Vec<u8>, Module)>> = Mutex::new(Vec::new());
    let mut last = LAST.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some((_, _, module)) = last.iter().find(|(m, bytes, _)| *m == metering && bytes.as_slice() == wasm) {
        return Ok(module.clone());
    }
    let module = Module::new(engine(metering), wasm).map_err(|e| format!("the plugin module does not compile: {e}"))?;
    // The plugin and, in tests, its slow variant: a few modules at most.
    if last.len() >= 4 {
        last.remove(0);
    }
    last.push((metering, wasm.to_vec(), module.clone()));
    Ok(module)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_deadline_covers_the_whole_timeout() {
        assert_eq!(deadline_ticks(Duration::ZERO), NO_DEADLINE);
        assert_eq!(deadline_ticks(Duration::from_millis(1)), 2);
        assert_eq!(deadline_ticks(TICK), 2);
        assert_eq!(deadline_ticks(Duration::from_secs(2)), 401);
        assert_eq!(deadline_ticks(Duration::MAX), NO_DEADLINE);
    }
}
