"""Index rows as the SQLite view stores them: UUIDs as hex, times as fixed-width UTC text."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ledgerdesk.projections.log import uuid_from_hex
from ledgerdesk.projections.ticket_index.view import TicketRow, UserRow

WRITE_COLUMNS = (
    "n", "id", "number", "subject", "requester_id", "department_id", "category", "priority",
    "priority_rank", "status", "assignee_id", "due_at", "tags", "created_at", "updated_at",
    "version", "reopen_count", "first_response_at", "resolved_at", "closed_at", "participants",
    "message_count", "public_message_count", "last_customer_activity_at",
    "last_agent_activity_at", "sla_first_response_due_at", "sla_resolution_due_at",
    "sla_breached",
)  # fmt: skip
READ_COLUMNS = tuple(c for c in WRITE_COLUMNS if c != "priority_rank")
UUIDS = {"id", "requester_id", "department_id", "assignee_id", "user_id", "ticket_id"}
TIMES = {c for c in WRITE_COLUMNS if c.endswith("_at")} | {"read_at"}


def stored_time(value: datetime) -> str:
    """UTC, fixed width: text order is time order."""
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    return value.isoformat(timespec="microseconds")


def ticket_values(t: TicketRow) -> tuple[Any, ...]:
    """A row in WRITE_COLUMNS order, as stored (spelled out: a rebuild calls it per row)."""
    return (
        t.n, t.id.hex, t.number, t.subject, t.requester_id.hex, _hex(t.department_id),
        t.category, t.priority, t.priority_rank, t.status, _hex(t.assignee_id), _time(t.due_at),
        json.dumps(t.tags), stored_time(t.created_at), stored_time(t.updated_at), t.version,
        t.reopen_count, _time(t.first_response_at), _time(t.resolved_at), _time(t.closed_at),
        json.dumps([u.hex for u in t.participants]), t.message_count, t.public_message_count,
        _time(t.last_customer_activity_at), _time(t.last_agent_activity_at),
        _time(t.sla_first_response_due_at), _time(t.sla_resolution_due_at), int(t.sla_breached),
    )  # fmt: skip


def _hex(value: UUID | None) -> str | None:
    return None if value is None else value.hex


def _time(value: datetime | None) -> str | None:
    return None if value is None else stored_time(value)


def joined_text(texts: dict[UUID, list[str]], t: TicketRow) -> str:
    return "\n".join(texts.get(t.id, ()))


def optional_uuid(value: str | None) -> UUID | None:
    return uuid_from_hex(value) if value else None


def decoded(r: dict[str, Any]) -> dict[str, Any]:
    for key, value in r.items():
        if value is not None and key in UUIDS:
            r[key] = uuid_from_hex(value)
        elif value is not None and key in TIMES:
            r[key] = datetime.fromisoformat(value)
    return r


def ticket_row(r: dict[str, Any]) -> TicketRow:
    r.pop("sort_key", None)
    r = decoded(r)
    r["tags"] = json.loads(r["tags"])
    r["participants"] = [uuid_from_hex(u) for u in json.loads(r["participants"])]
    r["sla_breached"] = bool(r["sla_breached"])
    return TicketRow(**r)


def user_row(r: dict[str, Any]) -> UserRow:
    return UserRow(
        id=uuid_from_hex(r["id"]),
        email=r["email"],
        name=r["name"],
        role=r["role"],
        active=bool(r["active"]),
        department_ids=[uuid_from_hex(i) for i in json.loads(r["department_ids"])],
    )
