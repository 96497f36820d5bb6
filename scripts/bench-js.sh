#!/usr/bin/env bash
# `npm run bench`: the JS benchmark (js/bench/bench.js) against node:crypto,
# WebCrypto, @noble/hashes, hash-wasm, stripe and standardwebhooks, then, in
# the same run, the sizes of every shipped .wasm and of the tarball and the
# import cost in Node and workerd beside the runtime's own crypto
# (js/bench/weight.js). Ratios only, printed; nothing is asserted. Builds the
# package first when pkg/ or dist/npm is missing (`npm ci` must have run).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f pkg/cjs/index.js ] || [ ! -f pkg/esm/node.js ] || [ ! -f dist/npm/package.json ]; then
  bash scripts/build-wasm.sh
fi
exec node js/bench/bench.js "$@"
