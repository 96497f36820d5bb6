# Sourced by the gateway benchmarks (bench-gateway.sh, bench-gate-attacks.sh,
# bench-renewal-timing.sh): builds the release gateway and the plugin once,
# and gives each script the same scaffolding:
#   $root $target_dir $payseal $wasm   the repository and the built artifacts
#   $work, pids+=(PID)                 a scratch directory and the processes to
#                                      stop; both go at exit (a script with
#                                      more to stop defines bench_cleanup first)
#   wait_line FILE                     the first line of FILE once written (60 s)
#   start_demo_upstream                starts `payseal demo-upstream`; sets $upstream
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
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
  if declare -F bench_cleanup >/dev/null; then bench_cleanup; fi
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

start_demo_upstream() {
  "$payseal" demo-upstream --listen 127.0.0.1:0 >"$work/upstream.out" 2>&1 &
  pids+=($!)
  upstream=$(wait_line "$work/upstream.out" | sed -E 's#.*http://([^ ]+).*#\1#')
}
