#!/usr/bin/env bash
# Load benchmark of the gateway (plugin-host/, binary `payseal`), loopback only,
# bounded in time (about a minute of load). One run measures, with the same
# load generator (wrk, installed with apt-get when missing):
#   1. the demo upstream directly,
#   2. the gateway in pure proxy mode (server.checks = false),
#   3. the gateway with checks on (API key check by the plugin),
#   4. the gateway with checks on and a fresh idempotency key per request
#      (plugin lookup + claim + finish: two durable store commits per batch),
#   5. 3 and 4 again with the store on Redis (redis-server from Debian,
#      installed when missing, started on a free loopback port, stopped at
#      the end): several gateways share it; one gateway measures its cost,
#   6. 2 and 3 again over TLS (HTTPS with keep-alive; the listener's
#      certificate from a CA that openssl makes here), as ratios to the same
#      runs over plain HTTP (goal: >= 0.8 of plain throughput),
#   7. 3 with the plugin's functions linked natively instead of run in wasm
#      (a build with the `native-checks` feature, made for this run only):
#      the ceiling of the checks (goal: checks on >= 0.95 of it),
# each with 1 KiB POSTs over 64 connections, and prints throughput and
# p50/p99 latency as ratios to the pure proxy, and the Redis runs as ratios
# to the same runs on the embedded store. At 64 connections on a small
# machine every run is saturated and its p50 is mostly queueing, so the added
# latency is also measured unloaded: one connection, pure proxy against checks on.
# Goal: checks on keep >= 80 % of pure-proxy throughput and add <= 100 us at p50.
#
# Every run is repeated in ROUNDS rounds (default 3), each round running
# every variant in turn so a drift of the machine weighs on all of them; the
# tables show each run's median over the rounds.
#
#   scripts/bench-gateway.sh [seconds per run, default 10]
#
# Release build (the bench only; tests use the dev profile). Logs at `warn`
# in every gateway run, so the per-request log line does not weigh on either.
set -euo pipefail
seconds=${1:-10}
rounds=${ROUNDS:-3}
connections=64
threads=2
if ! command -v wrk >/dev/null 2>&1; then
  echo "installing wrk"
  apt-get update -qq >/dev/null && apt-get install -y -qq wrk >/dev/null
fi
if ! command -v redis-server >/dev/null 2>&1; then
  echo "installing redis-server"
  apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends redis-server >/dev/null
fi
# Redis, started later, is stopped after the gateways.
bench_cleanup() {
  if [ -s "$work/redis.pid" ]; then kill "$(cat "$work/redis.pid")" 2>/dev/null || true; sleep 0.5; fi
}
source "$(dirname "$0")/bench-lib.sh"
# The ceiling: the same gateway with the checks linked natively. Built aside,
# then the shipped build is restored (both builds share the target dir, so
# only the gateway crate and its link are redone).
echo "building the native-checks variant (benchmark only)"
cargo build --locked --release -q -p payseal-gateway --features native-checks
cp "$payseal" "$work/payseal-native-checks"
cargo build --locked --release -q -p payseal-gateway
start_demo_upstream

live_key=sk_live_BenchLiveKey000000000000000000
digest=$(printf '%s' "$live_key" | sha256sum | cut -d' ' -f1)

# start_gateway NAME CHECKS [STORE] [SERVER] [BINARY]: starts a gateway
# (STORE: the lines of its [store] table, default a fresh redb file; SERVER:
# more lines of its [server] table; BINARY: default the release build); sets
# addr and gateway_pid.
start_gateway() {
  local name=$1 checks=$2
  local store=${3:-"path = \"$work/$name/store.redb\""}
  local server=${4:-}
  local binary=${5:-$payseal}
  rm -rf "${work:?}/$name"
  mkdir -p "$work/$name"
  cat >"$work/$name/payseal.toml" <<EOF
[server]
listen = "127.0.0.1:0"
checks = $checks
$server
[admin]
listen = "127.0.0.1:0"
public_metrics = true
[upstream]
url = "http://$upstream"
[store]
$store
[plugin]
wasm = "$wasm"
[log]
level = "warn"
[keys.policy]
accepted_formats = ["prefixed"]
scope_routes = { external_api_live = ["/external/v1/"] }
[[keys.records]]
id = "k_bench"
key_sha256 = "$digest"
environment = "live"
scopes = ["external_api_live"]
EOF
  "$binary" serve --config "$work/$name/payseal.toml" >"$work/$name/out" 2>"$work/$name/log" &
  gateway_pid=$!
  pids+=("$gateway_pid")
  addr=$(wait_line "$work/$name/out" | sed -E 's#.*listening on https?://([^ ]+) .*#\1#')
  admin=$(sed -nE 's#.*\(admin https?://([^)]+)\).*#\1#p' "$work/$name/out" | head -n1)
}

# scrape FILE: the gateway's metrics (public on the bench's admin listener).
scrape() { curl -s "http://$admin/metrics" >"$1" || : >"$1"; }
# written_bytes: what the gateway process has had written to storage so far.
written_bytes() { awk '$1 == "write_bytes:" {print $2}' "/proc/$gateway_pid/io" 2>/dev/null || echo 0; }

body=$(head -c 1024 /dev/zero | tr '\0' 'x')
cat >"$work/post.lua" <<EOF
wrk.method = "POST"
wrk.body = "$body"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-Api-Key"] = "$live_key"
EOF
cat >"$work/idempotent.lua" <<EOF
counter = 0
id = 0
function setup(thread)
  id = id + 1
  thread:set("id", id)
end
function init(args)
  counter = 0
  run = args[1] or "run"
end
function request()
  counter = counter + 1
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["X-Api-Key"] = "$live_key",
    ["Idempotency-Key"] = "bench-" .. run .. "-" .. id .. "-" .. counter,
  }, "$body")
end
EOF

# to_us VALUE: wrk's latency (e.g. 812.00us, 1.20ms, 2.00s) in microseconds.
to_us() {
  awk -v v="$1" 'BEGIN {
    n = v + 0; u = v; sub(/^[0-9.]+/, "", u);
    if (u == "us") print n; else if (u == "ms") print n * 1000; else if (u == "s") print n * 1000000; else print n }'
}

# run NAME ADDR SCRIPT [CONNECTIONS] [SCHEME]: a warm-up, then the measured
# run; appends "name rps p50 p99" to results.
run() {
  local name=$1 addr=$2 script=$3 conns=${4:-$connections} scheme=${5:-http}
  local t=$threads
  [ "$conns" -lt "$t" ] && t=$conns
  # A fresh run name each time: idempotency keys never repeat across runs.
  wrk -t"$t" -c"$conns" -d2s -s "$script" "$scheme://$addr/external/v1/payments" -- "warm-$name-$RANDOM" >/dev/null 2>&1 || true
  wrk -t"$t" -c"$conns" -d"${seconds}s" --latency -s "$script" "$scheme://$addr/external/v1/payments" -- "$name-$RANDOM" >"$work/$name.wrk" 2>&1
  rps=$(awk '/^Requests\/sec:/ {print $2}' "$work/$name.wrk")
  p50=$(to_us "$(awk '$1 == "50%" {print $2}' "$work/$name.wrk")")
  p99=$(to_us "$(awk '$1 == "99%" {print $2}' "$work/$name.wrk")")
  local non2xx
  non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$work/$name.wrk")
  if [ -n "$non2xx" ]; then
    echo "warning: $name had $non2xx non-2xx answers" >&2
  fi
  results+=("$name $rps $p50 $p99")
}

results=()
echo "payseal gateway load benchmark: 1 KiB POSTs, $connections connections, $threads wrk threads, ${seconds}s per run, $rounds rounds, $(nproc) cores"

# Redis for the runs with the store on Redis (no persistence: the bench
# measures the request path, not Redis's disk).
redis_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --daemonize yes --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
  --dir "$work" --pidfile "$work/redis.pid" --logfile "$work/redis.log"
for _ in $(seq 100); do [ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done

# TLS on the listener: a certificate for 127.0.0.1 from a CA made here.
{
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -keyout "$work/ca.key" -out "$work/ca.pem" -subj "/CN=payseal bench CA" &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$work/gw.key" -out "$work/gw.csr" -subj "/CN=localhost" &&
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$work/san.ext" &&
  openssl x509 -req -in "$work/gw.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
    -days 1 -extfile "$work/san.ext" -out "$work/gw.pem"
} >"$work/openssl.log" 2>&1
tls="tls = { cert = \"$work/gw.pem\", key = \"$work/gw.key\" }"

stop_gateway() { kill "$gateway_pid"; wait "$gateway_pid" 2>/dev/null || true; }

for round in $(seq "$rounds"); do
  echo "round $round of $rounds"
  run upstream-direct "$upstream" "$work/post.lua"
  start_gateway proxy false
  run pure-proxy "$addr" "$work/post.lua"
  run pure-proxy-1conn "$addr" "$work/post.lua" 1
  stop_gateway
  start_gateway checks true
  run checks-on "$addr" "$work/post.lua"
  scrape "$work/idempotent-before.$round"
  written_before=$(written_bytes)
  run checks-on-idempotent "$addr" "$work/idempotent.lua"
  scrape "$work/idempotent-after.$round"
  echo "written $(( $(written_bytes) - written_before ))" >"$work/idempotent-written.$round"
  run checks-on-1conn "$addr" "$work/post.lua" 1
  stop_gateway
  start_gateway native-checks true "" "" "$work/payseal-native-checks"
  run native-checks-on "$addr" "$work/post.lua"
  run native-checks-on-1conn "$addr" "$work/post.lua" 1
  stop_gateway
  start_gateway redis true "url = \"redis://127.0.0.1:$redis_port/0\"
prefix = \"bench$round\""
  run redis-checks-on "$addr" "$work/post.lua"
  run redis-idempotent "$addr" "$work/idempotent.lua"
  stop_gateway
  start_gateway tls-proxy false "" "$tls"
  run tls-pure-proxy "$addr" "$work/post.lua" "$connections" https
  stop_gateway
  start_gateway tls-checks true "" "$tls"
  run tls-checks-on "$addr" "$work/post.lua" "$connections" https
  stop_gateway
done

# field NAME I: the median over the rounds of column I (2 rps, 3 p50, 4 p99) of run NAME.
field() {
  printf '%s\n' "${results[@]}" | awk -v n="$1" -v i="$2" '$1 == n {print $i}' | sort -g |
    awk '{v[NR] = $1} END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# every round's figures of NAME's column I, for the record.
rounds_of() { printf '%s\n' "${results[@]}" | awk -v n="$1" -v i="$2" '$1 == n {printf "%s%.0f", sep, $i; sep = " "}'; }
proxy_rps=$(field pure-proxy 2); proxy_p50=$(field pure-proxy 3); proxy_p99=$(field pure-proxy 4)
echo
echo "medians of $rounds rounds; ratios to the pure proxy"
printf '%-22s %12s %10s %10s %12s %12s %12s   %s\n' run "req/s" "p50 us" "p99 us" "rps/proxy" "p50/proxy" "p99/proxy" "req/s of each round"
for name in $(printf '%s\n' "${results[@]}" | awk '!seen[$1]++ {print $1}'); do
  awk -v n="$name" -v r="$(field "$name" 2)" -v a="$(field "$name" 3)" -v b="$(field "$name" 4)" -v R="$proxy_rps" -v A="$proxy_p50" -v B="$proxy_p99" \
    -v each="$(rounds_of "$name" 2)" \
    'BEGIN { printf "%-22s %12.0f %10.0f %10.0f %12.2f %12.2f %12.2f   %s\n", n, r, a, b, r / R, a / A, b / B, each }'
done
echo
awk -v r="$(field checks-on 2)" -v R="$proxy_rps" -v a="$(field checks-on 3)" -v A="$proxy_p50" \
    -v b="$(field checks-on 4)" -v B="$proxy_p99" -v n="$(field native-checks-on 2)" \
    -v i="$(field checks-on-idempotent 2)" \
    -v a1="$(field checks-on-1conn 3)" -v A1="$(field pure-proxy-1conn 3)" 'BEGIN {
  ratio = r / R; added = a - A; added1 = a1 - A1;
  verdict = "met"; if (ratio < 0.8) verdict = "missed";
  printf "checks on, 64 connections: %.2f of pure-proxy throughput (goal >= 0.80): %s; %+.0f us at p50 (saturated)\n", ratio, verdict, added;
  verdict = "met"; if (r / n < 0.95) verdict = "missed";
  printf "checks on, 64 connections: %.2f of the natively linked checks (goal >= 0.95): %s\n", r / n, verdict;
  verdict = "met"; if (b / B > 1.1) verdict = "missed";
  printf "checks on, 64 connections: p99 %.2f x the pure proxy'"'"'s (goal <= 1.1): %s\n", b / B, verdict;
  verdict = "met"; if (added1 > 30) verdict = "missed";
  printf "checks on, 1 connection: %+.0f us at p50 over the pure proxy (goal <= +30 us): %s\n", added1, verdict;
  verdict = "met"; if (i / R < 0.5) verdict = "missed";
  printf "idempotent, fresh key per request, redb: %.2f of pure-proxy throughput (goal >= 0.50): %s\n", i / R, verdict }'
echo
# ratios TITLE BASE-LABEL "RUN BASE"...: a table of each run's rps, p50 and
# p99 as ratios to its base run.
ratios() {
  local title=$1 label=$2 pair name base
  shift 2
  echo "$title"
  printf '%-42s %12s %12s %12s\n' run "rps/$label" "p50/$label" "p99/$label"
  for pair in "$@"; do
    read -r name base <<<"$pair"
    awk -v n="$name vs $base" -v r="$(field "$name" 2)" -v a="$(field "$name" 3)" -v b="$(field "$name" 4)" \
        -v R="$(field "$base" 2)" -v A="$(field "$base" 3)" -v B="$(field "$base" 4)" \
      'BEGIN { printf "%-42s %12.2f %12.2f %12.2f\n", n, r / R, a / A, b / B }'
  done
}
# Where an idempotent request's time goes: the gateway's own histograms,
# differenced around the idempotent runs (all rounds), as mean per request.
echo "where the idempotent runs' time goes (gateway histograms, mean per forwarded request, all rounds):"
for round in $(seq "$rounds"); do
  cat "$work/idempotent-before.$round" | sed 's/^/- /'
  cat "$work/idempotent-after.$round" | sed 's/^/+ /'
  cat "$work/idempotent-written.$round"
done | awk '
  $1 == "written" { written += $2 }
  /^[-+] payseal_(store_op|plugin_call|upstream)_seconds_(sum|count)/ {
    sign = ($1 == "+") ? 1 : -1; key = $2; sub(/_(sum|count)/, "", key)
    if ($2 ~ /_sum/) sum[key] += sign * $3; else count[key] += sign * $3 }
  END {
    requests = count["payseal_upstream_seconds"]
    if (requests <= 0) { print "  (no metrics scraped)"; exit }
    for (k in count) if (count[k] > 0) {
      name = k; sub(/^payseal_/, "", name); sub(/_seconds/, "", name)
      printf "  %-44s %6.2f per request, mean %8.1f us, %8.1f us per request\n", name, count[k] / requests, sum[k] / count[k] * 1e6, sum[k] / requests * 1e6 }
    printf "  %-44s %6.1f KB per request (the process'"'"'s write_bytes)\n", "store writes", written / requests / 1000
  }' | sort
echo
ratios "store on Redis, as ratios to the same run on the embedded store (redb):" redb \
  "redis-checks-on checks-on" "redis-idempotent checks-on-idempotent"
echo
ratios "TLS on the listener (keep-alive), as ratios to the same run over plain HTTP (goal: rps >= 0.8):" plain \
  "tls-pure-proxy pure-proxy" "tls-checks-on checks-on"
echo
ratios "the checks in wasm, as ratios to the same checks linked natively (goal: rps >= 0.95):" native \
  "checks-on native-checks-on" "checks-on-1conn native-checks-on-1conn"
