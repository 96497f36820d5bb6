#!/usr/bin/env bash
# Builds the npm package `payseal` into pkg/ (git-ignored):
#   1. the `payseal-wasm` crate for wasm32-unknown-unknown (release);
#   2. wasm-bindgen 0.2.130 glue, twice: ES module (`--target web`) for
#      workerd, Deno, Vercel edge, CommonJS (`--target nodejs`) for Node/Bun;
#      both bind the same .wasm, so the package ships it once
#      (pkg/esm/wasm/payseal_wasm_bg.wasm; the CommonJS glue reads it there);
#   3. wasm-opt from npm `binaryen` (never Debian's, which corrupts
#      wasm-bindgen 0.2.13x output);
#   4. tsc: js/src → pkg/esm and pkg/cjs (with .d.ts), plus the entry files;
#   5. dist/npm: what is published (package.json, js/README.md, licenses, pkg/).
#
# Prerequisites: Rust through rustup (1.89 or newer, Cargo.toml's
# rust-version), the wasm32-unknown-unknown target (added here when
# missing), wasm-bindgen-cli 0.2.130 (installed here when the one on PATH is
# another version: about 4 minutes, once), and `npm ci` (binaryen, typescript).
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

# SIMD128: sha2's wasm32 simd128 backend (SHA-256 message schedule), ×1.3 on
# HMAC-SHA256 at 1 KiB. Every runtime the package supports has it (V8: Node,
# Deno, workerd, the Vercel edge runtime; JavaScriptCore: Bun).
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128"
# module NAME FEATURES: builds the payseal-wasm crate with FEATURES and binds
# it into pkg/esm/NAME/wasm (ES module glue and the one .wasm) and
# pkg/cjs/NAME/wasm (CommonJS glue reading that .wasm); NAME "." is the full
# module of `payseal` itself.
module() {
  local name=$1 features=$2 esm=pkg/esm/$1/wasm cjs=pkg/cjs/$1/wasm up
  echo "build-wasm: cargo build -p payseal-wasm --release --features $features (module $name, +simd128)"
  cargo build --locked -p payseal-wasm --target wasm32-unknown-unknown --release --no-default-features --features "$features"
  # Copied at once: the next build writes the same path.
  cp "$TARGET_DIR/wasm32-unknown-unknown/release/payseal_wasm.wasm" "$SCRATCH/module.wasm"
  mkdir -p "$esm" "$cjs"
  wasm-bindgen --target web --out-dir "$esm" --out-name payseal_wasm "$SCRATCH/module.wasm"
  wasm-bindgen --target nodejs --out-dir "$cjs" --out-name payseal_wasm "$SCRATCH/module.wasm"
  # One .wasm for both: wasm-bindgen writes the same module for either target.
  cmp -s "$esm/payseal_wasm_bg.wasm" "$cjs/payseal_wasm_bg.wasm" ||
    { echo "build-wasm: the web and nodejs targets produced different .wasm files" >&2; exit 1; }
  rm "$cjs/payseal_wasm_bg.wasm" "$esm/payseal_wasm_bg.wasm.d.ts" "$cjs/payseal_wasm_bg.wasm.d.ts"
  grep -q 'const wasmPath = `${__dirname}/payseal_wasm_bg.wasm`;' "$cjs/payseal_wasm.js" ||
    { echo "build-wasm: the nodejs glue no longer reads the .wasm as expected" >&2; exit 1; }
  if [ "$name" = . ]; then up='"..", ".."'; else up='"..", "..", ".."'; fi
  sed -i "s|const wasmPath = \`\${__dirname}/payseal_wasm_bg.wasm\`;|const wasmPath = require(\"path\").join(__dirname, $up, \"esm\", \"$name\", \"wasm\", \"payseal_wasm_bg.wasm\");|" \
    "$cjs/payseal_wasm.js"
  # -Oz: as fast as -O3 on this module (HMAC-SHA256 at 1 KiB), and smaller.
  node_modules/.bin/wasm-opt -Oz --enable-simd --strip-debug --strip-producers \
    "$esm/payseal_wasm_bg.wasm" -o "$esm/payseal_wasm_bg.wasm"
}

# entries DIR MODULE CJS_MODULE: the runtime entry files of one export path.
entries() {
  local dir=$1 module=$2 cjs=$3 names
  for entry in workerd deno edge-light browser; do
    sed "s|\./index\.js|./$module.js|" "js/entries/$entry.js" > "$dir/$entry.js"
  done
  names=$(node -e 'console.log(Object.keys(require(process.argv[1])).filter((n) => n !== "__esModule").join(", "))' "$ROOT/$cjs")
  sed -e "s/@NAMES@/$names/" -e "s|\.\./cjs/index\.js|$(realpath --relative-to="$dir" "$ROOT/$cjs")|" \
    js/entries/node-esm.js.in > "$dir/node.js"
}

SCRATCH=$(mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
rm -rf pkg/esm pkg/cjs
module . webhooks,signing,redirect,keys
node_modules/.bin/tsc -p js/tsconfig.esm.json
node_modules/.bin/tsc -p js/tsconfig.cjs.json
printf '{\n  "type": "commonjs"\n}\n' > pkg/cjs/package.json
entries pkg/esm index pkg/cjs/index.js

# Subpaths: each its own smaller module (the crate's feature of that name)
# and its own copy of the JS layer, compiled against that module's glue;
# PaysealError stays the one class of pkg/{esm,cjs}/errors.js.
for sub in webhooks signing redirect keys; do
  module "$sub" "$sub"
  for format in esm cjs; do
    cat > "$SCRATCH/tsconfig.json" <<JSON
{
  "extends": "$ROOT/js/tsconfig.$format.json",
  "compilerOptions": {
    "rootDir": "$ROOT/js/src",
    "outDir": "$ROOT/pkg/$format/$sub",
    "rootDirs": ["$ROOT/js/src", "$ROOT/pkg/$format/$sub"]
  },
  "files": ["$ROOT/js/src/$sub.ts"]
}
JSON
    node_modules/.bin/tsc -p "$SCRATCH/tsconfig.json"
    rm "pkg/$format/$sub/errors.js" "pkg/$format/$sub/errors.d.ts"
    sed -i 's|"\./errors\.js"|"../errors.js"|g' "pkg/$format/$sub"/*.js "pkg/$format/$sub"/*.d.ts
  done
  entries "pkg/esm/$sub" "$sub" "pkg/cjs/$sub/$sub.js"
done

# The publishable package: package.json without the monorepo's scripts and
# devDependencies, the package's own README (js/README.md), the licenses and
# pkg/. `npm pack dist/npm` / `npm publish dist/npm`.
rm -rf dist/npm
mkdir -p dist/npm
cp -r pkg dist/npm/pkg
cp js/README.md dist/npm/README.md
cp LICENSE-MIT LICENSE-APACHE dist/npm/
node -e '
  const p = require(process.argv[1]);
  delete p.scripts;
  delete p.devDependencies;
  require("fs").writeFileSync(process.argv[2], JSON.stringify(p, null, 2) + "\n");
' "$ROOT/package.json" "$ROOT/dist/npm/package.json"

raw=$(wc -c < pkg/esm/wasm/payseal_wasm_bg.wasm)
gz=$(gzip -9c pkg/esm/wasm/payseal_wasm_bg.wasm | wc -c)
echo "build-wasm: pkg/ ready; payseal_wasm_bg.wasm $raw bytes ($((raw / 1024)) KiB), gzip -9 $gz bytes ($((gz / 1024)) KiB)"
