#!/usr/bin/env bash
# Browser tests of the key console (/ui/ on the admin listener) in a real
# headless Chromium: Debian's `chromium` (installed here when missing),
# driven by `playwright-core` (root package.json, pinned). Builds the plugin
# and the gateway, then scripts/console-browser.mjs starts the real binary
# and drives the console; screenshots go to target/console-screenshots/.
# Prints `payseal-summary: console N passed, M failed`. A missing browser or
# driver is a failure, never a skip.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never NO_COLOR=1
target_dir=${CARGO_TARGET_DIR:-target}

refuse() {
  echo "$1" >&2
  echo "payseal-summary: console 0 passed, 1 failed"
  exit 1
}

if [ ! -x /usr/bin/chromium ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  { $sudo apt-get update && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y chromium; } >&2 || refuse "cannot install Debian's chromium"
fi
[ -x /usr/bin/chromium ] || refuse "no /usr/bin/chromium"
if [ ! -f node_modules/playwright-core/package.json ]; then
  npm ci --no-audit --no-fund >&2 || refuse "npm ci failed (playwright-core)"
fi
bash scripts/build-plugin.sh >&2 || refuse "the plugin does not build"
cargo build --locked -p payseal-gateway --bin payseal >&2 || refuse "the gateway does not build"

mkdir -p target/console-screenshots
node scripts/console-browser.mjs "$target_dir/debug/payseal" "$target_dir/wasm32-unknown-unknown/release/payseal_plugin.wasm" target/console-screenshots
