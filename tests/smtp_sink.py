"""A local SMTP server for the alert tests: stores each message it receives as a file in
the directory given, and prints its port once it accepts connections."""

import importlib
import socket
import subprocess
import sys
from pathlib import Path

# aiosmtpd (PyPI) is fetched on first use into target/pydeps, so `cargo test` works on a
# fresh machine; requirements.txt pins it.
HERE = Path(__file__).resolve().parent
DEPS = HERE.parent / "target" / "pydeps"
sys.path.insert(0, str(DEPS))
try:
    from aiosmtpd.controller import Controller
except ImportError:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--target", str(DEPS), "-r", str(HERE / "requirements.txt")],
        check=True, stdout=sys.stderr,
    )
    importlib.invalidate_caches()
    from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, out: Path):
        self.out = out
        self.n = 0

    async def handle_DATA(self, server, session, envelope):
        self.n += 1
        body = envelope.content.decode("utf-8", "replace")
        rcpt = ",".join(envelope.rcpt_tos)
        (self.out / f"{self.n:04}.eml").write_text(f"X-Rcpt: {rcpt}\n{body}")
        return "250 OK"


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    c = Controller(Sink(out), hostname="127.0.0.1", port=port)
    c.start()
    print(port, flush=True)
    try:
        while sys.stdin.read(1):
            pass
    finally:
        c.stop()


if __name__ == "__main__":
    main()
