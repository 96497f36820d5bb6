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
cd "$(dirname "$0")/.."
root=$(pwd)
target_dir=${CARGO_TARGET_DIR:-target}
case "$target_dir" in /*) ;; *) target_dir="$root/$target_dir" ;; esac

bash scripts/build-plugin.sh >/dev/null
cargo build --locked --release -q -p payseal-gateway
payseal="$target_dir/release/payseal"
wasm="$target_dir/wasm32-unknown-unknown/release/payseal_plugin.wasm"

work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_line() {
  for _ in $(seq 600); do
    if [ -s "$1" ]; then head -n1 "$1"; return 0; fi
    sleep 0.1
  done
  echo "no start line in $1" >&2
  return 1
}

"$payseal" demo-upstream --listen 127.0.0.1:0 >"$work/upstream.out" 2>&1 &
pids+=($!)
upstream=$(wait_line "$work/upstream.out" | sed -E 's#.*http://([^ ]+).*#\1#')

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
