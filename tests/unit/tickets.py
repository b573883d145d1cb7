"""Builders for Ticket unit tests: a freshly opened ticket, messages, moves, a worked example."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

from ledgerdesk.domain.ticket import Ticket, ticket_id
from ledgerdesk.domain.values import MessageKind, Priority, Status

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
SYSTEM = "system:test"
AGENT = "user:9d8c7b6a-5f4e-4d3c-8b2a-1f0e9d8c7b6a"
CUSTOMER = "email:alice@customer.test"


def opened(number: str = "T-1", **fields: Any) -> Ticket:
    defaults: dict[str, Any] = dict(
        subject="Printer on fire",
        requester_id=uuid4(),
        department_id=None,
        category="",
        priority="normal",
        due_at=None,
        tags=[],
        channel="api",
    )
    return Ticket.start(
        Ticket.Opened,
        id=ticket_id(number),
        actor=SYSTEM,
        at=T0,
        number=number,
        **{**defaults, **fields},
    )


def message(
    ticket: Ticket,
    *,
    by_staff: bool,
    kind: MessageKind = MessageKind.REPLY,
    email_message_id: str | None = None,
    reopen_closed: bool = False,
    at: datetime = T0,
    text: str = "Hello",
) -> None:
    ticket.add_message(
        actor=AGENT if by_staff else CUSTOMER,
        at=at,
        message_id=uuid4(),
        kind=kind,
        author_id=uuid4(),
        by_staff=by_staff,
        channel="email" if email_message_id else "api",
        visible_text=text,
        full_text=text,
        attachments=[],
        email_message_id=email_message_id,
        reopen_closed=reopen_closed,
    )


def move(ticket: Ticket, *targets: Status, reopen_closed: bool = False) -> None:
    for target in targets:
        ticket.change_status(target, actor=AGENT, at=T0, reopen_closed=reopen_closed)


def kinds(ticket: Ticket) -> list[str]:
    return [type(e).__name__ for e in ticket.pending_events]


def worked() -> Ticket:
    """A ticket with one event of most kinds, from several actors."""
    ticket = opened(tags=["printer"])
    message(ticket, by_staff=False, email_message_id="<m1@mail.test>")
    ticket.assign(uuid4(), actor=AGENT, at=T0 + timedelta(minutes=1))
    message(ticket, by_staff=True, at=T0 + timedelta(minutes=2))
    message(ticket, by_staff=True, kind=MessageKind.NOTE)
    ticket.tag("urgent-ish", actor=AGENT, at=T0, limit=30)
    ticket.untag("printer", actor=AGENT, at=T0)
    ticket.set_priority(Priority.HIGH, actor="system:sla", at=T0)
    ticket.set_due_date(T0 + timedelta(days=1), actor="system:sla", at=T0)
    move(ticket, Status.WAITING)
    message(ticket, by_staff=False)
    move(ticket, Status.RESOLVED)
    message(ticket, by_staff=False)  # reopens
    move(ticket, Status.CLOSED)
    return ticket
