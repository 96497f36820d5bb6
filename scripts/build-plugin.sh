#!/usr/bin/env bash
# Builds the Extism plugin (plugin/, crate payseal-plugin) once, release, for
# wasm32-unknown-unknown. The hosts load:
#   target/wasm32-unknown-unknown/release/payseal_plugin.wasm
# and the runaway tests load a build with the `test-slow` export, which no
# release plugin has:
#   target/wasm32-unknown-unknown/release/payseal_plugin_slow.wasm
# A second run is a no-op (cargo finds both up to date).
set -euo pipefail
cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}
out="$target_dir/wasm32-unknown-unknown/release"

rustup target add wasm32-unknown-unknown
cargo build --locked --release --target wasm32-unknown-unknown -p payseal-plugin
# The slow variant is only a test fixture: its own target dir keeps the
# feature from touching the release artifact and keeps re-runs no-ops.
cargo build --locked --release --target wasm32-unknown-unknown -p payseal-plugin --features test-slow \
  --target-dir "$target_dir/plugin-test-slow"
cp "$target_dir/plugin-test-slow/wasm32-unknown-unknown/release/payseal_plugin.wasm" "$out/payseal_plugin_slow.wasm"
ls -l "$out/payseal_plugin.wasm" "$out/payseal_plugin_slow.wasm"
