#!/usr/bin/env python3
"""Times `tailpulse analyze` against GoAccess on the same combined log.

usage: scripts/bench_analyze.py [--lines 1000000] [--runs 3] [--no-goaccess]

Builds the release binary, writes bench-data/combined-<lines>.log with gen_combined.py (once),
then runs each analyzer `--runs` times and prints the best (and median) wall time, lines/s,
peak RSS and the ratio. GoAccess (Debian package `goaccess`) reads the same file with the matching
--log-format and writes a JSON report, as tailpulse does.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GOACCESS_FMT = '%h %^[%d:%t %^] "%r" %s %b "%R" "%u" %T'


def run(cmd):
    """Runs cmd, returns (wall seconds, peak RSS in MiB)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{cmd[0]} failed: {err}")
    return wall, usage.ru_maxrss / 1024


def best(cmd, runs):
    """Best wall time, median wall time and the largest peak RSS over `runs` runs."""
    results = [run(cmd) for _ in range(runs)]
    walls = sorted(r[0] for r in results)
    return walls[0], walls[len(walls) // 2], max(r[1] for r in results)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lines", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--no-goaccess", action="store_true")
    a = ap.parse_args()

    subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)
    data = os.path.join(ROOT, "bench-data", f"combined-{a.lines}.log")
    if not os.path.exists(data):
        os.makedirs(os.path.dirname(data), exist_ok=True)
        subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "gen_combined.py"), str(a.lines), data], check=True)
    size_mb = os.path.getsize(data) / 1e6
    print(f"input: {data} ({a.lines} lines, {size_mb:.0f} MB), {os.cpu_count()} cores, best of {a.runs}")

    tp = [os.path.join(ROOT, "target", "release", "tailpulse"), "analyze", data, "--output", "json", "--out", "/dev/null"]
    t_wall, t_median, t_rss = best(tp, a.runs)
    print(f"tailpulse: {t_wall:.3f} s  {a.lines / t_wall / 1e6:.2f} M lines/s  (median {t_median:.3f} s)"
          f"  peak RSS {t_rss:.0f} MiB")

    if a.no_goaccess:
        return
    goaccess = shutil.which("goaccess")
    if not goaccess:
        sys.exit("goaccess not found: apt-get install goaccess (or pass --no-goaccess)")
    version = subprocess.run([goaccess, "--version"], capture_output=True, text=True).stdout.splitlines()[0]
    ga = [goaccess, data, "--log-format", GOACCESS_FMT, "--date-format", "%d/%b/%Y", "--time-format", "%H:%M:%S",
          "-o", "/tmp/tailpulse-bench-goaccess.json", "--no-global-config"]
    g_wall, _, g_rss = best(ga, max(1, min(a.runs, 2)))
    print(f"goaccess:  {g_wall:.3f} s  {a.lines / g_wall / 1e6:.2f} M lines/s  peak RSS {g_rss:.0f} MiB  ({version})")
    print(f"tailpulse is {g_wall / t_wall:.1f}x faster")


if __name__ == "__main__":
    main()
