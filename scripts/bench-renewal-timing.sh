#!/usr/bin/env bash
# Renewal endpoint timing (issue: no account enumeration): an unknown
# codeUrl must cost the same Argon2id work as a wrong password for a known
# one. Builds the release gateway, starts a demo upstream and the gateway
# with one renewal account (a password hashed by `payseal keys hash-password`,
# i.e. the argon2 crate's default parameters) on free loopback ports, sends
# N renewals each for (a) an unknown codeUrl, (b) the known codeUrl with a
# wrong password, (c) the known codeUrl with an unknown account code, and
# prints the median latency of each and the ratios a/b and c/b.
# Target: within 10 %. Loopback only, bounded; stops what it started.
#
#   scripts/bench-renewal-timing.sh [N]      (N defaults to 30)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
n=${1:-30}
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

phc=$(printf 'bench renewal password\n' | "$payseal" keys hash-password)
cat >"$work/payseal.toml" <<TOML
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
[lifecycle]
store_key_env = "PAYSEAL_BENCH_STORE_KEY"
[[lifecycle.accounts]]
code_url = "RCVBENCH01"
operation_account_code = "ACC_BENCH_001"
password_argon2 = "$phc"
environment = "live"
TOML
PAYSEAL_BENCH_STORE_KEY=8f1c1d0e5b6a79e2c4d3b2a1908f7e6d5c4b3a29180f1e2d3c4b5a6978e0d1c2 \
  timeout 300 "$payseal" serve --config "$work/payseal.toml" >"$work/out" 2>"$work/log" &
pids+=($!)
addr=$(wait_line "$work/out" | sed -E 's#.*listening on http://([^ ]+) .*#\1#')

echo "argon2id parameters: $(printf '%s' "$phc" | cut -d'$' -f4)"
timeout 300 python3 scripts/bench_renewal_timing.py "$addr" RCVBENCH01 ACC_BENCH_001 "$n"
