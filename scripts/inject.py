#!/usr/bin/env python3
"""Clean access logs of several shapes, and incidents injected into any combined log.

This is the detection benchmark's ground truth. It shares no code and no random streams
with tailpulse (whose own generator is in Rust), so what it measures is the detector, not
an echo of the generator.

  inject.py base OUT --shape flat|daily|bursty|clustered --rate PER_MIN --hours H --seed S
      A clean nginx combined log (with $request_time in seconds at the end unless
      --no-timings): content pages with slugs, API routes with ids, static files, query
      strings, browsers and bots, a realistic status mix and per-route log-normal times.
        flat       Poisson traffic at PER_MIN requests a minute
        daily      a day curve (0.25x at night to 1.75x in the afternoon), mean PER_MIN
        bursty     the day curve, minute-to-minute gamma noise and crawler bursts
                   (1-3 minutes at 3-6x, about one an hour)
        clustered  each hour's lines all in its first five minutes (a cron-fed log)

  inject.py add IN OUT --truth TRUTH.json --seed S INCIDENT...
      Copies IN (any combined log, sorted or not) to OUT, sorted by time, with incidents
      added; TRUTH.json lists them. An INCIDENT is KIND@START+MINUTES[:key=value,...],
      START in minutes from the log's first minute:
        errors@600+12:level=3.5,rate=0.45,base=0.014
            a POST route of its own at `level` requests a minute over the whole log with a
            5xx rate of `base`, failing at `rate` during the incident
        latency@700+20:level=40,factor=10
            a GET route of its own at `level` a minute (~30 ms), `factor` times slower
        outage@900+15               no requests at all
        surge@1000+15:factor=3      `factor` times the traffic (copies of nearby lines)
        scanner@800+3:rate=500      one client, `rate` requests a minute, all 404, all paths
        new_failing@1100+10:level=6,rate=0.8   a route never seen before, mostly failing
        bot_surge@1200+10:rate=200  crawler requests on top of the traffic
"""
import argparse
import itertools
import json
import math
import random
import re
import sys
from datetime import datetime, timezone

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
MONTH_NO = {m: i + 1 for i, m in enumerate(MONTHS)}
BROWSERS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Safari/605.1.15",
    "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:109.0) Gecko/20100101 Firefox/119.0",
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/118.0 Mobile Safari/537.36",
]
BOTS = [
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
    "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)",
    "Go-http-client/1.1",
]
SLUGS = ["why-we-moved-to-postgres", "a-year-of-rust", "notes-on-caching", "release-2-3", "hiring-sre",
         "incident-review-march", "how-search-works", "tuning-nginx", "on-call-handbook", "faq"]
# (method, path maker, weight, median ms, 5xx rate)
PAGES = [
    ("GET", lambda r: "/", 30, 40, 0.002),
    ("GET", lambda r: "/blog/" + r.choice(SLUGS), 25, 60, 0.002),
    ("GET", lambda r: "/blog/" + r.choice(SLUGS) + "?utm_source=" + r.choice(["hn", "twitter", "feed"]), 5, 60, 0.002),
    ("GET", lambda r: "/feed.xml", 8, 15, 0.001),
    ("GET", lambda r: "/assets/site-%s.css" % r.choice(["3f2a", "9c1e"]), 12, 4, 0.0),
    ("GET", lambda r: "/assets/img/%s.png" % r.choice(SLUGS), 15, 5, 0.0),
    ("GET", lambda r: "/api/v1/items/%d" % r.randint(1, 50000), 20, 80, 0.004),
    ("GET", lambda r: "/api/v1/items?page=%d" % r.randint(1, 30), 10, 120, 0.004),
    ("POST", lambda r: "/api/v1/cart", 4, 150, 0.006),
    ("GET", lambda r: "/api/v1/users/%s" % "".join(r.choice("0123456789abcdef") for _ in range(12)), 6, 90, 0.003),
    ("GET", lambda r: "/search?q=" + r.choice(["rust", "nginx", "logs", "k8s"]), 6, 200, 0.005),
    ("GET", lambda r: "/healthz", 4, 2, 0.0),
]
LINE = re.compile(rb'^(\S+) \S+ \S+ \[(\d{2})/(\w{3})/(\d{4}):(\d{2}):(\d{2}):(\d{2}) ([+-]\d{4})\] "[^"]*" \d{3} \S+')


def clf_time(ms):
    t = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    return "%02d/%s/%04d:%02d:%02d:%02d +0000" % (t.day, MONTHS[t.month - 1], t.year, t.hour, t.minute, t.second)


def line(ms, client, method, path, status, size, ua, timing, referer="-"):
    s = '%s - - [%s] "%s %s HTTP/1.1" %d %d "%s" "%s"' % (
        client, clf_time(ms), method, path, status, size, referer, ua)
    if timing is not None:
        s += " %.3f" % (timing / 1000.0)
    return s


def poisson(r, lam):
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, int(round(r.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= r.random()
        if p <= limit:
            return k
        k += 1


class Site:
    """Clients, pages and statuses of one made-up site."""

    def __init__(self, r):
        self.r = r
        self.clients = ["%d.%d.%d.%d" % (r.randint(11, 223), r.randint(0, 255), r.randint(0, 255), r.randint(1, 254))
                        for _ in range(3000)]
        self.clients += ["2001:db8:%x::%x" % (r.randint(1, 0xffff), r.randint(1, 0xffff)) for _ in range(300)]
        self.weights = [p[2] for p in PAGES]
        # Zipf-like: the busiest client sends about 5 % of the requests.
        self.client_weights = list(itertools.accumulate(1 / (i + 1) ** 0.8 for i in range(len(self.clients))))

    def request(self, ms, timings):
        r = self.r
        method, make, _, median, e5 = r.choices(PAGES, self.weights)[0]
        client = r.choices(self.clients, cum_weights=self.client_weights)[0]
        ua = r.choice(BOTS) if r.random() < 0.12 else r.choice(BROWSERS)
        x = r.random()
        status = 500 + r.choice([0, 2, 3, 4]) if x < e5 else (404 if x < e5 + 0.015 else (304 if x < 0.1 else 200))
        timing = median * math.exp(r.gauss(0, 0.6)) if timings else None
        return line(ms, client, method, make(r), status, r.randint(200, 40000), ua, timing)


def curve(minute_of_day):
    return 1.0 + 0.75 * math.sin(2 * math.pi * (minute_of_day / 1440.0 - 0.35))


def base(a):
    r = random.Random(a.seed * 7919 + 1)
    site = Site(r)
    start = int(datetime.fromisoformat(a.start.replace("Z", "+00:00")).timestamp() * 1000)
    out = []
    burst_left, burst_factor = 0, 1.0
    for m in range(int(a.hours * 60)):
        t0 = start + m * 60000
        lam = a.rate
        if a.shape in ("daily", "bursty", "clustered"):
            lam *= curve((t0 // 60000) % 1440)
        if a.shape == "bursty":
            lam *= r.gammavariate(4.0, 0.25)
            if burst_left == 0 and r.random() < 1 / 60:
                burst_left, burst_factor = r.randint(1, 3), r.uniform(3, 6)
        n = poisson(r, lam)
        for _ in range(n):
            ms = t0 + r.randint(0, 59999)
            out.append((ms, site.request(ms, not a.no_timings)))
        if burst_left > 0:
            burst_left -= 1
            crawler = "66.249.%d.%d" % (r.randint(0, 255), r.randint(1, 254))
            for _ in range(int(lam * (burst_factor - 1))):
                path = "/blog/" + r.choice(SLUGS)
                ms = t0 + r.randint(0, 59999)
                out.append((ms, line(ms, crawler, "GET", path, 200, 9000, BOTS[0],
                                     r.uniform(20, 80) if not a.no_timings else None)))
    if a.shape == "clustered":
        # Every line of an hour moved into its first five minutes.
        moved = []
        for ms, s in out:
            hour = ms - ms % 3600000
            to = hour + (ms - hour) % 300000
            moved.append((to, s.replace("[" + clf_time(ms) + "]", "[" + clf_time(to) + "]", 1)))
        out = moved
    out.sort(key=lambda x: x[0])
    with open(a.out, "w") as f:
        f.write("\n".join(s for _, s in out) + "\n")


def parse_ms(raw):
    m = LINE.match(raw)
    if not m:
        return None
    d, mon, y, hh, mm, ss, tz = m.group(2, 3, 4, 5, 6, 7, 8)
    t = datetime(int(y), MONTH_NO[mon.decode()], int(d), int(hh), int(mm), int(ss), tzinfo=timezone.utc)
    sign = 1 if tz[:1] == b"+" else -1
    offset = sign * (int(tz[1:3]) * 60 + int(tz[3:5])) * 60
    return int((t.timestamp() - offset) * 1000)


def parse_incident(text):
    m = re.fullmatch(r"(\w+)@(\d+)\+(\d+)(?::(.*))?", text)
    if not m:
        sys.exit("not an incident: %r (KIND@START+MINUTES[:key=value,...])" % text)
    params = dict(kv.split("=", 1) for kv in (m.group(4) or "").split(",") if kv)
    return m.group(1), int(m.group(2)), int(m.group(3)), {k: float(v) for k, v in params.items()}


def add(a):
    r = random.Random(a.seed * 104729 + 3)
    rows = []
    with open(a.input, "rb") as f:
        for raw in f:
            raw = raw.rstrip(b"\n")
            ms = parse_ms(raw)
            if ms is not None:
                rows.append((ms, raw.decode("utf-8", "replace")))
    if not rows:
        sys.exit("no combined-log lines in %s" % a.input)
    rows.sort(key=lambda x: x[0])
    timings = re.search(r'" \d+(\.\d+)?$', rows[0][1]) is not None
    first = rows[0][0] - rows[0][0] % 60000
    last = rows[-1][0]
    truth, extra, drop = [], [], []
    for n, text in enumerate(a.incidents):
        kind, start_min, minutes, p = parse_incident(text)
        t0, t1 = first + start_min * 60000, first + (start_min + minutes) * 60000
        item = {"kind": kind, "start_ms": t0, "end_ms": t1}
        suffix = "abcdefghijklmnopqrstuvwxyz"[n % 26] + "abcdefghijklmnopqrstuvwxyz"[n // 26 % 26]
        if kind in ("errors", "latency"):
            route = ("/api/v2/checkout-%s" if kind == "errors" else "/api/v2/catalog-%s") % suffix
            method = "POST" if kind == "errors" else "GET"
            if kind == "latency" and not timings:
                sys.exit("latency incidents need a log with response times")
            level, base_rate = p.get("level", 5.0), p.get("base", 0.01)
            for m in range((last - first) // 60000 + 1):
                tm = first + m * 60000
                inside = t0 <= tm < t1
                for _ in range(poisson(r, level)):
                    ms = tm + r.randint(0, 59999)
                    fail = r.random() < (p.get("rate", 0.5) if inside and kind == "errors" else base_rate)
                    slow = p.get("factor", 1.0) if inside and kind == "latency" else 1.0
                    extra.append((ms, line(ms, "10.9.%d.%d" % (r.randint(0, 255), r.randint(1, 254)), method, route,
                                           503 if fail else 200, 512, BROWSERS[0],
                                           30.0 * math.exp(r.gauss(0, 0.4)) * slow if timings else None)))
            item.update(route=route, level=level)
        elif kind == "outage":
            drop.append((t0, t1))
        elif kind == "surge":
            near = [x for x in rows if t0 - 3600000 <= x[0] < t0]
            want = int(len([x for x in rows if t0 <= x[0] < t1]) * (p.get("factor", 2.0) - 1))
            for _ in range(want if near else 0):
                ms = r.randint(t0, t1 - 1)
                src = r.choice(near)[1]
                extra.append((ms, src.replace("[" + clf_time(src_ms(src)) + "]", "[" + clf_time(ms) + "]", 1)))
        elif kind == "scanner":
            client = "198.51.100.%d" % (n % 250 + 1)
            for _ in range(int(p.get("rate", 100) * minutes)):
                ms = r.randint(t0, t1 - 1)
                path = "/%s/%s.php" % (r.choice(["wp-admin", "cgi-bin", "admin", "old", "backup"]), r.getrandbits(32))
                extra.append((ms, line(ms, client, "GET", path, 404, 150, "Mozilla/5.0 zgrab/0.x",
                                       0.5 if timings else None)))
            item["client"] = client
        elif kind == "new_failing":
            route = "/api/v3/export-%s" % suffix
            for _ in range(poisson(r, p.get("level", 5.0) * minutes)):
                ms = r.randint(t0, t1 - 1)
                status = 500 if r.random() < p.get("rate", 0.8) else 200
                extra.append((ms, line(ms, "10.8.0.%d" % r.randint(1, 254), "GET", route, status, 64, BROWSERS[1],
                                       40.0 if timings else None)))
            item["route"] = route
        elif kind == "bot_surge":
            for _ in range(int(p.get("rate", 100) * minutes)):
                ms = r.randint(t0, t1 - 1)
                extra.append((ms, line(ms, "66.249.66.%d" % r.randint(1, 254), "GET", "/blog/" + r.choice(SLUGS), 200,
                                       9000, BOTS[1], 25.0 if timings else None)))
        else:
            sys.exit("unknown incident kind %r" % kind)
        item["params"] = p
        truth.append(item)
    out = [x for x in sorted(rows + extra, key=lambda x: x[0]) if not any(a0 <= x[0] < a1 for a0, a1 in drop)]
    with open(a.out, "w") as f:
        for _, s in out:
            f.write(s + "\n")
    with open(a.truth, "w") as f:
        json.dump({"first_ms": first, "last_ms": last, "incidents": truth}, f, indent=1)


def src_ms(s):
    return parse_ms(s.encode())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("base")
    b.add_argument("out")
    b.add_argument("--shape", choices=["flat", "daily", "bursty", "clustered"], default="daily")
    b.add_argument("--rate", type=float, default=150.0)
    b.add_argument("--hours", type=float, default=24.0)
    b.add_argument("--seed", type=int, default=1)
    b.add_argument("--start", default="2021-06-01T00:00:00Z")
    b.add_argument("--no-timings", action="store_true")
    i = sub.add_parser("add")
    i.add_argument("input")
    i.add_argument("out")
    i.add_argument("--truth", required=True)
    i.add_argument("--seed", type=int, default=1)
    i.add_argument("incidents", nargs="+")
    a = ap.parse_args()
    base(a) if a.cmd == "base" else add(a)


if __name__ == "__main__":
    main()
