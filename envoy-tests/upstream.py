"""The tests' upstream: a threaded HTTP/1.1 server on loopback.

Every request is answered 200 with JSON naming what arrived (method, path,
body length and SHA-256), except:
  a path containing /fail          → 503 (an upstream error: idempotency releases the claim)
  a query with delay=<ms>          → answers after that long (to hold a claim in flight)
  a header x-upstream-status: N    → answers N
  a header x-upstream-hold: TOKEN  → answers once GET /__release?token=TOKEN came
                                     (at most 20 s later)
It counts executions per X-Idempotent-Key and keeps, per X-Case, how many
requests arrived and the headers of the last one. Sent to the upstream
directly, not through Envoy:
  GET /__count?key=K     → {"count": N}
  GET /__seen?case=ID    → {"count": N, "headers": [[name, value], …]}
  GET /__release?token=T → lets the held request T answer

Usage: upstream.py PORT
"""

import hashlib
import http.server
import json
import sys
import threading
import time
import urllib.parse

counts: dict[str, int] = {}
seen: dict[str, dict] = {}
holds: dict[str, threading.Event] = {}
lock = threading.Lock()


def hold(token: str) -> threading.Event:
    with lock:
        return holds.setdefault(token, threading.Event())


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def answer(self, status: int, payload: dict) -> None:
        body = json.dumps(payload, sort_keys=True).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("x-upstream", "payseal-tests")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        if url.path == "/__count":
            with lock:
                self.answer(200, {"count": counts.get(query.get("key", [""])[0], 0)})
            return
        if url.path == "/__seen":
            with lock:
                self.answer(200, seen.get(query.get("case", [""])[0], {"count": 0, "headers": []}))
            return
        if url.path == "/__release":
            hold(query.get("token", [""])[0]).set()
            self.answer(200, {"released": True})
            return
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        key = self.headers.get("x-idempotent-key")
        case = self.headers.get("x-case")
        with lock:
            if key is not None:
                counts[key] = counts.get(key, 0) + 1
            if case is not None:
                entry = seen.setdefault(case, {"count": 0, "headers": []})
                entry["count"] += 1
                entry["headers"] = [[n.lower(), v] for n, v in self.headers.items()]
        if "delay" in query:
            time.sleep(min(int(query["delay"][0]), 5000) / 1000)
        token = self.headers.get("x-upstream-hold")
        if token is not None:
            hold(token).wait(20)
        payload = {
            "method": self.command,
            "path": self.path,
            "length": len(body),
            "sha256": hashlib.sha256(body).hexdigest(),
        }
        status = int(self.headers.get("x-upstream-status") or (503 if "/fail" in url.path else 200))
        self.answer(status, payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any

    def log_message(self, *args) -> None:
        pass


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256


if __name__ == "__main__":
    Server(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
