"""Ticket commands: open, reply, note, transitions, assignment, fields and tags."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from ledgerdesk.domain import values as v
from ledgerdesk.domain.application.core import Core
from ledgerdesk.domain.application.unit_of_work import UnitOfWork
from ledgerdesk.domain.department import Department
from ledgerdesk.domain.errors import DomainError, NotFoundError, ValidationError
from ledgerdesk.domain.ticket import Ticket, format_number, parse_number, ticket_id
from ledgerdesk.domain.user import User
from ledgerdesk.domain.values import MessageKind, Status

MAX_ATTACHMENTS = 100


class TicketCommands(Core):
    # Reads -----------------------------------------------------------------------------------

    def ticket(self, number: str | int) -> Ticket:
        """The current state of a ticket, by number (`T-12`, `12`)."""
        num = format_number(number if isinstance(number, int) else parse_number(number))
        ticket = self.execute(lambda unit: unit.find(Ticket, ticket_id(num)))
        if ticket is None:
            raise NotFoundError(f"there is no ticket {num}")
        return ticket

    def ticket_ids(self, *, start: int = 1, limit: int = 100) -> list[tuple[int, UUID]]:
        """(log position, id) of tickets in the order they were opened, from a log position."""
        return self.ids_of(Ticket.Opened, start=start, limit=limit)

    # Commands --------------------------------------------------------------------------------

    def open_ticket(
        self,
        *,
        actor: str,
        subject: str,
        requester_id: UUID,
        text: str,
        department_id: UUID | None = None,
        category: str = "",
        priority: str = "normal",
        due_at: datetime | None = None,
        tags: Iterable[str] = (),
        channel: str = "api",
        full_text: str | None = None,
        attachments: Sequence[dict[str, Any]] = (),
        email_message_id: str | None = None,
    ) -> Ticket:
        """Open a ticket for a requester with its first message."""
        actor = self.check_actor(actor)
        subject = v.text("subject", subject, max_length=v.MAX_SUBJECT)
        category = v.text("category", category, max_length=v.MAX_CATEGORY, required=False)
        prio = v.priority(priority)
        due_at = v.aware("due_at", due_at)
        clean_tags = list(dict.fromkeys(v.tag(t) for t in tags))
        if len(clean_tags) > v.MAX_TAGS:
            raise ValidationError(
                "tags", f"{len(clean_tags)} tags given; the limit is {v.MAX_TAGS}"
            )
        message = self._message_fields(text, full_text, attachments, channel, email_message_id)

        def command(unit: UnitOfWork) -> Ticket:
            requester = self._active_user(unit, requester_id, "requester")
            if department_id is not None:
                self._active_department(unit, department_id)
            number = format_number(self.numbers.allocate())
            ticket = Ticket.open(
                number,
                actor=actor,
                at=self.now(),
                requester_id=requester.id,
                message_id=self.new_id(),
                message=message,
                reopen_closed=self.reopen_closed,
                subject=subject,
                department_id=department_id,
                category=category,
                priority=prio.value,
                due_at=due_at,
                tags=clean_tags,
            )
            unit.add(ticket)
            return ticket

        return self.execute(command)

    def add_reply(
        self,
        number: str,
        *,
        actor: str,
        text: str,
        author_id: UUID | None = None,
        channel: str = "api",
        full_text: str | None = None,
        attachments: Sequence[dict[str, Any]] = (),
        email_message_id: str | None = None,
    ) -> Ticket:
        """Add a public reply; the requester and participants see it."""
        return self._add_message(
            number,
            MessageKind.REPLY,
            actor=actor,
            text=text,
            author_id=author_id,
            channel=channel,
            full_text=full_text,
            attachments=attachments,
            email_message_id=email_message_id,
        )

    def add_note(
        self,
        number: str,
        *,
        actor: str,
        text: str,
        author_id: UUID | None = None,
        channel: str = "api",
        attachments: Sequence[dict[str, Any]] = (),
    ) -> Ticket:
        """Add an internal note; only staff ever see it."""
        return self._add_message(
            number,
            MessageKind.NOTE,
            actor=actor,
            text=text,
            author_id=author_id,
            channel=channel,
            full_text=None,
            attachments=attachments,
            email_message_id=None,
        )

    def change_status(self, number: str, status: str, *, actor: str, reason: str = "") -> Ticket:
        """Move a ticket through its lifecycle; In Progress on a Resolved/Closed one reopens it."""
        actor, target = self.check_actor(actor), v.status(status)
        reason = v.text("reason", reason, max_length=500, required=False)
        return self._on_ticket(
            number,
            lambda t: t.change_status(
                target, actor=actor, at=self.now(), reason=reason, reopen_closed=self.reopen_closed
            ),
        )

    def reopen(self, number: str, *, actor: str, reason: str = "") -> Ticket:
        """Reopen a Resolved (or Closed) ticket."""
        return self.change_status(
            number, Status.IN_PROGRESS, actor=actor, reason=reason or "reopened"
        )

    def assign(self, number: str, assignee_id: UUID, *, actor: str) -> Ticket:
        """Assign (or reassign) a ticket to an active agent or admin."""
        actor = self.check_actor(actor)

        def command(unit: UnitOfWork) -> Ticket:
            agent = self._active_user(unit, assignee_id, "assignee")
            if not agent.is_staff:
                raise ValidationError("assignee", f"{agent.email} is a {agent.role}, not an agent")
            ticket = self._load(unit, number)
            ticket.assign(agent.id, actor=actor, at=self.now())
            return ticket

        return self.execute(command)

    def unassign(self, number: str, *, actor: str) -> Ticket:
        actor = self.check_actor(actor)
        return self._on_ticket(number, lambda t: t.unassign(actor=actor, at=self.now()))

    def set_priority(self, number: str, priority: str, *, actor: str) -> Ticket:
        actor, prio = self.check_actor(actor), v.priority(priority)
        return self._on_ticket(number, lambda t: t.set_priority(prio, actor=actor, at=self.now()))

    def set_category(self, number: str, category: str, *, actor: str) -> Ticket:
        actor = self.check_actor(actor)
        category = v.text("category", category, max_length=v.MAX_CATEGORY, required=False)
        return self._on_ticket(
            number, lambda t: t.set_category(category, actor=actor, at=self.now())
        )

    def set_department(self, number: str, department_id: UUID | None, *, actor: str) -> Ticket:
        actor = self.check_actor(actor)

        def command(unit: UnitOfWork) -> Ticket:
            if department_id is not None:
                self._active_department(unit, department_id)
            ticket = self._load(unit, number)
            ticket.set_department(department_id, actor=actor, at=self.now())
            return ticket

        return self.execute(command)

    def set_due_date(self, number: str, due_at: datetime | None, *, actor: str) -> Ticket:
        actor, due = self.check_actor(actor), v.aware("due_at", due_at)
        return self._on_ticket(number, lambda t: t.set_due_date(due, actor=actor, at=self.now()))

    def tag(self, number: str, tag: str, *, actor: str) -> Ticket:
        actor, name = self.check_actor(actor), v.tag(tag)
        return self._on_ticket(
            number, lambda t: t.tag(name, actor=actor, at=self.now(), limit=v.MAX_TAGS)
        )

    def untag(self, number: str, tag: str, *, actor: str) -> Ticket:
        actor, name = self.check_actor(actor), v.tag(tag)
        return self._on_ticket(number, lambda t: t.untag(name, actor=actor, at=self.now()))

    def add_participant(self, number: str, user_id: UUID, *, actor: str) -> Ticket:
        actor = self.check_actor(actor)

        def command(unit: UnitOfWork) -> Ticket:
            user = self._active_user(unit, user_id, "participant")
            ticket = self._load(unit, number)
            ticket.add_participant(user.id, actor=actor, at=self.now())
            return ticket

        return self.execute(command)

    # Internals -------------------------------------------------------------------------------

    def _add_message(
        self,
        number: str,
        kind: MessageKind,
        *,
        actor: str,
        text: str,
        author_id: UUID | None,
        channel: str,
        full_text: str | None,
        attachments: Sequence[dict[str, Any]],
        email_message_id: str | None,
    ) -> Ticket:
        actor = self.check_actor(actor)
        if author_id is None and actor.startswith("user:"):
            author_id = UUID(actor[5:])
        message = self._message_fields(text, full_text, attachments, channel, email_message_id)

        def command(unit: UnitOfWork) -> Ticket:
            author = self._active_user(unit, author_id, "author") if author_id else None
            by_staff = author.is_staff if author else actor.startswith("system:")
            if kind == MessageKind.NOTE and not by_staff:
                raise ValidationError("kind", "only agents and admins write internal notes")
            ticket = self._load(unit, number)
            ticket.add_message(
                actor=actor,
                at=self.now(),
                message_id=self.new_id(),
                kind=kind,
                author_id=author_id,
                by_staff=by_staff,
                reopen_closed=self.reopen_closed,
                **message,
            )
            return ticket

        return self.execute(command)

    @staticmethod
    def _message_fields(
        text: str,
        full_text: str | None,
        attachments: Sequence[dict[str, Any]],
        channel: str,
        email_message_id: str | None,
    ) -> dict[str, Any]:
        if channel not in v.CHANNELS:
            raise ValidationError("channel", f"{channel!r} is not one of {', '.join(v.CHANNELS)}")
        visible = v.body("text", text)
        full = v.body("full_text", full_text, required=False) or visible
        if len(attachments) > MAX_ATTACHMENTS:
            raise ValidationError("attachments", f"at most {MAX_ATTACHMENTS} per message")
        files = [_attachment(a) for a in attachments]
        mid = v.text("email_message_id", email_message_id, max_length=998, required=False) or None
        return {
            "channel": channel,
            "visible_text": visible,
            "full_text": full,
            "attachments": files,
            "email_message_id": mid,
        }

    def _on_ticket(self, number: str, change: Any) -> Ticket:
        def command(unit: UnitOfWork) -> Ticket:
            ticket = self._load(unit, number)
            change(ticket)
            return ticket

        return self.execute(command)

    @staticmethod
    def _load(unit: UnitOfWork, number: str) -> Ticket:
        num = format_number(parse_number(number))
        ticket = unit.find(Ticket, ticket_id(num))
        if ticket is None:
            raise NotFoundError(f"there is no ticket {num}")
        unit.add(ticket)
        return ticket

    @staticmethod
    def _active_user(unit: UnitOfWork, user_id: UUID | None, what: str) -> User:
        user = unit.find(User, user_id) if isinstance(user_id, UUID) else None
        if user is None:
            raise NotFoundError(f"the {what} {user_id} is not a known user")
        if not user.active:
            raise DomainError(f"the {what} {user.email} is deactivated")
        return user

    @staticmethod
    def _active_department(unit: UnitOfWork, department_id: UUID) -> Department:
        department = unit.find(Department, department_id)
        if department is None:
            raise NotFoundError(f"there is no department with id {department_id}")
        if not department.active:
            raise DomainError(f"department {department.slug!r} is deactivated")
        return department


def _attachment(item: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise ValidationError("attachments", "each attachment is an object")
    size = item.get("size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ValidationError("attachments", "size must be a whole number of bytes")
    return {
        "sha256": v.sha256_hex("attachments.sha256", item.get("sha256")),
        "name": v.text("attachments.name", item.get("name"), max_length=255),
        "content_type": v.text(
            "attachments.content_type",
            item.get("content_type") or "application/octet-stream",
            max_length=255,
        ),
        "size": size,
        "inline": bool(item.get("inline", False)),
        "content_id": v.text(
            "attachments.content_id", item.get("content_id"), max_length=255, required=False
        )
        or None,
    }
