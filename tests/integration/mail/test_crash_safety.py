"""Killing the intake between storing and acknowledging never makes a second ticket."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import time
from collections import Counter
from typing import Any

import pytest

from ledgerdesk.domain.inbound import Outcome
from ledgerdesk.tests.integration.mail.mails import SECRET, SUPPORT, mail
from ledgerdesk.tests.integration.mail.workers import ingest_all, ingest_forever

CUSTOMERS = 60


@pytest.fixture
def settings(settings):  # type: ignore[no-untyped-def]
    return settings.with_changes(secret_key=SECRET, support_address=SUPPORT)


def conversation() -> list[bytes]:
    """Each customer writes, then replies to their own first mail: 2 x CUSTOMERS messages."""
    raws = []
    for n in range(CUSTOMERS):
        raws.append(mail(sender=f"c{n}@customer.test", message_id=f"<o{n}@customer.test>"))
    for n in range(CUSTOMERS):
        raws.append(
            mail(
                sender=f"c{n}@customer.test",
                subject="Re: The printer is broken",
                message_id=f"<r{n}@customer.test>",
                in_reply_to=f"<o{n}@customer.test>",
            )
        )
    return raws


def assert_each_message_once(services: Any) -> None:
    app = services.app
    ids = [app.get_aggregate(i) for _, i in app.ticket_ids(limit=10_000)]
    seen = Counter(m["email_message_id"] for t in ids for m in t.messages)
    assert not [k for k, c in seen.items() if c > 1], "a message was appended twice"
    assert len(ids) == CUSTOMERS, "a message opened a second ticket"
    for ticket in ids:
        mids = [m["email_message_id"] for m in ticket.messages]
        n = mids[0][2:].split("@")[0]
        assert set(mids) <= {f"<o{n}@customer.test>", f"<r{n}@customer.test>"}


def test_killing_the_intake_at_random_points_then_redelivering_gives_one_ticket_each(
    services, settings
):
    raws = conversation()
    context = multiprocessing.get_context("spawn")
    rng = random.Random(7)
    for round_ in range(4):
        ready = context.Event()
        worker = context.Process(target=ingest_forever, args=(settings, raws, round_, ready))
        worker.start()
        assert ready.wait(60), "the intake process did not start"
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(worker.pid, signal.SIGKILL)  # type: ignore[arg-type]
        worker.join(10)
    # The MTA (or IMAP, or the webhook's sender) delivers everything again.
    receipts = services.intake.ingest_many([(r, "again") for r in raws], "pipe")
    assert not [r for r in receipts if r.outcome == Outcome.QUARANTINED], receipts
    assert_each_message_once(services)
    assert services.app.verify().ok


def test_two_processes_ingesting_the_same_mail_at_once_make_one_ticket_each(services, settings):
    raws = conversation()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    workers = [
        context.Process(target=ingest_all, args=(settings, raws, barrier, results))
        for _ in range(2)
    ]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=180) for _ in workers]
    for worker in workers:
        worker.join(60)
    assert not [o for o in outcomes if isinstance(o, BaseException)], outcomes
    together = Counter(o for batch in outcomes for o in batch)
    assert together["opened"] == CUSTOMERS
    assert together["opened"] + together["replied"] == 2 * CUSTOMERS
    assert_each_message_once(services)
