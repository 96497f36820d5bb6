#!/usr/bin/env bash
# Fuzzes payseal-core's RFC 8941 parser and the whole RFC 9421 verify path for
# a bounded time (PAYSEAL_FUZZ_SECONDS per target, default 60). A crash fails
# the suite; its input is saved under core/fuzz/artifacts/<target>/ and belongs
# in a unit test next to the code it broke.
set -euo pipefail
cd "$(dirname "$0")/../core"
seconds=${PAYSEAL_FUZZ_SECONDS:-60}
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo +nightly fuzz --version >/dev/null 2>&1 || cargo +nightly install cargo-fuzz --locked
passed=0
failed=0
for target in sf_dictionary rfc9421_verify; do
  mkdir -p "fuzz/corpus/$target"
  set +e
  cargo +nightly fuzz run --target-dir ../target/fuzz "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" \
    -- -max_total_time="$seconds" 2>&1 | grep -E "^(Done [0-9]+ runs|==[0-9]+==|SUMMARY|.*panicked)"
  status=${PIPESTATUS[0]}
  set -e
  if [ "$status" -eq 0 ]; then
    passed=$((passed + 1))
  else
    echo "fuzz target $target failed; see core/fuzz/artifacts/$target/"
    failed=$((failed + 1))
  fi
done
echo "payseal-summary: fuzz $passed passed, $failed failed"
[ "$failed" -eq 0 ]
