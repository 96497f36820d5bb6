#!/usr/bin/env bash
# The fresh-user test of the README's gateway quickstart: installs `payseal`
# with `cargo install --locked --root <tmp> --path plugin-host` (in
# CARGO_TARGET_DIR, else the workspace's target/, so that what is already
# built is not built again), copies
# plugin-host/examples/payseal.toml alone into an empty temporary folder, and
# runs the README's ```sh quickstart block there verbatim, one step (line) at
# a time in one shell: each step must exit 0, and a step whose comment says
# "# → TEXT" must print TEXT. Background steps (ending in &) are started and
# stopped at the end. The quickstart uses the README's fixed ports (8080,
# 9090, 9000): they must be free. Prints one line:
#   payseal-summary: quickstart N passed, M failed
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
# The install reuses the workspace's target dir (cargo install alone would
# build everything again in a temporary one).
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
work=$(mktemp -d)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null; done
  [ -f "$work/bg.pids" ] && while read -r pid; do kill "$pid" 2>/dev/null; done < "$work/bg.pids"
  rm -rf "$work"
}
trap cleanup EXIT
passed=0
failed=0

give_up() {
  echo "quickstart: $1"
  echo "payseal-summary: quickstart $passed passed, $((failed + 1)) failed"
  exit 1
}

for port in 8080 9090 9000; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    give_up "port $port is in use; the quickstart needs it free"
  fi
done
command -v openssl >/dev/null || give_up "openssl is not installed"
command -v curl >/dev/null || give_up "curl is not installed"

# The install, as the README documents it (rustup target, cargo install).
rustup target add wasm32-unknown-unknown >/dev/null 2>&1
started=$(date +%s)
if ! cargo install --locked --root "$work/install" --path plugin-host >"$work/install.log" 2>&1; then
  tail -30 "$work/install.log"
  give_up "cargo install failed"
fi
echo "quickstart: cargo install --locked --root <tmp> --path plugin-host took $(( $(date +%s) - started )) s (CARGO_TARGET_DIR=$CARGO_TARGET_DIR)"
passed=$((passed + 1))

# A fresh user's folder: the example configuration and nothing else.
user="$work/user"
mkdir -p "$user"
cp plugin-host/examples/payseal.toml "$user/"

# The README's block, verbatim.
steps="$work/steps.txt"
awk '/^```sh quickstart$/ {on=1; next} on && /^```$/ {on=0} on {print}' README.md > "$steps"
[ -s "$steps" ] || give_up "no \`\`\`sh quickstart block in README.md"

# One shell runs every step, so exports and variables carry over.
runner="$work/run.sh"
{
  echo "cd '$user'"
  echo "export PATH='$work/install/bin':\"\$PATH\""
  echo "unset PAYSEAL_STORE_KEY"
  n=0
  while IFS= read -r line; do
    n=$((n + 1))
    expect=""
    if [[ "$line" == *"# → "* ]]; then
      expect=${line##*# → }
    fi
    command=$line
    if [[ "$line" =~ \&[[:space:]]*(#.*)?$ ]]; then
      # A background step: started, its output kept, stopped at the end.
      command=${line%%&*}
      # exec: $! is the command's own pid, so the cleanup stops it.
      printf '%s\n' "{ exec $command ; } >'$work/step-$n.out' 2>&1 & echo \$! >> '$work/bg.pids'; sleep 0.5"
      printf '%s\n' "if kill -0 \$! 2>/dev/null; then echo 'step $n ok'; else echo 'step $n FAILED (exited at once)'; cat '$work/step-$n.out'; fi"
      continue
    fi
    printf '%s\n' "{ $command
} >'$work/step-$n.out' 2>&1; rc=\$?"
    printf 'expect=%q\n' "$expect"
    printf '%s\n' "if [ \$rc -ne 0 ]; then echo 'step $n FAILED (exit '\$rc')'; cat '$work/step-$n.out'"
    printf '%s\n' "elif [ -n \"\$expect\" ] && ! grep -qF -- \"\$expect\" '$work/step-$n.out'; then echo \"step $n FAILED (no \$expect in its output)\"; cat '$work/step-$n.out'"
    printf '%s\n' "else echo 'step $n ok'; fi"
  done < "$steps"
} > "$runner"

# The readiness wait is a README step; a gateway that never starts must not
# hang the suite.
timeout 300 bash "$runner" > "$work/results.txt" 2>&1
status=$?
n=0
while IFS= read -r line; do
  n=$((n + 1))
  printf 'quickstart step %d: %s\n' "$n" "$line"
done < "$steps"
cat "$work/results.txt"
[ "$status" -eq 124 ] && { echo "quickstart: timed out"; failed=$((failed + 1)); }
ok=$(grep -c '^step [0-9]* ok$' "$work/results.txt")
bad=$(grep -c '^step [0-9]* FAILED' "$work/results.txt")
total=$(wc -l < "$steps")
passed=$((passed + ok))
failed=$((failed + bad + (total - ok - bad > 0 ? total - ok - bad : 0)))
if [ "$bad" -gt 0 ]; then
  for f in "$work"/step-*.out; do echo "--- $f"; tail -20 "$f"; done
fi
echo "payseal-summary: quickstart $passed passed, $failed failed"
[ "$failed" -eq 0 ]
