#!/usr/bin/env python3
"""Write the real-world-shaped regression corpus in tests/fixtures/real/.

usage: python3 scripts/make_real_fixtures.py [--out DIR]

Standard library only and fully deterministic: every file gets its own
random.Random(SEED + n), and nothing iterates a set, so the output does not
depend on PYTHONHASHSEED.  Independent of the project's own generators.

The logs are modelled on how real servers behave (browser sessions that pull
page assets within a second or two, feed readers polling on a timer, crawlers
walking the long tail, a vulnerability scanner bursting through 150 paths,
cron-driven batch clients, multi-worker out-of-order writes) rather than on
independent per-line sampling.

Beside each log, <name>.expected.json is computed from the in-memory records
that were written (never by re-parsing the text):

  lines, requests, status{code: n}, first/last (RFC 3339 UTC, earliest and
  latest timestamp, milliseconds only where the source has them),
  distinct_paths_with_query (request target as logged),
  distinct_paths_without_query (target cut at the first '?'),
  top_paths_with_query (top 20, count desc then path asc by code point),
  not_found_paths / not_found_requests (status 404; no 404 target carries a
  query string, so with/without query agree), clients (distinct client
  address strings; IPv6 always in canonical compressed form),
  bytes (sum of response sizes, '-' counted as 0; w3c_iis.log has no sc-bytes
  field, so its bytes is 0).

No target in a file collides with another after percent-decoding, so the
distinct-path counts do not depend on whether an analyzer decodes %XX.
"""
from __future__ import annotations

import argparse
import ipaddress
import itertools
import json
import math
import random
import sys
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

SEED = 7_340_117
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "tests" / "fixtures" / "real"
UTC = timezone.utc
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun",
          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


# --------------------------------------------------------------------------
# records and output helpers


@dataclass
class Req:
    ts: datetime            # timezone-aware, as written in the log
    client: str
    method: str
    target: str             # path plus optional ?query, exactly as logged
    status: int
    size: int | None        # None is written as "-" (and counts as 0)
    referer: str = "-"
    agent: str = "-"
    proto: str = "HTTP/1.1"
    user: str = "-"
    taken_ms: int = 0       # only used by the IIS file
    substatus: int = 0
    win32: int = 0
    port: int = 80


def clf_time(ts: datetime) -> str:
    off = int(ts.utcoffset().total_seconds())
    sign = "+" if off >= 0 else "-"
    off = abs(off)
    return (f"{ts.day:02d}/{MONTHS[ts.month - 1]}/{ts.year}:"
            f"{ts.hour:02d}:{ts.minute:02d}:{ts.second:02d} "
            f"{sign}{off // 3600:02d}{off % 3600 // 60:02d}")


def combined(r: Req) -> str:
    size = "-" if r.size is None else str(r.size)
    return (f'{r.client} - {r.user} [{clf_time(r.ts)}] '
            f'"{r.method} {r.target} {r.proto}" {r.status} {size} '
            f'"{r.referer}" "{r.agent}"')


def rfc3339(ts: datetime) -> str:
    u = ts.astimezone(UTC)
    base = u.strftime("%Y-%m-%dT%H:%M:%S")
    if u.microsecond:
        return f"{base}.{u.microsecond // 1000:03d}Z"
    return base + "Z"


def expectations(reqs: list[Req], n_lines: int) -> dict:
    status = Counter(str(r.status) for r in reqs)
    with_q = Counter(r.target for r in reqs)
    without_q = {r.target.split("?", 1)[0]: True for r in reqs}
    # an analyzer that percent-decodes must reach the same distinct counts
    assert len({urllib.parse.unquote(t): 1 for t in with_q}) == len(with_q)
    assert len({urllib.parse.unquote(t): 1 for t in without_q}) == len(without_q)
    nf = [r for r in reqs if r.status == 404]
    assert all("?" not in r.target for r in nf), "404 targets must not carry queries"
    top = sorted(with_q.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    stamps = [r.ts for r in reqs]
    return {
        "lines": n_lines,
        "requests": len(reqs),
        "status": dict(sorted(status.items())),
        "first": rfc3339(min(stamps)),
        "last": rfc3339(max(stamps)),
        "distinct_paths_with_query": len(with_q),
        "distinct_paths_without_query": len(without_q),
        "top_paths_with_query": [[p, c] for p, c in top],
        "not_found_paths": len({r.target: 1 for r in nf}),
        "not_found_requests": len(nf),
        "clients": len({r.client: 1 for r in reqs}),
        "bytes": sum(r.size or 0 for r in reqs),
    }


def poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def zipf_cum(n: int, s: float, offset: float = 1.0) -> list[float]:
    return list(itertools.accumulate(1.0 / (i + offset) ** s for i in range(n)))


FIRST_OCTETS = [5, 24, 27, 31, 37, 41, 46, 50, 58, 59, 62, 64, 66, 67, 68,
                69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83,
                84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98,
                99, 101, 103, 106, 108, 109, 110, 112, 113, 114, 115, 116,
                117, 118, 119, 120, 121, 122, 123, 124, 125, 128, 129, 130,
                131, 132, 134, 136, 137, 138, 139, 140, 141, 142, 143, 144,
                146, 147, 149, 151, 152, 155, 158, 159, 162, 163, 164, 165,
                173, 174, 175, 176, 177, 178, 179, 180, 181, 182, 183, 184,
                185, 186, 187, 188, 189, 190, 193, 194, 195, 196, 197, 199,
                200, 201, 202, 204, 205, 206, 207, 208, 209, 210, 211, 212,
                213, 216, 217, 218, 219, 220, 221, 222, 223]


def ipv4(rng: random.Random, first: int | None = None, second: int | None = None) -> str:
    while True:
        a = first if first is not None else rng.choice(FIRST_OCTETS)
        b = second if second is not None else rng.randint(0, 255)
        ip = f"{a}.{b}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        if ipaddress.IPv4Address(ip).is_global:
            return ip


def ipv6(rng: random.Random, prefixes: list[str]) -> str:
    groups = [int(g, 16) for g in rng.choice(prefixes).split(":")]
    while len(groups) < 4:
        groups.append(rng.randrange(0x10000) if rng.random() < 0.8 else rng.randrange(0x100))
    style = rng.random()
    if style < 0.6:      # privacy extension address
        iid = [rng.randrange(0x10000) for _ in range(4)]
    elif style < 0.8:    # statically numbered server / router handed
        iid = [0, 0, 0, rng.randrange(1, 0x1000)]
    else:                # EUI-64 from a MAC address
        iid = [rng.randrange(0x10000), (rng.randrange(0x100) << 8) | 0xFF,
               0xFE00 | rng.randrange(0x100), rng.randrange(0x10000)]
    return ipaddress.IPv6Address(":".join(f"{g:x}" for g in groups + iid)).compressed


def unique(make, n: int, taken: dict | None = None) -> list:
    seen = {} if taken is None else taken
    out = []
    tries = 0
    while len(out) < n:
        tries += 1
        assert tries < n * 200, "name space exhausted"
        v = make()
        if v not in seen:
            seen[v] = True
            out.append(v)
    return out


# --------------------------------------------------------------------------
# vocabulary (2015-era sysadmin blog)

TOOLS = ["ssh", "puppet", "logstash", "grok", "xdotool", "nagios", "ruby",
         "jruby", "zeromq", "elasticsearch", "mcollective", "dns", "ldap",
         "iptables", "tmux", "vim", "screen", "xterm", "git", "svn", "apache",
         "nginx", "haproxy", "redis", "mysql", "postgres", "bash", "zsh",
         "awk", "sed", "cron", "syslog", "rsyslog", "fpm", "rpm", "debian",
         "ubuntu", "freebsd", "solaris", "java", "python", "kibana", "statsd",
         "graphite", "collectd", "sensu", "rabbitmq", "kafka", "docker",
         "vagrant", "jenkins", "openssl", "tcpdump", "strace", "gdb", "make",
         "xorg", "keynav", "ec2", "s3"]
VERBS = ["fixing", "debugging", "automating", "parsing", "scaling",
         "monitoring", "deploying", "testing", "writing", "using",
         "understanding", "hacking", "tuning", "replacing", "building",
         "packaging", "profiling", "securing", "migrating", "benchmarking"]
PREPS = ["with", "without", "in", "for", "on", "and"]
OBJECTS = ["fun-and-profit", "production", "the-cloud", "large-logs",
           "laptops", "virtual-machines", "tests", "sanity", "small-teams",
           "old-hardware", "speed", "debugging", "beginners", "multiple-hosts",
           "one-liners", "events", "shell-scripts"]
NOUNS = ["tips", "tricks", "performance", "configuration", "debugging",
         "patterns", "internals", "pipeline", "plugins", "templates",
         "security", "tuning", "migration", "cheatsheet", "basics", "gotchas",
         "metrics", "alerts", "parsing", "filters", "outputs", "inputs",
         "benchmarks", "api", "cli", "workflow", "automation", "deployment",
         "testing", "logging", "caching", "sharding", "clustering",
         "replication", "backups", "upgrades", "scripting", "profiling",
         "tracing", "search", "dashboard", "architecture", "overview",
         "timeline", "agent", "events", "schema", "indexing"]
ADJS = ["simple", "better", "faster", "sane", "lazy", "modern", "painless",
        "practical", "distributed", "reliable", "minimal", "quick", "silly",
        "useful", "broken", "new", "old", "small"]
CONFS = ["puppetconf", "velocity", "monitorama", "fosdem", "scale",
         "devopsdays", "lisa", "oscon", "strangeloop", "sysadvent"]
TAG_EXTRA = ["sysadmin", "tips", "shell", "monitoring", "logging", "security",
             "networking", "perl", "hadoop", "linux", "unix", "programming",
             "devops", "opensource", "conferences", "presentations", "music",
             "photography", "travel", "books", "hardware", "keyboard",
             "window-manager", "x11", "automation", "testing", "performance",
             "cloud", "c", "go"]

BROWSERS_2015 = [
    ("Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 Safari/537.36", 18),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.152 Safari/537.36", 8),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_3) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 Safari/537.36", 12),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_5) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/41.0.2272.118 Safari/537.36", 4),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_1) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/32.0.1700.77 Safari/537.36", 2),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 Safari/537.36", 9),
    ("Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:37.0) Gecko/20100101 Firefox/37.0", 8),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64; rv:38.0) Gecko/20100101 Firefox/38.0", 7),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10.10; rv:37.0) Gecko/20100101 Firefox/37.0", 4),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:31.0) Gecko/20100101 Firefox/31.0 Iceweasel/31.7.0", 3),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_10_3) AppleWebKit/600.5.17 (KHTML, like Gecko) Version/8.0.5 Safari/600.5.17", 6),
    ("Mozilla/5.0 (Windows NT 6.3; WOW64; Trident/7.0; rv:11.0) like Gecko", 4),
    ("Mozilla/5.0 (compatible; MSIE 10.0; Windows NT 6.1; WOW64; Trident/6.0)", 1),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 8_3 like Mac OS X) AppleWebKit/600.1.4 (KHTML, like Gecko) Version/8.0 Mobile/12F70 Safari/600.1.4", 5),
    ("Mozilla/5.0 (iPad; CPU OS 8_3 like Mac OS X) AppleWebKit/600.1.4 (KHTML, like Gecko) Version/8.0 Mobile/12F69 Safari/600.1.4", 2),
    ("Mozilla/5.0 (Linux; Android 5.0.2; Nexus 5 Build/LRX22G) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.111 Mobile Safari/537.36", 3),
    ("Mozilla/5.0 (Linux; Android 4.4.2; SM-G900F Build/KOT49H) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.111 Mobile Safari/537.36", 2),
    ("Mozilla/5.0 (Windows NT 10.0; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/42.0.2311.135 Safari/537.36 Edge/12.10136", 1),
    ("Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/43.0.2357.65 Safari/537.36", 2),
    ("Opera/9.80 (Windows NT 6.1; WOW64) Presto/2.12.388 Version/12.17", 1),
]
SEARCH_REFERERS_2015 = [
    ("https://www.google.com/", 30), ("https://www.google.de/", 5),
    ("https://www.google.co.uk/", 4), ("https://www.google.fr/", 3),
    ("https://www.google.co.in/", 3), ("http://www.bing.com/search?q=xdotool+type&FORM=QSRE1", 1),
    ("https://duckduckgo.com/", 2), ("http://stackoverflow.com/questions/1262310/simulate-keypress-in-a-linux-c-console-application", 2),
    ("http://serverfault.com/questions/62411/how-can-i-sort-du-h-output-by-size", 1),
    ("https://twitter.com/", 1), ("https://t.co/4sXkQ7Ct2W", 2),
    ("http://www.reddit.com/r/linux/", 1), ("https://github.com/jordansissel/xdotool", 0),
]


# --------------------------------------------------------------------------
# 1. blog_combined.log


def gen_blog(rng: random.Random) -> list[Req]:
    start = datetime(2015, 5, 17, 10, 5, 3, tzinfo=UTC)
    end = datetime(2015, 5, 20, 21, 5, 48, tzinfo=UTC)
    span = int((end - start).total_seconds())
    host = "http://www.tidepool-notes.net"

    size: dict[str, int] = {}

    def add(path: str, lo: int, hi: int) -> bool:
        if path in size:
            return False
        size[path] = rng.randint(lo, hi)
        return True

    def post_slug() -> str:
        t = rng.random()
        if t < 0.30:
            return f"{rng.choice(VERBS)}-{rng.choice(TOOLS)}-{rng.choice(PREPS)}-{rng.choice(OBJECTS)}"
        if t < 0.50:
            return f"{rng.choice(TOOLS)}-{rng.choice(NOUNS)}"
        if t < 0.65:
            return f"{rng.choice(ADJS)}-{rng.choice(TOOLS)}-{rng.choice(NOUNS)}"
        if t < 0.75:
            a, b = rng.sample(TOOLS, 2)
            return f"{a}-vs-{b}"
        if t < 0.85:
            return f"{rng.choice(TOOLS)}-{rng.choice(NOUNS)}-part-{rng.randint(1, 4)}"
        if t < 0.93:
            return f"{rng.choice(VERBS)}-{rng.choice(TOOLS)}"
        return f"sysadvent-{rng.randint(2008, 2014)}-day-{rng.randint(1, 25)}"

    fixed = {"/reset.css": 1015, "/style2.css": 4877, "/images/author-80.png": 6146,
             "/favicon.ico": 3638, "/robots.txt": 91, "/": 37932, "/blog/": 41208,
             "/projects/": 8121, "/projects/xdotool/": 12370, "/projects/grok/": 9902,
             "/projects/logstash/": 7719, "/about/": 5210, "/sitemap.xml": 88211,
             "/files/xdotool/xdotool-2.20110530.1.tar.gz": 96542,
             "/files/grok/grok-1.20110708.1.tar.gz": 51877,
             "/files/xdotool/docs/html/doxygen.css": 8961,
             "/files/xdotool/docs/html/tabs.css": 1836,
             "/files/xdotool/docs/html/doxygen.png": 1281,
             "/files/xdotool/docs/html/tab_b.png": 173}
    size.update(fixed)
    common_assets = ["/reset.css", "/style2.css", "/images/author-80.png", "/favicon.ico"]
    doxy_assets = ["/files/xdotool/docs/html/doxygen.css", "/files/xdotool/docs/html/tabs.css",
                   "/files/xdotool/docs/html/doxygen.png", "/files/xdotool/docs/html/tab_b.png"]

    cats = ["geekery"] * 16 + ["puppet", "ruby", "tools", "linux", "sysadmin", "web"]
    posts = unique(lambda: f"/blog/{rng.choice(cats)}/{post_slug()}.html", 440, size)
    for p in posts:
        size[p] = rng.randint(9000, 52000)

    def image_name() -> str:
        t = rng.random()
        if t < 0.45:
            return f"{rng.choice(TOOLS)}-{rng.choice(NOUNS)}"
        if t < 0.7:
            d = start - timedelta(days=rng.randint(30, 2400))
            return f"screenshot-{d:%Y-%m-%d}"
        if t < 0.85:
            return f"{rng.choice(TOOLS)}_{rng.randint(1, 40)}"
        return f"{rng.choice(ADJS)}-{rng.choice(NOUNS)}"

    images = unique(lambda: f"/images/{image_name()}.png", 100, size)
    for p in images:
        size[p] = rng.randint(1800, 260000)
    post_images = {p: rng.sample(images, rng.choice([0, 0, 0, 1, 1, 2])) for p in posts}

    presentations: dict[str, tuple[list[str], list[str], str | None]] = {}
    pres_fixed = ["css/reveal.min.css", "css/theme/default.css", "lib/css/zenburn.css",
                  "js/reveal.min.js", "lib/js/head.min.js"]
    while len(presentations) < 15:
        t = rng.random()
        if t < 0.5:
            slug = f"{rng.choice(TOOLS)}-{rng.choice(CONFS)}-{rng.randint(2010, 2014)}"
        else:
            slug = f"{rng.choice(TOOLS)}-{rng.choice(NOUNS)}-{rng.choice(CONFS)}-{rng.randint(2010, 2014)}"
        idx = f"/presentations/{slug}/"
        if not add(idx, 6000, 30000):
            continue
        files = []
        for f in pres_fixed:
            add(idx + f, 1500, 90000)
            files.append(idx + f)
        imgs = []
        for _ in range(rng.randint(14, 34)):
            ext = ".jpg" if rng.random() < 0.2 else ".png"
            p = f"{idx}images/{rng.choice(TOOLS + ['kibana'] * 3)}-{rng.choice(NOUNS)}{ext}"
            if add(p, 8000, 420000):
                imgs.append(p)
        pdf = None
        if rng.random() < 0.5:
            pdf = idx + "slides.pdf"
            add(pdf, 900_000, 6_000_000)
        presentations[idx] = (files, imgs, pdf)
    pres_index = list(presentations)

    articles = unique(lambda: f"/articles/{rng.choice(TOOLS)}-{rng.choice(NOUNS)}"
                      + (f"-{rng.choice(NOUNS)}" if rng.random() < 0.4 else ""), 125, size)
    for p in articles:
        size[p] = rng.randint(7000, 40000)

    doxy_fixed = ["index", "files", "annotated", "globals", "globals_func", "globals_defs",
                  "globals_type", "functions", "functions_vars", "classes", "xdo_8h",
                  "xdo_8h_source", "xdo_8c", "xdo_8c_source", "xdo__util_8h",
                  "xdo__util_8h_source", "xdo__version_8h", "xdo__symbol__map_8h",
                  "keysym__map_8h", "todo", "deprecated", "dir_68267d1309a1af8e8297ef4c3efbcdba"]
    xdo_words = ["window", "key", "mouse", "type", "search", "desktop", "focus",
                 "activate", "move", "size", "map", "raise", "kill", "click",
                 "behave", "exec", "sleep", "chain", "symbol", "charcodemap",
                 "getwindowname", "getactivewindow", "selectwindow", "set_window",
                 "windowstate", "keydown", "keyup", "mousemove", "mousedown",
                 "mouseup", "getmouselocation", "get_desktop", "set_desktop",
                 "windowreparent", "windowminimize", "windowclose", "version",
                 "help", "context", "xdo_search", "xdo", "util", "cmd", "script"]
    doxy_names = [f"/files/xdotool/docs/html/{n}.html" for n in doxy_fixed]
    doxy_names += unique(lambda: "/files/xdotool/docs/html/" + rng.choice([
        f"cmd__{rng.choice(xdo_words)}_8c", f"cmd__{rng.choice(xdo_words)}_8c_source",
        f"struct__{rng.choice(xdo_words)}", f"group__{rng.choice(xdo_words)}",
        f"{rng.choice(xdo_words)}",
        f"functions_{rng.choice(['0x', 'func_0x', 'vars_0x'])}{rng.choice(['61', '62', '63', '64', '65', '66', '67', '68', '6b', '6d', '6e', '70', '72', '73', '74', '77', '78'])}",
    ]) + ".html", 113, {n: True for n in doxy_names})
    for p in doxy_names:
        size.setdefault(p, rng.randint(2500, 60000))

    tags = [f"/blog/tags/{t}" for t in dict.fromkeys(["puppet"] + TOOLS + TAG_EXTRA)]
    for p in tags:
        size.setdefault(p, rng.randint(12000, 60000))

    misc_pages = ["/", "/blog/", "/projects/", "/projects/xdotool/", "/projects/grok/",
                  "/projects/logstash/", "/about/"]
    landing_pool = posts + pres_index + articles + doxy_names + tags + misc_pages[1:]
    rng.shuffle(landing_pool)
    # a few evergreen pages dominate; the rest is a long tail
    for p in ["/projects/xdotool/", "/files/xdotool/docs/html/index.html"]:
        landing_pool.remove(p)
        landing_pool.insert(rng.randint(0, 6), p)
    landing_cw = zipf_cum(len(landing_pool), 1.05, 2.5)

    search_queries = unique(lambda: "+".join(rng.sample(TOOLS + NOUNS[:20], rng.choice([1, 2, 2, 3]))),
                            64)
    search_queries += ["%22logstash+grok%22", "xdotool+%22type+--delay%22", "caf%C3%A9"]
    search_cw = zipf_cum(len(search_queries), 1.0, 2.0)
    # referers, with the post that still links the dead jar
    jar = "/files/logstash/logstash-1.1.0-monolithic.jar"
    jar_post = rng.choice([p for p in posts if "/geekery/" in p])

    events: list[list] = []   # [t_seconds(float), seq, Req-without-ts]

    def emit(t: float, client: str, method: str, target: str, status: int,
             nbytes: int | None, referer: str = "-", agent: str = "-",
             proto: str = "HTTP/1.1") -> None:
        events.append([t, len(events), Req(start, client, method, target, status,
                                           nbytes, referer, agent, proto)])

    def ok_size(path: str) -> int:
        if path.startswith("/search?"):
            q = path.split("=", 1)[1]
            return size.setdefault(path, rng.randint(4800, 21000) + len(q) * 7)
        return size[path]

    def size_404(path: str) -> int:
        return 209 + len(path)

    # ---- client population (heavy tailed) ----
    v6_pref = ["2a02:8108", "2601:18c", "2a01:e35", "2a01:cb19", "2003:e6",
               "2600:1700", "2a00:23c4", "2406:3003", "2001:44b8", "2604:2000",
               "2001:470"]
    taken_ips: dict[str, bool] = {}

    def new_client(v6_share: float) -> str:
        while True:
            ip = ipv6(rng, v6_pref) if rng.random() < v6_share else ipv4(rng)
            if ip not in taken_ips:
                taken_ips[ip] = True
                return ip

    humans = [new_client(0.06) for _ in range(430)]
    humans[17] = "2001:db8:85a3::8a2e:370:7334"
    taken_ips["2001:db8:85a3::8a2e:370:7334"] = True
    rng.shuffle(humans)
    human_cw = zipf_cum(len(humans), 0.85, 1.5)
    b_agents = [a for a, _ in BROWSERS_2015]
    b_cw = list(itertools.accumulate(w for _, w in BROWSERS_2015))
    agent_of = {ip: rng.choices(b_agents, cum_weights=b_cw)[0] for ip in humans}
    ref_pop = [r for r, w in SEARCH_REFERERS_2015 if w]
    ref_cw = list(itertools.accumulate(w for _, w in SEARCH_REFERERS_2015 if w))
    seen_client: dict[str, bool] = {}
    searches: list[list] = []

    def section(page: str) -> list[str]:
        if page in presentations:
            return pres_index
        if page.startswith("/files/xdotool/docs/"):
            return doxy_names
        if page.startswith("/articles/"):
            return articles
        return posts + tags[:20]

    def page_view(t: float, ip: str, agent: str, page: str, ref: str, cached: bool) -> float:
        """Emit one page and the assets the browser pulls for it; returns t."""
        if page in presentations and rng.random() < 0.1:
            bare = page.rstrip("/")
            emit(t, ip, "GET", bare, 301, 240 + len(bare), ref, agent)
            t += rng.uniform(0.1, 0.6)
        if page.startswith("/search?"):
            rec_ix = len(events)
            emit(t, ip, "GET", page, 200, ok_size(page), ref, agent)
            searches.append(events[rec_ix])
        else:
            emit(t, ip, "GET", page, 200, ok_size(page), ref, agent)
        here = host + page
        assets: list[str] = []
        if not cached:
            assets += doxy_assets if page.startswith("/files/xdotool/docs/") else common_assets
            if ("iPhone" in agent or "iPad" in agent) and rng.random() < 0.3:
                assets += ["/apple-touch-icon-precomposed.png", "/apple-touch-icon.png"]
        assets += post_images.get(page, [])
        if page in presentations:
            files, imgs, pdf = presentations[page]
            assets += files if not cached or rng.random() < 0.3 else []
            assets += rng.sample(imgs, min(len(imgs), rng.randint(2, 7)))
        offs = sorted(rng.uniform(0.05, 2.4) for _ in assets)
        for off, a in zip(offs, assets):
            if a.startswith("/apple-touch-icon"):
                emit(t + off, ip, "GET", a, 404, size_404(a), "-", agent)
            else:
                emit(t + off, ip, "GET", a, 200, size[a], here, agent)
        if cached and rng.random() < 0.02:
            emit(t + rng.uniform(0.1, 1.0), ip, "GET", "/style2.css", 304, None, here, agent)
        if page in presentations and presentations[page][2] and "Chrome" in agent \
                and rng.random() < 0.35:
            pdf = presentations[page][2]
            t2 = t + rng.uniform(20, 90)
            emit(t2, ip, "GET", pdf, 200, rng.randint(40_000, 200_000), here, agent)
            for _ in range(rng.randint(1, 2)):
                t2 += rng.uniform(0.2, 1.5)
                emit(t2, ip, "GET", pdf, 206, rng.randint(65536, size[pdf] // 2), here, agent)
        return t

    def next_page(page: str) -> str:
        r = rng.random()
        if r < 0.42:
            return rng.choices(landing_pool, cum_weights=landing_cw)[0]
        if r < 0.74:
            return rng.choice(section(page))
        if r < 0.85:
            return "/"
        if r < 0.91:
            return "/search?q=" + rng.choices(search_queries, cum_weights=search_cw)[0]
        if r < 0.93:
            return "/blog/"
        return rng.choices(landing_pool, cum_weights=landing_cw)[0]

    def session(t: float, ip: str, landing: str | None = None, ref: str | None = None) -> None:
        agent = agent_of[ip]
        cached = seen_client.get(ip, False) and rng.random() < 0.8
        seen_client[ip] = True
        if landing is None:
            r = rng.random()
            if r < 0.11:
                landing, ref = "/", "-"
            elif r < 0.14:
                landing, ref = "/search?q=" + rng.choices(search_queries, cum_weights=search_cw)[0], host + "/"
            else:
                landing = rng.choices(landing_pool, cum_weights=landing_cw)[0]
                ref = "-" if rng.random() < 0.3 else rng.choices(ref_pop, cum_weights=ref_cw)[0]
        page = landing
        npages = 1
        while rng.random() < 0.36 and npages < 7:
            npages += 1
        for _ in range(npages):
            if t > span:
                return
            t = page_view(t, ip, agent, page, ref, cached)
            cached = True
            ref = host + page
            t += 6 + rng.expovariate(1 / 80)
            page = next_page(page)

    # the very first line: a visitor of a presentation at 10:05:03
    session(0.0, humans[0], pres_index[0], host + "/presentations/")

    # ---- human traffic: diurnal rate, bursty noise, two link-aggregator spikes ----
    virals = [(int((datetime(2015, 5, 18, 14, 21, tzinfo=UTC) - start).total_seconds() // 60),
               1.6, 38.0, pres_index[1], "https://news.ycombinator.com/item?id=9557081"),
              (int((datetime(2015, 5, 19, 19, 44, tzinfo=UTC) - start).total_seconds() // 60),
               1.7, 55.0, posts[3], "http://www.reddit.com/r/sysadmin/comments/36ki7u/")]
    base = 0.265
    block = 1.0
    for m in range(span // 60 + 1):
        if m % 7 == 0:
            block = rng.gammavariate(0.6, 1 / 0.6)
        now = start + timedelta(minutes=m)
        h = now.hour + now.minute / 60
        diurnal = 0.18 + 0.82 * max(0.0, math.sin(math.pi * (h - 7) / 17)) ** 1.3
        if now.weekday() == 6:
            diurnal *= 0.7
        for _ in range(poisson(rng, base * diurnal * block)):
            ip = rng.choices(humans, cum_weights=human_cw)[0]
            session(m * 60 + rng.uniform(0, 60), ip)
        for vm, amp, tau, vpage, vref in virals:
            if m >= vm:
                for _ in range(poisson(rng, amp * math.exp(-(m - vm) / tau))):
                    ip = rng.choice(humans)   # link-aggregator visitors: mostly one-off
                    session(m * 60 + rng.uniform(0, 60), ip, vpage, vref)

    # ---- feed readers polling on timers ----
    update_times = [0.9 * 86400, 2.3 * 86400]   # new posts published

    def feed_size(base_sz: int, t: float) -> int:
        return base_sz + sum(1650 + 37 * i for i, u in enumerate(update_times) if t >= u)

    pollers = [
        # ip, agent, target, period_s, jitter_s, conditional, base size
        (ipv4(rng), "Tiny Tiny RSS/1.15.3 (http://tt-rss.org/)", "/?flav=rss20", 3600, 40, False, 45213),
        (ipv6(rng, ["2a01:4f8"]), "UniversalFeedParser/5.0.1 +http://feedparser.org/", "/?flav=rss20", 5400, 300, False, 45213),
        (ipv4(rng), "Mozilla/5.0 (compatible; NewsBlur Feed Fetcher - 3 subscribers - http://www.newsblur.com/site/2218101/tidepool-notes)", "/?flav=rss20", 7200, 600, False, 45213),
        (ipv4(rng), "Feedly/1.0 (+http://www.feedly.com/fetcher.html; like FeedFetcher-Google)", "/?flav=atom", 3600, 120, False, 51876),
        (ipv4(rng), "Liferea/1.10.13 (Linux; en_US.UTF-8; http://liferea.sf.net/)", "/?flav=atom", 7200, 900, True, 51876),
        (ipv4(rng), "Tiny Tiny RSS/1.15.3 (http://tt-rss.org/)", "/blog/tags/puppet?flav=rss20", 7200, 60, False, 20477),
    ]
    feedly_ips = [pollers[3][0], ipv4(rng, 64, 233), ipv4(rng, 64, 233)]
    for ip, agent, target, period, jitter, cond, base_sz in pollers:
        t = rng.uniform(0, period)
        last_seen = -1.0
        while t < span:
            tt = t + rng.uniform(0, jitter)
            src = rng.choice(feedly_ips) if agent.startswith("Feedly") else ip
            if cond and last_seen >= 0 and not any(last_seen < u <= tt for u in update_times):
                emit(tt, src, "GET", target, 304, None, "-", agent)
            else:
                emit(tt, src, "GET", target, 200, feed_size(base_sz, tt), "-", agent)
            last_seen = tt
            t += period
    # an occasional person who clicks the feed link with a browser, and a
    # feed reader that only shows up for a day
    for _ in range(24):
        ip = rng.choices(humans, cum_weights=human_cw)[0]
        t = rng.uniform(0, span)
        target = "/?flav=rss20" if rng.random() < 0.55 else "/?flav=atom"
        emit(t, ip, "GET", target, 200, feed_size(45213 if "rss" in target else 51876, t),
             host + "/", agent_of[ip])
    reader = ipv4(rng)
    t = rng.uniform(86400, 100000)
    for _ in range(10):
        emit(t, reader, "GET", "/?flav=rss20", 200, feed_size(45213, t), "-",
             "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Akregator/4.14.3")
        t += rng.uniform(1700, 1900)

    # ---- crawlers walking the long tail ----
    bots = [
        ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", [ipv4(rng, 66, 249) for _ in range(4)], 40),
        ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", [ipv4(rng, 157, 55), ipv4(rng, 207, 46), ipv4(rng, 207, 46)], 18),
        ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", [ipv4(rng, 100 - 7, 158)], 8),
        ("Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", [ipv4(rng, 180, 76), ipv4(rng, 123, 125)], 7),
        ("Mozilla/5.0 (compatible; AhrefsBot/5.0; +http://ahrefs.com/robot/)", [ipv4(rng, 151, 80)], 6),
        ("Mozilla/5.0 (compatible; MJ12bot/v1.4.5; http://www.majestic12.co.uk/bot.php?+)", [ipv4(rng), ipv4(rng), ipv4(rng)], 5),
        ("Mozilla/5.0 (compatible; DuckDuckGo-Favicons-Bot/1.0; +http://duckduckgo.com)", [ipv4(rng, 107, 21)], 1),
    ]
    img_bot = ("Googlebot-Image/1.0", bots[0][1])
    bot_agents = [b[0] for b in bots]
    bot_cw = list(itertools.accumulate(b[2] for b in bots))
    bot_ips = {b[0]: b[1] for b in bots}
    html_tail = [p for p in posts + articles + doxy_names + tags + pres_index]
    rng.shuffle(html_tail)
    img_tail = images + [i for idx in pres_index for i in presentations[idx][1]]
    rng.shuffle(img_tail)
    for p in html_tail[:int(len(html_tail) * 0.83)]:
        ag = rng.choices(bot_agents, cum_weights=bot_cw)[0]
        proto = "HTTP/1.0" if "MJ12" in ag else "HTTP/1.1"
        emit(rng.uniform(0, span), rng.choice(bot_ips[ag]), "GET", p, 200, size[p], "-", ag, proto)
    for p in img_tail[:int(len(img_tail) * 0.8)]:
        emit(rng.uniform(0, span), rng.choice(img_bot[1]), "GET", p, 200, size[p], "-", img_bot[0])
    for ag, ips, _ in bots:           # robots.txt every few hours, and the home page
        t = rng.uniform(0, 4 * 3600)
        while t < span:
            emit(t, rng.choice(ips), "GET", "/robots.txt", 200, 91, "-", ag)
            if rng.random() < 0.35:
                emit(t + rng.uniform(1, 30), rng.choice(ips), "GET", "/", 200, 37932, "-", ag)
            t += rng.uniform(3, 9) * 3600
    for _ in range(160):              # re-crawls of popular pages
        ag = rng.choices(bot_agents, cum_weights=bot_cw)[0]
        p = rng.choices(landing_pool, cum_weights=landing_cw)[0]
        emit(rng.uniform(0, span), rng.choice(bot_ips[ag]), "GET", p, 200, size[p], "-", ag)

    # ---- an uptime check with curl -I, and people fetching tarballs with wget/curl ----
    mon = ipv4(rng)
    t = rng.uniform(0, 3 * 3600)
    while t < span:
        emit(t, mon, "HEAD", "/", 200, None, "-", "curl/7.38.0")
        t += rng.uniform(2.5, 4.5) * 3600
    for _ in range(14):
        p = rng.choice(["/files/xdotool/xdotool-2.20110530.1.tar.gz",
                        "/files/grok/grok-1.20110708.1.tar.gz"])
        ag = rng.choice(["Wget/1.15 (linux-gnu)", "Wget/1.13.4 (linux-gnu)", "curl/7.35.0",
                         "curl/7.19.7 (x86_64-redhat-linux-gnu) libcurl/7.19.7 NSS/3.16.2.3 Basic ECC zlib/1.2.3 libidn/1.18 libssh2/1.4.2"])
        emit(rng.uniform(0, span), new_client(0.08), "GET", p, 200, size[p], "-", ag,
             "HTTP/1.0" if ag.startswith("Wget/1.13") else "HTTP/1.1")

    # ---- the dead jar everybody still links to ----
    jar_clients = [new_client(0.05) for _ in range(34)] + \
        [rng.choice(humans) for _ in range(10)]
    java = ["Java/1.7.0_51", "Java/1.7.0_79", "Java/1.8.0_45", "Java/1.6.0_45"]
    for i in range(60):
        ip = jar_clients[i % len(jar_clients)] if i < len(jar_clients) else rng.choice(jar_clients)
        r = rng.random()
        if r < 0.3:
            ag, ref = rng.choice(java), "-"
        elif r < 0.5:
            ag, ref = rng.choice(["Wget/1.15 (linux-gnu)", "curl/7.38.0", "Wget/1.12 (linux-gnu)"]), "-"
        else:
            ag = agent_of.get(ip) or rng.choices(b_agents, cum_weights=b_cw)[0]
            ref = host + jar_post if rng.random() < 0.7 else rng.choice(
                ["-", "https://www.google.com/", "http://stackoverflow.com/questions/13217640/logstash-monolithic-jar"])
        t = rng.uniform(0, span)
        emit(t, ip, "GET", jar, 404, size_404(jar), ref, ag)
    # stale links and typos from search engines
    dead = ["/blog/geekery/xdotool-2.0-released.html", "/images/header-bg.gif",
            "/files/logstash/logstash-1.1.0-flatjar.jar", "/presentations/puppetconf-2012/",
            "/articles/ssh-security.html"]
    for _ in range(12):
        ip = rng.choices(humans, cum_weights=human_cw)[0]
        p = rng.choice(dead)
        emit(rng.uniform(0, span), ip, "GET", p, 404, size_404(p),
             rng.choices(ref_pop, cum_weights=ref_cw)[0], agent_of[ip])
    for _ in range(3):   # directory listing is switched off
        ip = rng.choice(humans)
        emit(rng.uniform(0, span), ip, "GET", "/files/", 403, 282, host + jar_post, agent_of[ip])
    for _ in range(3):
        ip = rng.choice(humans)
        emit(rng.uniform(0, span), ip, "GET", "/blog", 301, 236, "-", agent_of[ip])

    # ---- a vulnerability scanner: ~150 distinct missing paths in three minutes ----
    scan = ["/wp-login.php", "/wp-admin/", "/wp-admin/admin-ajax.php", "/xmlrpc.php",
            "/wp-content/plugins/revslider/temp/update_extract/revslider/",
            "/wp-content/plugins/wp-mobile-detector/resize.php", "/wp-includes/wlwmanifest.xml",
            "/blog/wp-login.php", "/wordpress/wp-login.php", "/wp/wp-login.php",
            "/phpmyadmin/", "/phpMyAdmin/", "/pma/", "/PMA/", "/myadmin/", "/MyAdmin/",
            "/mysqladmin/", "/sqlmanager/", "/mysql/", "/db/", "/dbadmin/", "/web/phpMyAdmin/",
            "/admin/", "/admin.php", "/administrator/", "/administrator/index.php",
            "/user/login", "/.env", "/.git/config", "/.git/HEAD", "/.svn/entries",
            "/.htaccess", "/.htpasswd", "/.DS_Store", "/config.php", "/config.php.bak",
            "/configuration.php~", "/wp-config.php.bak", "/wp-config.php~", "/backup.zip",
            "/backup.tar.gz", "/site.tar.gz", "/www.zip", "/dump.sql", "/database.sql",
            "/manager/html", "/jmx-console/", "/invoker/JMXInvokerServlet", "/solr/admin/",
            "/HNAP1/", "/cgi-bin/php", "/cgi-bin/php5", "/cgi-bin/test-cgi", "/cgi-bin/bash",
            "/cgi-bin/status", "/shell.php", "/cmd.php", "/c99.php", "/r57.php", "/setup.php",
            "/install.php", "/phpinfo.php", "/info.php", "/test.php", "/muieblackcat",
            "/w00tw00t.at.ISC.SANS.DFind:)", "/elfinder/", "/fckeditor/editor/filemanager/",
            "/joomla/administrator/", "/typo3/", "/magento/admin/", "/owa/", "/webdav/",
            "/axis2/axis2-admin/", "/zabbix/", "/nagios/", "/cacti/", "/roundcube/",
            "/webmail/", "/horde/", "/server-status", "/console/", "/hudson/",
            "/jenkins/script", "/script", "/login.action", "/struts2-showcase/",
            "/CFIDE/administrator/", "/scripts/setup.php", "/tmUnblock.cgi", "/cgi-bin/luci",
            "/vtigercrm/", "/ecp/", "/crossdomain.xml", "/clientaccesspolicy.xml"]
    for d in ["/phpmyadmin/", "/phpMyAdmin/", "/pma/", "/myadmin/", "/mysql/",
              "/dbadmin/", "/sqlweb/", "/websql/", "/php-my-admin/", "/phpmyadmin2/"]:
        scan.append(d + "scripts/setup.php")
    for v in ["2.2.3", "2.5.5-pl1", "2.6.0", "2.8.0.1", "2.11.4", "3.0.1", "3.3.7",
              "3.4.10", "3.5.8", "4.0.10", "4.2.8", "4.4.0"]:
        scan.append(f"/phpMyAdmin-{v}/")
        scan.append(f"/phpmyadmin-{v}/")
    for d in ["/pma2011/", "/pma2012/", "/pma2013/", "/pma2014/", "/pma2015/",
              "/phpmyadmin1/", "/phpMyAdmin2/", "/phpMyAdmin3/", "/phpMyAdmin4/",
              "/sqladmin/", "/mysql-admin/", "/db/phpmyadmin/", "/admin/pma/",
              "/admin/phpmyadmin/", "/admin/db/", "/sql/", "/webadmin/", "/phppgadmin/",
              "/pgadmin/", "/mysqlmanager/", "/_phpmyadmin/", "/MySQLAdmin/", "/mydb/",
              "/xampp/", "/adminer.php"]:
        scan.append(d)
    scan = list(dict.fromkeys(scan))[:150]
    assert len(scan) == 150, len(scan)
    assert not any(p in size for p in scan)
    scanner_ip = ipv4(rng)
    scan_agent = "Mozilla/5.0 (Windows NT 5.1; rv:9.0.1) Gecko/20100101 Firefox/9.0.1"
    t = (datetime(2015, 5, 19, 3, 12, 40, tzinfo=UTC) - start).total_seconds()
    order = scan[:]
    rng.shuffle(order)
    order[4:4] = ["/wp-login.php", "/phpmyadmin/"]             # retries
    order += ["/xmlrpc.php", "/.env", "/wp-login.php", "/HNAP1/"]
    for p in order:
        method = "POST" if p == "/xmlrpc.php" else ("HEAD" if rng.random() < 0.06 else "GET")
        emit(t, scanner_ip, method, p, 404, None if method == "HEAD" else size_404(p), "-",
             scan_agent, "HTTP/1.0" if method == "HEAD" else "HTTP/1.1")
        t += rng.uniform(0.25, 1.9)

    # last line: a feed poll at 21:05:48
    emit(float(span), pollers[0][0], "GET", "/?flav=rss20", 200, feed_size(45213, span), "-",
         pollers[0][1])

    # ---- three internal server errors from the search CGI ----
    for ev in rng.sample(searches[5:-5], 3):
        ev[2].status, ev[2].size = 500, 538

    # ---- assemble: integer seconds, no gap over 10 minutes ----
    evs = [e for e in events if 0 <= e[0] <= span]
    for e in evs:
        e[0] = int(e[0])
    evs.sort(key=lambda e: (e[0], e[1]))
    seq = len(events)
    filled = []
    prev = None
    for e in evs:
        while prev is not None and e[0] - prev > 540:
            t = prev + rng.randint(150, min(540, e[0] - prev - 30))
            ag = rng.choices(bot_agents[:2], cum_weights=[40, 58])[0]
            p = rng.choice(html_tail)
            seq += 1
            filled.append([t, seq, Req(start, rng.choice(bot_ips[ag]), "GET", p, 200, size[p],
                                       "-", ag)])
            prev = t
        filled.append(e)
        prev = e[0]
    evs = filled
    # multi-worker servers log at completion: a few lines land 1-2 s early
    swaps = 0
    i = 20
    while swaps < 11 and i < len(evs) - 20:
        if 1 <= evs[i + 1][0] - evs[i][0] <= 2 and evs[i][2].client != evs[i + 1][2].client:
            evs[i], evs[i + 1] = evs[i + 1], evs[i]
            swaps += 1
            i += rng.randint(250, 600)
        else:
            i += 1
    out = []
    for t, _, r in evs:
        r.ts = start + timedelta(seconds=t)
        out.append(r)
    return out


# --------------------------------------------------------------------------
# 2. clustered.log: cron-driven batch clients, minutes 0-4 of each hour, +0900


def gen_clustered(rng: random.Random) -> list[Req]:
    tz = timezone(timedelta(hours=9))
    product_slugs = unique(lambda: f"{rng.choice(['kyoto', 'hokkaido', 'uji', 'shizuoka', 'aomori', 'okinawa', 'nagano', 'kagoshima'])}"
                           f"-{rng.choice(['matcha', 'sencha', 'hojicha', 'soba', 'miso', 'yuzu', 'apple', 'honey', 'rice', 'sake-cup', 'tenugui', 'teapot'])}"
                           f"-{rng.randint(10, 999)}", 260)
    renamed = {s: True for s in product_slugs[:6]}
    gone = {s: True for s in product_slugs[6:10]}
    partner_ip = ipv4(rng, 13, 113)
    partner6 = ipv6(rng, ["2406:da14"])
    out: list[Req] = []
    for hour in range(7, 19):
        base = datetime(2019, 2, 3, hour, 0, 0, tzinfo=tz)
        ev: list[tuple[float, Req]] = []

        def emit(off: float, client: str, method: str, target: str, status: int,
                 nbytes: int | None, agent: str, user: str = "-") -> bool:
            if off >= 299.0:
                return False
            ev.append((off, Req(base, client, method, target, status, nbytes, "-", agent,
                                "HTTP/1.1", user)))
            return True

        # report exporter (python, paginated)
        off = rng.uniform(0.4, 2.5)
        pages = rng.randint(28, 44)
        day = "2019-02-02" if hour < 9 else "2019-02-03"
        for n in range(1, pages + 1):
            tgt = f"/api/v2/reports/daily?date={day}&page={n}"
            if hour == 13 and 5 <= n <= 9:
                emit(off, "10.20.1.14", "GET", tgt, 503, 299, "python-requests/2.21.0")
                off += 4.0 + rng.uniform(0, 0.5)
            sz = rng.randint(18000, 26000) if n < pages else rng.randint(900, 9000)
            if not emit(off, "10.20.1.14", "GET", tgt, 200, sz, "python-requests/2.21.0"):
                break
            off += rng.uniform(1.8, 6.0)
        emit(off, "10.20.1.14", "POST", "/api/v2/reports/daily/complete", 202, 31,
             "python-requests/2.21.0")
        # inventory sync (Go, cursor pagination, rate limited)
        off = rng.uniform(0.0, 1.0)
        tgt = "/api/v2/inventory?limit=200"
        for _ in range(rng.randint(52, 68)):
            step = rng.uniform(0.3, 2.6)
            if step < 0.55:
                emit(off, "10.20.1.31", "GET", tgt, 429, 45, "Go-http-client/1.1")
                off += 1.0 + rng.uniform(0, 0.2)
            if not emit(off, "10.20.1.31", "GET", tgt, 200, rng.randint(30000, 61000),
                        "Go-http-client/1.1"):
                break
            tgt = f"/api/v2/inventory?cursor={rng.getrandbits(48):012x}&limit=200"
            off += step
        emit(off + 0.2, "10.20.1.31", "POST", "/api/v2/inventory/ack", 204, None,
             "Go-http-client/1.1")
        # thumbnailer (Java): fetch originals, upload thumbnails
        off = rng.uniform(5, 15)
        media = 418000 + (hour - 7) * 40
        java = "Apache-HttpClient/4.5.6 (Java/1.8.0_191)"
        for k in range(rng.randint(20, 34)):
            mid = media + k
            if rng.random() < 0.03:
                emit(off, "10.20.2.7", "GET", f"/media/originals/{mid}.jpg", 404, 162, java)
                off += rng.uniform(0.3, 1.0)
                continue
            if not emit(off, "10.20.2.7", "GET", f"/media/originals/{mid}.jpg", 200,
                        rng.randint(200_000, 3_100_000), java):
                break
            off += rng.uniform(2.0, 6.0)
            emit(off, "10.20.2.7", "PUT", f"/media/thumbs/{mid}_256.jpg", 201, 64, java)
            off += rng.uniform(0.2, 1.2)
        # metrics pushers, once at :00 and once at :04
        for k in range(6):
            for m in (0, 4):
                emit(m * 60 + rng.uniform(0.0, 2.5), f"10.20.3.{11 + k}", "PUT",
                     f"/api/v2/metrics/app0{k + 1}", 204, None, "curl/7.58.0")
        # partner pulls (basic auth), after a random sleep
        off = rng.uniform(30, 90)
        fresh = hour in (7, 13)
        emit(off, partner_ip, "GET", "/export/products.csv", 200 if fresh else 304,
             rng.randint(2_400_000, 2_500_000) if fresh else None,
             "Wget/1.19.4 (linux-gnu)", "partner-kanto")
        emit(off + rng.uniform(3, 9), partner_ip, "GET", "/export/prices.csv?region=jp", 200,
             rng.randint(80_000, 84_000), "Wget/1.19.4 (linux-gnu)", "partner-kanto")
        emit(off + rng.uniform(10, 20), partner_ip, "GET", "/export/stock.csv?region=jp&format=v2",
             200, rng.randint(30_000, 33_000), "Wget/1.19.4 (linux-gnu)", "partner-kanto")
        emit(rng.uniform(100, 200), partner6, "GET", "/export/products.csv?since=2019-02-03",
             200, rng.randint(15_000, 90_000), "curl/7.61.1")
        # sitemap checker (HEAD over a sample of products)
        off = rng.uniform(60, 70)
        for s in rng.sample(product_slugs, rng.randint(34, 46)):
            st = 301 if s in renamed else (404 if s in gone else 200)
            if not emit(off, "10.20.1.22", "HEAD", f"/ja/products/{s}", st, None,
                        "Ruby"):
                break
            off += rng.uniform(1.5, 4.5)
        # cache warmer
        off = rng.uniform(170, 185)
        warm = ["/", "/ja/", "/en/"] + [f"/ja/category/{n}" for n in range(1, 21)] + \
            [f"/ja/products/{s}" for s in product_slugs[20:30]]
        for p in warm:
            if not emit(off, "10.20.1.40", "GET", p, 200, rng.randint(18_000, 95_000),
                        "cache-warmer/1.2 (+http://intranet/wiki/cache-warmer)"):
                break
            off += rng.uniform(0.4, 3.0)
        emit(rng.uniform(200, 290), "10.20.9.5", "GET", "/internal/backup/status", 200, 211,
             "check_http/v2.2 (monitoring-plugins 2.2)")
        ev.sort(key=lambda x: x[0])
        for off, r in ev:
            r.ts = base + timedelta(seconds=int(off))
            out.append(r)
    return out


# --------------------------------------------------------------------------
# 3a. json_nodur.log: app log in JSON lines, no duration


APP_AGENTS_2021 = [
    ("okhttp/4.9.0", 30),
    ("Shop/5.12.1 (iPhone; iOS 14.4; Scale/3.00)", 22),
    ("Shop/5.12.0 (iPad; iOS 14.3; Scale/2.00)", 4),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.190 Safari/537.36", 14),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0.3 Safari/605.1.15", 8),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:86.0) Gecko/20100101 Firefox/86.0", 4),
    ("axios/0.21.1", 6),
    ("PostmanRuntime/7.26.10", 1),
]


def gen_json_nodur(rng: random.Random) -> list[Req]:
    start = datetime(2021, 3, 4, 12, 0, 1, 123000, tzinfo=UTC)
    span = 7200.0 - 1.123 - 0.5
    ev: list[Req] = []

    def emit(t: float, remote, method, uri, code, size, agent):
        ev.append(Req(start + timedelta(milliseconds=round(t * 1000)), remote, method, uri,
                      code, size, "-", agent))

    t = 6.3 + rng.random()
    while t < span:    # kubelet probe
        emit(t, "10.1.0.1", "GET", "/healthz", 503 if 3130 < t < 3190 else 200,
             21 if 3130 < t < 3190 else 2, "kube-probe/1.20")
        t += 30.0 + rng.uniform(-0.004, 0.004)
    emit(0.0, "10.1.2.3", "GET", "/api/v1/orders/1234?expand=items", 200, 512, "okhttp/4.9.0")
    users = [ipv4(rng) for _ in range(150)] + [f"10.1.{rng.randint(2, 9)}.{rng.randint(2, 250)}"
                                               for _ in range(12)]
    ucw = zipf_cum(len(users), 0.8, 2.0)
    agents = [a for a, _ in APP_AGENTS_2021]
    acw = list(itertools.accumulate(w for _, w in APP_AGENTS_2021))
    agent_of = {u: rng.choices(agents, cum_weights=acw)[0] for u in users}
    words = ["matcha", "kettle", "grinder", "filter", "beans", "decaf", "espresso", "mug"]
    n_sessions = 245
    starts = sorted(rng.uniform(1, span - 60) for _ in range(n_sessions))
    for s in starts:
        u = rng.choices(users, cum_weights=ucw)[0]
        ag = agent_of[u]
        t = s
        if rng.random() < 0.22:
            ok = rng.random() < 0.9
            emit(t, u, "POST", "/api/v1/auth/token", 200 if ok else 401, 812 if ok else 61, ag)
            t += rng.uniform(0.05, 0.6)
            if not ok:
                continue
        for _ in range(rng.randint(2, 8)):
            r = rng.random()
            if r < 0.26:
                oid = rng.randint(1000, 9999)
                c = 404 if rng.random() < 0.04 else 200
                # deep links from push notifications carry no ?expand and
                # are the ones that hit deleted orders
                uri = f"/api/v1/orders/{oid}" + ("" if c == 404 else "?expand=items")
                emit(t, u, "GET", uri, c, rng.randint(380, 4200) if c == 200 else 48, ag)
            elif r < 0.38:
                emit(t, u, "GET", f"/api/v1/orders?status={rng.choice(['open', 'shipped', 'open'])}&page={rng.randint(1, 4)}",
                     200, rng.randint(1800, 14000), ag)
            elif r < 0.55:
                sku = f"SKU-{rng.choice([48213, 48214, 50120, 50991, 61002, 61003, 70440, 70441, 88010])}"
                emit(t, u, "GET", f"/api/v1/products/{sku}", 200, rng.randint(700, 2600), ag)
            elif r < 0.66:
                emit(t, u, "GET", "/api/v1/cart", 200, rng.randint(150, 3000), ag)
            elif r < 0.72:
                emit(t, u, "PUT", f"/api/v1/cart/items/{rng.randint(1, 12)}", 200, rng.randint(150, 3000), ag)
            elif r < 0.75:
                emit(t, u, "DELETE", f"/api/v1/cart/items/{rng.randint(1, 12)}", 204, 0, ag)
            elif r < 0.79:
                c = rng.choices([201, 422, 409, 500], weights=[86, 8, 4, 2])[0]
                emit(t, u, "POST", "/api/v1/orders", c, {201: 640, 422: 233, 409: 97, 500: 74}[c], ag)
            elif r < 0.88:
                uid = rng.randint(1, 900)
                c = rng.choices([200, 401, 403, 404], weights=[88, 5, 3, 4])[0]
                emit(t, u, "GET", f"/api/v1/users/{uid}", c, rng.randint(300, 900) if c == 200 else 60, ag)
            else:
                q = rng.choice(words)
                c = 400 if rng.random() < 0.05 else 200
                emit(t, u, "GET", f"/api/v1/search?q={q}&limit=20", c,
                     rng.randint(2000, 16000) if c == 200 else 85, ag)
            t += rng.uniform(0.04, 2.5) if rng.random() < 0.8 else rng.uniform(5, 40)
    ev = [r for r in ev if r.ts <= start + timedelta(seconds=span)]
    ev.sort(key=lambda r: r.ts)
    return ev


def json_nodur_line(r: Req) -> str:
    return json.dumps({"ts": rfc3339(r.ts), "remote": r.client, "method": r.method,
                       "uri": r.target, "code": r.status, "size": r.size,
                       "agent": r.agent}, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------
# 3b. json_nginx.log: nginx log_format escape=json, no request_time


def gen_json_nginx(rng: random.Random) -> list[Req]:
    start = datetime(2021, 3, 4, 12, 0, 1, tzinfo=UTC)
    span = 3598
    site = "https://shop.larchmont-supply.com"
    static = {"/static/js/app.8f3a2c1e.js": 412_233, "/static/js/vendor.11b0d9f4.js": 801_550,
              "/static/css/app.5d0e7a21.css": 48_112, "/static/img/logo.svg": 3_991,
              "/favicon.ico": 15_086, "/manifest.json": 602}
    users = [ipv4(rng) for _ in range(140)] + [ipv6(rng, ["2a02:c7f", "2600:1700", "2a01:4b00"]) for _ in range(18)]
    ucw = zipf_cum(len(users), 0.9, 2.0)
    agents = [a for a, _ in APP_AGENTS_2021 if a.startswith("Mozilla")] + [
        "Mozilla/5.0 (iPhone; CPU iPhone OS 14_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/14.0.3 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Linux; Android 11; Pixel 4a) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/88.0.4324.181 Mobile Safari/537.36"]
    agent_of = {u: rng.choice(agents) for u in users}
    seen: dict[str, bool] = {}
    ev: list[tuple[float, int, Req]] = []

    def emit(t, client, request, status, size, referer, agent):
        method, target, proto = request.split(" ")
        ev.append((t, len(ev), Req(start, client, method, target, status, size, referer, agent, proto)))

    emit(0.0, users[0], "GET /api/v1/users/42 HTTP/1.1", 200, 123, site + "/account", agent_of[users[0]])
    for _ in range(54):
        u = rng.choices(users, cum_weights=ucw)[0]
        ag = agent_of[u]
        proto = "HTTP/2.0" if "Chrome" in ag or "Safari" in ag else "HTTP/1.1"
        t = rng.uniform(1, span - 120)
        landing = rng.choice(["/", "/", "/products/espresso-grinder-c40", "/products/kettle-gooseneck-09",
                              "/account", "/cart"])
        emit(t, u, f"GET {landing} {proto}", 200, rng.randint(2100, 2900),
             rng.choice(["", "", "https://www.google.com/", "https://duckduckgo.com/"]), ag)
        ref = site + landing
        for a, sz in static.items():
            t += rng.uniform(0.02, 0.4)
            if seen.get(u) and a != "/manifest.json":
                emit(t, u, f"GET {a} {proto}", 304, 0, ref, ag)
            else:
                emit(t, u, f"GET {a} {proto}", 200, sz, "" if a == "/favicon.ico" else ref, ag)
        seen[u] = True
        for _ in range(rng.randint(0, 3)):
            t += rng.uniform(0.1, 0.6)
            uid = rng.choice([42, 42, 17, 230, 991])
            emit(t, u, f"GET /api/v1/users/{uid} {proto}", 200, rng.randint(110, 140), ref, ag)
            t += rng.uniform(0.05, 0.3)
            emit(t, u, f"GET /api/v1/products?category={rng.choice(['grinders', 'kettles', 'filters'])}&page={rng.randint(1, 3)} {proto}",
                 200, rng.randint(4000, 9000), ref, ag)
            if rng.random() < 0.2:
                emit(t + rng.uniform(0.1, 0.4), u, f"POST /api/v1/cart/items {proto}",
                     rng.choice([201, 201, 201, 400]), rng.randint(60, 400), ref, ag)
            if rng.random() < 0.07:
                emit(t + rng.uniform(2, 30), u, f"GET /api/v1/recommendations?for={uid} {proto}", 499, 0, ref, ag)
            t += rng.uniform(3, 60)
        if rng.random() < 0.15:
            emit(t + 1, u, f"POST /api/v1/login {proto}", rng.choice([200, 200, 401]), 97, site + "/login", ag)
    # the mobile app talks to the same API through this nginx: no referer, no assets
    apps = [ipv4(rng) for _ in range(60)] + [ipv6(rng, ["2607:fb90", "2600:387"]) for _ in range(14)]
    app_agent = {u: rng.choice(["okhttp/4.9.0", "okhttp/4.9.0",
                                "Shop/5.12.1 (iPhone; iOS 14.4; Scale/3.00)"]) for u in apps}
    for _ in range(100):
        u = rng.choice(apps)
        ag = app_agent[u]
        t = rng.uniform(1, span - 60)
        for _ in range(rng.randint(1, 6)):
            r = rng.random()
            if r < 0.35:
                emit(t, u, f"GET /api/v1/users/{rng.choice([42, 42, 17, 230, 991, 1208])} HTTP/1.1", 200,
                     rng.randint(110, 140), "", ag)
            elif r < 0.65:
                emit(t, u, f"GET /api/v1/products?category={rng.choice(['grinders', 'kettles', 'filters'])}&page={rng.randint(1, 3)} HTTP/1.1",
                     200, rng.randint(4000, 9000), "", ag)
            elif r < 0.85:
                emit(t, u, "GET /api/v1/cart HTTP/1.1", 200, rng.randint(150, 2900), "", ag)
            elif r < 0.97:
                emit(t, u, "POST /api/v1/cart/items HTTP/1.1", rng.choice([201, 201, 201, 400]),
                     rng.randint(60, 400), "", ag)
            else:
                emit(t, u, "GET /api/v1/orders/77810 HTTP/1.1", 404, 48, "", ag)
            t += rng.uniform(0.2, 20)
    bad = ipv4(rng)
    t = rng.uniform(1000, 2000)
    for p in ["/.env", "/wp-login.php", "/.git/config", "/api/v1/../../etc/passwd", "/actuator/health",
              "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php", "/boaform/admin/formLogin"]:
        emit(t, bad, f"GET {p} HTTP/1.1", 404 if ".." not in p else 400,
             153 if ".." not in p else 157, "", "Mozilla/5.0 zgrab/0.x")
        t += rng.uniform(0.1, 0.5)
    emit(t, bad, "GET /api/v1/users/1 HTTP/1.1", 200, 121,
         'http://evil.example/"><svg/onload=alert(1)>', "Mozilla/5.0 zgrab/0.x")
    ev = [e for e in ev if e[0] <= span]
    ev.sort(key=lambda e: (int(e[0]), e[1]))
    out = []
    for t, _, r in ev:
        r.ts = start + timedelta(seconds=int(t))
        out.append(r)
    return out


def json_nginx_line(r: Req) -> str:
    obj = {"time_local": clf_time(r.ts), "remote_addr": r.client,
           "request": f"{r.method} {r.target} {r.proto}", "status": str(r.status),
           "body_bytes_sent": str(r.size or 0), "http_referer": r.referer,
           "http_user_agent": r.agent}
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


# --------------------------------------------------------------------------
# 4. w3c_iis.log


IIS_FIELDS = ("date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip "
              "cs(User-Agent) cs(Referer) sc-status sc-substatus sc-win32-status time-taken")


def gen_iis(rng: random.Random) -> list[Req]:
    day = datetime(2016, 9, 13, tzinfo=UTC)
    site = "https://orders.northbay-corp.com"
    agents = ["Mozilla/5.0 (Windows NT 10.0; WOW64; Trident/7.0; rv:11.0) like Gecko",
              "Mozilla/5.0 (Windows NT 6.1; WOW64; Trident/7.0; rv:11.0) like Gecko",
              "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/52.0.2743.116 Safari/537.36 Edge/14.14393",
              "Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/53.0.2785.116 Safari/537.36",
              "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:48.0) Gecko/20100101 Firefox/48.0",
              "Mozilla/5.0 (iPhone; CPU iPhone OS 9_3_5 like Mac OS X) AppleWebKit/601.1.46 (KHTML, like Gecko) Version/9.0 Mobile/13G36 Safari/601.1"]
    names = ["jsmith", "mgarcia", "lchen", "apatel", "kowalski", "rjones", "tnguyen", "bmuller",
             "sokafor", "dkim", "emartin", "hsato", "pwalsh", "fdubois"]
    people = [(f"10.40.{rng.randint(1, 30)}.{rng.randint(2, 250)}", f"NORTHBAY\\{n}",
               rng.choice(agents)) for n in names]
    people += [(ipv4(rng), f"NORTHBAY\\{n}", rng.choice(agents)) for n in ["vpn.agarcia", "vpn.ltaylor", "vpn.nwood"]]
    people += [("2001:db8:4a1:20::1c", "NORTHBAY\\hsato2", agents[0])]
    bundles = {"/bundles/jquery": "v=FVs3ACwOLIVInrAl5sdzR2jrCDmVOWFbZMY6g6Q0ulE1",
               "/bundles/bootstrap": "v=2Fz3B0iizV2NnnamQFrx-NbYJNTFeBJ2GM05SilbtQU1",
               "/bundles/modernizr": "v=inCVuEFe6J4Q07A0AcRsbJic_UE5MwpRMNGcOtk94TE1",
               "/Content/css": "v=NmAPvEn0zFAXw8Ldl6NVAYJuAFhwg9hNdxL1Zp_DJpM1"}
    ev: list[tuple[float, int, Req]] = []

    def emit(t, ip, method, stem, query, user, agent, ref, status, sub, win32, taken, port=443):
        target = stem if query == "-" else f"{stem}?{query}"
        ev.append((t, len(ev), Req(day, ip, method, target, status, None, ref, agent, "HTTP/1.1",
                                   user, taken, sub, win32, port)))

    def taken(lo, hi, tail=0.03):
        v = int(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        return v * rng.randint(5, 30) if rng.random() < tail else v

    t_open, t_close = 6 * 3600 + 2 * 60 + 11, 18 * 3600
    for _ in range(60):
        ip, user, agent = rng.choice(people)
        t = rng.uniform(t_open + 1, t_close - 600)
        h = t / 3600
        if h < 8 and rng.random() < 0.6:
            t += 2 * 3600
        # NTLM handshake: anonymous 401.2, challenge 401.1, then the page
        emit(t, ip, "GET", "/", "-", "-", agent, "-", 401, 2, 5, taken(0.5, 3))
        emit(t + 0.01, ip, "GET", "/", "-", "-", agent, "-", 401, 1, 2148074254, taken(0.5, 3))
        t += 0.05
        emit(t, ip, "GET", "/", "-", user, agent, "-", 302, 0, 0, taken(3, 20))
        emit(t + 0.1, ip, "GET", "/Orders", "-", user, agent, "-", 200, 0, 0, taken(40, 400))
        ref = site + "/Orders"
        for stem, q in bundles.items():
            st = 304 if rng.random() < 0.7 else 200
            emit(t + rng.uniform(0.2, 0.6), ip, "GET", stem, q, user, agent, ref, st, 0, 0,
                 taken(1, 15) if st == 304 else taken(5, 80))
        t += 1
        for _ in range(rng.randint(1, 8)):
            t += rng.uniform(4, 180)
            r = rng.random()
            if r < 0.35:
                oid = rng.randint(104000, 109999)
                emit(t, ip, "GET", f"/Orders/Details/{oid}", "-", user, agent, ref, 200, 0, 0,
                     taken(30, 600))
                emit(t + 0.3, ip, "GET", "/api/orders/lines", f"orderId={oid}", user, agent,
                     f"{site}/Orders/Details/{oid}", 200, 0, 0, taken(20, 900))
            elif r < 0.6:
                q = f"page={rng.randint(1, 12)}&sort={rng.choice(['date', 'date', 'customer', 'total'])}&desc={rng.choice(['true', 'false'])}"
                emit(t, ip, "GET", "/api/orders", q, user, agent, ref, 200, 0, 0, taken(25, 1200))
            elif r < 0.72:
                cust = rng.choice(["acme", "globex", "initech", "umbrella", "hooli", "stark", "wayne"])
                emit(t, ip, "GET", "/Customers/Search", f"q={cust}&region=EMEA", user, agent, ref,
                     200, 0, 0, taken(60, 2500))
            elif r < 0.8:
                emit(t, ip, "POST", "/api/orders", "-", user, agent, ref,
                     rng.choice([201, 201, 201, 400]), 0, 0, taken(80, 1500))
            elif r < 0.86:
                emit(t, ip, "GET", "/Reports/Export", f"format=xlsx&month=2016-0{rng.randint(6, 8)}",
                     user, agent, ref, 200, 0, rng.choice([0, 0, 0, 64]), taken(1500, 12000))
            elif r < 0.9:
                emit(t, ip, "GET", "/Orders/Details/99", "-", user, agent, ref, 404, 0, 2, taken(5, 40))
            elif r < 0.92:
                emit(t, ip, "POST", "/api/orders/approve", "-", user, agent, ref, 500, 0, 0,
                     taken(200, 30000))
            else:
                emit(t, ip, "GET", "/Orders", "-", user, agent, ref, 200, 0, 0, taken(40, 400))
    lb = "10.40.0.250"
    t = t_open
    while t < t_close:       # load balancer health check
        emit(t, lb, "GET", "/health.htm", "-", "-", "-", "-", 200, 0, 0, rng.randint(0, 2), 80)
        t += 300 + rng.uniform(-0.3, 0.3)
    for _ in range(12):      # http:// -> https:// redirect, and external noise
        ip = ipv4(rng)
        tt = rng.uniform(t_open, t_close)
        emit(tt, ip, "GET", "/", "-", "-", rng.choice(agents), "-", 301, 0, 0, taken(0.5, 4), 80)
    scanner = ipv4(rng)
    tt = rng.uniform(t_open + 3600, t_close - 3600)
    for stem in ["/owa/auth/logon.aspx", "/ecp/", "/autodiscover/autodiscover.xml", "/aspnet_client/",
                 "/trace.axd", "/elmah.axd", "/web.config", "/App_Data/", "/backup.bak"]:
        st, sub = (404, 0) if stem not in ("/web.config", "/App_Data/") else (404, 8)
        emit(tt, scanner, "GET", stem, "-", "-", "Mozilla/5.0 zgrab/0.x", "-",
             st, sub, 2 if sub == 0 else 0, taken(0.5, 8))
        tt += rng.uniform(0.2, 1.0)
    ev = [e for e in ev if t_open <= e[0] < t_close]
    ev.sort(key=lambda e: (int(e[0]), e[1]))
    out = []
    for t, _, r in ev:
        r.ts = day + timedelta(seconds=int(t))
        out.append(r)
    return out


def iis_field(s: str) -> str:
    return "-" if not s or s == "-" else s.replace(" ", "+")


def iis_line(r: Req) -> str:
    stem, _, query = r.target.partition("?")
    return " ".join([r.ts.strftime("%Y-%m-%d"), r.ts.strftime("%H:%M:%S"), "10.40.0.21",
                     r.method, stem, query or "-", str(r.port), r.user, r.client,
                     iis_field(r.agent), iis_field(r.referer), str(r.status), str(r.substatus),
                     str(r.win32), str(r.taken_ms)])


def iis_header(ts: datetime) -> list[str]:
    return ["#Software: Microsoft Internet Information Services 8.5", "#Version: 1.0",
            f"#Date: {ts:%Y-%m-%d %H:%M:%S}", f"#Fields: {IIS_FIELDS}"]


# --------------------------------------------------------------------------
# 5. ipv6_query.log: tracking parameters, IPv6 mobile clients, UTF-8 paths


def gen_ipv6_query(rng: random.Random) -> list[Req]:
    tz = timezone(timedelta(hours=2))
    start = datetime(2022, 6, 11, 18, 0, 4, tzinfo=tz)
    span = 3 * 3600 - 10
    site = "https://www.petit-zinc-lyon.fr"
    fb_ios = "Mozilla/5.0 (iPhone; CPU iPhone OS 15_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 [FBAN/FBIOS;FBDV/iPhone13,2;FBMD/iPhone;FBSN/iOS;FBSV/15.5;FBSS/3;FBID/phone;FBLC/fr_FR;FBOP/5]"
    fb_and = "Mozilla/5.0 (Linux; Android 12; SM-G991B Build/SP1A.210812.016; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/102.0.5005.78 Mobile Safari/537.36 [FB_IAB/FB4A;FBAV/370.0.0.30.112;]"
    insta = "Mozilla/5.0 (iPhone; CPU iPhone OS 15_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Instagram 239.0.0.10.109 (iPhone12,1; iOS 15_5; fr_FR; fr-FR; scale=2.00; 828x1792; 376769525)"
    safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 15_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/15.5 Mobile/15E148 Safari/604.1"
    chrome_and = "Mozilla/5.0 (Linux; Android 12; Pixel 6) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/102.0.5005.115 Mobile Safari/537.36"
    desktop = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/102.0.0.0 Safari/537.36"
    firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:101.0) Gecko/20100101 Firefox/101.0"
    samsung = "Mozilla/5.0 (Linux; Android 12; SAMSUNG SM-S901N) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/17.0 Chrome/96.0.4664.104 Mobile Safari/537.36"
    v6 = ["2a01:cb1c", "2a04:cec0", "2a01:e0a", "2001:861", "2a02:8428", "2a01:cb19"]
    clients = [ipv6(rng, v6) if i % 2 == 0 else ipv4(rng, rng.choice([90, 92, 109, 176, 78, 86]))
               for i in range(220)]
    clients = list(dict.fromkeys(clients))
    v = "3f2a1b"
    pages = ["/", "/caf%C3%A9/menu", "/caf%C3%A9/carte-des-vins", "/caf%C3%A9/r%C3%A9servation",
             "/%C3%A9v%C3%A9nements/", "/blog/terrasse-ete-2022", "/en/menu", "/menu/brunch?lang=fr",
             "/menu/brunch?lang=en", "/contact"]
    assets = [f"/static/css/site.css?v={v}", f"/static/js/app.js?v={v}", "/static/img/terrasse.jpg",
              "/static/img/logo.svg", "/favicon.ico"]
    sizes = {p: rng.randint(9000, 42000) for p in pages}
    sizes.update({assets[0]: 21877, assets[1]: 64410, assets[2]: 188_231, assets[3]: 4102,
                  assets[4]: 1150})
    seen: dict[str, bool] = {}

    def b64(n: int) -> str:
        al = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
        return "".join(rng.choice(al) for _ in range(n))

    campaign = [
        ("facebook", 30), ("instagram", 18), ("newsletter", 18), ("google", 14),
        ("direct", 8), ("korea", 4), ("search", 4)]
    ccw = list(itertools.accumulate(w for _, w in campaign))
    ev: list[tuple[float, int, Req]] = []

    def emit(t, ip, target, status, size, ref, agent, method="GET", proto="HTTP/1.1"):
        ev.append((t, len(ev), Req(start, ip, method, target, status, size, ref, agent, proto)))

    first = True
    for _ in range(102):
        ip = clients[0] if first else rng.choice(clients)
        t = 0.0 if first else rng.uniform(1, span - 200)
        first = False
        src = rng.choices([c for c, _ in campaign], cum_weights=ccw)[0]
        land = rng.choice(["/", "/caf%C3%A9/menu", "/caf%C3%A9/menu", "/blog/terrasse-ete-2022",
                           "/caf%C3%A9/r%C3%A9servation"])
        if src == "facebook":
            ag = rng.choice([fb_ios, fb_and, fb_ios])
            q = f"utm_source=facebook&utm_medium=social&utm_campaign=terrasse-juin22&fbclid=IwAR{b64(rng.choice([57, 58, 59]))}"
            if rng.random() < 0.3:
                q = f"fbclid=IwAR{b64(57)}"
            ref = "https://l.facebook.com/" if rng.random() < 0.6 else "https://m.facebook.com/"
        elif src == "instagram":
            ag, ref = insta, "https://l.instagram.com/"
            q = f"utm_source=ig&utm_medium=social&utm_content=link_in_bio&fbclid=PAAa{b64(rng.choice([60, 61]))}"
        elif src == "newsletter":
            ag, ref = rng.choice([desktop, safari, firefox]), "-"
            q = f"utm_source=newsletter&utm_medium=email&utm_campaign=juin-2022&utm_content={rng.choice(['cta', 'header', 'photo'])}"
        elif src == "google":
            ag, ref = rng.choice([chrome_and, safari, desktop]), "https://www.google.com/"
            q = f"gclid=Cj0KCQjw{b64(rng.choice([70, 72, 74]))}" if rng.random() < 0.5 else ""
        elif src == "korea":
            ag, ref = samsung, "-"
            land = "/검색"
            q = "q=" + urllib.parse.quote(rng.choice(["테스트", "카페", "리옹 카페", "메뉴", "브런치"]))
        elif src == "search":
            ag, ref = rng.choice([desktop, chrome_and]), site + "/"
            land = "/search"
            q = "q=" + rng.choice(["caf%C3%A9+cr%C3%A8me", "brunch+dimanche", "terrasse", "r%C3%A9server+une+table", "vin+nature"])
        else:
            ag, ref, q = rng.choice([safari, desktop, chrome_and, firefox]), "-", ""
        target = f"{land}?{q}" if q else land
        proto = "HTTP/2.0" if rng.random() < 0.7 else "HTTP/1.1"
        emit(t, ip, target, 200, sizes.get(land, rng.randint(5000, 15000)), ref, ag, proto=proto)
        here = site + target
        offs = sorted(rng.uniform(0.05, 1.5) for _ in assets)
        for off, a in zip(offs, assets):
            if seen.get(ip) and a != assets[4]:
                emit(t + off, ip, a, 304, None, here, ag, proto=proto)
            else:
                emit(t + off, ip, a, 200, sizes[a], here if a != assets[4] else "-", ag, proto=proto)
        if "iPhone" in ag and not seen.get(ip) and rng.random() < 0.4:
            emit(t + 1.6, ip, "/apple-touch-icon.png", 404, 196, "-", ag, proto=proto)
            emit(t + 1.7, ip, "/apple-touch-icon-precomposed.png", 404, 196, "-", ag, proto=proto)
        seen[ip] = True
        for _ in range(rng.choice([0, 0, 1, 1, 2, 3])):
            t += rng.uniform(8, 120)
            p = rng.choice([x for x in pages if site + x != here])
            emit(t, ip, p, 200, sizes[p], here, ag, proto=proto)
            here = site + p
            if p.startswith("/caf%C3%A9/r%C3%A9servation") and rng.random() < 0.35:
                t += rng.uniform(30, 140)
                emit(t, ip, "/caf%C3%A9/r%C3%A9servation", rng.choice([303, 303, 422]),
                     rng.randint(0, 300) or None, here, ag, method="POST", proto=proto)
    bot = "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/102.0.5005.115 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
    gb = ["2001:4860:4801:10::" + f"{rng.randint(1, 0xfff):x}" for _ in range(2)]
    for _ in range(26):
        p = rng.choice(pages + ["/robots.txt", "/sitemap.xml"])
        emit(rng.uniform(1, span), rng.choice(gb), p, 200, sizes.get(p, 2200), "-", bot)
    ev = [e for e in ev if e[0] <= span]
    ev.sort(key=lambda e: (int(e[0]), e[1]))
    out = []
    for t, _, r in ev:
        r.ts = start + timedelta(seconds=int(t))
        out.append(r)
    return out


# --------------------------------------------------------------------------
# checks and main


def check_blog(reqs: list[Req]) -> None:
    secs = [int(r.ts.timestamp()) for r in reqs]
    s = sorted(secs)
    gaps = [b - a for a, b in zip(s, s[1:])]
    assert max(gaps) <= 600, max(gaps)
    run_max, back = secs[0], 0
    for x in secs:
        back = max(back, run_max - x)
        run_max = max(run_max, x)
    assert 1 <= back <= 2, back
    assert sum(1 for r in reqs if r.status == 500) == 3
    assert len({r.target.split("?")[0]: 1 for r in reqs}) > 1300


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)

    files: list[tuple[str, list[str], list[Req]]] = []

    blog = gen_blog(random.Random(SEED + 1))
    check_blog(blog)
    files.append(("blog_combined.log", [combined(r) for r in blog], blog))

    cl = gen_clustered(random.Random(SEED + 2))
    assert all(r.ts.minute < 5 for r in cl)
    files.append(("clustered.log", [combined(r) for r in cl], cl))

    jn = gen_json_nodur(random.Random(SEED + 3))
    files.append(("json_nodur.log", [json_nodur_line(r) for r in jn], jn))

    ng = gen_json_nginx(random.Random(SEED + 4))
    files.append(("json_nginx.log", [json_nginx_line(r) for r in ng], ng))

    iis = gen_iis(random.Random(SEED + 5))
    restart = next(i for i, r in enumerate(iis) if (r.ts.hour, r.ts.minute) >= (12, 31))
    lines = iis_header(iis[0].ts) + [iis_line(r) for r in iis[:restart]] + \
        iis_header(iis[restart].ts) + [iis_line(r) for r in iis[restart:]]
    files.append(("w3c_iis.log", lines, iis))

    v6 = gen_ipv6_query(random.Random(SEED + 6))
    files.append(("ipv6_query.log", [combined(r) for r in v6], v6))

    total = 0
    for name, lines, reqs in files:
        text = "\n".join(lines) + "\n"
        (out / name).write_text(text, encoding="utf-8", newline="\n")
        exp = expectations(reqs, len(lines))
        stem = name[:-len(".log")]
        (out / f"{stem}.expected.json").write_text(
            json.dumps(exp, indent=2, ensure_ascii=False) + "\n", encoding="utf-8", newline="\n")
        nbytes = len(text.encode("utf-8"))
        total += nbytes
        print(f"{name:20s} {len(lines):6d} lines {nbytes:9d} bytes  "
              f"requests={exp['requests']} clients={exp['clients']} "
              f"paths={exp['distinct_paths_with_query']}/{exp['distinct_paths_without_query']}",
              file=sys.stderr)
    print(f"total {total} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
