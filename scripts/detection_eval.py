#!/usr/bin/env python3
"""Measures tailpulse's detector on logs it was not built on: false alarms per day on clean
logs of several shapes, and the smallest incident of each kind found at least 95 % of the
time at each traffic level, with the median delay. Logs come from scripts/inject.py (its
own code and random streams); every count is recomputed here from the injector's truth.

usage: detection_eval.py [--binary target/release/tailpulse] [--seeds 3] [--hours 12]
                         [--jobs 2] [--out docs/detection-eval.md] [--quick]

Takes about ten minutes on two cores (--quick: one seed, fewer sizes, a minute or two).
"""
import argparse
import concurrent.futures as cf
import json
import os
import statistics
import subprocess
import sys
import tempfile
from datetime import datetime

HERE = os.path.dirname(os.path.abspath(__file__))
INJECT = os.path.join(HERE, "inject.py")
SPACING = 90  # minutes between injected incidents
FIRST = 90    # minute of the first one

# kind: (sizes, levels, minutes, what the size and level are, how it is written)
GRID = {
    "errors": ([0.05, 0.1, 0.2, 0.45, 0.8], [1, 5, 30], 12, "5xx rate", "route req/min",
               lambda s, l: "level=%g,rate=%g,base=0.01" % (l, s)),
    "latency": ([1.5, 2, 3, 10], [5, 40, 200], 20, "times slower", "route req/min",
                lambda s, l: "level=%g,factor=%g" % (l, s)),
    "outage": ([2, 5, 15], [20, 150, 600], None, "minutes", "site req/min", lambda s, l: ""),
    "surge": ([1.5, 2, 3, 5], [20, 150, 600], 15, "times the traffic", "site req/min",
              lambda s, l: "factor=%g" % s),
    "scanner": ([20, 40, 100, 300], [150], 3, "404s/min", "site req/min", lambda s, l: "rate=%g" % s),
    "new_failing": ([0.5, 0.8, 1.0], [1, 5, 20], 10, "5xx rate", "route req/min",
                    lambda s, l: "level=%g,rate=%g" % (l, s)),
    "bot_surge": ([50, 150, 500], [150], 10, "crawler req/min", "site req/min", lambda s, l: "rate=%g" % s),
}
SITE_LEVEL_KINDS = {"outage", "surge"}
FOUND_AS = {
    "errors": {"error_spike"}, "latency": {"latency_regression"}, "outage": {"site_quiet", "traffic_drop"},
    "surge": {"traffic_surge"}, "scanner": {"scanner_activity"}, "new_failing": {"new_route_failing", "error_spike"},
    "bot_surge": {"bot_surge", "traffic_surge"},
}
# Findings that an injected incident explains without being the one looked for.
SIDE_EFFECTS = {"scanner": {"bot_surge"}, "bot_surge": {"traffic_surge"}, "surge": set(),
                "outage": {"traffic_drop", "site_quiet"}, "new_failing": {"error_spike"}}


def run(args, **kw):
    r = subprocess.run(args, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(args[:3]), r.stderr[-2000:]))
    return r.stdout


def base(work, shape, rate, hours, seed):
    out = os.path.join(work, "base-%s-%g-%d.log" % (shape, rate, seed))
    if not os.path.exists(out):
        run([sys.executable, INJECT, "base", out, "--shape", shape, "--rate", str(rate),
             "--hours", str(hours), "--seed", str(seed)])
    return out


def ms(text):
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def analyze(binary, log):
    return json.loads(run([binary, "analyze", log, "--output", "json"]))["incidents"]


def false_alarms(binary, work, shape, rate, hours, seed):
    return len(analyze(binary, base(work, shape, rate, hours, seed)))


def trial(binary, work, kind, size, level, hours, seed):
    """Injects as many incidents of one kind and size as fit, and matches what was found."""
    sizes, _, minutes, _, _, params = GRID[kind]
    site = level if kind in SITE_LEVEL_KINDS else 150
    day = base(work, "daily", site, hours, seed)
    count = (hours * 60 - FIRST - 60) // SPACING + 1
    length = minutes or size
    specs = []
    for n in range(count):
        p = params(size, level)
        specs.append("%s@%d+%d%s" % (kind, FIRST + n * SPACING, length, ":" + p if p else ""))
    tag = "%s-%g-%g-%d" % (kind, size, level, seed)
    out, truth_path = os.path.join(work, tag + ".log"), os.path.join(work, tag + ".json")
    run([sys.executable, INJECT, "add", day, out, "--truth", truth_path, "--seed", str(seed)] + specs)
    truth = json.load(open(truth_path))["incidents"]
    found = analyze(binary, out)
    os.remove(out)
    results, used = [], set()
    for t in truth:
        subject = t.get("route") or t.get("client")
        best = None
        for i, f in enumerate(found):
            if f["kind"] not in FOUND_AS[kind] or (subject and f["subject"] != subject):
                continue
            start = ms(f["start"])
            if t["start_ms"] - 3 * 60000 <= start <= t["end_ms"]:
                best = i if best is None else best
        if best is None:
            results.append(None)
        else:
            used.add(best)
            f = found[best]
            results.append(((ms(f["detected"]) - t["start_ms"]) / 60000, abs(ms(f["start"]) - t["start_ms"]) / 60000))
    explained = set()
    for i, f in enumerate(found):
        if i in used:
            continue
        for t in truth:
            if t["start_ms"] - 3 * 60000 <= ms(f["start"]) <= t["end_ms"] + 10 * 60000 and (
                    f["kind"] in FOUND_AS[kind] or f["kind"] in SIDE_EFFECTS.get(kind, set())):
                explained.add(i)
    other = [f for i, f in enumerate(found) if i not in used and i not in explained]
    return kind, size, level, results, other


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(HERE, "..", "target", "release", "tailpulse"))
    ap.add_argument("--seeds", type=int, default=3)
    ap.add_argument("--hours", type=int, default=12)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--out")
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    if a.quick:
        a.seeds = 1
    seeds = range(1, a.seeds + 1)
    work = tempfile.mkdtemp(prefix="tailpulse-eval-")
    lines = []
    with cf.ThreadPoolExecutor(a.jobs) as pool:
        # Bases first (shared by the trials), then everything else.
        list(pool.map(lambda x: base(work, *x), [(s, r, a.hours, seed) for s in ("flat", "daily", "bursty", "clustered")
                                                 for r in (20, 150, 600) for seed in seeds]))
        fa = {}
        jobs = [(s, r, seed) for s in ("flat", "daily", "bursty", "clustered") for r in (20, 150, 600) for seed in seeds]
        for (s, r, seed), n in zip(jobs, pool.map(lambda j: false_alarms(a.binary, work, j[0], j[1], a.hours, j[2]), jobs)):
            fa.setdefault((s, r), []).append(n)
        cells = [(k, size, level, seed) for k, g in GRID.items() for size in (g[0][1:3] if a.quick else g[0])
                 for level in g[1] for seed in seeds]
        trials = list(pool.map(lambda c: trial(a.binary, work, c[0], c[1], c[2], a.hours, c[3]), cells))
    days = a.hours / 24.0 * a.seeds
    lines.append("## False alarms on clean logs\n")
    lines.append("Incidents raised per day of clean traffic (%d × %d h per cell).\n" % (a.seeds, a.hours))
    lines.append("| shape | 20 req/min | 150 req/min | 600 req/min |")
    lines.append("|---|---|---|---|")
    for s in ("flat", "daily", "bursty", "clustered"):
        lines.append("| %s | %s |" % (s, " | ".join("%.1f" % (sum(fa[(s, r)]) / days) for r in (20, 150, 600))))
    merged = {}
    others = 0
    for kind, size, level, results, other in trials:
        merged.setdefault((kind, level, size), []).extend(results)
        others += len(other)
    lines.append("\n## Detection limits\n")
    lines.append("For each kind and traffic level: the smallest injected size found (the right kind, "
                 "subject and a start within 3 minutes) in at least 95 % of the trials, with the median "
                 "delay from the incident's start to its detection; then the rate found at every size.\n")
    lines.append("| incident | level | smallest found ≥ 95 % | median delay | found at each size |")
    lines.append("|---|---|---|---|---|")
    for kind, g in GRID.items():
        sizes = g[0][1:3] if a.quick else g[0]
        for level in g[1]:
            best, delay, row = None, None, []
            for size in sizes:
                r = merged[(kind, level, size)]
                hit = [x for x in r if x is not None]
                rate = len(hit) / len(r)
                row.append("%g: %d/%d" % (size, len(hit), len(r)))
                if best is None and rate >= 0.95:
                    best, delay = size, statistics.median(x[0] for x in hit)
            lines.append("| %s (%s) | %g %s | %s | %s | %s |" % (
                kind, g[3], level, g[4], "%g" % best if best is not None else "none tried",
                "%.0f min" % delay if delay is not None else "–", ", ".join(row)))
    total_days = len(trials) * a.hours / 24.0
    lines.append("\nFindings in the injected logs that no injected incident explains: %d in %.0f days of "
                 "traffic (%.2f a day)." % (others, total_days, others / total_days))
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as f:
            f.write("<!-- written by scripts/detection_eval.py --seeds %d --hours %d -->\n" % (a.seeds, a.hours) + text)


if __name__ == "__main__":
    main()
