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
n=${1:-30}
source "$(dirname "$0")/bench-lib.sh"
start_demo_upstream

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
