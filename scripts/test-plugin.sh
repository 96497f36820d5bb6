#!/usr/bin/env bash
# Runs the plugin's conformance plan in the JavaScript (@extism/extism on Node)
# and Python (extism on PyPI) hosts: every vector case, the canary check and a
# runaway call. The Rust host runs in `cargo test` (plugin/conformance/tests).
# Prints one line per suite:
#   payseal-summary: plugin-js N passed, M failed
#   payseal-summary: plugin-python N passed, M failed
# A host that cannot be installed or started counts as a failed suite.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target_dir=${CARGO_TARGET_DIR:-target}
case "$target_dir" in
  /*) out="$target_dir/wasm32-unknown-unknown/release" ;;
  *) out="$root/$target_dir/wasm32-unknown-unknown/release" ;;
esac
wasm="$out/payseal_plugin.wasm"
slow="$out/payseal_plugin_slow.wasm"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0

# suite NAME COMMAND...: runs a host; a host that ends without its summary
# line (it could not start) is reported as one failure.
suite() {
  local name=$1; shift
  echo "=== $name: $*"
  local rc=0
  "$@" 2>&1 | tee "$work/$name.log" || rc=$?
  if ! grep -q "^payseal-summary: $name " "$work/$name.log"; then
    echo "payseal-summary: $name 0 passed, 1 failed"
    rc=1
  fi
  [ "$rc" -eq 0 ] || status=1
}

bash scripts/build-plugin.sh >/dev/null
cargo run --locked -q -p payseal-plugin-conformance --bin payseal-plugin-plan "$work/plan.json"

js_host() {
  (cd plugin-tests/js && npm ci --no-audit --no-fund --loglevel=error)
  node plugin-tests/js/run.mjs "$work/plan.json" "$wasm" "$slow"
}

python_host() {
  local venv=plugin-tests/.venv
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check extism==1.1.1
  "$venv/bin/python" plugin-tests/python/run.py "$work/plan.json" "$wasm" "$slow"
}

suite plugin-js js_host
suite plugin-python python_host
exit "$status"
