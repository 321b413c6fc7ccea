#!/usr/bin/env python3
"""Ingest throughput and freshness of `tailpulse run --ingest`.

Posts BATCHES bodies of LINES lines each to /api/ingest from PARALLEL connections, at most
RATE lines/s in all (0: as fast as tailpulse acknowledges), while one more connection reads
/api/summary every 20 ms. Reports the lines acknowledged per second, the time until the
dashboard counts them all, and the freshness: for every acknowledged batch, the time from its
acknowledgement until the dashboard's count includes it (p50, p99, max).

usage: scripts/bench_ingest.py [--batches 100] [--lines 20000] [--parallel 4] [--rate 0]
                               [--json] [--bin target/release/tailpulse]
needs bench-data/combined-1000000.log (scripts/bench_analyze.py makes it). With --json the
bodies are NDJSON records, as Vector's and Fluent Bit's http outputs send them.
"""
import argparse
import bisect
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def body_of(lines, as_json):
    with open(os.path.join(ROOT, "bench-data/combined-1000000.log"), "rb") as f:
        head = [next(f) for _ in range(lines)]
    if not as_json:
        return b"".join(head), "text/plain"
    out = [json.dumps({"message": l.decode().rstrip("\n"), "host": "web-1"}) for l in head]
    return ("\n".join(out) + "\n").encode(), "application/x-ndjson"


def start(binary, work):
    out = open(os.path.join(work, "out"), "w+")
    proc = subprocess.Popen(
        [binary, "run", "--ingest", "--port", "0", "--data-dir", os.path.join(work, "data"),
         "--report-every", "5s"],
        stdout=out, stderr=subprocess.DEVNULL)
    while True:
        out.seek(0)
        m = re.search(r"dashboard on (http://\S+)", out.read())
        if m:
            return proc, urllib.parse.urlparse(m.group(1))
        if proc.poll() is not None:
            sys.exit("tailpulse did not start")
        time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=100)
    ap.add_argument("--lines", type=int, default=20000)
    ap.add_argument("--parallel", type=int, default=4)
    ap.add_argument("--rate", type=float, default=0)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--bin", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target")), "release/tailpulse"))
    a = ap.parse_args()
    body, ctype = body_of(a.lines, a.json)
    work = tempfile.mkdtemp()
    proc, url = start(a.bin, work)
    acks = []  # (time acknowledged, lines acknowledged by then)
    lock = threading.Lock()
    next_batch = [0]
    codes = {}
    t0 = time.monotonic()

    def sender():
        conn = http.client.HTTPConnection(url.hostname, url.port)
        while True:
            with lock:
                k = next_batch[0]
                if k >= a.batches:
                    return
                next_batch[0] += 1
            if a.rate:
                due = t0 + k * a.lines / a.rate
                time.sleep(max(0, due - time.monotonic()))
            while True:
                conn.request("POST", "/api/ingest", body, {"content-type": ctype})
                r = conn.getresponse()
                r.read()
                codes[r.status] = codes.get(r.status, 0) + 1
                if r.status == 200:
                    break
                time.sleep(float(r.getheader("retry-after", "1")))
            with lock:
                done = acks[-1][1] + a.lines if acks else a.lines
                acks.append((time.monotonic(), done))

    seen = []  # (time, requests counted)
    want = a.batches * a.lines
    finished = threading.Event()

    def poller():
        conn = http.client.HTTPConnection(url.hostname, url.port)
        while True:
            conn.request("GET", "/api/summary")
            n = json.loads(conn.getresponse().read())["requests"]
            seen.append((time.monotonic(), n))
            if n >= want:
                finished.set()
                return
            time.sleep(0.02)

    threads = [threading.Thread(target=sender) for _ in range(a.parallel)]
    watch = threading.Thread(target=poller)
    watch.start()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    acked = time.monotonic()
    finished.wait(120)
    with open(f"/proc/{proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    proc.terminate()
    proc.wait()
    counted = seen[-1][0]
    times, counts = [t for t, _ in seen], [n for _, n in seen]
    lags = []
    for t, done in acks:
        j = max(bisect.bisect_left(counts, done), bisect.bisect_left(times, t))
        if j < len(seen):
            lags.append(times[j] - t)
    lags.sort()
    pct = lambda p: lags[min(len(lags) - 1, int(p * len(lags)))]
    print(f"{want:,} lines in {a.batches} batches of {a.lines:,} "
          f"({'NDJSON' if a.json else 'text'}), answers {codes}")
    print(f"acknowledged: {acked - t0:.2f} s ({want / (acked - t0):,.0f} lines/s)")
    print(f"all counted:  {counted - t0:.2f} s ({want / (counted - t0):,.0f} lines/s); "
          f"last acknowledged to counted {counted - acked:.2f} s")
    print(f"tailpulse's CPU time: {cpu:.2f} s ({cpu / want * 1e6:.2f} µs a line)")
    print(f"freshness (acknowledged to counted, per batch): p50 {pct(0.5):.2f} s, "
          f"p99 {pct(0.99):.2f} s, max {lags[-1]:.2f} s")


if __name__ == "__main__":
    main()
