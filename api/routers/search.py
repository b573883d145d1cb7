"""Lists and search over the ticket index, and the dashboard counters.

Every query carries the caller's scope, derived from the same access rules `enforce` uses, so
a list never shows a ticket a direct read would refuse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel

from ledgerdesk.api.deps import Caller, CurrentCaller, KnownQuery, ServicesDep
from ledgerdesk.api.errors import Problem
from ledgerdesk.bootstrap import Services
from ledgerdesk.projections.ticket_index.view import Scope, TicketQuery

router = APIRouter(tags=["search"], dependencies=[KnownQuery])
SORTS = ("created_at", "updated_at", "due_at", "priority", "number", "relevance")


def scope_for(services: Services, caller: Caller) -> Scope | None:
    """The tickets the caller may read, and those whose notes too, as a SQL scope: the union
    of every condition the rules grant (None: no ticket at all)."""
    access, subject = services.access, caller.subject
    return Scope.granted(
        access.conditions(subject, "ticket", "read"),
        access.conditions(subject, "ticket", "read_notes"),
        caller.user.id,
        subject.departments,
    )


class TicketSummary(BaseModel):
    id: UUID
    number: str
    subject: str
    status: str
    priority: str
    category: str
    department_id: UUID | None
    department_name: str | None
    requester_id: UUID
    requester_name: str | None
    requester_email: str | None
    assignee_id: UUID | None
    assignee_name: str | None
    assignee_email: str | None
    due_at: datetime | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    version: int
    reopen_count: int
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    message_count: int
    last_customer_activity_at: datetime | None
    last_agent_activity_at: datetime | None
    sla_first_response_due_at: datetime | None
    sla_resolution_due_at: datetime | None
    sla_breached: bool


class TicketPage(BaseModel):
    items: list[TicketSummary]
    next_cursor: str | None
    total: int
    total_exact: bool


class CountersOut(BaseModel):
    total: int
    by_status: dict[str, int]
    by_priority: dict[str, int]
    by_department: dict[str, int]
    by_assignee: dict[str, int]


@router.get("/tickets", response_model=TicketPage)
def search_tickets(
    caller: CurrentCaller,
    services: ServicesDep,
    q: Annotated[
        str | None, Query(max_length=500, description='Keywords, "phrases", OR, -word')
    ] = None,
    number: Annotated[str | None, Query(max_length=20)] = None,
    person: Annotated[str | None, Query(max_length=200)] = None,
    requester: Annotated[
        str | None, Query(max_length=40, description="The requester's user id")
    ] = None,
    assignee: Annotated[str | None, Query(max_length=40, description="A user id, or none")] = None,
    priority: Annotated[list[str], Query()] = [],  # noqa: B006 - FastAPI reads the default
    status: Annotated[list[str], Query()] = [],  # noqa: B006
    category: Annotated[str | None, Query(max_length=200)] = None,
    department: Annotated[str | None, Query(max_length=63)] = None,
    tag: Annotated[list[str], Query()] = [],  # noqa: B006
    created_from: datetime | None = None,
    created_to: datetime | None = None,
    updated_from: datetime | None = None,
    updated_to: datetime | None = None,
    due_from: datetime | None = None,
    due_to: datetime | None = None,
    sort: Annotated[str, Query(max_length=20)] = "-updated_at",
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    """Find tickets by keyword, number, person, priority, status, department, tags and dates."""
    scope = scope_for(services, caller)
    if sort.lstrip("-") not in SORTS:
        raise Problem(
            422,
            f"sort must be one of {', '.join(SORTS)} (with - for descending)",
            errors=[{"field": "sort", "message": "is not a known order"}],
        )
    if scope is None:
        return {"items": [], "next_cursor": None, "total": 0, "total_exact": True}
    assignee_filter: Any = None
    if assignee:
        assignee_filter = "none" if assignee == "none" else _uuid("assignee", assignee)
    query = TicketQuery(
        text=q,
        number=number,
        person=person,
        requester_id=_uuid("requester", requester) if requester else None,
        assignee_id=assignee_filter,
        priority=tuple(priority),
        status=tuple(status),
        category=category,
        department_id=services.app.department(department).id if department else None,
        tags=tuple(tag),
        created_from=created_from,
        created_to=created_to,
        updated_from=updated_from,
        updated_to=updated_to,
        due_from=due_from,
        due_to=due_to,
        sort=sort,
        limit=limit,
        cursor=cursor,
    )
    page = services.ticket_index.search(query, scope)
    items = []
    for row in page.items:
        item = dict(vars(row))
        if not scope.notes_visible(row):  # counted without the notes the caller may not read
            item["message_count"] = row.public_message_count
        items.append(item)
    return {
        "items": items,
        "next_cursor": page.next_cursor,
        "total": page.total,
        "total_exact": page.total_exact,
    }


@router.get("/dashboard/counters", response_model=CountersOut)
def counters(caller: CurrentCaller, services: ServicesDep) -> dict[str, Any]:
    """Counts of the tickets the caller sees, by status, priority, department and assignee."""
    scope = scope_for(services, caller)
    if scope is None:
        raise Problem(403, "you may not read tickets")
    found = services.ticket_index.counters(scope)
    return {
        "total": found.total,
        "by_status": found.by_status,
        "by_priority": found.by_priority,
        "by_department": {str(k or "none"): v for k, v in found.by_department.items()},
        "by_assignee": {str(k or "none"): v for k, v in found.by_assignee.items()},
    }


def _uuid(field: str, value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise Problem(
            422,
            f"{field}: {value!r} is not an id",
            errors=[{"field": field, "message": "is not an id"}],
        ) from None
