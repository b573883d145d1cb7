"""The outbox: every notification the reactions decided, one item per user and channel.

Items are decided from ticket events (pure reaction rules) and their state follows the
Delivery events the dispatcher records, so the whole table can be rebuilt from the log.
Email and SMS items wait in `pending` (or `failed`, until their retry time) for the
dispatcher; in-app items are the users' notifications (`unread` until read).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from eventsourcing.persistence import Tracking

ATTEMPTED = "attempts + 1"  # an update's value for `attempts`: one more than stored
STATUSES = ("pending", "failed", "sent", "dead", "suppressed", "digest", "unread", "read")


@dataclass
class Person:
    """What the outbox keeps of a user: enough to address, fan out and respect preferences."""

    id: str  # hex
    email: str
    name: str
    role: str
    departments: list[str]  # hex ids
    locale: str
    phone: str
    active: bool = True
    failing: str = ""
    preferences: dict[str, Any] = field(default_factory=dict)

    @property
    def is_staff(self) -> bool:
        return self.role in ("admin", "agent")


@dataclass
class OutboxItem:
    key: str
    kind: str
    ticket: str
    user_id: str  # hex
    channel: str  # email, in_app, sms
    status: str
    created_at: datetime
    context: dict[str, str]
    automatic: bool = True
    references: list[str] = field(default_factory=list)  # the ticket's mail thread
    attempts: int = 0
    next_at: datetime | None = None
    last_error: str = ""
    message_id: str = ""
    updated_at: datetime | None = None


@dataclass
class OutboxChanges:
    people: dict[str, Person] = field(default_factory=dict)
    new_items: list[OutboxItem] = field(default_factory=list)
    # (delivery id hex, fields): deliveries name items by the hash of their key
    updates: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class OutboxView(ABC):
    prefix: str

    # Tables ------------------------------------------------------------------------------------

    @abstractmethod
    def create_table(self) -> None: ...

    @abstractmethod
    def drop_tables(self) -> None: ...

    @abstractmethod
    def position(self, application_name: str) -> int: ...

    @abstractmethod
    def shadow(self) -> OutboxView:
        """A view on fresh tables (for rebuilds), on the same database."""

    @abstractmethod
    def replace_with(
        self, shadow: Any, application_name: str, catch_up: Callable[[Any], None]
    ) -> bool: ...

    @abstractmethod
    def refresh_statistics(self) -> None: ...

    # Writing -----------------------------------------------------------------------------------

    @abstractmethod
    def write(self, changes: OutboxChanges, tracking: Tracking, expected: int) -> None:
        """Apply the changes and move the tracking position in one transaction; raise
        TrackingMovedError when the position is not `expected`."""

    # Reading -----------------------------------------------------------------------------------

    @abstractmethod
    def people(self, ids: Iterable[str]) -> dict[str, Person]: ...

    @abstractmethod
    def staff(self) -> list[Person]:
        """Active agents and admins."""

    @abstractmethod
    def automatic_mails(
        self, user_ids: Iterable[str], since: datetime
    ) -> dict[str, list[datetime]]:
        """When each of these users was planned an automatic mail, since a moment."""

    @abstractmethod
    def due(self, channels: Iterable[str], now: datetime, limit: int) -> list[OutboxItem]:
        """Items a dispatcher should send now, oldest first."""

    @abstractmethod
    def items(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        channel: str | None = None,
        user_id: str | None = None,
        ticket: str | None = None,
        limit: int = 100,
    ) -> list[OutboxItem]:
        """Items, newest first, filtered."""

    @abstractmethod
    def item(self, key: str) -> OutboxItem | None: ...

    @abstractmethod
    def unread_count(self, user_id: str) -> int: ...
