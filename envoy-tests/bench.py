"""Envoy with the payseal filter against Envoy without it, 1 KiB POSTs over
loopback, measured with wrk: throughput and p50/p99 latency as ratios.

Scenarios (each a listener of one Envoy, --concurrency 1, in front of a
direct-response Envoy):
  plain      no filter
  key-check  payseal: the key check only (an unsigned route)
  signed     payseal: key check and DVPay signature over the 1 KiB body
             (the route's idempotency is off)
  idempotent payseal: as `signed`, plus an idempotency claim and a stored
             answer per request (a new key each time)
Every run is bounded: one WARMUP s run per scenario, then ROUNDS rounds of
DURATION s per scenario, interleaved (plain, key-check, signed, plain, …) so
a neighbour's load hits every scenario alike; each figure is the median of
the rounds.

Usage: bench.py --work DIR --wasm RELEASE.wasm [--duration S] [--rounds N] [--connections N]
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import re
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

import envoy_env as env

KEY = "sk_live_EnvoyBenchmark000000000000000000"
SECRET = "dvp_sec_envoy_bench_7Yt3"
BODY = ("{\"pad\":\"" + "x" * 1014 + "\"}").encode()
assert len(BODY) == 1024


def lua(headers: dict[str, str], unique_key: bool) -> str:
    lines = ['wrk.method = "POST"', f"wrk.body = [[{BODY.decode()}]]"]
    lines += [f'wrk.headers["{n}"] = "{v}"' for n, v in headers.items()]
    if unique_key:
        # A fresh prefix per wrk run (its first script argument): a key of an
        # earlier run would be a replay, not an execution.
        lines += [
            'local prefix, n = "", 0',
            "init = function(args) prefix = args[1] end",
            "request = function()",
            "  n = n + 1",
            '  wrk.headers["x-idempotent-key"] = prefix .. "-" .. n',
            "  return wrk.format()",
            "end",
        ]
    return "\n".join(lines) + "\n"


def seconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(value) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def wrk(port: int, path: str, script: Path, duration: int, connections: int) -> dict:
    out = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s",
         "-s", str(script), f"http://127.0.0.1:{port}{path}", "--", uuid.uuid4().hex],
        check=True, capture_output=True, text=True, timeout=duration + 30,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = seconds(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = seconds(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: .*", out)
    return {"rps": rps, "p50": p50, "p99": p99, "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "errors": errors.group(0) if errors else ""}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", required=True)
    parser.add_argument("--wasm", required=True)
    parser.add_argument("--duration", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    work = Path(args.work)
    try:
        direct_port, direct_admin, admin = env.free_port(), env.free_port(), env.free_port()
        env.start_envoy(work, env.render("direct-response.yaml", ADMIN_PORT=direct_admin, PORT=direct_port),
                        direct_admin, concurrency=1, name="upstream-envoy")
        config = {
            "keys": {"records": [{"id": "k_bench", "key_sha256": hashlib.sha256(KEY.encode()).hexdigest(),
                                  "environment": "live"}]},
            "routes": [
                {"prefix": "/external/v1/refund", "methods": ["POST"], "signed": True, "idempotency": "off"},
                {"prefix": "/external/v1/payout", "methods": ["POST"], "signed": True},
            ],
            "signed_requests": {"secrets": {"k_bench": [SECRET]}},
        }
        ports = {name: env.free_port() for name in ("plain", "key-check", "signed", "idempotent")}
        flt = env.payseal_filter(config, args.wasm, vm_id="payseal")
        listeners = [
            env.listener("plain", ports["plain"], "/dev/null", []),
            env.listener("key_check", ports["key-check"], "/dev/null", [flt]),
            env.listener("signed", ports["signed"], "/dev/null", [flt, env.buffer_filter()]),
            env.listener("idempotent", ports["idempotent"], "/dev/null", [flt, env.buffer_filter()]),
        ]
        env.start_envoy(work, env.bootstrap(admin, direct_port, listeners), admin, concurrency=1)
        # The signature stays valid for the tolerance (300 s): longer than the run.
        ts = str(int(time.time()))
        signature = hmac.new(SECRET.encode(), BODY + ts.encode(), hashlib.sha256).hexdigest()
        base = {"content-type": "application/json", "x-api-key": KEY}
        scenarios = [
            ("plain", "/external/v1/refund", lua(base, False)),
            ("key-check", "/external/v1/orders", lua(base, False)),
            ("signed", "/external/v1/refund", lua(dict(base, **{"x-timestamp": ts, "x-signature": signature}), False)),
            ("idempotent", "/external/v1/payout", lua(dict(base, **{"x-timestamp": ts, "x-signature": signature}), True)),
        ]
        scripts = {}
        for name, path, script_text in scenarios:
            scripts[name] = (path, work / f"{name}.lua")
            scripts[name][1].write_text(script_text)
            wrk(ports[name], path, scripts[name][1], args.warmup, args.connections)
        runs: dict[str, list[dict]] = {name: [] for name in scripts}
        for _ in range(args.rounds):
            for name, (path, script) in scripts.items():
                runs[name].append(wrk(ports[name], path, script, args.duration, args.connections))
        results = {
            name: {
                "rps": statistics.median(r["rps"] for r in rs),
                "p50": statistics.median(r["p50"] for r in rs),
                "p99": statistics.median(r["p99"] for r in rs),
                "non2xx": sum(r["non2xx"] for r in rs),
                "errors": " ".join(r["errors"] for r in rs if r["errors"]),
            }
            for name, rs in runs.items()
        }
    finally:
        env.stop_all()
    plain = results["plain"]
    print(f"1 KiB POSTs, loopback, wrk -t1 -c{args.connections}, median of {args.rounds} x {args.duration} s, "
          f"Envoy 1.40 --concurrency 1 (V8)")
    print(f"{'scenario':<11} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}   {'throughput':>10} {'p50':>6} {'p99':>6}   non-2xx")
    for name, r in results.items():
        print(f"{name:<11} {r['rps']:>9.0f} {r['p50'] * 1e3:>8.3f} {r['p99'] * 1e3:>8.3f}   "
              f"{r['rps'] / plain['rps']:>9.2f}x {r['p50'] / plain['p50']:>5.2f}x {r['p99'] / plain['p99']:>5.2f}x   "
              f"{r['non2xx']} {r['errors']}")
    bad = [name for name, r in results.items() if r["non2xx"]]
    if bad:
        print(f"bench-envoy: non-2xx answers in {bad}: the numbers are not of the filter's success path")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
