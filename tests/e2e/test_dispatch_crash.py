"""Killing the worker (-9) in the middle of a burst of notifications loses none of them."""

from __future__ import annotations

import os
import signal
import time
from collections import Counter

from ledgerdesk.tests.e2e.smtp_sink import SmtpSink

CUSTOMERS = 120


def wait_until(condition, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_a_worker_killed_mid_burst_delivers_everything_after_restart_with_same_ids(
    services, people, ledgerdesk, tmp_path
):
    app = services.app
    customers = app.batch(
        [
            lambda n=n: app.create_user(actor="system:test", email=f"c{n}@customer.test")
            for n in range(CUSTOMERS)
        ]
    )
    app.batch(
        [
            lambda c=c: app.open_ticket(
                actor="system:test", subject="Burst", text="hello", requester_id=c.id
            )
            for c in customers
        ]
    )
    with SmtpSink(delay=0.01) as sink:
        worker = ledgerdesk.with_env(LEDGERDESK_MAIL_OUT=sink.url)
        first = worker.popen("worker", log=tmp_path / "worker1.log")
        try:
            assert wait_until(lambda: len(sink.ids()) >= 30, 60), (
                tmp_path / "worker1.log"
            ).read_text()[-3000:]
        finally:
            os.kill(first.pid, signal.SIGKILL)
            first.wait(10)
        at_kill = len(sink.ids())
        assert at_kill < CUSTOMERS, "the burst ended before the kill; slow the sink down"
        second = worker.popen("worker", log=tmp_path / "worker2.log")
        try:
            assert wait_until(lambda: len(set(sink.ids())) >= CUSTOMERS, 90), (
                tmp_path / "worker2.log"
            ).read_text()[-3000:]
        finally:
            second.terminate()
            second.wait(30)
        counts = Counter(sink.ids())
    assert len(counts) == CUSTOMERS  # every acknowledgement arrived
    twice = [mid for mid, n in counts.items() if n > 1]
    assert all(counts[mid] == 2 for mid in twice)
    # Only what was in flight at the kill (one dispatch round at most) came twice, and a
    # second copy carries the first one's Message-ID, so mail clients show it once.
    assert len(twice) <= 200
    services.projections.catch_up()
    statuses = Counter(i.status for i in services.outbox.items(kind="ticket_opened", limit=1000))
    assert statuses == {"sent": CUSTOMERS}
