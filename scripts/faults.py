#!/usr/bin/env python3
"""Re-runs hard faults against a built tailpulse and checks that no line is lost or counted twice.

usage: scripts/faults.py [--bin PATH] [--out FILE] [--only N,N...]

Every scenario runs `tailpulse run` in its own temporary directory (reports every 200 ms,
dashboard on a free port, its own --db, --logs and --out-dir), writes Apache combined lines
dated within the last minutes of the real clock, and compares what it wrote ("written") with
the `requests` of the final analysis_report.json after a clean SIGTERM ("counted").
lost = max(0, written - counted), doubled = max(0, counted - written). Prints a Markdown table
(and writes it to --out with a short header); exits 1 when any row lost or doubled a line or
could not be run. Stdlib only; needs no build (--bin defaults to target/release/tailpulse, then
target/debug/tailpulse). Bounded: each scenario has its own deadline, the whole run takes
well under 4 minutes on 2 cores.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
PATHS = ["/a/{i}", "/api/users/{i}", "/static/app.js", "/search?q=x{i}&page=2", "/"]
STATUSES = [200, 200, 200, 304, 404, 500]
MIB = 1 << 20

# ---------------------------------------------------------------- lines


def stamp():
    """Apache timestamp a few seconds before now (UTC): recent, never future-dated."""
    t = datetime.now(timezone.utc) - timedelta(seconds=3)
    return f"{t.day:02d}/{MONTHS[t.month - 1]}/{t.year}:{t.hour:02d}:{t.minute:02d}:{t.second:02d} +0000"


def make_lines(start, count):
    """`count` combined lines numbered from `start`, as bytes."""
    ts = stamp()
    out = []
    for i in range(start, start + count):
        path = PATHS[i % len(PATHS)].format(i=i)
        out.append(f'198.51.100.{i % 250 + 1} - - [{ts}] "GET {path} HTTP/1.1" {STATUSES[i % len(STATUSES)]} '
                   f'{512 + i % 977} "-" "Mozilla/5.0 (X11; Linux x86_64) faults/{i % 7}"\n')
    return "".join(out).encode()


def write_all(fd, data):
    view = memoryview(data)
    while view:
        n = os.write(fd, view)
        view = view[n:]


class Counter:
    """Numbers the lines of one scenario across writers."""

    def __init__(self):
        self.lock = threading.Lock()
        self.n = 0

    def take(self, count):
        with self.lock:
            start = self.n
            self.n += count
            return start


def append(path, counter, count, fd=None):
    """Appends `count` lines to path (or fd) in one write; returns count."""
    data = make_lines(counter.take(count), count)
    if fd is not None:
        write_all(fd, data)
        return count
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        write_all(fd, data)
    finally:
        os.close(fd)
    return count


class Appender(threading.Thread):
    """Appends ~rate lines/s in batches every `tick` s to one open O_APPEND descriptor, as a
    server does. pause() returns once no write is in flight; written counts whole batches."""

    def __init__(self, path, counter, rate, tick=0.01):
        super().__init__(daemon=True)
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        self.counter, self.rate, self.tick = counter, rate, tick
        self.written = 0
        self.busy = threading.Lock()
        self.paused = threading.Event()
        self.halt = threading.Event()
        self.error = None

    def run(self):
        debt, last = 0.0, time.monotonic()
        try:
            while not self.halt.is_set():
                time.sleep(self.tick)
                now = time.monotonic()
                debt += (now - last) * self.rate
                last = now
                if self.paused.is_set():
                    debt = 0.0
                    continue
                n = int(debt)
                if n <= 0:
                    continue
                debt -= n
                with self.busy:
                    if self.paused.is_set() or self.halt.is_set():
                        continue
                    append(None, self.counter, n, fd=self.fd)
                    self.written += n
        except Exception as e:  # reported by stop()
            self.error = e

    def pause(self):
        self.paused.set()
        with self.busy:
            pass

    def resume(self):
        self.paused.clear()

    def stop(self):
        self.halt.set()
        self.join(10)
        os.close(self.fd)
        if self.error:
            raise self.error
        return self.written


# ---------------------------------------------------------------- tailpulse


class Tailpulse:
    """One tailpulse binary in one scenario directory; start() may be called again (restarts)."""

    def __init__(self, binary, workdir, deadline):
        self.bin, self.dir, self.deadline = binary, workdir, deadline
        self.out = os.path.join(workdir, "out")
        self.report = os.path.join(self.out, "analysis_report.json")
        self.proc = None
        self.starts = 0
        self.stderr_files = []

    def start(self, files, extra=(), db=True):
        assert self.proc is None or self.proc.poll() is not None
        os.makedirs(self.out, exist_ok=True)
        if os.path.exists(self.report):
            os.unlink(self.report)  # the next report is this process's own
        self.starts += 1
        err = os.path.join(self.dir, f"stderr.{self.starts}.txt")
        self.stderr_files.append(err)
        cmd = [self.bin, "run", *files, "--port", "0", "--report-every", "200ms", "--out-dir", self.out,
               "--logs", os.path.join(self.dir, "logs"), "--color", "never", *extra]
        cmd += ["--db", os.path.join(self.dir, "tailpulse.db")] if db else ["--no-db"]
        with open(os.path.join(self.dir, f"stdout.{self.starts}.txt"), "wb") as o, open(err, "wb") as e:
            self.proc = subprocess.Popen(cmd, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=o, stderr=e,
                                         start_new_session=True)
        return self.proc

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def read(self):
        """The current report, or None while there is none (or it is being rewritten)."""
        for _ in range(3):
            try:
                with open(self.report, "rb") as f:
                    return json.load(f)
            except FileNotFoundError:
                return None
            except (json.JSONDecodeError, UnicodeDecodeError):
                time.sleep(0.02)
        return None

    def requests(self):
        r = self.read()
        return None if r is None else r.get("requests")

    def wait_report(self, timeout=15):
        end = min(time.monotonic() + timeout, self.deadline)
        while time.monotonic() < end:
            if self.read() is not None:
                return True
            if not self.alive():
                return False
            time.sleep(0.05)
        return False

    def wait_count(self, expected, timeout=10):
        """Waits until the report counts `expected` requests (or more); returns the last count."""
        end = min(time.monotonic() + timeout, self.deadline)
        n = None
        while time.monotonic() < end and self.alive():
            n = self.requests()
            if n is not None and n >= expected:
                break
            time.sleep(0.05)
        return n

    def settle(self, expected, quiet=1.0, quiet_short=5.0, timeout=60):
        """Polls the report until `requests` stops changing: for `quiet` s once it equals
        `expected`, for `quiet_short` s while it does not (a rotated file is finished 2 s after it
        stops growing, so a short pause is not yet a loss). Returns the last count."""
        end = min(time.monotonic() + timeout, self.deadline)
        last, since = None, time.monotonic()
        while time.monotonic() < end and self.alive():
            n = self.requests()
            now = time.monotonic()
            if n != last:
                last, since = n, now
            elif n is not None and now - since >= (quiet if n == expected else quiet_short):
                break
            time.sleep(0.1)
        return last

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)

    def stop(self, timeout=20):
        """SIGTERM; returns (exit code, final report or None). Falls back to SIGKILL."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(max(1.0, min(timeout, self.deadline - time.monotonic() + 5)))
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
                return "no exit on SIGTERM", self.read()
        return self.proc.returncode, self.read()

    def stderr(self, start=None):
        files = self.stderr_files if start is None else [self.stderr_files[start - 1]]
        text = ""
        for p in files:
            with open(p, "rb") as f:
                text += f.read().decode(errors="replace")
        return text

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def error_lines(text):
    return [line.strip() for line in text.splitlines() if "ERROR" in line]


class Result:
    def __init__(self, written, counted, notes, report=None, rc=0, tp=None, expected_errors=()):
        self.written, self.counted = written, counted
        self.notes = [n for n in notes if n]
        if rc != 0:
            self.notes.append(f"exit {rc} on SIGTERM")
        if report is None:
            self.notes.append("no final report")
        elif report.get("lines", {}).get("future"):
            self.notes.append(f"future={report['lines']['future']}")
        if tp is not None:
            errs = [e for e in error_lines(tp.stderr()) if not any(x in e for x in expected_errors)]
            if errs:
                self.notes.append(f"{len(errs)} unexpected ERROR line(s), first: `{errs[0][:120]}`")
        self.error = False


def finish(tp, written, notes, expected_errors=(), timeout=60):
    """Waits for the last tailpulse to catch up, stops it cleanly, and builds the row."""
    tp.settle(written, timeout=timeout)
    rc, report = tp.stop()
    counted = report.get("requests", 0) if report else 0
    return Result(written, counted, notes, report, rc, tp, expected_errors), report


# ---------------------------------------------------------------- scenarios


def following(tp, log):
    """2,000 lines in `log`, tailpulse following it, and a writer appending 10,000 lines/s."""
    c = Counter()
    append(log, c, 2000)
    tp.start([log])
    tp.wait_report()
    w = Appender(log, c, rate=10000)
    w.start()
    return c, w


def s_kill9(tp, d):
    """kill -9 five times during sustained appends, restarting on the same db each time."""
    log = os.path.join(d, "a.log")
    c = Counter()
    append(log, c, 2000)
    tp.start([log])
    w = Appender(log, c, rate=20000)
    w.start()
    t0 = time.monotonic()
    kills, counts = 0, []
    for k in range(5):
        time.sleep(max(0.0, t0 + (k + 1) * 1.0 - time.monotonic()))
        counts.append(tp.requests() or 0)
        tp.kill9()
        kills += 1
        tp.start([log])
    time.sleep(max(0.0, t0 + 6.0 - time.monotonic()))
    written = 2000 + w.stop()
    rate = (written - 2000) / (time.monotonic() - t0)
    res, _ = finish(tp, written, [f"{kills} kills, ~{rate / 1000:.0f}k lines/s for 6 s; "
                                  f"counts at kills: {', '.join(str(n) for n in counts)}"])
    return res


def s_rename(tp, d):
    """mv a.log a.log.1 while writing; the old writer keeps its descriptor for 0.6 s, a new one
    writes the new a.log, then the old one stops."""
    log = os.path.join(d, "a.log")
    c = Counter()
    append(log, c, 2000)
    tp.start([log])
    tp.wait_report()
    old = Appender(log, c, rate=10000)
    old.start()
    time.sleep(1.0)
    os.rename(log, log + ".1")
    new = Appender(log, c, rate=10000)  # creates the new a.log
    new.start()
    time.sleep(0.6)
    n_old = old.stop()
    time.sleep(1.0)
    n_new = new.stop()
    written = 2000 + n_old + n_new
    res, _ = finish(tp, written, [f"{n_old} lines to the old file (0.6 s of them after the rename), "
                                  f"{n_new} to the new one"])
    return res


def s_copytruncate(tp, d):
    """cp a.log a.log.1 && truncate a.log while a writer with O_APPEND goes on."""
    log = os.path.join(d, "a.log")
    c, w = following(tp, log)
    time.sleep(1.0)
    w.pause()  # nothing lands between copy and truncate (copytruncate's own loss window)
    before = 2000 + w.written
    seen = tp.wait_count(before, timeout=10)  # nor before the tailer has read it
    shutil.copyfile(log, log + ".1")
    os.truncate(log, 0)
    w.resume()
    time.sleep(1.0)
    written = 2000 + w.stop()
    note = "writer paused during copy+truncate"
    if seen != before:
        note += f"; tailer had {seen} of {before} lines at the truncate"
    else:
        note += " (after the tailer had read up to it)"
    res, _ = finish(tp, written, [note])
    return res


def s_delete(tp, d):
    """rm a.log while a writer goes on, a new a.log written by a new writer."""
    log = os.path.join(d, "a.log")
    c, w = following(tp, log)
    time.sleep(1.0)
    n1 = w.stop()
    os.unlink(log)
    time.sleep(0.3)
    w2 = Appender(log, c, rate=10000)
    w2.start()
    time.sleep(1.0)
    n2 = w2.stop()
    written = 2000 + n1 + n2
    res, _ = finish(tp, written, [f"{2000 + n1} lines in the deleted file, {n2} in the new one"])
    return res


def s_three_names(tp, d):
    """One file named DIR/a.log, DIR/./a.log, then through a symlink, over three runs on one db."""
    log = os.path.join(d, "a.log")
    link = os.path.join(d, "link.log")
    os.symlink("a.log", link)
    c = Counter()
    written = append(log, c, 2000)
    names = [log, os.path.join(d, ".", "a.log"), link]
    counts = []
    rcs = []
    for k, name in enumerate(names):
        if k:
            written += append(log, c, 1000)  # between runs
        tp.start([name])
        tp.wait_report()
        written += append(log, c, 1000)  # while it runs
        if k < 2:
            counts.append(tp.settle(written, timeout=20))
            rc, rep = tp.stop()
            rcs.append(rc)
    res, _ = finish(tp, written, ["runs as a.log, ./a.log, symlink; counts after runs 1-2: "
                                  + ", ".join(str(n) for n in counts)])
    if any(rc != 0 for rc in rcs):
        res.notes.append(f"earlier exits {rcs}")
    return res


def s_fifo(tp, d):
    """A FIFO opened for writing after tailpulse started; 3,000 lines, then the writer closes."""
    fifo = os.path.join(d, "a.fifo")
    os.mkfifo(fifo)
    c = Counter()
    tp.start([fifo])
    end = time.monotonic() + 15
    fd = None
    while time.monotonic() < end:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)  # ENXIO until a reader has it open
            break
        except OSError:
            if not tp.alive():
                break
            time.sleep(0.05)
    if fd is None:
        rc, report = tp.stop()
        return Result(3000, 0, ["tailpulse never opened the FIFO for reading"], report, rc, tp)
    os.set_blocking(fd, True)
    written = 0
    for _ in range(30):
        written += append(None, c, 100, fd=fd)
        time.sleep(0.01)
    os.close(fd)
    res, report = finish(tp, written, ["3,000 lines in 30 writes, then the writer closed"])
    return res


def s_long_line(tp, d):
    """A 64 MiB line without a newline appended mid-stream, then (its newline and) more lines."""
    log = os.path.join(d, "a.log")
    c = Counter()
    written = append(log, c, 2000)
    tp.start([log])
    tp.wait_report()
    written += append(log, c, 1000)
    huge_line_no = written + 1
    fd = os.open(log, os.O_WRONLY | os.O_APPEND)
    try:
        write_all(fd, b'198.51.100.9 - - [' + stamp().encode() + b'] "GET /')
        chunk = b"x" * MIB
        for _ in range(64):
            write_all(fd, chunk)
        time.sleep(0.5)  # tailpulse sees a huge partial line for a while
        write_all(fd, b' HTTP/1.1" 200 1 "-" "-"\n')
    finally:
        os.close(fd)
    for _ in range(4):
        written += append(log, c, 500)
        time.sleep(0.05)
    res, report = finish(tp, written, [], timeout=90)
    if report:
        lines = report.get("lines", {})
        samples = [s for src in report.get("sources", []) for s in src.get("rejected_samples", [])]
        where = ""
        if samples:
            s = samples[0]
            where = f" (sample: line {s.get('line', s.get('line_no', '?'))})" if isinstance(s, dict) else ""
        res.notes.insert(0, f"rejected={lines.get('rejected')}{where}, expected 1 (line {huge_line_no})")
        if lines.get("rejected") != 1:
            res.error = True
    return res


def s_wal(tp, d):
    """kill -9 while appending, delete tailpulse.db-wal, restart: counts exact, ERROR expected."""
    log = os.path.join(d, "a.log")
    c = Counter()
    append(log, c, 3000)
    tp.start([log])
    tp.wait_report()
    w = Appender(log, c, rate=5000)
    w.start()
    time.sleep(1.5)
    tp.kill9()
    wal = os.path.join(d, "tailpulse.db-wal")
    wal_size = os.path.getsize(wal) if os.path.exists(wal) else None
    if wal_size is not None:
        os.unlink(wal)
    tp.start([log])
    time.sleep(1.0)
    written = 3000 + w.stop()
    res, _ = finish(tp, written, [], expected_errors=("history since",))
    errs = [e for e in error_lines(tp.stderr(2)) if "history since" in e and "is gone" in e]
    if wal_size is None:
        note = "no -wal file after the kill"
    else:
        note = f"-wal ({wal_size // 1024} KiB) deleted; ERROR line: " + ("yes" if errs else "NO")
    res.notes.insert(0, note)
    return res


def s_redact(tp, d):
    """--redact: every line is still counted."""
    log = os.path.join(d, "a.log")
    c = Counter()
    append(log, c, 3000)
    tp.start([log], extra=["--redact"])
    tp.wait_report()
    w = Appender(log, c, rate=5000)
    w.start()
    time.sleep(1.0)
    written = 3000 + w.stop()
    res, _ = finish(tp, written, ["--redact, lines with query strings"])
    return res


SCENARIOS = [
    ("kill -9 ×5 during sustained appends", s_kill9, 75),
    ("rename rotation under appends", s_rename, 35),
    ("copytruncate under appends", s_copytruncate, 35),
    ("delete and recreate", s_delete, 30),
    ("same file as a.log, ./a.log, symlink", s_three_names, 45),
    ("FIFO, 3,000 lines", s_fifo, 30),
    ("64 MiB line mid-stream", s_long_line, 100),
    ("kill -9, delete -wal, restart", s_wal, 30),
    ("--redact run", s_redact, 25),
]

# ---------------------------------------------------------------- main


def default_bin():
    for kind in ("release", "debug"):
        p = os.path.join(ROOT, "target", kind, "tailpulse")
        if os.access(p, os.X_OK):
            return p
    return os.path.join(ROOT, "target", "release", "tailpulse")


def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", default=None, help="tailpulse binary (default target/release, then target/debug)")
    ap.add_argument("--out", help="also write the table (with a short header) to this file")
    ap.add_argument("--only", help="comma-separated scenario numbers (1-based), for debugging")
    ap.add_argument("--keep", action="store_true", help="keep the scenario directories")
    a = ap.parse_args()
    binary = os.path.abspath(a.bin or default_bin())
    if not os.access(binary, os.X_OK):
        sys.exit(f"no executable tailpulse at {binary} (build it, or pass --bin)")
    only = {int(x) for x in a.only.split(",")} if a.only else None

    t_start = time.monotonic()
    rows, failed = [], False
    for i, (name, fn, budget) in enumerate(SCENARIOS, 1):
        if only and i not in only:
            continue
        d = tempfile.mkdtemp(prefix=f"tp-fault{i}-")
        tp = Tailpulse(binary, d, time.monotonic() + budget)
        t0 = time.monotonic()
        try:
            res = fn(tp, d)
        except Exception as e:
            traceback.print_exc()
            res = Result(0, 0, [f"script error: {type(e).__name__}: {e}"])
            res.error = True
        finally:
            tp.cleanup()
        lost = max(0, res.written - res.counted)
        doubled = max(0, res.counted - res.written)
        if time.monotonic() > tp.deadline:
            res.notes.append(f"over its {budget} s budget")
        res.notes.append(f"{time.monotonic() - t0:.1f} s")
        bad = lost > 0 or doubled > 0 or res.error
        failed |= bad
        rows.append((f"{i}. {name}", res.written, res.counted, lost, doubled, "; ".join(res.notes)))
        print(f"[{i}] {name}: written {res.written}, counted {res.counted}, lost {lost}, doubled {doubled}"
              f"{'  <-- FAIL' if bad else ''}", file=sys.stderr, flush=True)
        if a.keep or bad:
            print(f"    kept {d}", file=sys.stderr)
        else:
            shutil.rmtree(d, ignore_errors=True)

    total = time.monotonic() - t_start
    table = ["| fault | lines written | lines counted | lost | doubled | note |",
             "|---|---:|---:|---:|---:|---|"]
    table += ["| " + " | ".join(cell(x) for x in row) + " |" for row in rows]
    text = "\n".join(table) + "\n"
    print(text, end="")
    print(f"total {total:.0f} s, {'FAILED' if failed else 'all exact'}", file=sys.stderr)
    if a.out:
        rel = os.path.relpath(binary, os.getcwd()) if not a.bin else a.bin
        header = ("Hard faults re-run against a built tailpulse: lines the script wrote vs. `requests` "
                  "in tailpulse's final analysis_report.json (after a clean SIGTERM).\n"
                  f"Produced by `python3 scripts/faults.py --bin {rel} --out {a.out}` "
                  f"({datetime.now(timezone.utc):%Y-%m-%d}, {total:.0f} s).\n"
                  "lost and doubled must both be 0 in every row; the script exits non-zero otherwise.\n\n")
        os.makedirs(os.path.dirname(os.path.abspath(a.out)), exist_ok=True)
        with open(a.out, "w") as f:
            f.write(header + text)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
