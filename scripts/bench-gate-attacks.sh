#!/usr/bin/env bash
# The gateway's bounds under attack (issue: bounded resources, checks before
# bodies), loopback only, bounded in count and time. One run measures:
#   1. memory: the gateway's RSS at rest, at its peak while 1000 connections
#      each send a valid key and a 1 MiB body minus its last byte, and after
#      they closed; printed in MiB and as ratios to the resting RSS.
#      Goal: peak under 256 MiB with the default limits, back near rest after.
#   2. a slow parse: the p50/p99 of plain GETs alone, then while 4 streams
#      send RFC 9421 requests whose Signature-Input has 32k members; printed
#      as ratios to the GETs alone. Goal: p99 under 50 ms.
# No timed assertion: figures and ratios are printed for the reader.
#
#   scripts/bench-gate-attacks.sh
set -euo pipefail
source "$(dirname "$0")/bench-lib.sh"
start_demo_upstream

live_key=sk_live_BenchLiveKey000000000000000000
digest=$(printf '%s' "$live_key" | sha256sum | cut -d' ' -f1)
cat >"$work/payseal.toml" <<EOF
[server]
listen = "127.0.0.1:0"
[admin]
listen = "127.0.0.1:0"
[upstream]
url = "http://$upstream"
[store]
path = "$work/store.redb"
[plugin]
wasm = "$wasm"
[log]
level = "warn"
[keys.policy]
accepted_formats = ["prefixed"]
[[keys.records]]
id = "k_bench"
key_sha256 = "$digest"
environment = "live"
[[routes]]
prefix = "/external/v1/payouts"
methods = ["POST"]
rfc9421 = { required = ["@method", "@path"] }
[[signed_requests.rfc9421]]
key_id = "k_bench"
keyid = "psk-bench-1"
secret_env = "PAYSEAL_BENCH_RFC9421"
EOF
PAYSEAL_BENCH_RFC9421="oTi/maBUu4/4XtTo5JrJgHJkglvkb0tIgG/sgAVFGQY=" \
  "$payseal" serve --config "$work/payseal.toml" >"$work/out" 2>"$work/log" &
gateway_pid=$!
pids+=("$gateway_pid")
addr=$(wait_line "$work/out" | sed -E 's#.*listening on http://([^ ]+) .*#\1#')

python3 scripts/bench_gate_attacks.py "$addr" "$gateway_pid" "$live_key"
