#!/usr/bin/env bash
# Builds the Envoy proxy-wasm filter (envoy-filter/, crate payseal-envoy) once,
# release, for wasm32-wasip1:
#   target/wasm32-wasip1/release/payseal_envoy.wasm             what operators load
#   target/wasm32-wasip1/release/payseal_envoy_test_clock.wasm  tests only: built with the
#       `test-clock` feature, it accepts `clock.fixed_now`, which the release filter refuses
# A second run is a no-op (cargo finds both up to date).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}
out="$target_dir/wasm32-wasip1/release"

rustup target add wasm32-wasip1 >/dev/null 2>&1 || rustup target add wasm32-wasip1
cargo build --locked --release --target wasm32-wasip1 -p payseal-envoy
# The test variant gets its own target dir: the feature never touches the
# release artifact, and re-runs stay no-ops. It is only ever run by the tests,
# so it skips the release profile's fat LTO to build faster.
CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
  cargo build --locked --release --target wasm32-wasip1 -p payseal-envoy --features test-clock \
  --target-dir "$target_dir/envoy-test-clock"
cp "$target_dir/envoy-test-clock/wasm32-wasip1/release/payseal_envoy.wasm" "$out/payseal_envoy_test_clock.wasm"
ls -l "$out/payseal_envoy.wasm" "$out/payseal_envoy_test_clock.wasm"
