"""The load half of scripts/bench-gate-attacks.sh: slow uploads and slow
parses against one running gateway, loopback only, bounded in count and time.

    python3 scripts/bench_gate_attacks.py HOST:PORT GATEWAY_PID API_KEY
"""

import asyncio
import sys
import time

ADDR, PID, KEY = sys.argv[1], int(sys.argv[2]), sys.argv[3]
HOST, PORT = ADDR.rsplit(":", 1)[0], int(ADDR.rsplit(":", 1)[1])
UPLOADS = 1000
UPLOAD_BYTES = 1024 * 1024


def rss_mib():
    with open(f"/proc/{PID}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def slow_upload(hold):
    """A valid key and a 1 MiB body minus its last byte, held open."""
    try:
        reader, writer = await asyncio.open_connection(HOST, PORT)
    except OSError:
        return "refused"
    head = (f"POST /external/v1/orders HTTP/1.1\r\nhost: x\r\nx-api-key: {KEY}\r\n"
            f"content-length: {UPLOAD_BYTES}\r\n\r\n").encode()
    try:
        writer.write(head)
        chunk = b"x" * 65536
        sent = 0
        while sent < UPLOAD_BYTES - 1:
            n = min(len(chunk), UPLOAD_BYTES - 1 - sent)
            writer.write(chunk[:n])
            await asyncio.wait_for(writer.drain(), 5)
            sent += n
        await hold.wait()
        return "held"
    except (OSError, asyncio.TimeoutError):
        return "closed by the gateway"
    finally:
        writer.close()


async def memory():
    await asyncio.sleep(0.5)
    rest = rss_mib()
    for burst in (1, 2):
        await one_burst(rest, burst)


async def one_burst(rest, burst):
    hold = asyncio.Event()
    tasks = [asyncio.create_task(slow_upload(hold)) for _ in range(UPLOADS)]
    peak = rss_mib()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        peak = max(peak, rss_mib())
        await asyncio.sleep(0.1)
    hold.set()
    outcomes = await asyncio.gather(*tasks)
    await asyncio.sleep(2)
    after = rss_mib()
    counts = {o: outcomes.count(o) for o in sorted(set(outcomes))}
    print(f"memory, burst {burst}: rest {rest:.1f} MiB, peak {peak:.1f} MiB ({peak / rest:.2f}x rest), "
          f"after close {after:.1f} MiB ({after / rest:.2f}x rest); {UPLOADS} uploads: {counts}")
    print(f"memory goal, burst {burst} (peak under 256 MiB with the defaults): {'met' if peak < 256 else 'NOT met'}")


async def get_latencies(n):
    out = []
    for _ in range(n):
        started = time.perf_counter()
        reader, writer = await asyncio.open_connection(HOST, PORT)
        writer.write(f"GET /external/v1/orders HTTP/1.1\r\nhost: x\r\nx-api-key: {KEY}\r\n"
                     "connection: close\r\n\r\n".encode())
        await writer.drain()
        await reader.read()
        writer.close()
        out.append((time.perf_counter() - started) * 1000)
    return out


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(len(values) * p))]


async def attack_stream(stop):
    """RFC 9421 requests whose Signature-Input has 32k members, back to back."""
    members = ", ".join(f"s{i}=()" for i in range(32768))
    head = (f"POST /external/v1/payouts HTTP/1.1\r\nhost: x\r\nx-api-key: {KEY}\r\n"
            f"signature-input: {members}\r\nsignature: s0=:AAAA:\r\ncontent-length: 2\r\n"
            "connection: close\r\n\r\n{}").encode()
    sent = 0
    while not stop.is_set():
        try:
            reader, writer = await asyncio.open_connection(HOST, PORT)
            writer.write(head)
            await writer.drain()
            await reader.read()
            writer.close()
            sent += 1
        except OSError:
            await asyncio.sleep(0.01)
    return sent


async def slow_parse():
    alone = await get_latencies(200)
    stop = asyncio.Event()
    streams = [asyncio.create_task(attack_stream(stop)) for _ in range(4)]
    await asyncio.sleep(0.5)
    attacked = await get_latencies(200)
    stop.set()
    sent = sum(await asyncio.gather(*streams))
    p50a, p99a = percentile(alone, 0.5), percentile(alone, 0.99)
    p50b, p99b = percentile(attacked, 0.5), percentile(attacked, 0.99)
    print(f"slow parse: GET alone p50 {p50a:.2f} ms p99 {p99a:.2f} ms; under 4 streams of 32k-member "
          f"Signature-Input ({sent} sent) p50 {p50b:.2f} ms ({p50b / p50a:.2f}x) "
          f"p99 {p99b:.2f} ms ({p99b / p99a:.2f}x)")
    print(f"slow-parse goal (p99 under 50 ms): {'met' if p99b < 50 else 'NOT met'}")


asyncio.run(memory())
asyncio.run(slow_parse())
