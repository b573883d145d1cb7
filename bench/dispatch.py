"""Outgoing mail dispatch figures: the SMTP and file transports.

`python -m ledgerdesk.bench.dispatch [--mails 3000] [--runs 3] [--batch 100]` builds N plausible
notifications (text + HTML, threading headers, one in ten with a 40 KB attachment) and prints:

- smtp_dispatch_mails_per_s: SmtpTransport.send_many in batches over one reused connection to
  a real SMTP server (aiosmtpd) on loopback, running in its own process so that it does not
  share our interpreter lock; the time covers building each message and the SMTP dialogue;
- file_dispatch_mails_per_s: FileTransport into a fresh directory (temp file + rename each).

Each figure is the median of the runs.
"""

from __future__ import annotations

import argparse
import dataclasses
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from ledgerdesk.adapters.mail_out.file_transport import FileTransport
from ledgerdesk.adapters.mail_out.smtp import SmtpTransport
from ledgerdesk.adapters.mail_out.smtp_config import parse_smtp_url
from ledgerdesk.bench.run import emit
from ledgerdesk.domain.outgoing import MailTransport, OutgoingMail
from ledgerdesk.tests.integration.mail_out.samples import sample_mail

ATTACHMENT_EVERY = 10
ATTACHMENT_BYTES = 40_000

SERVER = """
import sys, time
from aiosmtpd.controller import Controller

class Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 2.0.0 Accepted"

controller = Controller(Sink(), hostname="127.0.0.1", port=int(sys.argv[1]))
controller.start()
print("ready", flush=True)
sys.stdin.read()  # until the benchmark closes our stdin
controller.stop()
"""


def mails(count: int) -> list[OutgoingMail]:
    attachment = ("invoice.pdf", "application/pdf", bytes(range(256)) * (ATTACHMENT_BYTES // 256))
    return [
        sample_mail(n, attachments=(attachment,)) if n % ATTACHMENT_EVERY == 0 else sample_mail(n)
        for n in range(count)
    ]


def dispatch(transport: MailTransport, items: Sequence[OutgoingMail], batch: int) -> float:
    """Mails per second for sending `items` in batches, as the outbox job does."""
    started = time.perf_counter()
    sent = 0
    for start in range(0, len(items), batch):
        results = transport.send_many(items[start : start + batch])
        sent += sum(result.ok for result in results)
    elapsed = time.perf_counter() - started
    if sent != len(items):
        raise SystemExit(f"only {sent} of {len(items)} mails were accepted")
    return sent / elapsed


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_smtp(items: Sequence[OutgoingMail], runs: int, batch: int) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise SystemExit("the aiosmtpd server did not start")
        rates, connections = [], 0
        for run in range(runs):
            transport = SmtpTransport(parse_smtp_url(f"smtp://127.0.0.1:{port}"))
            # A fresh Message-ID and key per run: each run sends new mail.
            fresh = [dataclasses.replace(m, key=f"{m.key}:{run}") for m in items]
            rates.append(dispatch(transport, fresh, batch))
            connections += transport.connections_opened
            transport.close()
        emit("smtp_dispatch_mails_per_s", statistics.median(rates))
        emit("smtp_dispatch_connections_per_run", connections / runs)
    finally:
        if server.stdin is not None:
            server.stdin.close()
        server.wait(timeout=30)


def bench_file(items: Sequence[OutgoingMail], runs: int, batch: int) -> None:
    rates = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="ledgerdesk-bench-") as tmp:
            rates.append(dispatch(FileTransport(Path(tmp) / "out"), items, batch))
    emit("file_dispatch_mails_per_s", statistics.median(rates))


def run(mails_count: int = 3000, runs: int = 3, batch: int = 100) -> None:
    """Entry point for bench/run.py: both figures."""
    items = mails(mails_count)
    bench_smtp(items, runs, batch)
    bench_file(items, runs, batch)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--mails", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=100)
    args = parser.parse_args(argv)
    run(args.mails, args.runs, args.batch)


if __name__ == "__main__":
    main()
