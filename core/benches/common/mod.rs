//! What the core's benches share: reading a benchmark's median back from
//! criterion's estimates, to print ratios measured in the same run.

use std::path::PathBuf;

/// Where criterion writes its estimates: `<target>/criterion`.
fn criterion_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"), PathBuf::from);
    target.join("criterion")
}

/// Median of one benchmark of `group`, in nanoseconds, from criterion's
/// estimates file.
pub fn median_ns(group: &str, function: &str) -> Option<f64> {
    let path = criterion_dir().join(group.replace('/', "_")).join(function).join("new/estimates.json");
    let text = std::fs::read_to_string(path).ok()?;
    let v: serde_json::Value = serde_json::from_str(&text).ok()?;
    v["median"]["point_estimate"].as_f64()
}
