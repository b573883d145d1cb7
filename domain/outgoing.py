"""Outgoing notifications as plain data: what reactions decide, and what transports send.

Reactions (policies/reactions.py) turn a ticket's new events into `Intent`s; the outbox keeps
one item per recipient and channel; the dispatcher renders each into an `OutgoingMail` (or an
SMS) and hands it to a transport, which answers with a `SendResult` per item.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol
from uuid import UUID

from ledgerdesk.domain.errors import ValidationError

CHANNELS = ("email", "in_app", "sms")

# Every kind of notification, with whether it is urgent (SMS goes to urgent kinds by default).
KINDS: dict[str, bool] = {
    "ticket_opened": False,  # to the requester: acknowledgement with the ticket number
    "agent_replied": False,  # to the requester and Cc'd participants: a public agent reply
    "status_changed": False,  # to the requester: e.g. resolved ("reply to reopen")
    "ticket_assigned": False,  # to the assignee
    "customer_replied": False,  # to the assignee: each customer reply
    "new_unassigned": False,  # to the department: a new ticket nobody has yet
    "sla_breached": True,  # (the SLA issue) to the assignee / department
    "escalated": True,  # (the SLA issue)
}


@dataclass(frozen=True)
class Recipient:
    """A user, or every active agent of a department (fanned out by the outbox)."""

    user_id: UUID | None = None
    department_id: UUID | None = None

    def __post_init__(self) -> None:
        if (self.user_id is None) == (self.department_id is None):
            raise ValueError("a recipient is a user or a department, not both or neither")


@dataclass(frozen=True)
class Intent:
    """Who is told what about one event of a ticket. `context` holds the template's variables
    as they were when the event happened (plain strings), so a later send renders the same."""

    kind: str
    recipients: tuple[Recipient, ...]
    ticket: str  # the ticket number, e.g. T-12
    context: dict[str, str] = field(default_factory=dict)
    automatic: bool = True  # Auto-Submitted: auto-generated (a human reply relayed is not)


@dataclass(frozen=True)
class OutgoingMail:
    key: str  # the outbox item: sending the same key twice is the same mail
    message_id: str  # deterministic, from the event: "<ld.T-12.<event>.<sig>@domain>"
    sender: str  # "Example Support <support@example.com>"
    to: tuple[str, ...]
    subject: str
    text: str
    html: str | None = None
    reply_to: str | None = None  # the ticket's signed plus address
    in_reply_to: str | None = None
    references: tuple[str, ...] = ()
    automatic: bool = True
    headers: tuple[tuple[str, str], ...] = ()  # more headers, e.g. our loop header
    attachments: tuple[tuple[str, str, bytes], ...] = ()  # (name, content type, bytes)


@dataclass(frozen=True)
class SendResult:
    key: str
    ok: bool
    permanent: bool = False  # refused for good (5xx, invalid address): do not retry
    error: str = ""


class MailTransport(Protocol):
    """Sends mail: SMTP, SendGrid, or files. Never raises for one mail's failure."""

    def send_many(self, mails: Sequence[OutgoingMail]) -> list[SendResult]: ...

    def close(self) -> None: ...


class SmsTransport(Protocol):
    """Sends text messages (off by default)."""

    def send_many(self, messages: Sequence[tuple[str, str, str]]) -> list[SendResult]:
        """Each message is (key, E.164 phone number, text)."""
        ...

    def close(self) -> None: ...


def check_preferences(value: object) -> dict[str, dict[str, Any]]:
    """Validate preferences as given by a user; names the first wrong part."""
    if not isinstance(value, Mapping):
        raise ValidationError("preferences", "must be an object of kind -> settings")
    clean: dict[str, dict[str, Any]] = {}
    for kind, settings in value.items():
        if kind not in KINDS:
            raise ValidationError(
                "preferences", f"{kind!r} is not a kind of notification ({', '.join(KINDS)})"
            )
        if not isinstance(settings, Mapping):
            raise ValidationError(f"preferences.{kind}", "must be an object")
        channels = settings.get("channels", [])
        if not isinstance(channels, list) or any(c not in CHANNELS for c in channels):
            raise ValidationError(
                f"preferences.{kind}.channels", f"must be a list of {', '.join(CHANNELS)}"
            )
        digest = settings.get("digest", False)
        if not isinstance(digest, bool):
            raise ValidationError(f"preferences.{kind}.digest", "must be true or false")
        unknown = set(settings) - {"channels", "digest"}
        if unknown:
            raise ValidationError(f"preferences.{kind}", f"unknown setting {sorted(unknown)[0]!r}")
        clean[kind] = {"channels": list(dict.fromkeys(channels)), "digest": digest}
    return clean
