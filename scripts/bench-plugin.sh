#!/usr/bin/env bash
# Benchmark (not a test) of the Extism plugin in the Rust host (`extism` on
# wasmtime), built with the workspace's bench profile: instantiate time and
# `check_request` latency (allowed request, 1 KiB body; median and p99), each
# printed as a ratio to the same work done natively in the same process.
# The first run builds wasmtime in release mode: about 10-15 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build-plugin.sh >/dev/null
cargo bench --locked -p payseal-plugin-conformance --bench plugin
