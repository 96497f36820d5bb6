//! Prometheus metrics, served on the admin listener's `/metrics`.
//!
//! - `payseal_build_info{version}`: 1, with the binary's version.
//! - `payseal_requests_total{outcome,reason,status}`: every request, by what
//!   happened (`forwarded`, `replayed`, `refused`, `conflict`, `too_large`,
//!   `bad_request`, `client_timeout`, `plugin_error`, `store_error`,
//!   `upstream_error`, `proxied` in pure proxy mode) and the plugin's reason
//!   when it refused, and the status code answered.
//! - `payseal_plugin_call_seconds{function}`: plugin call latency.
//! - `payseal_store_op_seconds{op}`: store operation latency.
//! - `payseal_upstream_seconds`: time to the upstream's answer head.
//! - `payseal_reloads_total{result}`, `payseal_swept_records_total`.
//! - `payseal_auth_failures_total{surface}`: failed authentication counted
//!   by the throttle (`request`, `token`, `renewal`);
//!   `payseal_throttled_total{surface}`: requests answered 429 because their
//!   client or credential was locked out.
//! - `payseal_store_ready` (1 while the store answers and the key set is
//!   confirmed current, as `/readyz`), `payseal_key_set_fresh` (0 while
//!   checked requests are refused because a shared key set is unconfirmed).
//! - `process_resident_memory_bytes`, `process_cpu_seconds_total`,
//!   `process_open_fds`: the process, read from `/proc/self` when
//!   `/metrics` is served (Linux; absent elsewhere).

use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    outcome: &'static str,
    reason: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FunctionLabels {
    function: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OpLabels {
    op: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct SurfaceLabels {
    surface: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ResultLabels {
    result: &'static str,
}

fn latency_histogram() -> Histogram {
    // 1 µs to about 1 s.
    Histogram::new(exponential_buckets(1e-6, 2.0, 21))
}

fn upstream_histogram() -> Histogram {
    // 50 µs to about 50 s.
    Histogram::new(exponential_buckets(5e-5, 2.0, 21))
}

/// The gateway's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    plugin: Family<FunctionLabels, Histogram, fn() -> Histogram>,
    store: Family<OpLabels, Histogram, fn() -> Histogram>,
    upstream: Histogram,
    reloads: Family<ResultLabels, Counter>,
    swept: Counter,
    auth_failures: Family<SurfaceLabels, Counter>,
    throttled: Family<SurfaceLabels, Counter>,
    store_ready: Gauge,
    key_set_fresh: Gauge,
    /// `process_*`, without the `payseal_` prefix (the names dashboards expect).
    process_registry: Registry,
    process: Mutex<ProcessMetrics>,
}

/// The process's own resources, refreshed from `/proc/self` when encoded.
#[derive(Debug, Default)]
struct ProcessMetrics {
    resident: Gauge,
    cpu: Counter<f64, std::sync::atomic::AtomicU64>,
    open_fds: Gauge,
}

/// Clock ticks per second of `/proc/self/stat` (Linux's `USER_HZ`, 100 on
/// every architecture the kernel exports it for).
const USER_HZ: f64 = 100.0;

impl ProcessMetrics {
    fn refresh(&self) {
        if let Some(kib) = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| s.lines().find_map(|l| l.strip_prefix("VmRSS:").and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())))
        {
            self.resident.set(kib.saturating_mul(1024));
        }
        // Fields 14 and 15 (utime, stime), counted after the `)` that ends
        // the command name (which may hold spaces).
        if let Some(ticks) = std::fs::read_to_string("/proc/self/stat").ok().and_then(|s| {
            let rest = s.rsplit_once(')')?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
        }) {
            #[allow(clippy::cast_precision_loss)] // ticks stay far below 2^52
            let seconds = ticks as f64 / USER_HZ;
            let delta = seconds - self.cpu.get();
            if delta > 0.0 {
                self.cpu.inc_by(delta);
            }
        }
        if let Ok(entries) = std::fs::read_dir("/proc/self/fd") {
            self.open_fds.set(i64::try_from(entries.count()).unwrap_or(i64::MAX));
        }
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("payseal");
        let requests = Family::<RequestLabels, Counter>::default();
        let plugin = Family::<FunctionLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let store = Family::<OpLabels, Histogram, fn() -> Histogram>::new_with_constructor(latency_histogram);
        let upstream = upstream_histogram();
        let reloads = Family::<ResultLabels, Counter>::default();
        let swept = Counter::default();
        registry.register("requests", "Requests by outcome and refusal reason", requests.clone());
        registry.register("plugin_call_seconds", "Plugin call latency", plugin.clone());
        registry.register("store_op_seconds", "Store operation latency", store.clone());
        registry.register("upstream_seconds", "Time to the upstream's response head", upstream.clone());
        registry.register("reloads", "Configuration reloads by result", reloads.clone());
        registry.register("swept_records", "Expired idempotency records deleted", swept.clone());
        let auth_failures = Family::<SurfaceLabels, Counter>::default();
        let throttled = Family::<SurfaceLabels, Counter>::default();
        registry.register("auth_failures", "Failed authentication counted by the throttle, by surface", auth_failures.clone());
        registry.register("throttled", "Requests answered 429 because their client or credential was locked out", throttled.clone());
        let store_ready = Gauge::default();
        let key_set_fresh = Gauge::default();
        registry.register("store_ready", "1 while the store answers and the key set is current (as /readyz)", store_ready.clone());
        registry.register("key_set_fresh", "0 while a shared key set is unconfirmed and checked requests are refused", key_set_fresh.clone());
        registry.register("build", "The gateway's build", Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]));
        let process = ProcessMetrics::default();
        let mut process_registry = Registry::default();
        if std::path::Path::new("/proc/self/stat").exists() {
            process_registry.register("process_resident_memory_bytes", "Resident memory size in bytes", process.resident.clone());
            process_registry.register("process_cpu_seconds", "User and system CPU time spent in seconds", process.cpu.clone());
            process_registry.register("process_open_fds", "Open file descriptors", process.open_fds.clone());
        }
        Self { registry, requests, plugin, store, upstream, reloads, swept, auth_failures, throttled, store_ready, key_set_fresh, process_registry, process: Mutex::new(process) }
    }

    /// Counts one request, with the status answered.
    pub fn request(&self, outcome: &'static str, reason: Option<&str>, status: u16) {
        let labels = RequestLabels { outcome, reason: reason.unwrap_or_default().to_owned(), status };
        self.requests.get_or_create(&labels).inc();
    }

    /// Records a plugin call.
    pub fn plugin_call(&self, function: &'static str, elapsed: Duration) {
        self.plugin.get_or_create(&FunctionLabels { function }).observe(elapsed.as_secs_f64());
    }

    /// Records a store operation.
    pub fn store_op(&self, op: &'static str, elapsed: Duration) {
        self.store.get_or_create(&OpLabels { op }).observe(elapsed.as_secs_f64());
    }

    /// Records an upstream answer.
    pub fn upstream(&self, elapsed: Duration) {
        self.upstream.observe(elapsed.as_secs_f64());
    }

    /// Counts a reload.
    pub fn reload(&self, ok: bool) {
        self.reloads.get_or_create(&ResultLabels { result: if ok { "ok" } else { "error" } }).inc();
    }

    /// Counts swept records.
    pub fn swept(&self, n: usize) {
        self.swept.inc_by(u64::try_from(n).unwrap_or(u64::MAX));
    }

    /// Counts a failed authentication on `surface`.
    pub fn auth_failure(&self, surface: &'static str) {
        self.auth_failures.get_or_create(&SurfaceLabels { surface }).inc();
    }

    /// Counts a request refused because it was locked out.
    pub fn throttled(&self, surface: &'static str) {
        self.throttled.get_or_create(&SurfaceLabels { surface }).inc();
    }

    /// Sets the store gauges (read when `/metrics` is served).
    pub fn store_state(&self, ready: bool, key_set_fresh: bool) {
        self.store_ready.set(i64::from(ready));
        self.key_set_fresh.set(i64::from(key_set_fresh));
    }

    /// The `OpenMetrics` text: the gateway's metrics, then the process's.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        {
            // One refresh at a time: the CPU counter moves by differences.
            let process = self.process.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            process.refresh();
        }
        // Writing into a String cannot fail. The process registry goes
        // first; the gateway's ends with the one `# EOF`.
        let _ = prometheus_client::encoding::text::encode_registry(&mut text, &self.process_registry);
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_show_in_the_text() {
        let m = Metrics::new();
        m.request("refused", Some("unknown_key"), 401);
        m.request("refused", Some("unknown_key"), 401);
        m.request("forwarded", None, 502);
        m.plugin_call("check_request", Duration::from_micros(7));
        let text = m.encode();
        assert!(text.contains("payseal_requests_total{outcome=\"refused\",reason=\"unknown_key\",status=\"401\"} 2"), "{text}");
        assert!(text.contains("payseal_requests_total{outcome=\"forwarded\",reason=\"\",status=\"502\"} 1"), "{text}");
        assert!(text.contains("payseal_plugin_call_seconds_count{function=\"check_request\"} 1"), "{text}");
    }

    #[test]
    fn build_info_and_the_process() {
        let text = Metrics::new().encode();
        assert!(text.contains(&format!("payseal_build_info{{version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"))), "{text}");
        let value = |name: &str| -> f64 {
            text.lines().find_map(|l| l.strip_prefix(name).and_then(|r| r.strip_prefix(' ')).and_then(|v| v.parse().ok())).unwrap_or_else(|| panic!("no {name}: {text}"))
        };
        assert!(value("process_resident_memory_bytes") > 1_000_000.0);
        assert!(value("process_open_fds") >= 3.0);
        assert!(value("process_cpu_seconds_total") >= 0.0);
        assert_eq!(text.matches("# EOF").count(), 1, "{text}");
    }

    #[test]
    fn store_gauges_follow_the_last_state() {
        let m = Metrics::new();
        m.store_state(true, true);
        assert!(m.encode().contains("payseal_store_ready 1\n"));
        m.store_state(false, true);
        let text = m.encode();
        assert!(text.contains("payseal_store_ready 0\n") && text.contains("payseal_key_set_fresh 1\n"), "{text}");
    }
}
