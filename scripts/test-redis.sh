#!/usr/bin/env bash
# The gateway on Redis (plugin-host/, issue "several gateway instances on
# Redis"): the shared store test suite on RedisStore, and the multi-process
# tests of plugin-host/tests/redis.rs (two gateways on one Redis, revocation
# across gateways within the bound, revokes and edits of one key racing
# through two gateways, Redis hung / killed / restarted under load), on one
# server and on a Redis Cluster. Those tests are #[ignore]d in the plain
# `cargo test`; this script
# runs them against a real redis-server:
#   - installs redis-server and redis-cli (Debian's redis-server and
#     redis-tools) when either is missing, and fails (never skips) if that
#     does not provide both,
#   - starts it on a free loopback port (no persistence: tests use their own
#     key prefixes; the outage test starts a server of its own),
#   - runs `cargo test -p payseal-gateway --lib --test redis -- --ignored`
#     (with --nocapture: the tests print what they measured),
#   - then the shared store suite again over TLS (`rediss://`): a second
#     server with --tls-port only, its certificate from a CA that openssl
#     makes here (no key is committed), trusted through PAYSEAL_REDIS_CA,
#   - then on a Redis Cluster of three masters (`--cluster-enabled yes`, each
#     node in a directory of its own, `redis-cli --cluster create`): the
#     store suite, and the multi-gateway tests (64-way exactly-once over two
#     gateways among them) with `store.cluster` = PAYSEAL_REDIS_CLUSTER;
#     and the store suite once more on a TLS-only cluster (`rediss://`),
#   - stops the servers (trap), and prints one line:
#       payseal-summary: redis N passed, M failed
# Works with CARGO_TARGET_DIR set or unset.
set -uo pipefail
cd "$(dirname "$0")/.."
# The tests find the plugin under CARGO_TARGET_DIR from the crate's
# directory: a relative one is made absolute first.
case "${CARGO_TARGET_DIR:-}" in
  "" | /*) ;;
  *) export CARGO_TARGET_DIR="$(pwd)/$CARGO_TARGET_DIR" ;;
esac
work=$(mktemp -d)
# Every server writes its pid file as $work/*.pid: the trap stops them all.
pidfile="$work/redis.pid"
tls_pidfile="$work/redis-tls.pid"
cleanup() {
  local pid file
  for file in "$work"/*.pid; do
    pid=$(cat "$file" 2>/dev/null)
    if [ -n "$pid" ]; then
      kill "$pid" 2>/dev/null
      for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
  done
  rm -rf "$work"
}
trap cleanup EXIT

give_up() {
  echo "redis: $1"
  echo "payseal-summary: redis 0 passed, 1 failed"
  exit 1
}

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "installing redis-server and redis-cli"
  { apt-get update -qq && apt-get install -y --no-install-recommends redis-server redis-tools; } >"$work/apt.log" 2>&1 \
    || { cat "$work/apt.log"; give_up "cannot install redis-server"; }
fi
for tool in redis-server redis-cli; do
  command -v "$tool" >/dev/null 2>&1 || give_up "$tool is not on PATH (the install did not provide it)"
done

# A free loopback port; with an argument, one whose port + that offset is
# free too (a cluster node's bus listens on its port + 10000).
free_port() {
  python3 - "${1:-0}" <<'PY'
import socket, sys
offset = int(sys.argv[1])
for _ in range(100):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    if offset == 0:
        print(port); sys.exit(0)
    if port + offset < 65536:
        b = socket.socket()
        try:
            b.bind(("127.0.0.1", port + offset)); print(port); sys.exit(0)
        except OSError:
            pass
        finally:
            b.close()
    s.close()
sys.exit(1)
PY
}

bash scripts/build-plugin.sh >"$work/plugin.log" 2>&1 || { cat "$work/plugin.log"; give_up "the plugin does not build (scripts/build-plugin.sh)"; }

port=$(free_port)
redis-server --daemonize yes --bind 127.0.0.1 --port "$port" --save '' --appendonly no \
  --dir "$work" --pidfile "$pidfile" --logfile "$work/redis.log" || give_up "redis-server did not start"
for _ in $(seq 100); do
  [ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] && break
  sleep 0.1
done
[ "$(redis-cli -p "$port" ping 2>/dev/null)" = PONG ] || { cat "$work/redis.log"; give_up "redis-server does not answer on port $port"; }

export PAYSEAL_REDIS_URL="redis://127.0.0.1:$port/0"
cargo test --locked -p payseal-gateway --lib --test redis -- --ignored --nocapture >"$work/test.log" 2>&1
status=$?

# The same store suite over TLS. Test certificates, made here.
tls_port=$(free_port)
{
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -keyout "$work/ca.key" -out "$work/ca.pem" -subj "/CN=payseal test Redis CA" &&
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$work/redis.key" -out "$work/redis.csr" -subj "/CN=localhost" &&
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >"$work/san.ext" &&
  openssl x509 -req -in "$work/redis.csr" -CA "$work/ca.pem" -CAkey "$work/ca.key" -CAcreateserial \
    -days 2 -extfile "$work/san.ext" -out "$work/redis.pem"
} >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log"; give_up "openssl cannot make the test certificates"; }
redis-server --daemonize yes --bind 127.0.0.1 --port 0 --tls-port "$tls_port" \
  --tls-cert-file "$work/redis.pem" --tls-key-file "$work/redis.key" --tls-ca-cert-file "$work/ca.pem" \
  --tls-auth-clients no --save '' --appendonly no \
  --dir "$work" --pidfile "$tls_pidfile" --logfile "$work/redis-tls.log" || give_up "redis-server with TLS did not start"
for _ in $(seq 100); do
  [ "$(redis-cli --tls --cacert "$work/ca.pem" -p "$tls_port" ping 2>/dev/null)" = PONG ] && break
  sleep 0.1
done
[ "$(redis-cli --tls --cacert "$work/ca.pem" -p "$tls_port" ping 2>/dev/null)" = PONG ] \
  || { cat "$work/redis-tls.log"; give_up "redis-server does not answer TLS on port $tls_port"; }
# Every test here, the two that look at the keys too, connects the way the
# store does: TLS with the CA of PAYSEAL_REDIS_CA.
PAYSEAL_REDIS_URL="rediss://localhost:$tls_port/0" PAYSEAL_REDIS_CA="$work/ca.pem" \
  cargo test --locked -p payseal-gateway --lib store::redis -- --ignored >>"$work/test.log" 2>&1 || status=1
# start_cluster NAME [tls]: a Redis Cluster of three masters, no replicas
# (every key of a script is in one slot, whichever master owns it), with
# `tls`: TLS only (the certificate above, --tls-cluster for the bus). Nodes
# get ports whose bus port (+10000) is free as well and directories of their
# own (nodes.conf); waits for cluster_state:ok on every node; sets
# cluster_seeds to the comma-separated seed URLs.
start_cluster() {
  local name=$1 tls=${2:-} node_port node_dir node scheme=redis
  local -a nodes=() urls=() cli=(redis-cli) listen
  if [ -n "$tls" ]; then
    cli+=(--tls --cacert "$work/ca.pem")
    scheme=rediss
  fi
  for _ in 1 2 3; do
    node_port=$(free_port 10000) || give_up "no free port pair for a $name node"
    node_dir="$work/$name-$node_port"
    mkdir -p "$node_dir"
    if [ -n "$tls" ]; then
      listen=(--port 0 --tls-port "$node_port" --tls-cluster yes --tls-cert-file "$work/redis.pem"
        --tls-key-file "$work/redis.key" --tls-ca-cert-file "$work/ca.pem" --tls-auth-clients no)
    else
      listen=(--port "$node_port")
    fi
    redis-server --daemonize yes --bind 127.0.0.1 "${listen[@]}" --cluster-enabled yes \
      --cluster-config-file "$node_dir/nodes.conf" --cluster-node-timeout 5000 --save '' --appendonly no \
      --dir "$node_dir" --pidfile "$work/$name-$node_port.pid" --logfile "$node_dir/redis.log" \
      || give_up "a $name node did not start on port $node_port"
    nodes+=("127.0.0.1:$node_port")
    urls+=("$scheme://127.0.0.1:$node_port")
  done
  for node in "${nodes[@]}"; do
    for _ in $(seq 100); do
      [ "$("${cli[@]}" -p "${node##*:}" ping 2>/dev/null)" = PONG ] && break
      sleep 0.1
    done
    [ "$("${cli[@]}" -p "${node##*:}" ping 2>/dev/null)" = PONG ] \
      || { cat "$work/$name-${node##*:}/redis.log"; give_up "$name node $node does not answer"; }
  done
  "${cli[@]}" --cluster create "${nodes[@]}" --cluster-replicas 0 --cluster-yes >"$work/$name-create.log" 2>&1 \
    || { cat "$work/$name-create.log"; give_up "redis-cli --cluster create failed ($name)"; }
  local ok=""
  for _ in $(seq 200); do
    ok=yes
    for node in "${nodes[@]}"; do
      "${cli[@]}" -p "${node##*:}" cluster info 2>/dev/null | grep -q '^cluster_state:ok' || { ok=""; break; }
    done
    [ -n "$ok" ] && break
    sleep 0.1
  done
  [ -n "$ok" ] || { cat "$work/$name-create.log"; give_up "$name did not reach cluster_state:ok"; }
  cluster_seeds=$(IFS=,; echo "${urls[*]}")
  echo "redis $name: ${nodes[*]} (cluster_state:ok)"
}

# The store suite and the multi-gateway tests on a cluster (the outage test
# stops a single server of its own: nothing of the cluster).
start_cluster cluster
PAYSEAL_REDIS_CLUSTER=$cluster_seeds \
  cargo test --locked -p payseal-gateway --lib --test redis -- --ignored --nocapture \
  --skip redis_stopped_slow_and_restarted >>"$work/test.log" 2>&1 || status=1
# The store suite on a cluster over TLS: [store.tls] for every node.
start_cluster tls-cluster tls
PAYSEAL_REDIS_CLUSTER=$cluster_seeds PAYSEAL_REDIS_CA="$work/ca.pem" \
  cargo test --locked -p payseal-gateway --lib store::redis -- --ignored >>"$work/test.log" 2>&1 || status=1

# Shown indented: test.sh counts the summary line below, not cargo's lines
# (counting both would count every test twice).
sed 's/^/  /' "$work/test.log"

# Every `test result:` line of this run (the lib's ignored tests, then
# tests/redis.rs): these tests run nowhere else.
passed=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($(i) ~ /^passed;?$/) n += $(i - 1) } END { print n + 0 }' "$work/test.log")
failed=$(awk '/^test result:/ { for (i = 1; i <= NF; i++) if ($(i) ~ /^failed;?$/) n += $(i - 1) } END { print n + 0 }' "$work/test.log")
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1
fi
echo "payseal-summary: redis $passed passed, $failed failed"
exit "$status"
