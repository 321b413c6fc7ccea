"""A local SMTP server for the alert tests: stores each message it receives as a file in
the directory given, and prints its port once it accepts connections."""

import socket
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pydeps import need  # noqa: E402

Controller = need("aiosmtpd.controller").Controller


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
