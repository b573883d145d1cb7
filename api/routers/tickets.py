"""Tickets: open, read, change, move, assign, reply, note, history and as-of views."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from functools import partial
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response

from ledgerdesk.api.committer import GroupCommitter
from ledgerdesk.api.deps import (
    Caller,
    CurrentCaller,
    IdempotencyKey,
    KnownQuery,
    ServicesDep,
    fingerprint,
    once,
    require,
    require_kind,
    settled,
    settled_at,
    ticket_record,
)
from ledgerdesk.api.errors import Problem
from ledgerdesk.api.schemas import (
    AssignmentIn,
    HistoryOut,
    MessageIn,
    PersonOut,
    TicketIn,
    TicketOut,
    TicketPatch,
    TransitionIn,
)
from ledgerdesk.bootstrap import Services
from ledgerdesk.domain.application.audit import HistoryEntry
from ledgerdesk.domain.errors import NotFoundError
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.domain.user import User

# Each route but POST /tickets refuses unknown query parameters (KnownQuery): the busiest
# route takes none, and a router-wide dependency would cost it in every request.
router = APIRouter(prefix="/tickets", tags=["tickets"])


@router.post("", status_code=201, response_model=TicketOut)
async def open_ticket(
    body: TicketIn,
    caller: CurrentCaller,
    request: Request,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Open a ticket (customers for themselves; agents for anyone, by email)."""
    # The busiest route takes its services from the app, not as dependencies: each one
    # costs FastAPI's resolver more per request than reading them here (`make bench`).
    services: Services = request.app.state.services
    committer: GroupCommitter = request.app.state.committer
    app = services.app
    condition = require_kind(services, caller, "ticket", "create")
    email = (body.requester_email or "").strip().lower()
    if email and email != caller.user.email and condition == "own":
        raise Problem(403, "you may open tickets only for yourself")
    checked = fingerprint(None, body) if idempotency_key is not None else ""

    def produce() -> Ticket:
        return app.open_ticket(
            actor=caller.actor,
            subject=body.subject,
            text=body.text,
            requester_id=_requester(services, caller, body, email),
            department_id=app.department(body.department).id if body.department else None,
            category=body.category,
            priority=body.priority,
            due_at=body.due_at,
            tags=body.tags,
            channel=_channel(caller),
        )

    def command() -> tuple[Ticket, dict[Any, User | None]]:
        # Runs in the committer's batch: every read here (requester, department, idempotency
        # record) goes through the batch's identity map, shared with the other requests.
        if idempotency_key is None:
            ticket = produce()
        else:
            number = app.once(caller.actor, idempotency_key, checked, lambda: produce().number)
            ticket = app.ticket(number)
        people = {ticket.requester_id, ticket.assignee_id, *_authors(ticket)} - {None}
        return ticket, {user_id: app.find_user(user_id) for user_id in people}

    # An async route: the request holds no worker thread while its command waits for the
    # committer and its effect waits for the read models.
    reads = _reads(services, caller, body, email, idempotency_key)
    committed = await asyncio.wrap_future(committer.submit(command, numbers=1, reads=reads))
    await settled_at(services, committed.position)  # read your writes
    ticket, people = committed.value
    response.headers["Location"] = f"/tickets/{ticket.number}"
    return ticket_out(services, caller, ticket, people=people)


@router.get("/{number}", response_model=TicketOut, dependencies=[KnownQuery])
def get_ticket(number: str, caller: CurrentCaller, services: ServicesDep) -> dict[str, Any]:
    """A ticket with its conversation (internal notes only for those who may read them)."""
    return ticket_out(services, caller, _readable(services, caller, number))


@router.patch("/{number}", response_model=TicketOut, dependencies=[KnownQuery])
def update_ticket(
    number: str, body: TicketPatch, caller: CurrentCaller, services: ServicesDep
) -> dict[str, Any]:
    """Change priority, category, department, due date and tags, all or none."""
    app = services.app
    ticket = _readable(services, caller, number, "update")
    n, actor = ticket.number, caller.actor
    changes: list[Any] = []
    if body.priority is not None:
        changes.append(partial(app.set_priority, n, body.priority, actor=actor))
    if body.category is not None:
        changes.append(partial(app.set_category, n, body.category, actor=actor))
    if body.department is not None:
        department = app.department(body.department).id if body.department else None
        changes.append(partial(app.set_department, n, department, actor=actor))
    if body.due_at is not None or body.clear_due_at:
        changes.append(
            partial(app.set_due_date, n, None if body.clear_due_at else body.due_at, actor=actor)
        )
    changes += [partial(app.tag, n, t, actor=actor) for t in body.add_tags]
    changes += [partial(app.untag, n, t, actor=actor) for t in body.remove_tags]
    app.batch(changes, atomic=True)
    return ticket_out(services, caller, app.ticket(n))


@router.post("/{number}/transitions", response_model=TicketOut, dependencies=[KnownQuery])
def move_ticket(
    number: str,
    body: TransitionIn,
    caller: CurrentCaller,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Move a ticket to another status (In Progress on a Resolved or Closed one reopens it)."""
    n = _readable(services, caller, number, "transition").number
    moved = _once(
        services,
        caller,
        (idempotency_key, f"POST /tickets/{n}/transitions", body),
        lambda: services.app.change_status(n, body.status, actor=caller.actor, reason=body.reason),
    )
    return ticket_out(services, caller, moved)


@router.put("/{number}/assignee", response_model=TicketOut, dependencies=[KnownQuery])
def assign_ticket(
    number: str, body: AssignmentIn, caller: CurrentCaller, services: ServicesDep
) -> dict[str, Any]:
    """Assign, reassign (an agent's id) or unassign (null) a ticket."""
    ticket = _readable(services, caller, number, "assign")
    if body.assignee_id is None:
        changed = services.app.unassign(ticket.number, actor=caller.actor)
    else:
        changed = services.app.assign(ticket.number, body.assignee_id, actor=caller.actor)
    return ticket_out(services, caller, changed)


@router.post(
    "/{number}/replies", status_code=201, response_model=TicketOut, dependencies=[KnownQuery]
)
def reply(
    number: str,
    body: MessageIn,
    caller: CurrentCaller,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Add a public reply (the requester and participants see it)."""
    n = _readable(services, caller, number, "reply").number
    replied = _once(
        services,
        caller,
        (idempotency_key, f"POST /tickets/{n}/replies", body),
        lambda: services.app.add_reply(
            n, actor=caller.actor, text=body.text, channel=_channel(caller)
        ),
    )
    return ticket_out(services, caller, replied)


@router.post(
    "/{number}/notes", status_code=201, response_model=TicketOut, dependencies=[KnownQuery]
)
def note(
    number: str,
    body: MessageIn,
    caller: CurrentCaller,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> dict[str, Any]:
    """Add an internal note (never shown to customers)."""
    n = _readable(services, caller, number, "note").number
    noted = _once(
        services,
        caller,
        (idempotency_key, f"POST /tickets/{n}/notes", body),
        lambda: services.app.add_note(n, actor=caller.actor, text=body.text),
    )
    return ticket_out(services, caller, noted)


@router.get("/{number}/history", response_model=list[HistoryOut], dependencies=[KnownQuery])
def history(number: str, caller: CurrentCaller, services: ServicesDep) -> list[HistoryEntry]:
    """Every event of the ticket: version, time, actor, what changed, hash."""
    ticket = _readable(services, caller, number)
    entries = services.app.history(ticket.number)
    if services.access.allowed(caller.subject, ticket_record(ticket), "read_notes"):
        return entries
    # Without the internal side: no notes, and no reasons other people gave for a change of
    # status (status mails leave them out too); the caller's own and the system's stay.
    return [
        e
        if e.actor == caller.actor or not e.actor.startswith("user:") or "reason" not in e.changes
        else replace(e, changes={k: v for k, v in e.changes.items() if k != "reason"})
        for e in entries
        if not _is_note(e.changes)
    ]


@router.get("/{number}/as-of", response_model=TicketOut, dependencies=[KnownQuery])
def as_of(
    number: str,
    caller: CurrentCaller,
    services: ServicesDep,
    at: Annotated[datetime | None, Query(description="A moment with its zone")] = None,
    version: Annotated[int | None, Query(ge=1, le=10_000_000)] = None,
) -> dict[str, Any]:
    """The ticket exactly as it was at a moment or a version."""
    ticket = _readable(services, caller, number)
    return ticket_out(services, caller, services.app.as_of(ticket.number, at=at, version=version))


# Helpers ---------------------------------------------------------------------------------------


def _readable(services: Services, caller: Caller, number: str, action: str = "read") -> Ticket:
    """The ticket, if the caller may read it (else 404) and do `action` to it (else 403)."""
    try:
        ticket = services.app.ticket(number)
    except NotFoundError:
        raise Problem(404, "there is no such ticket") from None
    require(services, caller, ticket_record(ticket), action)
    return ticket


def _once(
    services: Services,
    caller: Caller,
    request: tuple[str | None, str, Any],
    change: Callable[[], Ticket],
) -> Ticket:
    """The ticket after `change`, run once per Idempotency-Key (`request`: the key, the route
    and the body): a retry changes nothing and gets the ticket as it is."""
    key, route, body = request
    if key is None:
        return change()
    # Read afresh: the attempt that ran `change` may have lost to a concurrent retry.
    return services.app.ticket(once(services, caller, key, route, body, lambda: change().number))


def _channel(caller: Caller) -> str:
    return "api" if caller.user.is_staff else "portal"


def _requester(services: Services, caller: Caller, body: TicketIn, email: str) -> Any:
    if not email or email == caller.user.email:
        return caller.user.id
    existing = services.app.user_by_email(email)
    if existing is not None:
        return existing.id
    return services.app.create_user(
        actor=caller.actor, email=email, name=body.requester_name or "", role="customer"
    ).id


def _reads(
    services: Services, caller: Caller, body: TicketIn, email: str, idempotency_key: str | None
) -> list[UUID]:
    """What opening this ticket will read, for its batch to load in one query with the
    others': the requester (through their address's index), the department, the key's
    record."""
    if not email or email == caller.user.email:
        reads = [caller.user.id]
    else:
        reads = services.app.email_reads(email)
    if body.department:
        reads += services.app.department_reads(body.department)
    if idempotency_key is not None:
        reads += services.app.idempotency_reads(caller.actor, idempotency_key)
    return reads


def _authors(ticket: Ticket) -> set[Any]:
    return {m.get("author_id") for m in ticket.messages}


def _is_note(changes: dict[str, Any]) -> bool:
    return changes.get("kind") == "note"


def ticket_out(
    services: Services,
    caller: Caller,
    ticket: Ticket,
    *,
    people: dict[Any, User | None] | None = None,
) -> dict[str, Any]:
    """The ticket as answered; `people` are users already loaded (none given: the answer
    waits for this thread's last command to reach the read models first)."""
    if people is None:
        settled(services)  # a list or search right after this answer includes the change
    known = dict(people or {})
    shown: dict[Any, PersonOut | None] = {}

    def person(user_id: Any) -> PersonOut | None:
        if user_id is None:
            return None
        if user_id not in shown:
            user = known[user_id] if user_id in known else services.app.find_user(user_id)
            shown[user_id] = (
                PersonOut(id=user.id, email=user.email, name=user.name) if user else None
            )
        return shown[user_id]

    # Casbin is asked only when there are notes to show or hide (a new ticket has none).
    notes = any(m["kind"] == "note" for m in ticket.messages) and services.access.allowed(
        caller.subject, ticket_record(ticket), "read_notes"
    )
    messages = [
        {
            **{
                k: m[k]
                for k in (
                    "kind",
                    "actor",
                    "channel",
                    "visible_text",
                    "full_text",
                    "attachments",
                    "email_message_id",
                    "at",
                )
            },
            "id": m["message_id"],
            "author": person(m.get("author_id")),
        }
        for m in ticket.messages
        if notes or m["kind"] != "note"
    ]
    return {
        "id": ticket.id,
        "number": ticket.number,
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "category": ticket.category,
        "department_id": ticket.department_id,
        "requester": person(ticket.requester_id),
        "assignee": person(ticket.assignee_id),
        "due_at": ticket.due_at,
        "tags": ticket.tags,
        "created_at": ticket.created_on,
        "updated_at": ticket.modified_on,
        "version": ticket.version,
        "reopen_count": ticket.reopen_count,
        "first_response_at": ticket.first_response_at,
        "resolved_at": ticket.resolved_at,
        "closed_at": ticket.closed_at,
        "messages": messages,
    }
