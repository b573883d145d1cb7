"""The Ticket aggregate: a customer's request, its conversation and its lifecycle."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from ledgerdesk.domain import lifecycle
from ledgerdesk.domain.chain import ChainedAggregate
from ledgerdesk.domain.errors import ConflictError, IllegalTransitionError, ValidationError
from ledgerdesk.domain.values import MessageKind, Priority, Status

TICKET_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.dev/ns/ticket-number")
NUMBER_PREFIX = "T-"


@functools.lru_cache(maxsize=65536)
def ticket_id(number: str) -> UUID:
    """A ticket's id is derived from its number, so the store's key makes numbers unique."""
    return uuid5(TICKET_NAMESPACE, number.upper())


def format_number(n: int) -> str:
    return f"{NUMBER_PREFIX}{n}"


def parse_number(value: str) -> int:
    """`T-12`, `t-12`, `#12`, `[T-12]` and `12` all mean ticket number 12."""
    cleaned = value.strip().strip("[]#").upper()
    if cleaned.startswith(NUMBER_PREFIX):
        cleaned = cleaned[len(NUMBER_PREFIX) :]
    if not (cleaned.isascii() and cleaned.isdigit()) or int(cleaned) < 1:
        raise ValidationError("ticket", f"{value!r} is not a ticket number such as T-12")
    return int(cleaned)


class Ticket(ChainedAggregate):
    if TYPE_CHECKING:
        number: str
        subject: str
        requester_id: UUID
        department_id: UUID | None
        category: str
        priority: str
        status: str
        assignee_id: UUID | None
        due_at: datetime | None
        tags: list[str]
        messages: list[dict[str, Any]]
        participants: list[UUID]
        reopen_count: int
        first_response_at: datetime | None
        resolved_at: datetime | None
        closed_at: datetime | None

    class Opened(ChainedAggregate.Created):
        number: str
        subject: str
        requester_id: UUID
        department_id: UUID | None
        category: str
        priority: str
        due_at: datetime | None
        tags: list[str]
        channel: str

        def apply(self, t: Ticket) -> None:
            t.number, t.subject, t.requester_id = self.number, self.subject, self.requester_id
            t.department_id, t.category, t.priority = (
                self.department_id,
                self.category,
                self.priority,
            )
            t.status, t.assignee_id, t.due_at = Status.NEW.value, None, self.due_at
            t.tags, t.messages, t.participants = list(self.tags), [], [self.requester_id]
            t.reopen_count, t.first_response_at, t.resolved_at, t.closed_at = 0, None, None, None

    class MessageAdded(ChainedAggregate.Event):
        message_id: UUID
        kind: str
        author_id: UUID | None
        by_staff: bool
        channel: str
        visible_text: str
        full_text: str
        attachments: list[dict[str, Any]]
        email_message_id: str | None

        def apply(self, t: Ticket) -> None:
            fields = {k: v for k, v in self.__dict__.items() if k not in _EVENT_BASE}
            t.messages.append({**fields, "actor": self.actor, "at": self.timestamp})
            if self.kind == MessageKind.REPLY and self.by_staff and t.first_response_at is None:
                t.first_response_at = self.timestamp

    class StatusChanged(ChainedAggregate.Event):
        from_status: str
        to_status: str
        reason: str

        def apply(self, t: Ticket) -> None:
            t.status = self.to_status
            if self.to_status == Status.RESOLVED:
                t.resolved_at = self.timestamp
            elif self.to_status == Status.CLOSED:
                t.closed_at = self.timestamp

    class Reopened(ChainedAggregate.Event):
        from_status: str
        reason: str

        def apply(self, t: Ticket) -> None:
            t.status = Status.IN_PROGRESS.value
            t.reopen_count += 1
            t.resolved_at = t.closed_at = None

    class Assigned(ChainedAggregate.Event):
        assignee_id: UUID

        def apply(self, t: Ticket) -> None:
            t.assignee_id = self.assignee_id

    class Unassigned(ChainedAggregate.Event):
        def apply(self, t: Ticket) -> None:
            t.assignee_id = None

    class PriorityChanged(ChainedAggregate.Event):
        priority: str

        def apply(self, t: Ticket) -> None:
            t.priority = self.priority

    class CategoryChanged(ChainedAggregate.Event):
        category: str

        def apply(self, t: Ticket) -> None:
            t.category = self.category

    class DepartmentChanged(ChainedAggregate.Event):
        department_id: UUID | None

        def apply(self, t: Ticket) -> None:
            t.department_id = self.department_id

    class DueDateSet(ChainedAggregate.Event):
        due_at: datetime | None

        def apply(self, t: Ticket) -> None:
            t.due_at = self.due_at

    class Tagged(ChainedAggregate.Event):
        tag: str

        def apply(self, t: Ticket) -> None:
            t.tags.append(self.tag)

    class Untagged(ChainedAggregate.Event):
        tag: str

        def apply(self, t: Ticket) -> None:
            t.tags.remove(self.tag)

    class ParticipantAdded(ChainedAggregate.Event):
        user_id: UUID

        def apply(self, t: Ticket) -> None:
            t.participants.append(self.user_id)

    # Commands. Each checks everything first, then records; nothing is half-applied.

    @classmethod
    def open(
        cls,
        number: str,
        *,
        actor: str,
        at: datetime,
        requester_id: UUID,
        message_id: UUID,
        message: dict[str, Any],
        reopen_closed: bool,
        **fields: Any,
    ) -> Ticket:
        """A new ticket with its first message, the requester's (`message`: its channel,
        texts, attachments and Message-ID; `fields`: subject, department, category, …)."""
        ticket: Ticket = cls.start(
            cls.Opened,
            id=ticket_id(number),
            actor=actor,
            at=at,
            number=number,
            requester_id=requester_id,
            channel=message["channel"],
            **fields,
        )
        ticket.add_message(
            actor=actor,
            at=at,
            message_id=message_id,
            kind=MessageKind.REPLY,
            author_id=requester_id,
            by_staff=False,
            reopen_closed=reopen_closed,
            **message,
        )
        return ticket

    def add_message(
        self,
        *,
        actor: str,
        at: datetime,
        message_id: UUID,
        kind: MessageKind,
        author_id: UUID | None,
        by_staff: bool,
        channel: str,
        visible_text: str,
        full_text: str,
        attachments: list[dict[str, Any]],
        email_message_id: str | None,
        reopen_closed: bool,
    ) -> None:
        if email_message_id and any(
            m.get("email_message_id") == email_message_id for m in self.messages
        ):
            raise ConflictError(f"{self.number} already has the message {email_message_id}")
        follow_up = self._status_after_message(kind, by_staff, reopen_closed)
        self.record(
            self.MessageAdded,
            actor=actor,
            at=at,
            message_id=message_id,
            kind=kind.value,
            author_id=author_id,
            by_staff=by_staff,
            channel=channel,
            visible_text=visible_text,
            full_text=full_text,
            attachments=attachments,
            email_message_id=email_message_id,
        )
        if follow_up is not None:
            self.change_status(
                follow_up[0], actor=actor, at=at, reason=follow_up[1], reopen_closed=reopen_closed
            )

    def _status_after_message(
        self, kind: MessageKind, by_staff: bool, reopen_closed: bool
    ) -> tuple[Status, str] | None:
        current = Status(self.status)
        if kind != MessageKind.REPLY:
            return None
        if by_staff:
            return (Status.IN_PROGRESS, "first agent reply") if current == Status.NEW else None
        if current == Status.CLOSED and not reopen_closed:
            raise ConflictError(
                f"{self.number} is closed; a reply must open a new linked ticket instead"
            )
        if current in lifecycle.REOPENABLE:
            return Status.IN_PROGRESS, "customer replied"
        if current == Status.WAITING:
            return Status.IN_PROGRESS, "customer replied"
        return None

    def check_transition(self, target: Status, *, reopen_closed: bool) -> None:
        current = Status(self.status)
        reason = lifecycle.refusal(current, target, reopen_closed=reopen_closed)
        if reason is not None:
            raise IllegalTransitionError(self.number, current.value, target.value, reason)

    def change_status(
        self, target: Status, *, actor: str, at: datetime, reason: str = "", reopen_closed: bool
    ) -> None:
        self.check_transition(target, reopen_closed=reopen_closed)
        current = Status(self.status)
        if lifecycle.is_reopen(current, target):
            self.record(self.Reopened, actor=actor, at=at, from_status=current.value, reason=reason)
        else:
            self.record(
                self.StatusChanged,
                actor=actor,
                at=at,
                from_status=current.value,
                to_status=target.value,
                reason=reason,
            )

    def assign(self, assignee_id: UUID, *, actor: str, at: datetime) -> None:
        if self.assignee_id == assignee_id:
            raise ConflictError(f"{self.number} is already assigned to that agent")
        self.record(self.Assigned, actor=actor, at=at, assignee_id=assignee_id)

    def unassign(self, *, actor: str, at: datetime) -> None:
        if self.assignee_id is None:
            raise ConflictError(f"{self.number} is not assigned to anyone")
        self.record(self.Unassigned, actor=actor, at=at)

    def set_priority(self, priority: Priority, *, actor: str, at: datetime) -> None:
        if self.priority != priority.value:
            self.record(self.PriorityChanged, actor=actor, at=at, priority=priority.value)

    def set_category(self, category: str, *, actor: str, at: datetime) -> None:
        if self.category != category:
            self.record(self.CategoryChanged, actor=actor, at=at, category=category)

    def set_department(self, department_id: UUID | None, *, actor: str, at: datetime) -> None:
        if self.department_id != department_id:
            self.record(self.DepartmentChanged, actor=actor, at=at, department_id=department_id)

    def set_due_date(self, due_at: datetime | None, *, actor: str, at: datetime) -> None:
        if self.due_at != due_at:
            self.record(self.DueDateSet, actor=actor, at=at, due_at=due_at)

    def tag(self, tag: str, *, actor: str, at: datetime, limit: int) -> None:
        if tag in self.tags:
            return
        if len(self.tags) >= limit:
            raise ValidationError("tag", f"{self.number} already has {limit} tags, the limit")
        self.record(self.Tagged, actor=actor, at=at, tag=tag)

    def untag(self, tag: str, *, actor: str, at: datetime) -> None:
        if tag not in self.tags:
            raise ConflictError(f"{self.number} has no tag {tag!r}")
        self.record(self.Untagged, actor=actor, at=at, tag=tag)

    def add_participant(self, user_id: UUID, *, actor: str, at: datetime) -> None:
        if user_id not in self.participants:
            self.record(self.ParticipantAdded, actor=actor, at=at, user_id=user_id)


_EVENT_BASE = frozenset({"originator_id", "originator_version", "timestamp", "actor", "prev_hash"})
