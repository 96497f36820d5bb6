#!/usr/bin/env bash
# Runs every test of payseal on a machine that has rustup, cargo, node and npm;
# installs what else it needs. Ends with one line: "N passed, M failed".
#
# Each suite prints its own counts; this script sums them. A suite that fails
# to run at all counts as one failure, so nothing is skipped silently.
set -uo pipefail
cd "$(dirname "$0")"
export CARGO_TERM_COLOR=never
# A clean clone in CI builds everything once: incremental caches would only
# double the target dir's size on the disk (18 GB of 74 GB measured here).
if [ -n "${CI:-}" ]; then
  export CARGO_INCREMENTAL=0
fi
LOG_DIR=$(mktemp -d)
trap 'rm -rf "$LOG_DIR"' EXIT
passed=0
failed=0
failures=()

# Adds the counts a suite printed: cargo's "test result:" lines and our
# "payseal-summary: <suite> N passed, M failed" lines.
count() {
  local log=$1 p f
  p=$(grep -hoE '^test result: [a-zA-Z]+\. [0-9]+ passed' "$log" | awk '{s+=$4} END {print s+0}')
  f=$(grep -hoE '^test result: [a-zA-Z]+\. [0-9]+ passed; [0-9]+ failed' "$log" | awk '{s+=$6} END {print s+0}')
  p=$((p + $(grep -hoE '^payseal-summary: [^ ]+ [0-9]+ passed' "$log" | awk '{s+=$3} END {print s+0}')))
  f=$((f + $(grep -hoE '^payseal-summary: [^ ]+ [0-9]+ passed, [0-9]+ failed' "$log" | awk '{s+=$5} END {print s+0}')))
  echo "$p $f"
}

# suite NAME COMMAND...: runs a suite that reports counts.
suite() {
  local name=$1; shift
  local log="$LOG_DIR/$name.log"
  echo "=== $name: $*"
  "$@" 2>&1 | tee "$log"
  local status=${PIPESTATUS[0]}
  read -r p f < <(count "$log")
  passed=$((passed + p))
  failed=$((failed + f))
  if [ "$status" -ne 0 ] && [ "$f" -eq 0 ]; then
    failed=$((failed + 1)); failures+=("$name (exit $status)")
  elif [ "$f" -gt 0 ]; then
    failures+=("$name ($f failed)")
  elif [ "$p" -eq 0 ]; then
    failed=$((failed + 1)); failures+=("$name (ran no test)")
  fi
}

# check NAME COMMAND...: a pass/fail step that is one test.
check() {
  local name=$1; shift
  echo "=== $name: $*"
  if "$@" 2>&1 | tee "$LOG_DIR/$name.log"; [ "${PIPESTATUS[0]}" -eq 0 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1)); failures+=("$name")
  fi
}

check rustup-wasm-target rustup target add wasm32-unknown-unknown
check core-builds-for-wasm32-no-std cargo build --locked -p payseal-core --target wasm32-unknown-unknown
# The plugin .wasm is built once, here: the cargo tests of its hosts read it.
# (scripts/test-js.sh builds the npm package once and reuses it for every runtime.)
if [ -e scripts/build-plugin.sh ]; then
  check build-plugin bash scripts/build-plugin.sh
fi
check clippy cargo clippy --locked --workspace --all-targets -- -D warnings
# The gateway's modules import each other without a circle; lifecycle and
# tokens never import the proxy, the admin router or the composition root.
check use-graph python3 scripts/check-use-graph.py plugin-host/src \
  --forbid lifecycle:proxy,admin,server --forbid tokens:proxy,admin,server
# Unit, property, secret-hygiene and native vector tests; benches run once each in test mode.
suite rust cargo test --locked --no-fail-fast --workspace --all-targets
suite rust-doc cargo test --locked --no-fail-fast --workspace --doc
for script in scripts/test-*.sh; do
  [ -e "$script" ] || continue
  name=$(basename "$script" .sh)
  suite "${name#test-}" bash "$script"
done

echo
echo "target dir: $(du -sh "${CARGO_TARGET_DIR:-target}" 2>/dev/null | cut -f1); disk free: $(df -h . | awk 'NR==2 {print $4}')"
if [ "${#failures[@]}" -gt 0 ]; then
  echo "failed suites: ${failures[*]}"
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
