#!/usr/bin/env bash
# payseal's main job, on a fresh machine with rustup, cargo, node and npm:
# builds the gateway with the Extism plugin built into it, then runs the gateway (plugin-host/, binary
# `payseal`) on the example configuration in front of a demo upstream, on
# loopback ports, with its store in a temporary directory, and drives a short
# scripted session over HTTP (allowed, replayed, conflicting, refused, a
# signed refund), printing every request and answer. Exits 0 when every
# answer is the expected one.
set -euo pipefail
cd "$(dirname "$0")"
# Only what the demo needs: the gateway, whose build script builds the
# release plugin it embeds (not the test-only slow plugin).
rustup target add wasm32-unknown-unknown >/dev/null 2>&1
exec cargo run --locked -p payseal-gateway -- demo
