"""Reactions: which notifications a ticket's new events call for. Pure: no I/O, no clock.

Each rule is `rule(ticket, event) -> list[Intent]`, where `ticket` is the aggregate as it stood
right after `event` (the outbox replays it to the event's version). The rules hold as well when
given the ticket after the whole command: what a later event of the same command may change is
read from the event itself. A rule given an event it does not handle returns []. Internal notes
never produce anything for customers.

A new ticket is announced on its opening message (the MessageAdded that `open_ticket` and the
mail intake record right after Opened), not on Opened: only then does the ticket hold the
customer's text and their Message-ID, so the acknowledgement quotes it and threads under it.

Context keys per kind (plain strings; a kind's templates may use these and no others):

    ticket_opened     number subject status priority channel text
    agent_replied     number subject status text author_id actor
    status_changed    number subject status from_status reason actor
    ticket_assigned   number subject status priority actor
    customer_replied  number subject status priority text author_id actor
    new_unassigned    number subject status priority channel text
    sla_breached      number subject status priority target due_at   (decided by the SLA sweep)
    escalated         number subject status priority reason          (decided by the SLA sweep)

`status`, `from_status`, `priority`, `channel` and `target` ("first_response", "resolution") are
raw values; the templates word them per language. `text` is the message's visible text;
`author_id` is a user id or ""; `actor` is the event's `user:<id>`, `system:<job>` or
`email:<address>`; `due_at` is already formatted for reading. A status change's `reason` is
staff's own words and may be internal: the customer templates do not show it.
Intents are automatic mail (Auto-Submitted) except agent_replied, a human reply relayed.

The dispatcher adds, for every kind, SHARED_KEYS (recipient_name, portal_url, support_name),
and NAMED_KEYS: `author_name` next to `author_id`, `actor_name` next to `actor`, since a pure
function cannot know names ("" or a readable label when there is no user behind them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from uuid import UUID

from ledgerdesk.domain.outgoing import Intent, Recipient
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.domain.values import MessageKind, Status

Rule = Callable[[Ticket, Any], list[Intent]]

SHARED_KEYS = ("recipient_name", "portal_url", "support_name")
NAMED_KEYS = {"author_id": "author_name", "actor": "actor_name"}

CONTEXT_KEYS: dict[str, tuple[str, ...]] = {
    "ticket_opened": ("number", "subject", "status", "priority", "channel", "text"),
    "agent_replied": ("number", "subject", "status", "text", "author_id", "actor"),
    "status_changed": ("number", "subject", "status", "from_status", "reason", "actor"),
    "ticket_assigned": ("number", "subject", "status", "priority", "actor"),
    "customer_replied": (
        "number",
        "subject",
        "status",
        "priority",
        "text",
        "author_id",
        "actor",
    ),
    "new_unassigned": ("number", "subject", "status", "priority", "channel", "text"),
    "sla_breached": ("number", "subject", "status", "priority", "target", "due_at"),
    "escalated": ("number", "subject", "status", "priority", "reason"),
}

# Channels a customer's request arrives by (directly, or typed in by staff on their behalf).
# "system" is not one: a ticket a job opens has nobody waiting for an acknowledgement.
CUSTOMER_CHANNELS = frozenset({"email", "portal", "phone", "chat", "api", "cli"})

# Status changes the requester hears about. Reopening is not one: the customer's own reply
# reopens a ticket, and the assignee hears of that reply (customer_replied).
TOLD_STATUSES = frozenset({Status.RESOLVED.value, Status.CLOSED.value, Status.WAITING.value})


def _base(ticket: Ticket) -> dict[str, str]:
    return {"number": ticket.number, "subject": ticket.subject, "status": str(ticket.status)}


def _user(user_id: UUID) -> Recipient:
    return Recipient(user_id=user_id)


def _is_opening_message(ticket: Ticket, event: Any) -> bool:
    return (
        isinstance(event, Ticket.MessageAdded)
        and bool(ticket.messages)
        and ticket.messages[0]["message_id"] == event.message_id
    )


def _opening(ticket: Ticket, event: Ticket.MessageAdded) -> dict[str, str]:
    return {"priority": ticket.priority, "channel": event.channel, "text": event.visible_text}


def _id(value: UUID | None) -> str:
    return "" if value is None else str(value)


# Rules ----------------------------------------------------------------------------------------


def ticket_opened(ticket: Ticket, event: Any) -> list[Intent]:
    """The requester, on the opening message: an acknowledgement with the ticket number."""
    if not _is_opening_message(ticket, event) or event.channel not in CUSTOMER_CHANNELS:
        return []
    context = _base(ticket) | _opening(ticket, event)
    return [Intent("ticket_opened", (_user(ticket.requester_id),), ticket.number, context)]


def agent_replied(ticket: Ticket, event: Any) -> list[Intent]:
    """The requester and every Cc'd participant but the author: a public agent reply."""
    if not (
        isinstance(event, Ticket.MessageAdded)
        and event.kind == MessageKind.REPLY
        and event.by_staff
    ):
        return []
    everyone = dict.fromkeys([ticket.requester_id, *ticket.participants])
    people = [user_id for user_id in everyone if user_id != event.author_id]
    if not people:
        return []
    context = _base(ticket) | {
        "text": event.visible_text,
        "author_id": _id(event.author_id),
        "actor": event.actor,
    }
    recipients = tuple(_user(user_id) for user_id in people)
    return [Intent("agent_replied", recipients, ticket.number, context, automatic=False)]


def status_changed(ticket: Ticket, event: Any) -> list[Intent]:
    """The requester: the ticket is resolved (reply to reopen), closed, or waits for them."""
    if not isinstance(event, Ticket.StatusChanged) or event.to_status not in TOLD_STATUSES:
        return []
    if event.actor == f"user:{ticket.requester_id}":
        return []  # they did it themselves
    context = _base(ticket) | {
        "status": event.to_status,
        "from_status": event.from_status,
        "reason": event.reason,
        "actor": event.actor,
    }
    return [Intent("status_changed", (_user(ticket.requester_id),), ticket.number, context)]


def ticket_assigned(ticket: Ticket, event: Any) -> list[Intent]:
    """The assignee, unless they took the ticket themselves."""
    if not isinstance(event, Ticket.Assigned) or event.actor == f"user:{event.assignee_id}":
        return []
    context = _base(ticket) | {"priority": ticket.priority, "actor": event.actor}
    return [Intent("ticket_assigned", (_user(event.assignee_id),), ticket.number, context)]


def customer_replied(ticket: Ticket, event: Any) -> list[Intent]:
    """The assignee: each public customer reply (not the opening message)."""
    if not (
        isinstance(event, Ticket.MessageAdded)
        and event.kind == MessageKind.REPLY
        and not event.by_staff
        and ticket.assignee_id is not None
        and ticket.assignee_id != event.author_id
        and not _is_opening_message(ticket, event)
    ):
        return []
    context = _base(ticket) | {
        "priority": ticket.priority,
        "text": event.visible_text,
        "author_id": _id(event.author_id),
        "actor": event.actor,
    }
    return [Intent("customer_replied", (_user(ticket.assignee_id),), ticket.number, context)]


def new_unassigned(ticket: Ticket, event: Any) -> list[Intent]:
    """The ticket's department, on the opening message: a new ticket nobody has taken yet."""
    if (
        not _is_opening_message(ticket, event)
        or ticket.department_id is None
        or ticket.assignee_id is not None
    ):
        return []
    context = _base(ticket) | _opening(ticket, event)
    recipient = Recipient(department_id=ticket.department_id)
    return [Intent("new_unassigned", (recipient,), ticket.number, context)]


# The table and its application ----------------------------------------------------------------

REACTIONS: dict[str, list[Rule]] = {
    "MessageAdded": [ticket_opened, new_unassigned, agent_replied, customer_replied],
    "StatusChanged": [status_changed],
    "Assigned": [ticket_assigned],
}


def react_to(ticket: Ticket, event: Any) -> list[Intent]:
    """The intents one event of `ticket` calls for, in table order (the outbox's `react`)."""
    if getattr(event, "originator_id", ticket.id) != ticket.id:
        return []
    return [
        intent for rule in REACTIONS.get(type(event).__name__, ()) for intent in rule(ticket, event)
    ]


def react(ticket: Ticket, events: Iterable[Any]) -> list[Intent]:
    """The intents a command's new events of `ticket` call for, in event and table order."""
    return [intent for event in events for intent in react_to(ticket, event)]
