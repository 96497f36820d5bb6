"""Runs the payseal plugin's conformance plan (written by `payseal-plugin-plan`,
format in plugin/conformance/src/lib.rs) in Extism's Python SDK.

    python run.py PLAN.json PLUGIN.wasm [SLOW.wasm]

With SLOW.wasm (the plugin built with its `test-slow` export), one more case
shows that a runaway call is stopped by the manifest's `timeout_ms`.

One plugin instance per case, its config the case's `payseal` document; prints
one line per failure and `payseal-summary: plugin-python N passed, M failed`.
"""

import base64
import json
import struct
import sys
import time

import extism
from extism.extism import CompiledPlugin  # not re-exported by the package in 1.1.1

# The same limits as the Rust host: no host reachable, 16 MiB of memory,
# 5 s per call, no WASI. (The Python SDK 1.1.1 does not expose a fuel limit.)
LIMITS = {"allowed_hosts": [], "memory": {"max_pages": 256}, "timeout_ms": 5000}


def compiled(wasm: bytes) -> CompiledPlugin:
    """Compiled once; every case instantiates it with its own config."""
    return CompiledPlugin({"wasm": [{"data": wasm}], **LIMITS}, wasi=False, functions=[])


def frame(text: str, body: bytes) -> bytes:
    """The plugin's framed input, written from its documented layout (not with
    the plugin's own encoder): magic 00 70 73 66, the JSON's length as a
    big-endian u32, the JSON, then the raw body."""
    encoded = text.encode("utf-8")
    return b"\x00psf" + struct.pack(">I", len(encoded)) + encoded + body


def call(plugin: extism.Plugin, function: str, data, body=None) -> dict:
    """Calls `function` with `data` as JSON text, or framed with `body` when given."""
    text = json.dumps(data)
    try:
        output = plugin.call(function, text if body is None else frame(text, body))
    except extism.Error as e:
        raise AssertionError(f"{function} failed: {e}") from None
    return json.loads(output)


def compare(expect: dict, output: dict) -> None:
    for field, want in expect.items():
        got = output.get(field)
        if got != want or type(got) is not type(want):
            raise AssertionError(f"{field}: expected {json.dumps(want)}, got {json.dumps(got)}")


def run_case(module: CompiledPlugin, case: dict) -> None:
    if case["error"] is not None:
        raise AssertionError(case["error"])
    plugin = extism.Plugin(module, config={"payseal": json.dumps(case["config"])}, functions=[])
    store: dict = {}
    claim = None
    for i, step in enumerate(case["steps"]):
        data = json.loads(json.dumps(step["input"]))
        # A framed step sends every call it makes as a frame with this body.
        encoded = step.get("framed_body_base64")
        body = None if encoded is None else base64.b64decode(encoded, validate=True)
        kind = step["kind"]
        if kind == "call":
            output = call(plugin, step["function"], data, body)
        elif kind == "idempotent":
            claim = None
            output = call(plugin, step["function"], data, body)
            if output.get("outcome") == "lookup":
                key = output["storage_key"]
                data["idempotency"] = {"storage_key": key, "record": store.get(key)}
                output = call(plugin, step["function"], data, body)
            if output.get("outcome") == "execute" and output.get("idempotency"):
                claim = (output["idempotency"]["storage_key"], output["idempotency"]["claim"])
                store[claim[0]] = claim[1]
        elif kind == "finish":
            if claim is None:
                continue
            data["claim"] = claim[1]
            output = call(plugin, step["function"], data, body)
            if output.get("action") in ("store", "keep_unknown"):
                store[claim[0]] = output["record"]
            elif output.get("action") == "release":
                store.pop(claim[0], None)
            else:
                raise AssertionError(f"step {i}: finish_request answered {json.dumps(output)}")
            claim = None
        else:
            raise AssertionError(f"step {i}: unknown step kind {kind!r}")
        try:
            compare(step["expect"], output)
        except AssertionError as e:
            raise AssertionError(f"step {i}: {e}") from None


def run_canary(module: CompiledPlugin, check: dict, logs: list, logger) -> None:
    """No output, error or log line contains a configured secret."""
    seen = []
    outputs = errors = 0
    plugin = extism.Plugin(module, config={"payseal": json.dumps(check["config"])}, functions=[])
    for call_ in check["calls"]:
        try:
            output = plugin.call(call_["function"], call_["input"])
            seen.append(f"output of {call_['function']}: {output.decode('utf-8', 'replace')}")
            outputs += 1
        except extism.Error as e:
            seen.append(f"error of {call_['function']}: {e}")
            errors += 1
    bad = extism.Plugin(module, config={"payseal": json.dumps(check["bad_config"])}, functions=[])
    try:
        bad.call("describe", "")
        raise AssertionError("a bad configuration did not fail")
    except extism.Error as e:
        if "invalid_config" not in str(e):
            raise AssertionError(f"not a config error: {e}") from None
        seen.append(f"config error: {e}")
    logger.drain()
    if outputs < 10 or errors < 10:
        raise AssertionError(f"only {outputs} outputs and {errors} errors")
    if not any("check_request: refuse" in line for line in logs):
        raise AssertionError("no plugin log was captured")
    for text in seen + [f"log: {line}" for line in logs]:
        if any(f in text for f in check["forbidden"]):
            raise AssertionError(f"the canary leaked through {text[:200]}")


def run_runaway(wasm: bytes) -> None:
    """A call that never returns is stopped by `timeout_ms` and raises."""
    limits = {**LIMITS, "timeout_ms": 300}
    plugin = extism.Plugin(CompiledPlugin({"wasm": [{"data": wasm}], **limits}, wasi=False, functions=[]), functions=[])
    started = time.monotonic()
    try:
        plugin.call("test_slow", "")
        raise AssertionError("test_slow returned")
    except extism.Error as e:
        if "timeout" not in str(e):
            raise AssertionError(f"stopped, but not by the timeout: {e}") from None
    elapsed = time.monotonic() - started
    if elapsed > 5:
        raise AssertionError(f"the runaway call was stopped only after {elapsed:.1f} s")


def main() -> int:
    if len(sys.argv) not in (3, 4):
        print("usage: python run.py PLAN.json PLUGIN.wasm [SLOW.wasm]", file=sys.stderr)
        return 2
    with open(sys.argv[1], encoding="utf-8") as f:
        plan = json.load(f)
    if plan.get("format") != "payseal-plugin-plan/2":
        raise SystemExit(f"unknown plan format {plan.get('format')!r}")
    with open(sys.argv[2], "rb") as f:
        module = compiled(f.read())
    logs: list = []
    logger = extism.set_log_custom(logs.append, "trace")
    passed = failed = 0
    if len(sys.argv) == 4:
        try:
            with open(sys.argv[3], "rb") as f:
                run_runaway(f.read())
            passed += 1
        except AssertionError as e:
            failed += 1
            print(f"FAIL runaway / test_slow is stopped by timeout_ms: {e}")
    try:
        run_canary(module, plan["canary"], logs, logger)
        passed += 1
    except AssertionError as e:
        failed += 1
        print(f"FAIL {plan['canary']['id']}: {e}")
    for case in plan["cases"]:
        try:
            run_case(module, case)
            passed += 1
        except AssertionError as e:
            failed += 1
            print(f"FAIL {case['id']}: {e}")
    print(f"payseal-summary: plugin-python {passed} passed, {failed} failed")
    return 0 if failed == 0 and passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
