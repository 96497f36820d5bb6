//! The Extism exports: each reads its input, runs one function of
//! [`crate::functions`] against the configuration parsed once per instance,
//! and hands back the output, or the typed error as the call's error.

// `#[unsafe(no_mangle)]` exports and the PDK's `error_set` import are the
// only unsafe code of the crate; both are confined to this module.
#![allow(unsafe_code)]

use std::sync::OnceLock;

use extism_pdk::Memory;

use crate::config::{CONFIG_KEY, Config};
use crate::error::PluginError;
use crate::functions::{self, Reply};

type Function = fn(&Config, &[u8]) -> Result<Reply, PluginError>;

/// The configuration, parsed at the first call of the instance. A bad one is
/// kept as its error, so every call fails the same typed way.
fn config() -> &'static Result<Config, PluginError> {
    static CONFIG: OnceLock<Result<Config, PluginError>> = OnceLock::new();
    CONFIG.get_or_init(|| match extism_pdk::config::get(CONFIG_KEY) {
        Ok(mut text) => {
            let parsed = Config::parse(text.as_deref());
            if let Some(text) = text.as_mut() {
                zeroize::Zeroize::zeroize(text);
            }
            match &parsed {
                Ok(_) => log(LogLevel::Info, "payseal: configuration loaded"),
                Err(e) => log(LogLevel::Error, &format!("payseal: {e}")),
            }
            parsed
        }
        Err(_) => Err(PluginError::config(".", "the host's config entry is unreadable")),
    })
}

/// Runs `function` on the call input; 0 with an output, 1 with an error.
fn run(name: &str, function: Function) -> i32 {
    let input = extism_pdk::input_bytes();
    let result = match config() {
        Ok(config) => function(config, &input),
        Err(e) => Err(e.clone()),
    };
    match result {
        Ok(reply) => {
            log(LogLevel::Info, &reply.summary);
            match extism_pdk::output(reply.json) {
                Ok(()) => 0,
                Err(_) => fail(name, &PluginError::config(".", "the output could not be written")),
            }
        }
        Err(e) => fail(name, &e),
    }
}

/// The log levels the plugin uses.
#[derive(Clone, Copy)]
enum LogLevel {
    Info,
    Warn,
    Error,
}

/// Sends a line to the host's log. Not the PDK's `info!` macros or
/// `Memory::log`: they import `get_log_level` and `log_trace`, which the
/// JavaScript SDK 1.0.3 does not provide, so the module would not even
/// instantiate there. The host filters by level itself.
fn log(level: LogLevel, line: &str) {
    let Ok(memory) = Memory::from_bytes(line) else { return };
    let offset = memory.offset();
    // SAFETY: `offset` names host memory just allocated and filled with
    // `line`; the host reads it during the call.
    unsafe {
        match level {
            LogLevel::Info => extism_pdk::extism::log_info(offset),
            LogLevel::Warn => extism_pdk::extism::log_warn(offset),
            LogLevel::Error => extism_pdk::extism::log_error(offset),
        }
    }
}

fn fail(name: &str, error: &PluginError) -> i32 {
    log(LogLevel::Warn, &format!("{name}: {error}"));
    if let Ok(memory) = Memory::from_bytes(error.to_json()) {
        // SAFETY: `memory` was allocated by the host's allocator for this
        // call; `error_set` takes its offset and the host reads it once the
        // call returns.
        unsafe { extism_pdk::extism::error_set(memory.offset()) };
    }
    1
}

/// `check_request`: API key, signed-route signature, idempotency.
#[unsafe(no_mangle)]
pub extern "C" fn check_request() -> i32 {
    run("check_request", functions::check_request)
}

/// `decide_idempotency`: the idempotency decision alone.
#[unsafe(no_mangle)]
pub extern "C" fn decide_idempotency() -> i32 {
    run("decide_idempotency", functions::decide_idempotency)
}

/// `finish_request`: a claim and the upstream's answer to the record to store, or a release.
#[unsafe(no_mangle)]
pub extern "C" fn finish_request() -> i32 {
    run("finish_request", functions::finish_request)
}

/// `verify_webhook`: any configured signature scheme.
#[unsafe(no_mangle)]
pub extern "C" fn verify_webhook() -> i32 {
    run("verify_webhook", functions::verify_webhook)
}

/// `open_redirect`: the encrypted `data` of a return URL.
#[unsafe(no_mangle)]
pub extern "C" fn open_redirect() -> i32 {
    run("open_redirect", functions::open_redirect)
}

/// `sign_request`: headers for an outgoing request or webhook.
#[unsafe(no_mangle)]
pub extern "C" fn sign_request() -> i32 {
    run("sign_request", functions::sign_request)
}

/// `describe`: version, schemes and the configuration without secrets.
#[unsafe(no_mangle)]
pub extern "C" fn describe() -> i32 {
    run("describe", functions::describe)
}

/// `test_slow`: never returns, so the hosts' tests can show that their
/// timeout and fuel limit stop a runaway call. Only with the `test-slow`
/// feature, which release builds never enable.
#[cfg(feature = "test-slow")]
#[unsafe(no_mangle)]
pub extern "C" fn test_slow() -> i32 {
    let mut counter = 0u64;
    loop {
        counter = core::hint::black_box(counter.wrapping_add(1));
    }
}
