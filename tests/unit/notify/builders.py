"""Tickets for the reaction tests, and what the outbox decides from their events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from ledgerdesk.domain.outgoing import Intent
from ledgerdesk.domain.ticket import Ticket, ticket_id
from ledgerdesk.domain.values import MessageKind, Status
from ledgerdesk.policies.reactions import react_to

T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
REQUESTER, CC, AGENT, OTHER_AGENT = uuid4(), uuid4(), uuid4(), uuid4()
SUPPORT = uuid4()


def actor(user_id: UUID) -> str:
    return f"user:{user_id}"


def opened(
    *,
    channel: str = "email",
    department_id: UUID | None = None,
    text: str = "It smokes",
    number: str = "T-12",
) -> Ticket:
    """A ticket opened as `open_ticket` and the mail intake do: Opened, then its first message."""
    ticket = Ticket.start(
        Ticket.Opened,
        id=ticket_id(number),
        actor="email:alice@customer.test",
        at=T0,
        number=number,
        subject="Printer on fire",
        requester_id=REQUESTER,
        department_id=department_id,
        category="",
        priority="high",
        due_at=None,
        tags=[],
        channel=channel,
    )
    say(ticket, REQUESTER, text=text, channel=channel)
    return ticket


def say(
    ticket: Ticket,
    author: UUID | None,
    *,
    staff: bool = False,
    kind: MessageKind = MessageKind.REPLY,
    text: str = "Hello",
    channel: str = "email",
) -> None:
    ticket.add_message(
        actor=actor(author) if author else "system:test",
        at=T0,
        message_id=uuid4(),
        kind=kind,
        author_id=author,
        by_staff=staff,
        channel=channel,
        visible_text=text,
        full_text=text,
        attachments=[],
        email_message_id=None,
        reopen_closed=True,
    )


def move(ticket: Ticket, target: Status, *, by: str = "user:" + str(AGENT)) -> None:
    ticket.change_status(target, actor=by, at=T0, reopen_closed=True)


def decided(ticket: Ticket, since: int = 0) -> list[Intent]:
    """What the outbox decides from the ticket's events from index `since` on, each against
    the ticket as it stood right after that event (as the outbox replays it)."""
    replayed: Any = None
    intents: list[Intent] = []
    for n, event in enumerate(ticket.pending_events):
        replayed = event.mutate(replayed)
        if n >= since:
            intents.extend(react_to(replayed, event))
    return intents


def so_far(ticket: Ticket) -> int:
    return len(ticket.pending_events)


def users(intent: Intent) -> list[UUID | None]:
    return [r.user_id for r in intent.recipients]
