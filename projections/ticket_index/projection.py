"""The ticket index projection: ticket, user and department events into index rows."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection
from eventsourcing.utils import get_topic

from ledgerdesk.domain.department import Department
from ledgerdesk.domain.ticket import Ticket, parse_number
from ledgerdesk.domain.user import User
from ledgerdesk.domain.values import MessageKind, Status
from ledgerdesk.projections.ticket_index.view import (
    Changes,
    CountKey,
    DepartmentRow,
    TicketIndexView,
    TicketRow,
    UserRow,
    count_key,
)

TICKET_EVENTS: tuple[type[Any], ...] = (
    Ticket.Opened,
    Ticket.MessageAdded,
    Ticket.StatusChanged,
    Ticket.Reopened,
    Ticket.Assigned,
    Ticket.Unassigned,
    Ticket.PriorityChanged,
    Ticket.CategoryChanged,
    Ticket.DepartmentChanged,
    Ticket.DueDateSet,
    Ticket.Tagged,
    Ticket.Untagged,
    Ticket.ParticipantAdded,
)
USER_EVENTS: tuple[type[Any], ...] = (
    User.Created,
    User.Updated,
    User.Deactivated,
    User.Reactivated,
)
DEPARTMENT_EVENTS: tuple[type[Any], ...] = (
    Department.Created,
    Department.Updated,
    Department.Deactivated,
    Department.Reactivated,
)
MAX_INDEXED_TEXT = 100_000  # characters of one message that go into the full-text index


class Batch:
    """The rows a batch of events touches, loaded once and written once."""

    def __init__(self, view: TicketIndexView) -> None:
        self.view = view
        self.changes = Changes()
        self.counted: dict[UUID, CountKey] = {}  # how each stored ticket was counted before

    def _loaded(self, rows: dict[UUID, TicketRow]) -> None:
        for row in rows.values():
            self.counted[row.id] = count_key(row)
        self.changes.tickets.update(rows)

    def count_deltas(self) -> dict[CountKey, int]:
        """How the dashboard counts change: each changed ticket leaves its old group (if it
        had one) and joins its new one."""
        deltas: dict[CountKey, int] = {}
        for row in self.changes.tickets.values():
            before, after = self.counted.get(row.id), count_key(row)
            if before != after:
                if before is not None:
                    deltas[before] = deltas.get(before, 0) - 1
                deltas[after] = deltas.get(after, 0) + 1
        return {key: delta for key, delta in deltas.items() if delta}

    def prefetch(self, events: Sequence[Any]) -> None:
        """Load in one query per table every stored row the events will change."""
        tickets, users, departments = set(), set(), set()
        created = set()  # made in this batch: nothing stored to load
        for e in events:
            kind = type(e)
            if kind in _CREATIONS:
                created.add(e.originator_id)
            elif kind in _TICKET_UPDATES:
                tickets.add(e.originator_id)
            elif kind in _USER_UPDATES:
                users.add(e.originator_id)
            elif kind in _DEPARTMENT_UPDATES:
                departments.add(e.originator_id)
        tickets, users, departments = tickets - created, users - created, departments - created
        c = self.changes
        self._loaded(self.view.load_tickets(tickets - c.tickets.keys()))
        c.users.update(self.view.load_users(users - c.users.keys()))
        c.departments.update(self.view.load_departments(departments - c.departments.keys()))

    def ticket(self, event: Any) -> TicketRow | None:
        """The ticket an event changes, stamped with the event's version and time."""
        row = self.changes.tickets.get(event.originator_id)
        if row is None:
            row = self.view.load_tickets([event.originator_id]).get(event.originator_id)
            if row is None:  # its Opened event was never seen: nothing to change
                return None
            self._loaded({row.id: row})
        row.version, row.updated_at = event.originator_version, event.timestamp
        return row

    def user(self, user_id: UUID) -> UserRow | None:
        if user_id not in self.changes.users:
            found = self.view.load_users([user_id]).get(user_id)
            if found is None:
                return None
            self.changes.users[user_id] = found
        return self.changes.users[user_id]

    def department(self, department_id: UUID) -> DepartmentRow | None:
        if department_id not in self.changes.departments:
            found = self.view.load_departments([department_id]).get(department_id)
            if found is None:
                return None
            self.changes.departments[department_id] = found
        return self.changes.departments[department_id]


class TicketIndexProjection(Projection[TicketIndexView]):
    name = "ticket_index"
    per_aggregate = True  # a rebuild may read the log aggregate by aggregate (see `load`)
    topics = tuple(get_topic(c) for c in TICKET_EVENTS + USER_EVENTS + DEPARTMENT_EVENTS)

    def __init__(self, view: TicketIndexView, application_name: str = "LedgerDesk") -> None:
        super().__init__(view)
        self.application_name = application_name
        self._batch: Batch | None = None
        self._handlers: dict[type[Any], Callable[[Any, Any, Tracking], None]] = {}

    def process_events(
        self, items: Sequence[tuple[Any | None, Tracking]], expected: int | None = None
    ) -> None:
        """Apply events (None: an event this view ignores) and write them in one transaction.

        `expected` is the position the caller believes the view is at; events at or before
        the view's position are skipped, so processing anything twice changes nothing.
        """
        position = self.view.position(self.application_name) if expected is None else expected
        items = [item for item in items if item[1].notification_id > position]
        if not items:
            return
        changes = self._apply([(event, tracking) for event, tracking in items if event is not None])
        self.view.write(changes, items[-1][1], position)

    def load(self, events: Sequence[Any]) -> Callable[[], None]:
        """Apply events read aggregate by aggregate, for a rebuild's first pass; returns the
        write of their rows (without tracking), for the caller to run. Each row of this view
        depends only on its own aggregate's events, so they need not come in log order; a
        caller that overlaps writes with the next `load` must not split an aggregate."""
        untracked = Tracking(self.application_name, 0)  # unused while a batch is open
        changes = self._apply([(event, untracked) for event in events])
        return partial(self.view.write_rows, changes)

    def loaded(self, position: int) -> None:
        """Record that `load` covered the log up to a position (from nothing)."""
        self.view.write(Changes(), Tracking(self.application_name, position), 0)

    def _apply(self, items: Sequence[tuple[Any, Tracking]]) -> Changes:
        batch = Batch(self.view)
        batch.prefetch([event for event, _ in items])
        self._batch = batch
        try:
            for event, tracking in items:
                self._handler(type(event))(self, event, tracking)
        finally:
            self._batch = None
        batch.changes.count_deltas = batch.count_deltas()
        return batch.changes

    def _handler(self, cls: type[Any]) -> Callable[[Any, Any, Tracking], None]:
        """process_event's implementation for a class, looked up once (a rebuild calls it for
        every event, and the bound dispatcher is rebuilt on each attribute access)."""
        handler = self._handlers.get(cls)
        if handler is None:
            _ = self.process_event  # applies the library's deferred registrations
            method = inspect.getattr_static(type(self), "process_event")
            handler = self._handlers[cls] = method.dispatcher.dispatch(cls)
        return handler

    def _batch_for(self, event: Any, tracking: Tracking) -> Batch | None:
        """The open batch; or, when called on its own, None once the event was processed
        as a batch of one (which comes back here with that batch open)."""
        if self._batch is None:
            self.process_events([(event, tracking)])
        return self._batch

    @singledispatchmethod
    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Events this view does not show only move its tracking position."""
        if self._batch is None:
            self.process_events([(None, tracking)])

    @process_event.register
    def _opened(self, e: Ticket.Opened, tracking: Tracking) -> None:
        if b := self._batch_for(e, tracking):
            row = TicketRow(
                id=e.originator_id,
                number=e.number,
                n=parse_number(e.number),
                subject=e.subject,
                requester_id=e.requester_id,
                department_id=e.department_id,
                category=e.category,
                priority=e.priority,
                status=Status.NEW.value,
                assignee_id=None,
                due_at=e.due_at,
                tags=list(e.tags),
                created_at=e.timestamp,
                updated_at=e.timestamp,
                version=e.originator_version,
                participants=[e.requester_id],
            )
            b.changes.tickets[row.id] = row
            b.changes.new_tickets.add(row.id)

    @process_event.register
    def _message_added(self, e: Ticket.MessageAdded, tracking: Tracking) -> None:
        if b := self._batch_for(e, tracking):
            t = b.ticket(e)
            if t is None:
                return
            t.message_count += 1
            text = e.visible_text[:MAX_INDEXED_TEXT]
            if e.kind == MessageKind.REPLY:
                t.public_message_count += 1
                b.changes.public_text.setdefault(t.id, []).append(text)
                if e.by_staff:
                    t.last_agent_activity_at = e.timestamp
                    if t.first_response_at is None:
                        t.first_response_at = e.timestamp
                else:
                    t.last_customer_activity_at = e.timestamp
            else:
                b.changes.internal_text.setdefault(t.id, []).append(text)

    @process_event.register
    def _status_changed(self, e: Ticket.StatusChanged, tracking: Tracking) -> None:
        if (b := self._batch_for(e, tracking)) and (t := b.ticket(e)):
            t.status = e.to_status
            if e.to_status == Status.RESOLVED:
                t.resolved_at = e.timestamp
            elif e.to_status == Status.CLOSED:
                t.closed_at = e.timestamp

    @process_event.register
    def _reopened(self, e: Ticket.Reopened, tracking: Tracking) -> None:
        if (b := self._batch_for(e, tracking)) and (t := b.ticket(e)):
            t.status = Status.IN_PROGRESS.value
            t.reopen_count += 1
            t.resolved_at = t.closed_at = None

    @process_event.register
    def _assigned(self, e: Ticket.Assigned, tracking: Tracking) -> None:
        if (b := self._batch_for(e, tracking)) and (t := b.ticket(e)):
            t.assignee_id = e.assignee_id

    @process_event.register
    def _unassigned(self, e: Ticket.Unassigned, tracking: Tracking) -> None:
        if (b := self._batch_for(e, tracking)) and (t := b.ticket(e)):
            t.assignee_id = None

    @process_event.register
    def _priority_changed(self, e: Ticket.PriorityChanged, tracking: Tracking) -> None:
        if (b := self._batch_for(e, tracking)) and (t := b.ticket(e)):
            t.priority = e.priority

    @process_event.register
    def _category_changed(self, e: Ticket.CategoryChanged, tracking: Tracking) -> None:
        if (b := self._batch_for(e, tracking)) and (t := b.ticket(e)):
            t.category = e.category

    @process_event.register
    def _department_changed(self, e: Ticket.DepartmentChanged, tracking: Tracking) -> None:
        if (b := self._batch_for(e, tracking)) and (t := b.ticket(e)):
            t.department_id = e.department_id

    @process_event.register
    def _due_date_set(self, e: Ticket.DueDateSet, tracking: Tracking) -> None:
        if (b := self._batch_for(e, tracking)) and (t := b.ticket(e)):
            t.due_at = e.due_at

    @process_event.register
    def _tagged(self, e: Ticket.Tagged, tracking: Tracking) -> None:
        b = self._batch_for(e, tracking)
        if b and (t := b.ticket(e)) and e.tag not in t.tags:
            t.tags.append(e.tag)
            b.changes.tags_changed.add(t.id)

    @process_event.register
    def _untagged(self, e: Ticket.Untagged, tracking: Tracking) -> None:
        if (b := self._batch_for(e, tracking)) and (t := b.ticket(e)) and e.tag in t.tags:
            t.tags.remove(e.tag)
            b.changes.tags_changed.add(t.id)

    @process_event.register
    def _participant_added(self, e: Ticket.ParticipantAdded, tracking: Tracking) -> None:
        b = self._batch_for(e, tracking)
        if b and (t := b.ticket(e)) and e.user_id not in t.participants:
            t.participants.append(e.user_id)
            b.changes.participants_changed.add(t.id)

    @process_event.register
    def _user_created(self, e: User.Created, tracking: Tracking) -> None:
        if b := self._batch_for(e, tracking):
            b.changes.users[e.originator_id] = UserRow(
                id=e.originator_id,
                email=e.email,
                name=e.name,
                role=e.role,
                active=True,
                department_ids=list(e.department_ids),
            )

    @process_event.register
    def _user_updated(self, e: User.Updated, tracking: Tracking) -> None:
        if (b := self._batch_for(e, tracking)) and (u := b.user(e.originator_id)):
            for key in ("email", "name", "role"):
                if key in e.changes:
                    setattr(u, key, str(e.changes[key]))
            ids = e.changes.get("department_ids")
            if isinstance(ids, list):
                u.department_ids = [UUID(str(i)) for i in ids]

    @process_event.register(User.Deactivated)
    @process_event.register(User.Reactivated)
    def _user_activity(self, e: Any, tracking: Tracking) -> None:
        if (b := self._batch_for(e, tracking)) and (u := b.user(e.originator_id)):
            u.active = isinstance(e, User.Reactivated)

    @process_event.register
    def _department_created(self, e: Department.Created, tracking: Tracking) -> None:
        if b := self._batch_for(e, tracking):
            b.changes.departments[e.originator_id] = DepartmentRow(
                id=e.originator_id, slug=e.slug, name=e.name, active=True
            )

    @process_event.register
    def _department_updated(self, e: Department.Updated, tracking: Tracking) -> None:
        b = self._batch_for(e, tracking)
        if b and (d := b.department(e.originator_id)) and "name" in e.changes:
            d.name = str(e.changes["name"])

    @process_event.register(Department.Deactivated)
    @process_event.register(Department.Reactivated)
    def _department_activity(self, e: Any, tracking: Tracking) -> None:
        if (b := self._batch_for(e, tracking)) and (d := b.department(e.originator_id)):
            d.active = isinstance(e, Department.Reactivated)


_TICKET_UPDATES = frozenset(TICKET_EVENTS) - {Ticket.Opened}
_USER_UPDATES = frozenset(USER_EVENTS) - {User.Created}
_DEPARTMENT_UPDATES = frozenset(DEPARTMENT_EVENTS) - {Department.Created}
_CREATIONS = frozenset({Ticket.Opened, User.Created, Department.Created})
