#!/usr/bin/env python3
"""Memory of a tailpulse run under event-stream clients that never read.

Starts `tailpulse run` (the demo) in a new directory, on a free port, opens N connections that ask for
/api/stream and then never read, keeps them open for a while, closes them, and prints the
run's resident memory (VmRSS) before, while they are open, and after; also how many streams
were refused (503) past the cap.

usage: scripts/sse_memory.py [BINARY] [CLIENTS] [SECONDS]
       (default: target/release/tailpulse 2000 60)
"""
import os
import re
import socket
import subprocess
import sys
import tempfile
import time


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        kb = int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))
    return kb / 1024


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else "target/release/tailpulse"
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 2000
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 60
    work = tempfile.mkdtemp()
    run = subprocess.Popen(
        [os.path.abspath(binary), "run", "--port", "0", "--data-dir", work],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    addr = None
    for line in run.stdout:
        m = re.search(r"dashboard on http://([\d.]+):(\d+)/", line)
        if m:
            addr = (m.group(1), int(m.group(2)))
            break
    assert addr, "no dashboard line"
    time.sleep(10)
    before = rss_mib(run.pid)
    socks, refused = [], 0
    request = f"GET /api/stream HTTP/1.1\r\nHost: {addr[0]}:{addr[1]}\r\n\r\n".encode()
    for _ in range(clients):
        s = socket.socket()
        # A small receive buffer: the server's writes back up sooner.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        try:
            s.connect(addr)
            s.sendall(request)
            socks.append(s)
        except OSError:
            refused += 1
            s.close()
    time.sleep(1)
    # Which ones got a 503 (read only the status line of those that answered at once).
    for s in socks:
        s.setblocking(False)
        try:
            head = s.recv(12)
            if b" 503" in head:
                refused += 1
        except BlockingIOError:
            pass
    peak = before
    end = time.time() + seconds
    while time.time() < end:
        peak = max(peak, rss_mib(run.pid))
        time.sleep(1)
    for s in socks:
        s.close()
    time.sleep(5)
    after = rss_mib(run.pid)
    run.terminate()
    run.wait()
    print(
        f"clients={clients} seconds={seconds:g} refused={refused} "
        f"rss_before={before:.1f}MiB rss_peak={peak:.1f}MiB rss_after={after:.1f}MiB"
    )


if __name__ == "__main__":
    main()
