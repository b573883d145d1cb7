"""Notifications end to end, to a real SMTP server on loopback (aiosmtpd).

- `dispatch_end_to_end_mails_per_s`: outbox -> render (Jinja) -> SMTP (one reused
  connection) -> Delivery events recorded -> outbox updated, for a backlog of acknowledgements.
- `event_to_smtp_p50_ms`: a ticket opened while the worker runs (dispatcher thread, idle
  queue) until the SMTP server accepted its acknowledgement.
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import tempfile
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from ledgerdesk.bench.run import chosen_stores, emit, fresh_store
from ledgerdesk.bootstrap import bootstrap, migrate
from ledgerdesk.jobs.outbox import dispatcher_for
from ledgerdesk.settings import Settings

TOKEN = re.compile(rb"\[(T-\d+)\]")


class Sink:
    def __init__(self) -> None:
        self.accepted: dict[str, float] = {}  # ticket number -> when its mail was accepted
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        match = TOKEN.search(envelope.content[:4000])
        with self.lock:
            self.count += 1
            if match:
                self.accepted.setdefault(match.group(1).decode(), time.perf_counter())
        return "250 OK"


def run(settings: Settings, store: str, backlog: int, samples: int) -> None:
    sink = Sink()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings = settings.with_changes(mail_out=f"smtp://127.0.0.1:{port}")
    migrate(settings)
    svc = bootstrap(settings)
    app = svc.app
    try:
        customers = [
            app.create_user(actor="system:bench", email=f"c{n}@bench.example").id
            for n in range(backlog + samples)
        ]
        for start in range(0, backlog, 200):
            app.batch(
                [
                    partial(
                        app.open_ticket,
                        actor="system:bench",
                        subject="Backlog",
                        text="hi",
                        requester_id=customer,
                    )
                    for customer in customers[start : min(start + 200, backlog)]
                ],
                atomic=True,
            )
        svc.projections.catch_up()
        dispatcher = dispatcher_for(svc)
        started = time.perf_counter()
        sent = dispatcher.drain()
        elapsed = time.perf_counter() - started
        emit(f"dispatch_end_to_end_mails_per_s.{store}", sent / elapsed)

        svc.projections.start()
        dispatcher.start(interval=0.5)
        opened: dict[str, float] = {}
        for customer in customers[backlog:]:
            ticket = app.open_ticket(
                actor="system:bench", subject="Now", text="hello", requester_id=customer
            )
            opened[ticket.number] = time.perf_counter()
            time.sleep(0.05)
        deadline = time.perf_counter() + 30
        while time.perf_counter() < deadline and not set(opened) <= set(sink.accepted):
            time.sleep(0.05)
        latencies = [sink.accepted[n] - t for n, t in opened.items() if n in sink.accepted]
        dispatcher.stop()
        emit(f"event_to_smtp_p50_ms.{store}", statistics.median(latencies) * 1000)
        emit(f"event_to_smtp_p95_ms.{store}", sorted(latencies)[int(len(latencies) * 0.95)] * 1000)
        emit(f"event_to_smtp_delivered.{store}", len(latencies) / len(opened))
    finally:
        svc.close()
        controller.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--backlog", type=int, default=3000)
    parser.add_argument("--samples", type=int, default=60)
    args = parser.parse_args()
    for store, pg_url in chosen_stores(args.store):
        with tempfile.TemporaryDirectory() as tmp, fresh_store(store, pg_url, Path(tmp)) as s:
            run(s, store, args.backlog, args.samples)


if __name__ == "__main__":
    main()
