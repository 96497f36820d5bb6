#!/usr/bin/env bash
# `npm run bench`: the JS benchmark (js/bench/bench.js) against node:crypto,
# WebCrypto, @noble/hashes, hash-wasm, stripe and standardwebhooks. Builds the
# package first when pkg/ is missing (`npm ci` must have run).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f pkg/cjs/index.js ] || [ ! -f pkg/esm/node.js ]; then
  bash scripts/build-wasm.sh
fi
exec node js/bench/bench.js "$@"
