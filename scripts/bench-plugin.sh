#!/usr/bin/env bash
# Benchmarks (not tests) of the plugin, built with the workspace's bench
# profile: in the Rust Extism host (`extism` on wasmtime), instantiate time
# and `check_request` latency (allowed request, 1 KiB body; median and p99);
# then the same call through the gateway's own host (`PluginPool`), with fuel
# and with the deadline alone. Each is printed as a ratio to the same work
# done natively in the same process.
# The first run builds wasmtime in release mode: about 10-15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-plugin.sh >/dev/null
cargo bench --locked -p payseal-plugin-conformance --bench plugin
cargo bench --locked -p payseal-gateway --bench plugin_call
