#!/usr/bin/env python3
"""Compares two `tailpulse` binaries on the same log, run alternately.

usage: scripts/ab_analyze.py OLD_BINARY NEW_BINARY [--runs 11] [--file bench-data/combined-1000000.log]

The machine's speed drifts over minutes, so the two builds take turns: each round runs both,
one after the other, and the medians compare runs made under the same conditions. Prints the
best and median wall time and CPU time (user + system) of each.
"""
import argparse
import os
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run(binary, log):
    """Runs one analysis; returns (wall seconds, CPU seconds)."""
    start = time.perf_counter()
    cmd = [binary, "analyze", log, "--output", "json", "--out", "/dev/null"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{binary} failed")
    return time.perf_counter() - start, usage.ru_utime + usage.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("old")
    ap.add_argument("new")
    ap.add_argument("--runs", type=int, default=11)
    ap.add_argument("--file", default=os.path.join(ROOT, "bench-data", "combined-1000000.log"))
    a = ap.parse_args()
    results = {a.old: [], a.new: []}
    for _ in range(a.runs):
        for binary in (a.old, a.new):
            results[binary].append(run(binary, a.file))
    for binary, rs in results.items():
        wall, cpu = [r[0] for r in rs], [r[1] for r in rs]
        print(f"{binary}: wall best {min(wall):.3f} s, median {statistics.median(wall):.3f} s;"
              f" CPU best {min(cpu):.3f} s, median {statistics.median(cpu):.3f} s")


if __name__ == "__main__":
    main()
