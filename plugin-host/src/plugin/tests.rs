//! The gateway's plugin host against the real plugin: the vectors, the
//! canary, limits and their isolation, replacement, and what stays in the
//! host's memory.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use payseal_plugin_conformance::{PlanHost, canary};
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::*;

const LIMITS: PluginLimits = PluginLimits { memory_max_pages: 1024, timeout: Duration::from_secs(5), fuel: 4_000_000_000 };

fn wasm(file: &str) -> Vec<u8> {
    let path = crate::demo::default_wasm_path().with_file_name(file);
    std::fs::read(&path).unwrap_or_else(|e| panic!("the plugin is not built ({}): {e}; run scripts/build-plugin.sh", path.display()))
}

fn pool(file: &str, document: &str, size: usize, limits: PluginLimits) -> PluginPool {
    PluginPool::build(&wasm(file), document, size, limits, Duration::from_secs(5)).unwrap()
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_time().build().unwrap().block_on(future)
}

/// The pool as a plan runner's instance.
struct Pooled(PluginPool);

impl PlanHost for Pooled {
    fn call(&mut self, function: &str, input: &[u8]) -> Result<Value, String> {
        block_on(self.0.call::<Value>(function, input)).map_err(|e| e.to_string())
    }
}

#[test]
fn every_vector_case_passes_through_the_gateway_host() {
    let plan = payseal_plugin_conformance::plan(&payseal_plugin_conformance::vectors_dir()).unwrap();
    let wasm = wasm("payseal_plugin.wasm");
    let cases = plan["cases"].as_array().unwrap();
    assert!(cases.len() > 100, "the plan has only {} cases", cases.len());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|case| {
            let instantiate = |config: &Value| {
                Pooled(PluginPool::build(&wasm, &config.to_string(), 1, LIMITS, Duration::from_secs(5)).unwrap_or_else(|e| panic!("{}: {e}", case["id"])))
            };
            payseal_plugin_conformance::run_case(case, instantiate).err().map(|why| format!("{}: {why}", case["id"]))
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn no_output_or_error_carries_the_canary() {
    let plan = canary::plan();
    let pool = pool("payseal_plugin.wasm", &plan["config"].to_string(), 1, LIMITS);
    let forbidden: Vec<&str> = plan["forbidden"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    let (mut outputs, mut errors) = (0, 0);
    for call in plan["calls"].as_array().unwrap() {
        let function = call["function"].as_str().unwrap();
        let answer = match block_on(pool.call::<Value>(function, call["input"].as_str().unwrap().as_bytes())) {
            Ok(output) => {
                outputs += 1;
                output.to_string()
            }
            Err(error) => {
                errors += 1;
                error.to_string()
            }
        };
        for secret in &forbidden {
            assert!(!answer.contains(secret), "{function} answered a secret: {answer}");
        }
    }
    assert!(outputs > 0 && errors > 0, "the canary calls must both succeed and fail ({outputs} outputs, {errors} errors)");
    let rejected = PluginPool::build(&wasm("payseal_plugin.wasm"), &plan["bad_config"].to_string(), 1, LIMITS, Duration::from_secs(5)).unwrap_err();
    assert!(matches!(&rejected, PoolError::Rejected(_)), "{rejected:?}");
    for secret in &forbidden {
        assert!(!rejected.to_string().contains(secret), "the rejection names a secret: {rejected}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_caller_that_goes_away_mid_call_does_not_lose_the_instance() {
    let pool = tokio::task::spawn_blocking(|| pool("payseal_plugin.wasm", "{}", 1, LIMITS)).await.unwrap();
    for _ in 0..5 {
        let call = pool.call::<Value>("describe", b"");
        tokio::pin!(call);
        // Polled once, then dropped, as when a client hangs up.
        tokio::select! {
            biased;
            _ = &mut call => {}
            () = std::future::ready(()) => {}
        }
    }
    for _ in 0..3 {
        assert!(pool.call::<Value>("describe", b"").await.is_ok(), "the pool lost its instance");
    }
}

/// A `check_request` that needs the parsed configuration: the canary
/// config's live key on a plain route.
fn check_with_config(pool: &PluginPool) -> Value {
    let input = json!({ "now": canary::NOW, "method": "GET", "path": "/external/v1/orders", "headers": { "X-Api-Key": canary::LIVE_KEY } });
    block_on(pool.call::<Value>("check_request", input.to_string().as_bytes())).unwrap()
}

#[test]
fn a_timed_out_call_fails_alone_and_its_instance_is_replaced() {
    let limits = PluginLimits { timeout: Duration::from_millis(300), fuel: u64::MAX / 4, ..LIMITS };
    let pool = Arc::new(pool("payseal_plugin_slow.wasm", &canary::config(canary::CANARY).to_string(), 2, limits));
    let baseline = check_with_config(&pool);
    assert_eq!(baseline["outcome"], "execute", "{baseline}");
    let slow = {
        let pool = Arc::clone(&pool);
        std::thread::spawn(move || {
            let started = Instant::now();
            (block_on(pool.call::<Value>("test_slow", b"")), started.elapsed())
        })
    };
    // Calls on the other instance all through the slow call's deadline.
    let until = Instant::now() + Duration::from_millis(700);
    let mut served = 0;
    while Instant::now() < until {
        assert_eq!(check_with_config(&pool), baseline, "a call in flight beside the slow one failed");
        served += 1;
    }
    let (slow, took) = slow.join().unwrap();
    assert_eq!(slow.unwrap_err(), CallError::Failed("timeout".into()));
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(3), "the deadline took {took:?}");
    assert!(served > 10, "only {served} calls beside the slow one");
    // Both instances serve, the replacement with the parsed configuration.
    for _ in 0..4 {
        assert_eq!(check_with_config(&pool), baseline);
    }
}

#[test]
fn fuel_bounds_a_call_without_a_deadline() {
    let limits = PluginLimits { timeout: Duration::ZERO, fuel: 50_000_000, ..LIMITS };
    let pool = pool("payseal_plugin_slow.wasm", &canary::config(canary::CANARY).to_string(), 1, limits);
    let baseline = check_with_config(&pool);
    assert_eq!(block_on(pool.call::<Value>("test_slow", b"")).unwrap_err(), CallError::Failed("fuel_exhausted".into()));
    assert_eq!(check_with_config(&pool), baseline, "the replacement lost the configuration");
}

#[test]
fn the_deadline_alone_bounds_a_call_without_fuel() {
    let limits = PluginLimits { timeout: Duration::from_millis(200), fuel: 0, ..LIMITS };
    let pool = pool("payseal_plugin_slow.wasm", &canary::config(canary::CANARY).to_string(), 1, limits);
    let baseline = check_with_config(&pool);
    assert_eq!(block_on(pool.call::<Value>("test_slow", b"")).unwrap_err(), CallError::Failed("timeout".into()));
    assert_eq!(check_with_config(&pool), baseline);
}

#[test]
fn a_plugin_error_keeps_the_instance_and_an_unknown_function_is_typed() {
    let pool = pool("payseal_plugin.wasm", "{}", 1, LIMITS);
    let CallError::Failed(error) = block_on(pool.call::<Value>("check_request", b"not json")).unwrap_err() else { panic!("busy") };
    assert!(serde_json::from_str::<Value>(&error).unwrap()["kind"].is_string(), "{error}");
    assert_eq!(block_on(pool.call::<Value>("no_such_export", b"")).unwrap_err(), CallError::Failed("no_such_function: no_such_export".into()));
    assert!(block_on(pool.call::<Value>("describe", b"")).is_ok());
}

#[test]
fn a_module_importing_what_the_host_lacks_fails_the_build_naming_it() {
    // (module (type (func)) (import "extism:host/env" "var_get" (func (type 0))))
    let mut module = b"\0asm\x01\0\0\0\x01\x04\x01\x60\0\0\x02\x1b\x01\x0fextism:host/env\x07var_get\0\0".to_vec();
    let built = PluginPool::build(&module, "{}", 1, LIMITS, Duration::from_secs(1)).unwrap_err();
    assert_eq!(built, PoolError::MissingImport("extism:host/env::var_get".into()));
    assert!(built.to_string().contains("extism:host/env::var_get"));
    module.truncate(8);
    assert!(matches!(PluginPool::build(&module, "{}", 1, LIMITS, Duration::from_secs(1)), Err(PoolError::Load(_))));
}

#[test]
fn the_memory_limit_is_enforced() {
    let limits = PluginLimits { memory_max_pages: 1, ..LIMITS };
    let built = PluginPool::build(&wasm("payseal_plugin.wasm"), "{}", 1, limits, Duration::from_secs(1)).unwrap_err();
    assert!(matches!(built, PoolError::Load(_)), "{built:?}");
}

/// Occurrences of a needle in this process's readable memory outside
/// `skip`. The needle is kept masked (XOR 0x5a), so the search itself puts
/// no copy of it in memory.
fn occurrences(masked: &[u8], skip: &[std::ops::Range<usize>]) -> usize {
    use std::io::{Read, Seek, SeekFrom};
    let maps = std::fs::read_to_string("/proc/self/maps").unwrap();
    let mut mem = std::fs::File::open("/proc/self/mem").unwrap();
    let mut found = 0;
    let mut chunk = vec![0u8; 1 << 20];
    for line in maps.lines() {
        let mut fields = line.split_whitespace();
        let (Some(range), Some(perms)) = (fields.next(), fields.next()) else { continue };
        let name = fields.nth(3).unwrap_or("");
        if !perms.starts_with("rw") || name.starts_with("[v") {
            continue;
        }
        let (start, end) = range.split_once('-').unwrap();
        let (start, end) = (usize::from_str_radix(start, 16).unwrap(), usize::from_str_radix(end, 16).unwrap());
        let mut at = start;
        while at < end {
            let length = (end - at).min(chunk.len());
            let window = at..at + length;
            at += length;
            if skip.iter().any(|s| s.start < window.end && window.start < s.end) {
                continue;
            }
            let Ok(_) = mem.seek(SeekFrom::Start(window.start as u64)) else { continue };
            let Ok(()) = mem.read_exact(&mut chunk[..length]) else { continue };
            // A needle across two chunks is missed: the chunk is large and
            // the positive control below shows the search finds copies.
            let bytes = &chunk[..length];
            found += (0..length.saturating_sub(masked.len()))
                .filter(|&i| bytes[i] ^ 0x5a == masked[0] && bytes[i..i + masked.len()].iter().zip(masked).all(|(b, m)| b ^ 0x5a == *m))
                .count();
        }
    }
    chunk.fill(0);
    found
}

#[test]
#[cfg(target_os = "linux")]
fn no_copy_of_a_secret_stays_in_the_host_outside_the_instances() {
    use base64::Engine as _;
    let mut random = [0u8; 32];
    getrandom::fill(&mut random).unwrap();
    let secret = Zeroizing::new(base64::engine::general_purpose::STANDARD.encode(random));
    random.fill(0);
    let masked: Vec<u8> = secret.bytes().map(|b| b ^ 0x5a).collect();
    // The document is written around a placeholder, so no JSON value of it
    // ever holds the secret.
    let placeholder = "PLACEHOLDER-SECRET-PLACEHOLDER-SECRET-0000=";
    let template = canary::config(placeholder).to_string();
    let mut document = Zeroizing::new(String::with_capacity(template.len() * 2));
    for (i, part) in template.split(placeholder).enumerate() {
        if i > 0 {
            document.push_str(&secret);
        }
        document.push_str(part);
    }
    drop(secret);
    assert!(occurrences(&masked, &[]) > 0, "the search does not find the document it should find");
    let pool = PluginPool::build(&wasm("payseal_plugin.wasm"), &document, 2, LIMITS, Duration::from_secs(5)).unwrap();
    drop(document);
    // Calls that read the secrets inside the instances.
    for (function, input) in canary::inputs() {
        let _ = block_on(pool.call::<Value>(function, &input));
    }
    let mut instances: Vec<std::ops::Range<usize>> = pool.idle.lock().unwrap().iter().map(Instance::memory_range).collect();
    instances.push(pool.donor.lock().unwrap().memory_range());
    assert_eq!(occurrences(&masked, &instances), 0, "a copy of the secret is in the host's memory outside the instances");
    drop(pool);
}
