#!/usr/bin/env bash
# Tests the npm package `payseal` on a machine with rustup, cargo, node and npm.
#
# Installs what it needs (the wasm32 target, wasm-bindgen-cli 0.2.130, the npm
# devDependencies with `npm ci`: typescript, binaryen's wasm-opt, esbuild,
# workerd, deno, bun, express, hono), builds the package once, packs it with
# `npm pack` and installs the tarball into a scratch consumer project
# (target/js-consumer), so every suite imports "payseal" exactly as a user
# would. Then, one `payseal-summary: <suite> N passed, M failed` line each:
#   js-tsc       tsc --noEmit on the examples (types shipped in the package;
#                ESM and CJS; lib es2022, esnext, es2022+dom; skipLibCheck false)
#   js-node      the vector runner, the renewal cases (SecretRenewer,
#                requestSecretRenewal) and the webhook cases (svix-branded
#                headers from the real `svix` package, stripe-node's and
#                standard-webhooks' own tests translated, the seen hook, the
#                helpful TypeErrors) and the subpaths (payseal/webhooks,
#                /signing, /redirect, /keys: their exports, the one
#                PaysealError, the webhook cases again through
#                payseal/webhooks) under node --test (import and require)
#   js-workerd   the same runner and cases inside workerd (npm `workerd`, `workerd serve`)
#   js-deno      the same runner and cases under Deno (npm `deno`)
#   js-bun       the same runner and cases under Bun (npm `bun`)
#   js-edge      the same runner and cases in the Vercel / Next.js edge runtime
#                (npm `@edge-runtime/vm`, the `edge-light` condition)
#   js-api       behaviour of the JS layer (argument forms, errors, freeing),
#                and browser bundles that refuse at import
#   js-canary    no secret in any error, inspect, JSON or property
#   js-examples  the Express receiver and the Hono Worker (in workerd), for real
# A runtime that is missing or crashes is a failure, never a skip. Exits
# non-zero when anything failed.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR=never NO_COLOR=1 FORCE_COLOR=0

rustup target add wasm32-unknown-unknown
npm ci --no-audit --no-fund
bash scripts/build-wasm.sh

BIN="$ROOT/node_modules/.bin"
CONSUMER="$ROOT/target/js-consumer"
rm -rf "$CONSUMER"
mkdir -p "$CONSUMER/node_modules/payseal"
tarball=$(npm pack --silent --pack-destination "$CONSUMER" ./dist/npm)
tar -xzf "$CONSUMER/$tarball" -C "$CONSUMER/node_modules/payseal" --strip-components=1
cp -r js/test "$CONSUMER/test"
cp -r js/examples "$CONSUMER/examples"
printf '{\n  "name": "payseal-consumer",\n  "private": true,\n  "type": "module"\n}\n' > "$CONSUMER/package.json"

export PAYSEAL_VECTORS="$ROOT/tests/vectors"
export WORKERD_BIN="$BIN/workerd"
LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
# Webhook fixtures signed now by the real svix and stripe packages (Node), for
# the runtimes that cannot load those packages themselves.
export PAYSEAL_WEBHOOK_FIXTURES="$LOGS/webhook-fixtures.json"
# A failure here (svix or stripe missing) fails every suite that reads them.
(cd "$CONSUMER" && node test/webhook-fixtures.js) > "$PAYSEAL_WEBHOOK_FIXTURES" ||
  echo "test-js: the webhook fixtures could not be made (are svix and stripe installed?)"
status=0

# suite NAME COMMAND...: runs a suite in the consumer project; when the command
# fails without printing its own summary line, prints a failing one for it.
suite() {
  local name=$1
  shift
  echo "=== $name"
  local rc=0
  (cd "$CONSUMER" && "$@") > "$LOGS/$name.log" 2>&1 || rc=$?
  grep -v '^payseal-summary:' "$LOGS/$name.log" | tail -n 200 || true
  local line
  line=$(grep -E "^payseal-summary: $name [0-9]+ passed, [0-9]+ failed$" "$LOGS/$name.log" | tail -n 1 || true)
  if [ -z "$line" ]; then
    line="payseal-summary: $name 0 passed, 1 failed"
  elif [ "$rc" -ne 0 ] && [[ "$line" =~ " 0 failed"$ ]]; then
    line="${line% 0 failed} 1 failed"
  fi
  echo "$line"
  if [ "$rc" -ne 0 ] || ! [[ "$line" =~ " 0 failed"$ ]] || [[ "$line" =~ " 0 passed," ]]; then
    status=1
  fi
}

# The examples (ESM usage.ts, CommonJS usage-cjs.cts, the Express and Hono
# examples) against the shipped .d.ts, skipLibCheck false: lib es2022 with
# @types/node, lib esnext, and lib es2022 + dom without @types/node.
tsc_check() {
  local passed=0 failed=0 config
  for config in tsconfig.json tsconfig.esnext.json tsconfig.dom.json; do
    if "$BIN/tsc" -p "$ROOT/$config"; then
      passed=$((passed + 1))
    else
      echo "tsc -p $config failed"
      failed=$((failed + 1))
    fi
  done
  echo "payseal-summary: js-tsc $passed passed, $failed failed"
  [ "$failed" -eq 0 ]
}

node_tests() {
  local name=$1
  shift
  PAYSEAL_SUITE=$name node --test \
    --test-reporter=spec --test-reporter-destination=stderr \
    --test-reporter=./test/summary-reporter.js --test-reporter-destination=stdout "$@"
}

suite js-tsc tsc_check
suite js-node node_tests js-node test/vectors.node.test.js test/renewal.node.test.js test/webhooks.node.test.js \
  test/subpaths.node.test.js
suite js-workerd node test/run-workerd.js
suite js-deno "$BIN/deno" run --allow-read="$PAYSEAL_VECTORS,$PAYSEAL_WEBHOOK_FIXTURES" \
  --allow-env=PAYSEAL_VECTORS,PAYSEAL_WEBHOOK_FIXTURES test/run-standalone.js js-deno
suite js-bun "$BIN/bun" test/run-standalone.js js-bun
suite js-edge node test/run-edge.js
suite js-api node_tests js-api test/api.node.test.js test/browser.node.test.js
suite js-canary node_tests js-canary test/canary.node.test.js
suite js-examples node_tests js-examples test/examples.node.test.js

exit "$status"
