"""The ticket index view: its rows, its queries, and what one batch of events writes."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from eventsourcing.persistence import Tracking, TrackingRecorder

PRIORITY_RANK = {"low": 1, "normal": 2, "high": 3, "urgent": 4}
MAX_LIMIT = 200
DEFAULT_LIMIT = 50
TOTAL_CAP = 1_000  # counting stops here ("1,000+"): `Page.total_exact` is False beyond it


@dataclass
class TicketRow:
    """One ticket as lists and search show it (the projection keeps it up to date)."""

    id: UUID
    number: str
    n: int
    subject: str
    requester_id: UUID
    department_id: UUID | None
    category: str
    priority: str
    status: str
    assignee_id: UUID | None
    due_at: datetime | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    version: int
    reopen_count: int = 0
    first_response_at: datetime | None = None
    resolved_at: datetime | None = None
    closed_at: datetime | None = None
    participants: list[UUID] = field(default_factory=list)
    message_count: int = 0
    public_message_count: int = 0
    last_customer_activity_at: datetime | None = None
    last_agent_activity_at: datetime | None = None
    sla_first_response_due_at: datetime | None = None  # filled by the SLA issue
    sla_resolution_due_at: datetime | None = None
    sla_breached: bool = False
    # Joined for display by the queries; never written.
    requester_name: str | None = None
    requester_email: str | None = None
    assignee_name: str | None = None
    assignee_email: str | None = None
    department_name: str | None = None

    @property
    def priority_rank(self) -> int:
        return PRIORITY_RANK.get(self.priority, 0)


CountKey = tuple[str, str, UUID | None, UUID | None]
"""A dashboard group: status, priority, department, assignee."""


def count_key(row: TicketRow) -> CountKey:
    return row.status, row.priority, row.department_id, row.assignee_id


@dataclass
class UserRow:
    id: UUID
    email: str
    name: str
    role: str
    active: bool
    department_ids: list[UUID]

    @property
    def search_key(self) -> str:
        """What a person search looks in, folded once here so both stores compare alike."""
        return f"{self.name}\n{self.email}".casefold()


@dataclass
class DepartmentRow:
    id: UUID
    slug: str
    name: str
    active: bool


@dataclass(frozen=True)
class Reach:
    """A set of tickets for one reader: the union of what the access conditions granted to
    them cover ("any"; "own": requested or taken part in; "department": of their departments,
    or assigned to them). Queries apply it in SQL, `contains` applies it to a row."""

    everything: bool = False
    participant_id: UUID | None = None
    department_ids: frozenset[UUID] = frozenset()
    assignee_id: UUID | None = None

    @classmethod
    def granted(
        cls, conditions: Iterable[str], user_id: UUID, department_ids: Iterable[UUID]
    ) -> Reach:
        """The tickets these conditions (of `policies.access.within`) cover for the user."""
        found = set(conditions)
        if "any" in found:
            return cls(everything=True)
        department = "department" in found
        return cls(
            participant_id=user_id if "own" in found else None,
            department_ids=frozenset(department_ids) if department else frozenset(),
            assignee_id=user_id if department else None,
        )

    @property
    def empty(self) -> bool:
        return not (
            self.everything
            or self.participant_id is not None
            or self.department_ids
            or self.assignee_id is not None
        )

    def covers(self, other: Reach) -> bool:
        """Whether every ticket of `other` is one of these (judged by how both were built)."""
        if self.everything:
            return True
        return (
            not other.everything
            and other.participant_id in (None, self.participant_id)
            and other.department_ids <= self.department_ids
            and other.assignee_id in (None, self.assignee_id)
        )

    def contains(self, row: TicketRow) -> bool:
        if self.everything:
            return True
        who = self.participant_id
        return bool(
            (who is not None and (row.requester_id == who or who in row.participants))
            or (row.department_id is not None and row.department_id in self.department_ids)
            or (self.assignee_id is not None and row.assignee_id == self.assignee_id)
        )


@dataclass(frozen=True)
class Scope:
    """What a reader may see; every query applies it in SQL: the tickets they may read, and
    among them those whose internal notes they may read too (the notes' text is searched
    there only, and a message count there counts notes)."""

    reach: Reach
    notes: Reach = Reach()

    @classmethod
    def everything(cls) -> Scope:
        return cls(Reach(everything=True), Reach(everything=True))

    @classmethod
    def requester(cls, user_id: UUID) -> Scope:
        """A customer: tickets they requested or take part in; no notes."""
        return cls(Reach(participant_id=user_id))

    @classmethod
    def departments(cls, ids: Iterable[UUID], user_id: UUID | None = None) -> Scope:
        """An agent: tickets of these departments, plus those assigned to the agent; their
        notes too."""
        reach = Reach(department_ids=frozenset(ids), assignee_id=user_id)
        return cls(reach, reach)

    @classmethod
    def granted(
        cls,
        read: Iterable[str],
        read_notes: Iterable[str],
        user_id: UUID,
        department_ids: Iterable[UUID],
    ) -> Scope | None:
        """The scope of a reader granted these conditions to read tickets and to read their
        notes (None: they may read none)."""
        departments = frozenset(department_ids)
        reach = Reach.granted(read, user_id, departments)
        if reach.empty:
            return None
        return cls(reach, Reach.granted(read_notes, user_id, departments))

    @property
    def text(self) -> Literal["all", "public", "mixed"]:
        """Which text a search looks in: all of it (notes included) wherever the reader may
        read, only the public replies, or notes only on some of the tickets."""
        if self.notes.covers(self.reach):
            return "all"
        return "public" if self.notes.empty else "mixed"

    def notes_visible(self, row: TicketRow) -> bool:
        return self.notes.contains(row)


@dataclass(frozen=True)
class TicketQuery:
    """A search: every field optional; dates are half-open ranges [from, to)."""

    text: str | None = None  # keywords, "phrases", OR, -exclusion
    number: str | int | None = None  # "T-12" or 12
    person: str | None = None  # part of the requester's or assignee's name or email
    requester_id: UUID | None = None
    assignee_id: UUID | Literal["none"] | None = None  # "none": unassigned
    priority: Sequence[str] = ()
    status: Sequence[str] = ()
    category: str | None = None
    department_id: UUID | None = None
    tags: Sequence[str] = ()  # all must be present
    created_from: datetime | None = None
    created_to: datetime | None = None
    updated_from: datetime | None = None
    updated_to: datetime | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None
    sort: str = "-updated_at"  # created_at, updated_at, due_at, priority, number, relevance
    limit: int = DEFAULT_LIMIT
    cursor: str | None = None


@dataclass(frozen=True)
class Page:
    items: list[TicketRow]
    next_cursor: str | None
    total: int  # counted up to TOTAL_CAP
    total_exact: bool


@dataclass(frozen=True)
class Counters:
    """Dashboard counts over the tickets a scope sees."""

    total: int
    by_status: dict[str, int]
    by_priority: dict[str, int]
    by_department: dict[UUID | None, int]
    by_assignee: dict[UUID | None, int]


@dataclass
class Changes:
    """What one batch of events changes; written in one transaction with its tracking row."""

    tickets: dict[UUID, TicketRow] = field(default_factory=dict)
    new_tickets: set[UUID] = field(default_factory=set)
    tags_changed: set[UUID] = field(default_factory=set)
    participants_changed: set[UUID] = field(default_factory=set)
    public_text: dict[UUID, list[str]] = field(default_factory=dict)
    internal_text: dict[UUID, list[str]] = field(default_factory=dict)
    users: dict[UUID, UserRow] = field(default_factory=dict)
    departments: dict[UUID, DepartmentRow] = field(default_factory=dict)
    count_deltas: dict[CountKey, int] = field(default_factory=dict)  # dashboard groups


class TicketIndexView(TrackingRecorder, ABC):
    """Tickets, users and departments as of a log position."""

    # Writing (the projection) ------------------------------------------------------------------

    def position(self, application_name: str) -> int:
        """The log position processed so far (0 before the first event)."""
        return self.max_tracking_id(application_name) or 0

    @abstractmethod
    def load_tickets(self, ids: Iterable[UUID]) -> dict[UUID, TicketRow]:
        """The stored rows of these tickets (missing ones are left out)."""

    @abstractmethod
    def load_users(self, ids: Iterable[UUID]) -> dict[UUID, UserRow]:
        """The stored rows of these users."""

    @abstractmethod
    def load_departments(self, ids: Iterable[UUID]) -> dict[UUID, DepartmentRow]:
        """The stored rows of these departments."""

    @abstractmethod
    def write(self, changes: Changes, tracking: Tracking, expected: int) -> None:
        """Write a batch and its tracking row in one transaction, if the view is still at
        `expected`; else raise TrackingMovedError and write nothing."""

    @abstractmethod
    def write_rows(self, changes: Changes) -> None:
        """Write rows alone, without tracking: a rebuild's first pass, which reads the log
        aggregate by aggregate into a shadow nobody else writes, then sets its position once."""

    # Rebuilding --------------------------------------------------------------------------------

    @abstractmethod
    def shadow(self) -> TicketIndexView:
        """The same view over fresh tables, to rebuild into while this one serves (their
        secondary indexes are made by replace_with: loading goes faster without them)."""

    @abstractmethod
    def drop_tables(self) -> None:
        """Drop this view's tables."""

    @abstractmethod
    def replace_with(
        self, shadow: TicketIndexView, application_name: str, catch_up: Callable[[Any], None]
    ) -> bool:
        """Swap a rebuilt shadow in, in one transaction: hold off this view's writers, let
        `catch_up` bring the shadow to the head (given a log reader when the log must be read
        inside that transaction), then rename. False (nothing done) when the shadow is still
        behind this view."""

    @abstractmethod
    def refresh_statistics(self) -> None:
        """Let the query planner see the tables as they are now (after a rebuild, and now and
        then as they grow): without statistics SQLite picks slow plans for scoped lists."""

    # Queries -----------------------------------------------------------------------------------

    @abstractmethod
    def search(self, query: TicketQuery, scope: Scope) -> Page:
        """The tickets matching a query that the scope may see, one page at a time."""

    @abstractmethod
    def get_ticket_row(self, ticket_id: UUID, scope: Scope) -> TicketRow | None:
        """One ticket's row, or None when there is none or the scope may not see it."""

    @abstractmethod
    def counters(self, scope: Scope) -> Counters:
        """Counts by status, priority, department and assignee over what the scope sees."""
