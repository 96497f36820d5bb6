#!/usr/bin/env bash
# payseal's main job, on a fresh machine with rustup, cargo, node and npm:
# builds the Extism plugin, then runs the gateway (plugin-host/, binary
# `payseal`) on the example configuration in front of a demo upstream, on
# loopback ports, with its store in a temporary directory, and drives a short
# scripted session over HTTP (allowed, replayed, conflicting, refused, a
# signed refund), printing every request and answer. Exits 0 when every
# answer is the expected one.
set -euo pipefail
cd "$(dirname "$0")"
bash scripts/build-plugin.sh >/dev/null
exec cargo run --locked -p payseal-gateway -- demo
