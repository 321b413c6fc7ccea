#!/usr/bin/env python3
"""How fast one tailpulse fills a local ClickHouse.

Starts a clickhouse-server of its own (Debian's package) in a temporary directory, runs
`tailpulse run LOG --clickhouse …` over a log read from its start, and times from the start of
the run until the server holds every line of the log (counted with `SELECT count()`), then
checks that no line was stored twice.

    cargo build --release
    python3 scripts/clickhouse_bench.py bench-data/combined-1000000.log
"""

import argparse
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def query(url, sql):
    req = urllib.request.Request(url, data=sql.encode(), method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.read().decode().strip()


def start_server(d):
    http, tcp = free_port(), free_port()
    with open(os.path.join(d, "config.xml"), "w") as f:
        f.write(f"""<?xml version="1.0"?>
<yandex>
  <logger><level>warning</level><log>{d}/server.log</log><errorlog>{d}/error.log</errorlog></logger>
  <http_port>{http}</http_port><tcp_port>{tcp}</tcp_port><listen_host>127.0.0.1</listen_host>
  <path>{d}/data/</path><tmp_path>{d}/tmp/</tmp_path>
  <user_files_path>{d}/user_files/</user_files_path><format_schema_path>{d}/fs/</format_schema_path>
  <users_config>{d}/users.xml</users_config><default_profile>default</default_profile>
  <default_database>default</default_database><mark_cache_size>67108864</mark_cache_size>
  <timezone>UTC</timezone>
</yandex>""")
    with open(os.path.join(d, "users.xml"), "w") as f:
        f.write("""<?xml version="1.0"?>
<yandex><profiles><default/></profiles>
<users><default><password></password><networks><ip>127.0.0.1</ip></networks>
<profile>default</profile><quota>default</quota></default></users>
<quotas><default/></quotas></yandex>""")
    binary = shutil.which("clickhouse-server") or "/usr/sbin/clickhouse-server"
    proc = subprocess.Popen([binary, f"--config-file={d}/config.xml"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{http}/"
    for _ in range(600):
        try:
            query(url, "SELECT 1")
            return proc, url
        except OSError:
            time.sleep(0.1)
    raise SystemExit("clickhouse-server did not start")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("log")
    ap.add_argument("--binary", default="target/release/tailpulse")
    args = ap.parse_args()
    lines = sum(1 for _ in open(args.log, "rb"))
    with tempfile.TemporaryDirectory() as d:
        server, url = start_server(d)
        try:
            version = query(url, "SELECT version()")
            data = os.path.join(d, "run")
            start = time.monotonic()
            run = subprocess.Popen(
                [args.binary, "run", "--port", "0", "--data-dir", data,
                 "--clickhouse", url, "--clickhouse-db", "bench", os.path.abspath(args.log)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            stored = 0
            while stored < lines:
                time.sleep(0.05)
                try:
                    stored = int(query(url, "SELECT count() FROM bench.requests"))
                except (OSError, ValueError):
                    stored = 0
                if time.monotonic() - start > 600:
                    raise SystemExit(f"only {stored} of {lines} rows after 600 s")
            took = time.monotonic() - start
            run.terminate()
            run.wait()
            distinct = int(query(url, "SELECT uniqExact(source, offset) FROM bench.requests"))
            print(f"ClickHouse {version}: {lines} lines stored in {took:.2f} s "
                  f"({lines / took:,.0f} rows/s, read, counted and inserted); "
                  f"{distinct} distinct rows")
        finally:
            server.terminate()
            server.wait()


if __name__ == "__main__":
    main()
