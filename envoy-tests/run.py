"""Drives payseal's proxy-wasm filter through a real Envoy over HTTP.

  * every case of tests/vectors/keys.json (read now; an op or field this
    runner does not know is a failure), over HTTP/2 (h2c), with the test-clock
    build: one listener per distinct `now`, the client IP sent as the one
    X-Forwarded-For hop the listener trusts. A case whose API key or webcode
    cannot travel in an HTTP field as it is (surrounding whitespace, CR, LF,
    another control or non-ASCII byte) is still sent, but reported as "not
    expressible over HTTP" and counted neither passed nor failed;
  * every case of tests/vectors/idempotency.json, step by step, with the
    release build: the upstream answers an executed step with its
    `finish.status`, and holds the answer of a step without `finish` (in
    flight) until the case's later steps ran;
  * every case of tests/vectors/dvpay.json as a request to a DVPay-signed
    route (a `sign` case must pass with the signature it expects, a `verify`
    case must give its result);
  * the release build with Envoy's own clock: a signed route passes a good
    signature and refuses a bad or stale one, idempotency (replay, 409s,
    concurrent claims across two workers, release after a 5xx), a body over
    the limit, XFF trust, and two misconfigured filters that fail closed with
    a log line naming the bad field and no secret; what happened upstream
    (never sent: released; timed out or too large to store: outcome unknown);
  * the gate (`gate.md`): every encoded letter of the signed route's prefix,
    path parameters, dot and empty segments, fields sent twice are refused
    and the upstream receives nothing; a route prefix matches in any case and
    on whole segments; client-sent forwarding headers never reach the
    upstream;
  * a signature is accepted once (`signing.md`), with the test-clock build on
    a vm_id of its own: the same signed request retried with the same
    idempotency key gets the idempotency answer, and under a new key (which
    the DVPay MAC does not cover) it is refused `replayed_signature`.

Refusal bodies must be byte-identical to the Extism plugin's: the plugin's
own `check_request`, run natively by the oracle, gives the expected bytes.

Usage: run.py --work DIR --wasm RELEASE.wasm --test-wasm TESTCLOCK.wasm --oracle ORACLE
Prints one line per case and
`payseal-summary: envoy N passed, M failed, K not expressible over HTTP`.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import socket
import subprocess
import sys
import threading
import time
import traceback
import uuid
from pathlib import Path

import h2.config
import h2.connection
import h2.events

import envoy_env as env

ROOT = Path(__file__).resolve().parent.parent
VECTORS = ROOT / "tests" / "vectors"

# A key of these tests' own (not from the vectors) for signed routes.
SIGNED_KEY = "sk_live_EnvoySignedRoute0000000000000000"
SIGNED_SECRET = "dvp_sec_envoy_tests_5Jr8Qz2Wn6"
CANARY = "canary-secret-must-never-be-logged-7Q"


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def dvpay_signature(secret: str, body: bytes, timestamp: str) -> str:
    return hmac.new(secret.encode(), body + timestamp.encode(), hashlib.sha256).hexdigest()


# ---------------------------------------------------------------------------
# HTTP clients


class Response:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def header(self, name: str) -> str | None:
        return next((v for n, v in self.headers if n.lower() == name), None)

    def json(self):
        return json.loads(self.body)


def h2c(port: int, method: str, path: str, headers: list[tuple[str, str]], body: bytes = b"") -> Response:
    """One HTTP/2 request with prior knowledge. Header values go out exactly
    as given: HTTP/1.1 strips a value's surrounding whitespace (RFC 9110
    §5.5), HTTP/2 carries it, so a key with a pasted space reaches the filter."""
    config = h2.config.H2Configuration(
        client_side=True, header_encoding=None, normalize_outbound_headers=False, validate_outbound_headers=False
    )
    conn = h2.connection.H2Connection(config=config)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        conn.initiate_connection()
        sid = conn.get_next_available_stream_id()
        pseudo = [(":method", method), (":path", path), (":scheme", "http"), (":authority", f"127.0.0.1:{port}")]
        conn.send_headers(sid, [(n.encode(), v.encode()) for n, v in pseudo + headers], end_stream=not body)
        if body:
            conn.send_data(sid, body, end_stream=True)
        sock.sendall(conn.data_to_send())
        status, out_headers, data = 0, [], b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                raise ConnectionError("Envoy closed the connection")
            ended = False
            for event in conn.receive_data(chunk):
                if isinstance(event, h2.events.ResponseReceived):
                    out_headers = [(n.decode(), v.decode()) for n, v in event.headers]
                    status = int(dict(out_headers)[":status"])
                elif isinstance(event, h2.events.DataReceived):
                    data += event.data
                    conn.acknowledge_received_data(event.flow_controlled_length, sid)
                elif isinstance(event, h2.events.StreamEnded):
                    ended = True
                elif isinstance(event, (h2.events.StreamReset, h2.events.ConnectionTerminated)):
                    raise ConnectionError(f"Envoy reset the stream: {event}")
            sock.sendall(conn.data_to_send())
            if ended:
                return Response(status, out_headers, data)
        raise TimeoutError("no complete answer within 10 s")


def http1(port: int, method: str, path: str, headers: list[tuple[str, str]], body: bytes = b"") -> Response:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("content-length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return Response(r.status, [(n.lower(), v) for n, v in r.getheaders()], r.read())
    finally:
        conn.close()


# ---------------------------------------------------------------------------
# Cases


class Case:
    """A request sent through Envoy and what must be true of its answer once
    the access log and the oracle are in."""

    def __init__(self, name: str):
        self.name = name
        self.id = uuid.uuid4().hex
        self.error: str | None = None
        self.checks = []  # callables (run, response) -> None, raising AssertionError
        self.response: Response | None = None
        self.oracle_input: dict | None = None  # {"config":…, "input":…} for the plugin
        self.oracle: dict | None = None
        self.not_expressible: str | None = None  # why HTTP cannot carry it: neither passed nor failed

    def fail(self, message: str) -> None:
        if self.error is None:
            self.error = message


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise AssertionError(message)


def refusal_checks(case: Case, status: int, reason: str, code: str | None = None) -> None:
    """A refusal: status, reason (access log), code, and the plugin's exact body."""

    def check(log: dict) -> None:
        r = case.response
        expect(r.status == status, f"status {r.status}, expected {status}; body {r.body[:200]!r}")
        expect(log.get("reason") == reason, f"reason {log.get('reason')!r}, expected {reason!r}")
        body = r.json()
        expect(list(body) == ["status", "code", "message"], f"body fields {list(body)}")
        expect(body["status"] == status, f"body status {body['status']}")
        if code is not None:
            expect(body["code"] == code, f"code {body['code']!r}, expected {code!r}")
        expect(r.header("content-type") == "application/json", f"content-type {r.header('content-type')!r}")
        if case.oracle_input is not None:
            oracle = case.oracle or {}
            expect(oracle.get("reason") == reason, f"the plugin says {oracle.get('reason') or oracle.get('error')!r}")
            expect(
                r.body == oracle.get("body", "").encode(),
                f"body {r.body!r} differs from the plugin's {oracle.get('body')!r}",
            )

    case.checks.append(check)


def forwarded_checks(case: Case, key_id: str, path: str, body: bytes = b"") -> None:
    def check(log: dict) -> None:
        r = case.response
        expect(r.status == 200, f"status {r.status}, expected 200; body {r.body[:200]!r}")
        expect(r.header("x-upstream") == "payseal-tests", "the answer did not come from the upstream")
        echo = r.json()
        expect(echo["path"] == path, f"upstream saw path {echo['path']!r}")
        expect(echo["sha256"] == hashlib.sha256(body).hexdigest(), "upstream saw another body")
        expect(log.get("key_id") == key_id, f"key_id {log.get('key_id')!r}, expected {key_id!r}")

    case.checks.append(check)


def upstream_seen(upstream_port: int, case: Case) -> dict:
    """What the upstream received with this case's x-case: count, last headers."""
    return http1(upstream_port, "GET", f"/__seen?case={case.id}", []).json()


def nothing_upstream_checks(case: Case, upstream_port: int) -> None:
    """A refusal: the upstream received nothing of the request."""

    def check(log: dict) -> None:
        count = upstream_seen(upstream_port, case)["count"]
        expect(count == 0, f"the upstream received the refused request {count} time(s)")

    case.checks.append(check)


def why_not_expressible(value: str | None) -> str | None:
    """Why `value` cannot travel in an HTTP field as it is; None when it can.
    A field value is visible ASCII with inner spaces or tabs (RFC 9110 §5.5):
    surrounding whitespace is not part of it (HTTP/1.1 strips it), and CR, LF,
    NUL, another control byte or a non-ASCII byte is not allowed in it."""
    if value is None:
        return None
    if value != value.strip(" \t"):
        return "leading or trailing whitespace, which HTTP strips from a field value"
    bad = sorted({c for c in value if not (0x21 <= ord(c) <= 0x7E or c in " \t")})
    if bad:
        return "bytes no field value may carry: " + ", ".join(f"U+{ord(c):04X}" for c in bad)
    return None


KEYS_TOP = {"scheme", "spec", "generated_by", "set", "policy", "records", "cases"}
KEYS_CASE = {"name", "op", "request", "expected", "note"}
KEYS_REQUEST = {"api_key", "method", "path", "client_ip", "webcode", "now"}
KEYS_EXPECTED_OK = {"ok", "key_id"}
KEYS_EXPECTED_REFUSED = {"ok", "reason", "status", "code"}


def keys_cases(test_wasm: str, access_log: str) -> tuple[list[Case], list[str], list]:
    """Cases, listeners and the senders of keys.json."""
    vectors = json.loads((VECTORS / "keys.json").read_text())
    cases, listeners, senders = [], [], []
    unknown = set(vectors) - KEYS_TOP
    if unknown or vectors.get("scheme") != "keys":
        case = Case("keys.json")
        case.fail(f"unknown top-level fields {sorted(unknown)} or scheme {vectors.get('scheme')!r}")
        cases.append(case)
    keys = {"policy": vectors["policy"], "records": vectors["records"], "header": "x-api-key"}
    ports: dict[int, int] = {}
    for raw in vectors["cases"]:
        case = Case(f"keys/{raw.get('name')}")
        cases.append(case)
        request, expected = raw.get("request", {}), raw.get("expected", {})
        wanted = KEYS_EXPECTED_OK if expected.get("ok") else KEYS_EXPECTED_REFUSED
        problems = [
            f"op {raw.get('op')!r}" if raw.get("op") != "check" else "",
            f"fields {sorted(set(raw) - KEYS_CASE)}" if set(raw) - KEYS_CASE else "",
            f"request fields {sorted(set(request) ^ KEYS_REQUEST)}" if set(request) != KEYS_REQUEST else "",
            f"expected fields {sorted(set(expected) ^ wanted)}" if set(expected) != wanted else "",
        ]
        if any(problems):
            case.fail("not understood: " + ", ".join(p for p in problems if p))
            continue
        why = next(
            (f"{field}: {why}" for field in ("api_key", "webcode") if (why := why_not_expressible(request[field]))), None
        )
        if why is not None:
            case.not_expressible = why
        now = request["now"]
        if now not in ports:
            ports[now] = env.free_port()
            config = {"keys": keys, "envoy": {"webcode_header": "x-webcode"}, "clock": {"fixed_now": now}}
            flt = env.payseal_filter(config, test_wasm, vm_id="payseal-test")
            listeners.append(env.listener(f"keys_{now}", ports[now], access_log, [flt, env.buffer_filter()]))
        headers = [("x-case", case.id)]
        plugin_headers = {}
        if request["api_key"] is not None:
            headers.append(("x-api-key", request["api_key"]))
            plugin_headers["x-api-key"] = request["api_key"]
        if request["webcode"] is not None:
            headers.append(("x-webcode", request["webcode"]))
        if request["client_ip"] is not None:
            headers.append(("x-forwarded-for", request["client_ip"]))
        case.oracle_input = {
            "config": {"keys": keys},
            "input": {
                "now": now,
                "method": request["method"],
                "path": request["path"],
                "client_ip": request["client_ip"],
                "webcode": request["webcode"],
                "headers": plugin_headers,
            },
        }
        if expected["ok"]:
            case.oracle_input = None
            forwarded_checks(case, expected["key_id"], request["path"])
        else:
            refusal_checks(case, expected["status"], expected["reason"], expected["code"])
        port, method, path = ports[now], request["method"], request["path"]
        senders.append((case, lambda port=port, method=method, path=path, headers=headers: h2c(port, method, path, headers)))
    return cases, listeners, senders


DVPAY_SIGN = {"name", "op", "secret", "body", "timestamp", "expected", "note"}
DVPAY_VERIFY = {"name", "op", "secret", "secrets", "body", "timestamp", "signature", "now", "tolerance", "expected", "note"}
SIGNED_PATH = "/external/v1/refund"


def signed_keys() -> dict:
    record = {"id": "k_signed", "key_sha256": sha256(SIGNED_KEY), "environment": "live"}
    return {"records": [record], "header": "x-api-key"}


def dvpay_cases(test_wasm: str, access_log: str) -> tuple[list[Case], list[str], list]:
    """Every dvpay.json case as a request to a DVPay-signed route."""
    vectors = json.loads((VECTORS / "dvpay.json").read_text())
    cases, listeners, senders = [], [], []
    ports: dict[str, int] = {}
    # A signature is accepted once per store (its replay mark lives in the
    # vm_id's shared data). Vectors that accept the same signature (the same
    # body and timestamp, in either hex case) are independent cases, so each
    # later one is sent to a listener with a vm_id of its own.
    accepted: dict[str, int] = {}
    for raw in vectors["cases"]:
        case = Case(f"dvpay-route/{raw.get('name')}")
        cases.append(case)
        op, expected = raw.get("op"), raw.get("expected", {})
        allowed = {"sign": DVPAY_SIGN, "verify": DVPAY_VERIFY}.get(op)
        if allowed is None or set(raw) - allowed or "ok" not in expected:
            case.fail(f"not understood: op {op!r}, fields {sorted(set(raw) - (allowed or set()))}")
            continue
        secrets = raw["secrets"] if "secrets" in raw else [raw["secret"]]
        body = raw["body"].encode()
        if op == "sign":
            # A signature the test double made must pass the route at its timestamp.
            timestamp, now, tolerance = str(raw["timestamp"]), raw["timestamp"], 300
            signature = expected.get("signature", "0" * 64)
        else:
            timestamp, now, tolerance, signature = raw["timestamp"], raw["now"], raw["tolerance"], raw["signature"]
        sections = {
            "keys": signed_keys(),
            "routes": [{"prefix": SIGNED_PATH, "methods": ["POST"], "signed": True}],
            "signed_requests": {"secrets": {"k_signed": secrets}, "tolerance": tolerance},
        }
        use = 0
        if expected["ok"]:
            use = accepted.get(signature.lower(), 0)
            accepted[signature.lower()] = use + 1
        vm_id = "payseal-test" if use == 0 else f"payseal-test-{use}"
        config_key = json.dumps([now, sections, vm_id], sort_keys=True)
        if config_key not in ports:
            ports[config_key] = env.free_port()
            config = dict(sections, clock={"fixed_now": now})
            flt = env.payseal_filter(config, test_wasm, vm_id=vm_id)
            listeners.append(env.listener(f"dvpay_{len(ports)}", ports[config_key], access_log, [flt, env.buffer_filter()]))
        idem = str(uuid.uuid4())
        signed_headers = {
            "x-api-key": SIGNED_KEY,
            "x-timestamp": timestamp,
            "x-signature": signature,
            "x-idempotent-key": idem,
        }
        headers = [("x-case", case.id)] + list(signed_headers.items())
        if expected["ok"]:
            forwarded_checks(case, "k_signed", SIGNED_PATH, body)
        else:
            case.oracle_input = {
                "config": sections,
                "input": {"now": now, "method": "POST", "path": SIGNED_PATH, "headers": signed_headers, "body": raw["body"]},
            }
            status = 500 if expected["error"] == "invalid_secret" else 401
            refusal_checks(case, status, expected["error"])
        port = ports[config_key]
        senders.append((case, lambda port=port, headers=headers, body=body: h2c(port, "POST", SIGNED_PATH, headers, body)))
    return cases, listeners, senders


# ---------------------------------------------------------------------------
# The release build, Envoy's own clock


class Release:
    """Listeners of the release filter and the cases run against them."""

    def __init__(self, wasm: str, access_log: str, upstream_port: int, admin_port: int):
        self.wasm, self.access_log, self.upstream_port = wasm, access_log, upstream_port
        self.admin_port = admin_port
        self.port, self.bad_port, self.clock_port, self.no_xff_port = (env.free_port() for _ in range(4))
        self.dead_port, self.timeout_port, self.small_port = (env.free_port() for _ in range(3))
        ip_record = {"id": "k_ip", "key_sha256": sha256(SIGNED_KEY.replace("Signed", "IpBound")), "environment": "live",
                     "allowed_ips": ["203.0.113.0/24"]}
        keys = signed_keys()
        keys = dict(keys, records=keys["records"] + [ip_record])
        self.ip_key = SIGNED_KEY.replace("Signed", "IpBound")
        self.sections = {
            "keys": keys,
            "routes": [
                {"prefix": SIGNED_PATH, "methods": ["POST"], "signed": True},
                {"prefix": "/external/v1/payments", "methods": ["POST"], "idempotency": "required"},
            ],
            "signed_requests": {"secrets": {"k_signed": [SIGNED_SECRET]}},
        }
        config = dict(self.sections, envoy={"max_body_bytes": 65536, "webcode_header": "x-webcode"})
        # Answers larger than this are not stored: their keys stay "outcome unknown".
        small = dict(self.sections, envoy={"max_body_bytes": 65536, "max_stored_response_bytes": 32})
        bad = {
            "keys": {"records": [{"id": "a", "key_sha256": "not-a-digest", "environment": "live"}]},
            "signed_requests": {"secrets": {"a": [CANARY]}},
        }
        clock = dict(self.sections, clock={"fixed_now": 1719500000})
        flt = lambda config, name: env.payseal_filter(config, wasm, vm_id="payseal", plugin_name=name)
        buffer = env.buffer_filter()
        self.listeners = [
            env.listener("release", self.port, access_log, [flt(config, "payseal"), buffer]),
            env.listener("release_bad", self.bad_port, access_log, [flt(bad, "payseal-bad"), buffer]),
            env.listener("release_clock", self.clock_port, access_log, [flt(clock, "payseal-clock"), buffer]),
            # Without the buffer filter, and trusting no X-Forwarded-For hop.
            env.listener("release_no_xff", self.no_xff_port, access_log, [flt(config, "payseal-no-xff")], trusted_hops=0),
            # What happened upstream: refused connections, a 1 s route timeout,
            # answers too large to store.
            env.listener("release_dead", self.dead_port, access_log, [flt(config, "payseal-dead"), buffer], cluster="dead"),
            env.listener("release_timeout", self.timeout_port, access_log, [flt(config, "payseal-timeout"), buffer],
                         timeout="1s"),
            env.listener("release_small", self.small_port, access_log, [flt(small, "payseal-small"), buffer]),
        ]

    def count(self, key: str) -> int:
        r = http1(self.upstream_port, "GET", f"/__count?key={key}", [])
        return r.json()["count"]

    def signed(self, case: Case, timestamp: int, body: bytes, signature: str | None = None, port: int = 0) -> Response:
        ts = str(timestamp)
        headers = {
            "x-api-key": SIGNED_KEY,
            "x-timestamp": ts,
            "x-signature": signature or dvpay_signature(SIGNED_SECRET, body, ts),
            "x-idempotent-key": str(uuid.uuid4()),
        }
        case.oracle_input = {
            "config": self.sections,
            "input": {"now": int(time.time()), "method": "POST", "path": SIGNED_PATH, "headers": headers, "body": body.decode()},
        }
        return http1(port or self.port, "POST", SIGNED_PATH, [("x-case", case.id)] + list(headers.items()), body)

    def cases(self) -> list[tuple[Case, object]]:
        """(case, run) pairs; `run` sends and may check at once (raising AssertionError)."""
        out = []

        def add(name, run):
            out.append((Case(f"release/{name}"), run))

        body = json.dumps({"orderId": "ORD-1", "refundAmount": 10.5}).encode()

        def good(case):
            case.response = self.signed(case, int(time.time()), body)
            case.oracle_input = None
            forwarded_checks(case, "k_signed", SIGNED_PATH, body)

        def bad(case):
            ts = int(time.time())
            sig = dvpay_signature(SIGNED_SECRET, body, str(ts))
            case.response = self.signed(case, ts, body, sig[:-1] + ("0" if sig[-1] != "0" else "1"))
            refusal_checks(case, 401, "bad_signature", "AUTHENTICATION_FAILED")

        def good_unbuffered(case):
            # Another body than `good`'s: within one second the same body
            # would carry the same signature, which is accepted once.
            other = json.dumps({"orderId": "ORD-2", "refundAmount": 10.5}).encode()
            case.response = self.signed(case, int(time.time()), other, port=self.no_xff_port)
            case.oracle_input = None
            forwarded_checks(case, "k_signed", SIGNED_PATH, other)

        def bad_unbuffered(case):
            case.response = self.signed(case, int(time.time()), body, "0" * 64, port=self.no_xff_port)
            refusal_checks(case, 401, "bad_signature", "AUTHENTICATION_FAILED")

        def stale(case):
            case.response = self.signed(case, int(time.time()) - 1000, body)
            refusal_checks(case, 401, "stale_timestamp", "AUTHENTICATION_FAILED")

        def too_large(case):
            ts = str(int(time.time()))
            big = b"x" * 70000
            headers = [("x-case", case.id), ("x-api-key", SIGNED_KEY), ("x-timestamp", ts),
                       ("x-signature", dvpay_signature(SIGNED_SECRET, big, ts)), ("x-idempotent-key", "big")]
            case.response = http1(self.port, "POST", SIGNED_PATH, headers, big)
            refusal_checks(case, 413, "body_too_large", "PAYLOAD_TOO_LARGE")

        def pay(case, key, payload, path="/external/v1/payments", headers=(), port=0):
            hs = [("x-case", case.id), ("x-api-key", SIGNED_KEY)] + list(headers)
            if key is not None:
                hs.append(("x-idempotent-key", key))
            return http1(port or self.port, "POST", path, hs, payload)

        def missing_key(case):
            case.response = pay(case, None, b"{}")
            case.oracle_input = {
                "config": self.sections,
                "input": {"now": int(time.time()), "method": "POST", "path": "/external/v1/payments",
                          "headers": {"x-api-key": SIGNED_KEY}, "body": "{}"},
            }
            refusal_checks(case, 400, "missing_idempotency_key", "INVALID_REQUEST")

        def replay(case):
            key = str(uuid.uuid4())
            first = pay(case, key, b'{"amount":1}')
            again = pay(case, key, b'{"amount":1}')
            expect(first.status == 200, f"first answer {first.status}")
            expect((again.status, again.body) == (first.status, first.body), f"replay {again.status} {again.body!r}")
            expect(again.header("x-upstream") == "payseal-tests", "replay lost the stored headers")
            expect(again.header("idempotent-replayed") == "true", f"the replay has no Idempotent-Replayed: {again.header('idempotent-replayed')!r}")
            expect(first.header("idempotent-replayed") is None, "the first execution says it is a replay")
            expect(self.count(key) == 1, f"executed {self.count(key)} times")
            other = pay(case, key, b'{"amount":2}')
            expect(other.status == 409, f"other body: {other.status}")
            expect(other.json()["message"] == "Idempotency key reused with a different request body.", other.body)
            case.response = again

        def endpoint(case):
            key = str(uuid.uuid4())
            expect(pay(case, key, b"{}").status == 200, "first")
            r = pay(case, key, b"{}", path="/external/v1/payments/other")
            expect(r.status == 409, f"status {r.status}")
            expect(r.json()["message"] == "Idempotency key already used for a different endpoint.", r.body)

        def worker_connections() -> list[int]:
            stats = http1(self.admin_port, "GET", "/stats?filter=downstream_cx_total", []).body.decode()
            prefix = f"listener.127.0.0.1_{self.port}.worker_"
            return [int(line.split(": ")[1]) for line in stats.splitlines() if line.startswith(prefix)]

        def concurrent(case):
            # 16 clients at once with one new key, on two workers (two VMs):
            # the claim must hold across them. Up to 3 rounds, until the
            # kernel spread the connections over both workers.
            for _ in range(3):
                key = str(uuid.uuid4())
                before = worker_connections()
                answers, threads = [], []

                def send():
                    try:
                        answers.append(pay(case, key, b'{"amount":7}', path="/external/v1/payments?delay=400"))
                    except Exception as e:  # noqa: BLE001 - reported below
                        answers.append(e)

                threads = [threading.Thread(target=send) for _ in range(16)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join(20)
                statuses = sorted(a.status if isinstance(a, Response) else repr(a) for a in answers)
                expect(self.count(key) == 1, f"executed {self.count(key)} times; answers {statuses}")
                in_progress = [a for a in answers if isinstance(a, Response) and a.status == 409]
                expect(len(answers) == 16 and statuses.count(200) >= 1 and len(in_progress) >= 1, f"answers {statuses}")
                expect(all(a.json()["code"] == "IDEMPOTENCY_KEY_IN_PROGRESS" for a in in_progress), "409 code")
                used = [b - a for a, b in zip(before, worker_connections())]
                if len(used) == 2 and all(n > 0 for n in used):
                    return
            raise AssertionError(f"the connections never reached both workers: {used}")

        def release_after_5xx(case):
            key = str(uuid.uuid4())
            first = pay(case, key, b"{}", path="/external/v1/payments/fail")
            second = pay(case, key, b"{}", path="/external/v1/payments/fail")
            expect((first.status, second.status) == (503, 503), f"answers {first.status} {second.status}")
            expect(self.count(key) == 2, f"a 5xx must release the claim: executed {self.count(key)} times")

        def never_sent(case):
            # The cluster refuses every connection: Envoy answers 503 itself,
            # nothing executed, so the claim is released and a retry runs.
            key = str(uuid.uuid4())
            first = pay(case, key, b"{}", port=self.dead_port)
            second = pay(case, key, b"{}", port=self.dead_port)
            case.response = second
            expect((first.status, second.status) == (503, 503), f"answers {first.status} {second.status}: {second.body!r}")
            expect(second.header("x-upstream") is None, "an upstream answered")

            def check(log):
                expect("connection_failure" in log.get("details", ""), f"code details {log.get('details')!r}")

            case.checks.append(check)

        def timed_out(case):
            # Sent, and Envoy gave up waiting (504): it may have executed, so
            # the key is held as outcome unknown.
            key = str(uuid.uuid4())
            path = "/external/v1/payments?delay=2500"
            first = pay(case, key, b"{}", path=path, port=self.timeout_port)
            second = pay(case, key, b"{}", path=path, port=self.timeout_port)
            case.response = second
            expect(first.status == 504, f"first answer {first.status} {first.body!r}")
            expect(second.status == 409, f"retry answer {second.status} {second.body!r}")
            expect(second.json()["code"] == "IDEMPOTENCY_OUTCOME_UNKNOWN", f"retry {second.body!r}")
            expect(self.count(key) == 1, f"executed {self.count(key)} times")

        def too_large_to_store(case):
            key = str(uuid.uuid4())
            first = pay(case, key, b"{}", port=self.small_port)
            second = pay(case, key, b"{}", port=self.small_port)
            case.response = second
            expect(first.status == 200 and first.header("x-upstream") == "payseal-tests", f"first {first.status}")
            expect(len(first.body) > 32, "the answer was not over the limit")
            expect(second.status == 409, f"retry answer {second.status} {second.body!r}")
            expect(second.json()["code"] == "IDEMPOTENCY_OUTCOME_UNKNOWN", f"retry {second.body!r}")
            expect(self.count(key) == 1, f"executed {self.count(key)} times")

        def oracle_ip(case, client_ip):
            case.oracle_input = {
                "config": self.sections,
                "input": {"now": int(time.time()), "method": "GET", "path": "/external/v1/x",
                          "client_ip": client_ip, "headers": {"x-api-key": self.ip_key}},
            }

        def xff_spoof(case):
            # One trusted hop: the spoofed leftmost entry is ignored.
            headers = [("x-case", case.id), ("x-api-key", self.ip_key), ("x-forwarded-for", "203.0.113.45, 8.8.8.8")]
            case.response = http1(self.port, "GET", "/external/v1/x", headers)
            oracle_ip(case, "8.8.8.8")
            refusal_checks(case, 403, "ip_not_allowed", "IP_NOT_ALLOWED")

        def xff_trusted(case):
            headers = [("x-case", case.id), ("x-api-key", self.ip_key), ("x-forwarded-for", "8.8.8.8, 203.0.113.45")]
            case.response = http1(self.port, "GET", "/external/v1/x", headers)
            forwarded_checks(case, "k_ip", "/external/v1/x")

        def xff_untrusted_listener(case):
            headers = [("x-case", case.id), ("x-api-key", self.ip_key), ("x-forwarded-for", "203.0.113.45")]
            case.response = http1(self.no_xff_port, "GET", "/external/v1/x", headers)
            oracle_ip(case, "127.0.0.1")
            refusal_checks(case, 403, "ip_not_allowed", "IP_NOT_ALLOWED")

        def misconfigured(case):
            headers = [("x-case", case.id), ("x-api-key", SIGNED_KEY)]
            case.response = http1(self.bad_port, "GET", "/external/v1/x", headers)
            refusal_checks(case, 500, "invalid_config", "CONFIGURATION_ERROR")

        def clock_refused(case):
            headers = [("x-case", case.id), ("x-api-key", SIGNED_KEY)]
            case.response = http1(self.clock_port, "GET", "/external/v1/x", headers)
            refusal_checks(case, 500, "invalid_config", "CONFIGURATION_ERROR")

        add("signed-route-good-signature", good)
        add("signed-route-bad-signature", bad)
        add("signed-route-stale-timestamp", stale)
        add("signed-route-good-signature-without-buffer-filter", good_unbuffered)
        add("signed-route-bad-signature-without-buffer-filter", bad_unbuffered)
        add("signed-route-body-over-limit", too_large)
        add("idempotency-key-required", missing_key)
        add("idempotency-replay-and-body-mismatch", replay)
        add("idempotency-other-endpoint", endpoint)
        add("idempotency-concurrent-claims-execute-once", concurrent)
        add("idempotency-5xx-releases", release_after_5xx)
        add("idempotency-never-sent-releases", never_sent)
        add("idempotency-timeout-keeps-outcome-unknown", timed_out)
        add("idempotency-answer-too-large-keeps-outcome-unknown", too_large_to_store)
        add("xff-spoofed-hop-ignored", xff_spoof)
        add("xff-trusted-hop-used", xff_trusted)
        add("xff-not-trusted-on-listener-without-hops", xff_untrusted_listener)
        add("misconfigured-filter-fails-closed", misconfigured)
        add("release-build-refuses-test-clock", clock_refused)
        return out


# ---------------------------------------------------------------------------
# The gate (gate.md), through the release listener


def gate_cases(release: Release) -> list[tuple[Case, object]]:
    """Requests the gate refuses (the upstream must receive nothing of them),
    route prefixes in any case, and the forwarding headers the upstream gets."""
    out = []
    port, upstream = release.port, release.upstream_port
    body = b'{"orderId":"ORD-1","refundAmount":10.5}'

    def oracle(case, method, path, headers, payload=b""):
        case.oracle_input = {
            "config": release.sections,
            "input": {"now": int(time.time()), "method": method, "path": path, "headers": headers,
                      "webcode_header": "x-webcode", "body": payload.decode()},
        }

    def refused(name, path, headers=(), method="POST", reason="path_not_canonical", ask_plugin=True):
        hs = [("x-api-key", SIGNED_KEY)] + list(headers)

        def run(case):
            case.response = http1(port, method, path, [("x-case", case.id)] + hs, body)
            if ask_plugin:
                oracle(case, method, path, hs, body)
            refusal_checks(case, 400, reason, "INVALID_REQUEST")
            nothing_upstream_checks(case, upstream)

        out.append((Case(f"gate/{name}"), run))

    # Every letter of the signed route's prefix, percent-encoded (%41–%5A,
    # %61–%7A): the upstream would decode it to the signed route. The plugin
    # rewrites such a target, so there is no plugin answer to compare with.
    for i, letter in enumerate(SIGNED_PATH):
        if not letter.isalpha():
            continue
        for variant in (letter.lower(), letter.upper()):
            encoded = f"%{ord(variant):02X}"
            path = SIGNED_PATH[:i] + encoded + SIGNED_PATH[i + 1:]
            refused(f"encoded-letter:{path}", path, ask_plugin=False)
    refused("path-parameter", SIGNED_PATH + ";x=1")
    refused("path-parameter-dot-dot", "/external/v1/x/..;/refund")
    refused("empty-segment-inner", "/external/v1//refund")
    refused("empty-segment-leading", "/" + SIGNED_PATH)
    refused("encoded-dot-dot", "/external/v1/x/%2e%2e/refund")
    refused("dot-dot", "/external/v1/x/../refund")
    refused("encoded-slash", "/external/v1%2frefund")
    refused("webcode-twice", "/external/v1/x", [("x-webcode", "SHOP01"), ("X-Webcode", "SHOP02")], method="GET",
            reason="duplicate_field")
    refused("api-key-twice", "/external/v1/x", [("x-api-key", SIGNED_KEY)], method="GET", reason="duplicate_field")
    refused("idempotency-key-twice", "/external/v1/payments",
            [("x-idempotent-key", "gate-1"), ("x-idempotent-key", "gate-2")], reason="duplicate_field")
    refused("signature-twice", SIGNED_PATH, [("x-timestamp", "1"), ("x-timestamp", "1")], reason="duplicate_field")

    def any_case(case):
        # The signed route in capitals is the signed route: no signature, no entry.
        path = SIGNED_PATH.upper()
        hs = [("x-api-key", SIGNED_KEY), ("x-idempotent-key", str(uuid.uuid4()))]
        case.response = http1(port, "POST", path, [("x-case", case.id)] + hs, body)
        oracle(case, "POST", path, hs, body)
        refusal_checks(case, 401, "missing_signature", "AUTHENTICATION_FAILED")
        nothing_upstream_checks(case, upstream)

    def whole_segments(case):
        # `/external/v1/refund` does not cover `/external/v1/refundx`.
        path = SIGNED_PATH + "x"
        case.response = http1(port, "POST", path, [("x-case", case.id), ("x-api-key", SIGNED_KEY)], body)
        forwarded_checks(case, "k_signed", path, body)

    def forwarding(case):
        hs = [
            ("x-case", case.id),
            ("x-api-key", SIGNED_KEY),
            ("Forwarded", "for=198.51.100.99;host=evil.example;proto=https"),
            ("X-Real-IP", "198.51.100.99"),
            ("X-HTTP-Method-Override", "DELETE"),
            ("X-Forwarded-Host", "evil.example"),
            # Envoy appends the peer and trusts one hop: the client is 198.51.100.9.
            ("X-Forwarded-For", "198.51.100.9"),
            # A client cannot name its key id.
            ("X-Payseal-Key-Id", "k_admin"),
        ]
        case.response = http1(port, "GET", "/external/v1/x", hs)
        forwarded_checks(case, "k_signed", "/external/v1/x")

        def check(log):
            seen = upstream_seen(upstream, case)
            got = {}
            for name, value in seen["headers"]:
                got.setdefault(name, []).append(value)
            for name in ("x-real-ip", "x-http-method-override", "x-forwarded-host", "x-api-key"):
                expect(name not in got, f"the upstream received {name}: {got.get(name)}")
            expect(got.get("x-payseal-key-id") == ["k_signed"], f"x-payseal-key-id {got.get('x-payseal-key-id')}")
            expect(got.get("forwarded") == ["for=198.51.100.9"], f"forwarded {got.get('forwarded')}")
            expect(got.get("x-forwarded-for") == ["198.51.100.9"], f"x-forwarded-for {got.get('x-forwarded-for')}")
            expect(case.response.json()["method"] == "GET", "the method changed")

        case.checks.append(check)

    def forwarded_proto(case):
        # With no trusted hop Envoy writes X-Forwarded-Proto from the
        # connection; the filter leaves Envoy's value (its router needs it).
        hs = [("x-case", case.id), ("x-api-key", SIGNED_KEY), ("X-Forwarded-Proto", "https"), ("X-Real-IP", "198.51.100.99")]
        case.response = http1(release.no_xff_port, "GET", "/external/v1/x", hs)
        forwarded_checks(case, "k_signed", "/external/v1/x")

        def check(log):
            got = dict(upstream_seen(upstream, case)["headers"])
            expect(got.get("x-forwarded-proto") == "http", f"x-forwarded-proto {got.get('x-forwarded-proto')!r}")
            expect("x-real-ip" not in got, "the upstream received x-real-ip")
            expect(got.get("x-forwarded-for") == "127.0.0.1", f"x-forwarded-for {got.get('x-forwarded-for')!r}")
            expect(got.get("forwarded") == "for=127.0.0.1", f"forwarded {got.get('forwarded')!r}")

        case.checks.append(check)

    out.append((Case("gate/signed-route-prefix-any-case"), any_case))
    out.append((Case("gate/route-prefix-whole-segments"), whole_segments))
    out.append((Case("gate/client-forwarding-headers-not-forwarded"), forwarding))
    out.append((Case("gate/forwarded-proto-is-envoys"), forwarded_proto))
    return out


# ---------------------------------------------------------------------------
# A signature is accepted once (signing.md), with the test-clock build


class ReplaySignatures:
    """The DVPay-signed route at a fixed `now`, on a vm_id of its own. Marks
    stay in shared data for the whole run (the clock does not move), so every
    case signs a body of its own, and uses idempotency keys of its own."""

    NOW = 1719500000

    def __init__(self, test_wasm: str, access_log: str, upstream_port: int):
        self.upstream_port = upstream_port
        self.port = env.free_port()
        self.sections = {
            "keys": signed_keys(),
            "routes": [{"prefix": SIGNED_PATH, "methods": ["POST"], "signed": True}],
            "signed_requests": {"secrets": {"k_signed": [SIGNED_SECRET]}},
        }
        config = dict(self.sections, clock={"fixed_now": self.NOW})
        flt = env.payseal_filter(config, test_wasm, vm_id="payseal-replay", plugin_name="payseal-replay")
        self.listeners = [env.listener("replay", self.port, access_log, [flt, env.buffer_filter()])]

    def count(self, key: str) -> int:
        return http1(self.upstream_port, "GET", f"/__count?key={key}", []).json()["count"]

    def send(self, x_case: str, body: bytes, key: str, signature: str | None = None) -> Response:
        ts = str(self.NOW)
        headers = [
            ("x-case", x_case),
            ("x-api-key", SIGNED_KEY),
            ("x-timestamp", ts),
            ("x-signature", signature or dvpay_signature(SIGNED_SECRET, body, ts)),
            ("x-idempotent-key", key),
        ]
        return http1(self.port, "POST", SIGNED_PATH, headers, body)

    def cases(self) -> list[tuple[Case, object]]:
        out = []

        def add(name, run):
            out.append((Case(f"replay/{name}"), run))

        def payload(case) -> bytes:
            # A body, hence a signature, of this case's own.
            return json.dumps({"orderId": f"ORD-{case.id}", "refundAmount": 10.5}).encode()

        def forwarded_once(case, body, key) -> Response:
            # The first use, under an x-case of its own: the case's access-log
            # entry is the request under test.
            first = self.send(uuid.uuid4().hex, body, key)
            expect(first.status == 200 and first.header("x-upstream") == "payseal-tests",
                   f"first use: {first.status} {first.body[:200]!r}")
            expect(self.count(key) == 1, f"first use executed {self.count(key)} times")
            return first

        def retried(case):
            # The same signed request with the same idempotency key: no
            # replay of the signature, the idempotency answer.
            body, key = payload(case), str(uuid.uuid4())
            first = forwarded_once(case, body, key)
            case.response = again = self.send(case.id, body, key)
            expect((again.status, again.body) == (first.status, first.body), f"retry {again.status} {again.body!r}")
            expect(again.header("x-upstream") == "payseal-tests", "the replay lost the stored headers")
            expect(self.count(key) == 1, f"executed {self.count(key)} times")

            def check(log):
                expect(log.get("reason") == "idempotent_replay", f"reason {log.get('reason')!r}")

            case.checks.append(check)

        def refused_under(case, signature_of=lambda sig: sig):
            body, key, other = payload(case), str(uuid.uuid4()), str(uuid.uuid4())
            forwarded_once(case, body, key)
            signature = signature_of(dvpay_signature(SIGNED_SECRET, body, str(self.NOW)))
            # The DVPay MAC does not cover the idempotency key: a captured
            # request sent again under a fresh one verifies, and is a replay.
            case.response = self.send(case.id, body, other, signature)
            refusal_checks(case, 401, "replayed_signature", "AUTHENTICATION_FAILED")
            r = case.response
            expect(r.status == 401 and r.json().get("message") == "The request signature was already used.",
                   f"second use: {r.status} {r.body[:200]!r}")
            expect((self.count(key), self.count(other)) == (1, 0),
                   f"the upstream executed {self.count(key)} + {self.count(other)} times")

        add("retried-with-its-idempotency-key-gets-the-idempotency-answer", retried)
        add("signature-under-a-new-idempotency-key-refused", refused_under)
        add("signature-in-other-hex-case-refused", lambda case: refused_under(case, str.upper))
        return out


# ---------------------------------------------------------------------------
# tests/vectors/idempotency.json, step by step, through the release build

IDEM_TOP = {"scheme", "spec", "generated_by", "set", "cases"}
IDEM_CASE = {"name", "op", "steps", "note"}
IDEM_STEP = {"key", "method", "path", "body", "environment", "key_id", "expected", "finish", "note"}
IDEM_EXPECTED = {"execute": {"outcome"}, "replay": {"outcome", "status"}, "conflict": {"outcome", "status", "message"}}
IDEM_FINISH = {"status"}
TEST_ROUTE_PREFIX = "/external/v1/test/"  # the core's default test route prefix


class IdempotencyVectors:
    """One listener per environment, each with a key record per key id of
    that environment (one record cannot be of two environments), all on one
    vm_id, so the cases' records share one store. Every step is a request:
    an executed step's upstream answers its `finish.status`; a step without
    `finish` is held in flight at the upstream until the later steps ran."""

    def __init__(self, wasm: str, access_log: str, upstream_port: int):
        self.upstream_port = upstream_port
        self.unreadable: list[Case] = []
        self.runs: list[tuple[Case, list[dict]]] = []
        vectors = json.loads((VECTORS / "idempotency.json").read_text())
        if set(vectors) - IDEM_TOP or vectors.get("scheme", "idempotency") != "idempotency":
            case = Case("idempotency.json")
            case.fail(f"unknown top-level fields {sorted(set(vectors) - IDEM_TOP)} or scheme {vectors.get('scheme')!r}")
            self.unreadable.append(case)
        key_ids: dict[str, set[str]] = {}
        for raw in vectors.get("cases", []):
            case = Case(f"idempotency/{raw.get('name')}")
            steps = raw.get("steps") or []
            problems = [f"op {raw.get('op')!r}"] if raw.get("op") != "idempotency" else []
            problems += [f"fields {sorted(set(raw) - IDEM_CASE)}"] if set(raw) - IDEM_CASE else []
            problems += [] if steps else ["no steps"]
            for n, step in enumerate(steps, 1):
                expected = step.get("expected", {})
                outcome = expected.get("outcome")
                wanted = IDEM_EXPECTED.get(outcome)
                if set(step) - IDEM_STEP or not {"key", "method", "path", "body", "environment", "key_id"} <= set(step):
                    problems.append(f"step {n} fields {sorted(set(step) ^ IDEM_STEP)}")
                elif wanted is None or not set(expected) <= wanted or "status" in wanted - set(expected):
                    problems.append(f"step {n} expected {expected}")
                elif "finish" in step and (outcome != "execute" or set(step["finish"]) != IDEM_FINISH):
                    problems.append(f"step {n} finish {step['finish']}")
                elif step["environment"] not in ("live", "test"):
                    problems.append(f"step {n} environment {step['environment']!r}")
                elif step["path"].startswith(TEST_ROUTE_PREFIX) != (step["environment"] == "test"):
                    # A key of one environment is refused on the other's routes.
                    case.not_expressible = (
                        f"step {n}: a {step['environment']} request on {step['path']!r}, "
                        "a route of the other environment"
                    )
                else:
                    key_ids.setdefault(step["environment"], set()).add(step["key_id"])
            if problems:
                case.fail("not understood: " + ", ".join(problems))
                self.unreadable.append(case)
            else:
                self.runs.append((case, steps))
        self.ports = {environment: env.free_port() for environment in sorted(key_ids)}
        self.listeners = []
        for environment, port in self.ports.items():
            records = [
                {"id": key_id, "key_sha256": sha256(self.api_key(key_id, environment)), "environment": environment}
                for key_id in sorted(key_ids[environment])
            ]
            config = {
                "keys": {"records": records, "header": "x-api-key"},
                "routes": [{"prefix": "/", "idempotency": "required"}],
            }
            flt = env.payseal_filter(config, wasm, vm_id="payseal", plugin_name=f"payseal-idempotency-{environment}")
            self.listeners.append(env.listener(f"idempotency_{environment}", port, access_log, [flt, env.buffer_filter()]))

    @staticmethod
    def api_key(key_id: str, environment: str) -> str:
        return f"sk_{environment}_" + sha256(f"idempotency-vectors/{key_id}")[:32]

    def count(self, key: str) -> int:
        return http1(self.upstream_port, "GET", f"/__count?key={key}", []).json()["count"]

    def cases(self) -> list[tuple[Case, object]]:
        """(case, run) pairs; a case not understood or not expressible runs nothing."""
        out = [(case, lambda case: None) for case in self.unreadable]
        for case, steps in self.runs:
            if case.not_expressible is not None:
                out.append((case, lambda case: None))
            else:
                out.append((case, lambda case, steps=steps: self.run(case, steps)))
        return out

    def run(self, case: Case, steps: list[dict]) -> None:
        # The vectors' keys are per case; this run's records are per Envoy.
        prefix = uuid.uuid4().hex[:12]
        held = []  # (step number, token, thread, answers)
        try:
            for n, step in enumerate(steps, 1):
                key = f"{prefix}-{step['key']}"
                outcome = step["expected"]["outcome"]
                label = f"step {n} ({outcome})"
                headers = [
                    ("x-case", case.id),
                    ("x-api-key", self.api_key(step["key_id"], step["environment"])),
                    ("x-idempotent-key", key),
                ]
                port, method, path, body = self.ports[step["environment"]], step["method"], step["path"], step["body"].encode()
                before = self.count(key)
                if outcome == "execute" and "finish" not in step:
                    # In flight: the upstream holds its answer until the later steps ran.
                    token = uuid.uuid4().hex
                    answers: list = []

                    def send(port=port, method=method, path=path, body=body, headers=headers + [("x-upstream-hold", token)],
                             answers=answers):
                        try:
                            answers.append(http1(port, method, path, headers, body))
                        except Exception as e:  # noqa: BLE001 - reported below
                            answers.append(e)

                    thread = threading.Thread(target=send)
                    thread.start()
                    held.append((n, token, thread, answers))
                    deadline = time.monotonic() + 10
                    while self.count(key) == before and time.monotonic() < deadline:
                        time.sleep(0.02)
                    expect(self.count(key) == before + 1, f"{label}: the upstream never received it ({answers})")
                    continue
                if "finish" in step:
                    headers.append(("x-upstream-status", str(step["finish"]["status"])))
                r = http1(port, method, path, headers, body)
                case.response = r
                executed = self.count(key) - before
                answer = f"{r.status} {r.body[:160]!r}"
                if outcome == "execute":
                    expect(executed == 1, f"{label}: the upstream executed it {executed} times; answer {answer}")
                    expect(r.status == step["finish"]["status"], f"{label}: answer {answer}")
                    expect(r.header("x-upstream") == "payseal-tests", f"{label}: not the upstream's answer {answer}")
                else:
                    expect(executed == 0, f"{label}: the upstream executed it; answer {answer}")
                    expect(r.status == step["expected"]["status"], f"{label}: answer {answer}")
                    if outcome == "replay":
                        expect(r.header("x-upstream") == "payseal-tests", f"{label}: the replay lost the stored headers")
                        expect(r.header("idempotent-replayed") == "true", f"{label}: the replay has no Idempotent-Replayed")
                    elif "message" in step["expected"]:
                        message = r.json().get("message")
                        expect(message == step["expected"]["message"], f"{label}: message {message!r}")
        finally:
            for _, token, _, _ in held:
                http1(self.upstream_port, "GET", f"/__release?token={token}", [])
            for _, _, thread, _ in held:
                thread.join(15)
        for n, _, _, answers in held:
            got = answers[0] if answers else "no answer"
            ok = isinstance(got, Response) and got.status == 200 and got.header("x-upstream") == "payseal-tests"
            expect(ok, f"step {n} (in flight): once released, answered {getattr(got, 'status', got)!r}")


def log_checks(envoy_log: Path) -> list[Case]:
    """The misconfigured filters' log lines name the field, never the secret."""
    text = envoy_log.read_text(errors="replace")
    out = []
    for name, needle in [
        ("log-names-bad-field", "payseal: invalid configuration at keys.records[0].key_sha256"),
        ("log-names-test-clock-field", "payseal: invalid configuration at clock: unknown field `clock`"),
    ]:
        case = Case(f"release/{name}")
        if needle not in text:
            case.fail(f"the Envoy log has no line with {needle!r}")
        out.append(case)
    case = Case("release/log-holds-no-secret")
    for secret in (CANARY, SIGNED_SECRET, SIGNED_KEY):
        if secret in text:
            case.fail("a secret or key appears in the Envoy log")
    out.append(case)
    return out


# ---------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--work", required=True)
    parser.add_argument("--wasm", required=True)
    parser.add_argument("--test-wasm", required=True)
    parser.add_argument("--oracle", required=True)
    parser.add_argument("--unit-status", type=int, default=0, help="exit status of the test-clock build's unit tests")
    args = parser.parse_args()
    work = Path(args.work)
    access_log = str(work / "access.log")
    results: list[Case] = []
    try:
        upstream_port, admin_port = env.free_port(), env.free_port()
        env.start_upstream(work, upstream_port)
        k_cases, k_listeners, k_senders = keys_cases(args.test_wasm, access_log)
        d_cases, d_listeners, d_senders = dvpay_cases(args.test_wasm, access_log)
        release = Release(args.wasm, access_log, upstream_port, admin_port)
        idem = IdempotencyVectors(args.wasm, access_log, upstream_port)
        replayed = ReplaySignatures(args.test_wasm, access_log, upstream_port)
        listeners = k_listeners + d_listeners + release.listeners + idem.listeners + replayed.listeners
        yaml_text = env.bootstrap(admin_port, upstream_port, listeners)
        # Two workers: a claim must hold across VMs, not only within one.
        env.start_envoy(work, yaml_text, admin_port, concurrency=2)
        for case, send in k_senders + d_senders:
            try:
                case.response = send()
                if case.not_expressible is not None:
                    case.not_expressible += f" (sent anyway: Envoy answered {case.response.status})"
            except Exception as e:  # noqa: BLE001 - a case that cannot be sent fails
                if case.not_expressible is not None:
                    # Envoy may drop what HTTP cannot carry: that is no failure.
                    case.not_expressible += f" (sent anyway: {e!r})"
                else:
                    case.fail(f"request failed: {e!r}")
        results += k_cases + d_cases
        for case, run in release.cases() + gate_cases(release) + idem.cases() + replayed.cases():
            results.append(case)
            try:
                run(case)
            except AssertionError as e:
                case.fail(str(e))
            except Exception as e:  # noqa: BLE001
                case.fail(f"{e!r}")
        # Not expressible over HTTP: nothing of them is checked.
        checked = [c for c in results if c.not_expressible is None]
        # The plugin's answers for the same configurations and requests.
        asked = [c for c in checked if c.oracle_input is not None and c.error is None]
        cases_file, answers_file = work / "oracle-cases.json", work / "oracle-answers.json"
        cases_file.write_text(json.dumps([c.oracle_input for c in asked]))
        subprocess.run([args.oracle, str(cases_file), str(answers_file)], check=True)
        for case, answer in zip(asked, json.loads(answers_file.read_text())):
            case.oracle = answer
        logs = env.read_access_log(access_log, {c.id for c in checked if c.checks and c.error is None})
        for case in checked:
            if case.error is not None:
                continue
            for check in case.checks:
                try:
                    check(logs.get(case.id, {}))
                except AssertionError as e:
                    case.fail(str(e))
                except Exception as e:  # noqa: BLE001
                    case.fail(f"{e!r}")
    except Exception:  # noqa: BLE001 - the suite itself failed: one failure, reported
        traceback.print_exc()
        results.append(Case("suite"))
        results[-1].fail("the suite could not run (traceback above)")
    finally:
        env.stop_all()
    try:
        results += log_checks(work / "envoy.log")
    except OSError as e:
        results.append(Case("release/logs"))
        results[-1].fail(f"no Envoy log: {e}")
    unit = Case("unit/test-clock-build")
    if args.unit_status != 0:
        unit.fail("cargo test -p payseal-envoy --features test-clock failed (output above)")
    results.append(unit)
    passed = failed = skipped = 0
    for case in results:
        if case.not_expressible is not None and case.error is None:
            skipped += 1
            print(f"n/a  {case.name}: not expressible over HTTP: {case.not_expressible}")
        elif case.error is None:
            passed += 1
            print(f"ok   {case.name}")
        else:
            failed += 1
            print(f"FAIL {case.name}: {case.error}")
    print(f"payseal-summary: envoy {passed} passed, {failed} failed, {skipped} not expressible over HTTP")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
