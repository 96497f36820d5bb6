#!/usr/bin/env bash
# Fuzzes every cargo-fuzz target of payseal-core (core/fuzz, listed in its
# README: the signature verifiers, redirect open, key formats, CIDR lists,
# token text, renewal, timestamps, the gate's canonical target, the config
# document, RFC 8941 and RFC 9421) for a bounded time. All targets are built
# once, then each runs in turn with an equal share of PAYSEAL_FUZZ_SECONDS
# (the total, default 300) but never less than PAYSEAL_FUZZ_FLOOR seconds
# (default 10). A crash or a broken invariant fails the suite; its input is
# saved under core/fuzz/artifacts/<target>/ and belongs in a unit test next to
# the code it broke. Corpora grow in core/fuzz/corpus/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/../core"
total=${PAYSEAL_FUZZ_SECONDS:-300}
floor=${PAYSEAL_FUZZ_FLOOR:-10}
rustup toolchain list | grep -q '^nightly' || rustup toolchain install nightly --profile minimal
cargo +nightly fuzz --version >/dev/null 2>&1 || cargo +nightly install cargo-fuzz --locked
cargo +nightly fuzz build --target-dir ../target/fuzz
mapfile -t targets < <(cargo +nightly fuzz list)
seconds=$((total / ${#targets[@]}))
[ "$seconds" -ge "$floor" ] || seconds=$floor
echo "fuzzing ${#targets[@]} targets for ${seconds}s each"
passed=0
failed=0
for target in "${targets[@]}"; do
  mkdir -p "fuzz/corpus/$target"
  echo "fuzz $target"
  set +e
  cargo +nightly fuzz run --target-dir ../target/fuzz "$target" "fuzz/corpus/$target" "fuzz/seeds/$target" \
    -- -max_total_time="$seconds" 2>&1 | grep -E "^(Done [0-9]+ runs|==[0-9]+==|SUMMARY|.*panicked|assertion|  left|  right)"
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
