#!/usr/bin/env python3
"""Writes a synthetic nginx combined log with $request_time, for benchmarks.

usage: gen_combined.py LINES OUT [--seed N]

Deterministic for a given seed: ~40 routes with ids, log-normal latencies per route, a
realistic status mix, a diurnal traffic curve over one day, many clients with a few heavy
ones, browsers and bots, and a scanner hammering 404s.
"""
import argparse
import math
import random
from datetime import datetime, timedelta, timezone

ROUTES = [
    ("GET", "/", 60, 0.02), ("GET", "/index.html", 20, 0.01), ("GET", "/static/app.js", 15, 0.005),
    ("GET", "/static/app.css", 15, 0.004), ("GET", "/favicon.ico", 8, 0.002), ("GET", "/api/users", 30, 0.08),
    ("GET", "/api/users/{n}", 40, 0.05), ("POST", "/api/users", 5, 0.12), ("PUT", "/api/users/{n}", 4, 0.1),
    ("DELETE", "/api/users/{n}", 1, 0.09), ("GET", "/api/products", 30, 0.07), ("GET", "/api/products/{n}", 45, 0.04),
    ("GET", "/api/products/{n}/reviews", 10, 0.09), ("POST", "/api/cart", 12, 0.06), ("GET", "/api/cart", 14, 0.03),
    ("POST", "/api/orders", 6, 0.25), ("GET", "/api/orders/{n}", 9, 0.06), ("GET", "/api/search", 25, 0.3),
    ("POST", "/api/login", 8, 0.15), ("POST", "/api/logout", 3, 0.02), ("GET", "/api/admin/stats", 2, 0.75),
    ("GET", "/api/admin/users", 1, 0.4), ("GET", "/health", 20, 0.001), ("GET", "/metrics", 5, 0.004),
    ("GET", "/blog/{n}", 12, 0.03), ("GET", "/images/{h}.jpg", 25, 0.006), ("POST", "/api/upload", 2, 0.9),
    ("GET", "/api/notifications", 10, 0.05), ("GET", "/api/recommendations", 6, 0.35), ("GET", "/docs", 4, 0.01),
]
AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.5.0", "python-requests/2.31.0",
]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lines", type=int)
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=42)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    weights = [r[2] for r in ROUTES]
    clients = [f"{rnd.randint(1, 223)}.{rnd.randint(0, 255)}.{rnd.randint(0, 255)}.{rnd.randint(1, 254)}" for _ in range(5000)]
    heavy = clients[:5]
    start = datetime(2024, 3, 1, tzinfo=timezone.utc)
    # Diurnal curve: cumulative weights over the 86400 seconds of the day.
    hour_w = [0.3 + math.sin(math.pi * max(0, h - 5) / 19) ** 2 for h in range(24)]
    total = sum(hour_w)
    per_hour = [round(a.lines * w / total) for w in hour_w]
    per_hour[-1] += a.lines - sum(per_hour)
    route_pick = rnd.choices(range(len(ROUTES)), weights=weights, k=min(a.lines, 200_000))
    with open(a.out, "w", buffering=1 << 20) as f:
        i = 0
        for h, n in enumerate(per_hour):
            for k in range(n):
                t = start + timedelta(seconds=h * 3600 + k * 3600 / max(n, 1))
                stamp = f"{t.day:02d}/{MONTHS[t.month - 1]}/{t.year}:{t.hour:02d}:{t.minute:02d}:{t.second:02d} +0000"
                if rnd.random() < 0.01:
                    ip, m, path, st, rt = "203.0.113.66", "GET", rnd.choice(["/wp-login.php", "/.env", "/admin.php", "/phpmyadmin/", "/.git/config"]), 404, 0.002
                    ua = "Mozilla/5.0 zgrab/0.x"
                else:
                    m, tmpl, _, mean = ROUTES[route_pick[i % len(route_pick)]]
                    path = tmpl.replace("{n}", str(rnd.randint(1, 99999))).replace("{h}", f"{rnd.getrandbits(48):012x}")
                    if rnd.random() < 0.3:
                        path += f"?page={rnd.randint(1, 20)}"
                    ip = rnd.choice(heavy) if rnd.random() < 0.2 else rnd.choice(clients)
                    r = rnd.random()
                    st = 500 if r < 0.005 else 502 if r < 0.007 else 404 if r < 0.03 else 401 if r < 0.04 else 304 if r < 0.09 else 301 if r < 0.1 else 201 if m == "POST" else 200
                    rt = rnd.lognormvariate(math.log(mean), 0.5)
                    ua = rnd.choice(AGENTS)
                size = 0 if st == 304 else rnd.randint(200, 50000)
                f.write(f'{ip} - - [{stamp}] "{m} {path} HTTP/1.1" {st} {size} "-" "{ua}" {rt:.3f}\n')
                i += 1


if __name__ == "__main__":
    main()
