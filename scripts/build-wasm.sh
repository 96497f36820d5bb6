#!/usr/bin/env bash
# Builds the npm package `payseal` into pkg/ (git-ignored):
#   1. the `payseal-wasm` crate for wasm32-unknown-unknown (release);
#   2. wasm-bindgen 0.2.130 glue, twice: ES module (`--target web`) for
#      workerd, Deno and browsers, CommonJS (`--target nodejs`) for Node/Bun;
#   3. wasm-opt from npm `binaryen` (never Debian's, which corrupts
#      wasm-bindgen 0.2.13x output);
#   4. tsc: js/src → pkg/esm and pkg/cjs (with .d.ts), plus the entry files.
# Needs `npm ci` first (for binaryen and typescript). Installs wasm-bindgen-cli
# when the one on PATH is not exactly 0.2.130 (about 4 minutes, once).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WASM_BINDGEN_VERSION=0.2.130
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
export PATH="$HOME/.cargo/bin:$PATH"

if ! rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown
fi
if [ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
  echo "build-wasm: installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (one-time, a few minutes)"
  # Not --locked: its lockfile names a webpki-roots version the registry lacks.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION"
fi
for tool in wasm-opt tsc; do
  [ -x "node_modules/.bin/$tool" ] || { echo "build-wasm: node_modules/.bin/$tool missing: run npm ci first" >&2; exit 1; }
done

echo "build-wasm: cargo build -p payseal-wasm --target wasm32-unknown-unknown --release"
cargo build --locked -p payseal-wasm --target wasm32-unknown-unknown --release
WASM_IN="$TARGET_DIR/wasm32-unknown-unknown/release/payseal_wasm.wasm"

rm -rf pkg/esm pkg/cjs
mkdir -p pkg/esm/wasm pkg/cjs/wasm
wasm-bindgen --target web --out-dir pkg/esm/wasm --out-name payseal_wasm "$WASM_IN"
wasm-bindgen --target nodejs --out-dir pkg/cjs/wasm --out-name payseal_wasm "$WASM_IN"
for dir in pkg/esm/wasm pkg/cjs/wasm; do
  node_modules/.bin/wasm-opt -O3 --strip-debug --strip-producers \
    "$dir/payseal_wasm_bg.wasm" -o "$dir/payseal_wasm_bg.wasm"
  rm -f "$dir/payseal_wasm_bg.wasm.d.ts"
done

node_modules/.bin/tsc -p js/tsconfig.esm.json
node_modules/.bin/tsc -p js/tsconfig.cjs.json
printf '{\n  "type": "commonjs"\n}\n' > pkg/cjs/package.json
cp js/entries/workerd.js js/entries/deno.js js/entries/browser.js pkg/esm/
names=$(node -e 'console.log(Object.keys(require(process.argv[1])).filter((n) => n !== "__esModule").join(", "))' "$ROOT/pkg/cjs/index.js")
sed "s/@NAMES@/$names/" js/entries/node-esm.js.in > pkg/esm/node.js

raw=$(wc -c < pkg/esm/wasm/payseal_wasm_bg.wasm)
gz=$(gzip -9c pkg/esm/wasm/payseal_wasm_bg.wasm | wc -c)
echo "build-wasm: pkg/ ready; payseal_wasm_bg.wasm $raw bytes ($((raw / 1024)) KiB), gzip -9 $gz bytes ($((gz / 1024)) KiB)"
