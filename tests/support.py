"""Helpers shared by the tests: a fixed start time, a small cast of users, opening tickets."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledgerdesk.bootstrap import Services
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.domain.user import User

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


class People:
    """A small cast: an admin, two agents in one department, two customers."""

    def __init__(self, svc: Services) -> None:
        app = svc.app
        self.admin = app.create_user(
            actor="system:test", email="admin@example.com", name="Ada Admin", role="admin"
        )
        self.support = app.create_department(
            actor=self.admin.actor, slug="support", name="Support", aliases=["help@example.com"]
        )
        self.agent = app.create_user(
            actor=self.admin.actor,
            email="agent@example.com",
            name="Alan Agent",
            role="agent",
            department_ids=[self.support.id],
        )
        self.agent2 = app.create_user(
            actor=self.admin.actor,
            email="agent2@example.com",
            name="Grace Agent",
            role="agent",
            department_ids=[self.support.id],
        )
        self.alice = app.create_user(
            actor="system:test", email="alice@customer.test", name="Alice", role="customer"
        )
        self.bob = app.create_user(
            actor="system:test", email="bob@customer.test", name="Bob", role="customer"
        )


def open_ticket(
    svc: Services,
    requester: User,
    subject: str = "Printer on fire",
    text: str = "It is on fire.",
    **fields: Any,
) -> Ticket:
    return svc.app.open_ticket(
        actor=requester.actor, subject=subject, requester_id=requester.id, text=text, **fields
    )


def opening_for(app: Any, actor: str, email: str) -> Callable[[], str]:
    """A command (for `app.batch`) opening a ticket for whoever holds `email`, read by the
    command itself as the API's does; it returns the ticket's number."""

    def command() -> str:
        requester = app.user_by_email(email)
        assert requester is not None
        return str(
            app.open_ticket(actor=actor, subject="hi", text="x", requester_id=requester.id).number
        )

    return command


def open_tickets_in_process(
    settings: Any, requester_id: str, count: int, barrier: Any, results: Any
) -> None:
    """Target of a spawned process: open `count` tickets once every writer is ready."""
    from uuid import UUID

    from ledgerdesk.bootstrap import bootstrap

    svc = bootstrap(settings)
    try:
        barrier.wait()
        results.put(
            [
                svc.app.open_ticket(
                    actor="system:test",
                    subject=f"load {i}",
                    text="x",
                    requester_id=UUID(requester_id),
                ).number
                for i in range(count)
            ]
        )
    except BaseException as error:  # tell the parent instead of leaving it waiting
        results.put(error)
        raise
    finally:
        svc.close()


@contextmanager
def protocol_trace(datastore: Any, path: Path) -> Iterator[list[str]]:
    """The client's protocol messages on every connection the datastore hands out meanwhile
    (libpq's trace), as lines like "Parse" or "Sync"."""
    from psycopg.pq import Trace

    sent: list[str] = []
    original = datastore.get_connection

    @contextmanager
    def traced() -> Iterator[Any]:
        try:
            with original() as conn, path.open("w") as out:
                conn.pgconn.trace(out.fileno())
                conn.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
                try:
                    yield conn
                finally:
                    conn.pgconn.untrace()
        finally:
            lines = path.read_text().splitlines()
            sent.extend(line.split("\t")[2].strip() for line in lines if line.startswith("F\t"))

    datastore.get_connection = traced
    try:
        yield sent
    finally:
        datastore.get_connection = original
