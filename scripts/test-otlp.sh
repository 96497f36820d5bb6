#!/usr/bin/env bash
# The OpenTelemetry export (cargo feature `otlp` of payseal-gateway): the
# gateway built with the feature sends its request spans to an in-process
# OTLP/HTTP collector (plugin-host/tests/operations.rs), and the exporter's
# own unit test. Needs the plugin built (scripts/build-plugin.sh, which
# test.sh runs first). cargo prints the counts test.sh adds up.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
cargo test --locked -p payseal-gateway --features otlp --lib otlp || status=1
cargo test --locked -p payseal-gateway --features otlp --test operations otlp || status=1
exit $status
