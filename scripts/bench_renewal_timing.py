"""The load half of scripts/bench-renewal-timing.sh: renewal requests against
one running gateway, loopback only, bounded in count and time.

    python3 scripts/bench_renewal_timing.py HOST:PORT CODE_URL ACCOUNT_CODE N

Sends N renewals each, interleaved so drift hits every case alike, for
  (a) an unknown codeUrl (documented 400 INVALID_SECRET_KEY_RECEPTION_URL_CODE),
  (b) the known codeUrl with a wrong password (401 AUTHENTICATION_FAILED),
  (c) the known codeUrl with an unknown account code (401 AUTHENTICATION_FAILED),
and prints each median latency and the ratios a/b and c/b (target: within 10 %).
"""

import http.client
import statistics
import sys
import time
import urllib.parse

ADDR, CODE_URL, ACCOUNT, N = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
HOST, PORT = ADDR.rsplit(":", 1)[0], int(ADDR.rsplit(":", 1)[1])
WARMUP = 3

CASES = [
    ("a", "unknown codeUrl", "/NOSUCHCODE/renew-secret", ACCOUNT, 400, "INVALID_SECRET_KEY_RECEPTION_URL_CODE"),
    ("b", "known codeUrl, wrong password", f"/{CODE_URL}/renew-secret", ACCOUNT, 401, "AUTHENTICATION_FAILED"),
    ("c", "known codeUrl, unknown account", f"/{CODE_URL}/renew-secret", "ACC_NOBODY", 401, "AUTHENTICATION_FAILED"),
]


def one(path, account):
    """One renewal on a fresh connection (an answer may close it), timed
    from connect to the last byte."""
    body = urllib.parse.urlencode({"accountOperationCode": account, "password": "not the password"})
    headers = {"content-type": "application/x-www-form-urlencoded", "host": "bench"}
    start = time.perf_counter()
    conn = http.client.HTTPConnection(HOST, PORT, timeout=10)
    try:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    elapsed = time.perf_counter() - start
    return elapsed, response.status, data.decode("utf-8", "replace")


def main():
    samples = {key: [] for key, *_ in CASES}
    for i in range(WARMUP + N):
        for key, _, path, account, status, code in CASES:
            elapsed, got, text = one(path, account)
            if got != status or code not in text:
                sys.exit(f"case {key}: expected {status} {code}, got {got} {text}")
            if i >= WARMUP:
                samples[key].append(elapsed * 1000)
    medians = {key: statistics.median(values) for key, values in samples.items()}
    print(f"renewal timing, N={N} each (after {WARMUP} warm-up rounds), interleaved, one connection each:")
    for key, label, _, _, status, code in CASES:
        print(f"  ({key}) {label:32} {status} {code:40} median {medians[key]:8.3f} ms")
    print(f"  ratio a/b = {medians['a'] / medians['b']:.3f}   (target: within 10 %, i.e. 0.90..1.10)")
    print(f"  ratio c/b = {medians['c'] / medians['b']:.3f}")


main()
