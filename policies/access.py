"""Access conditions and list scopes: the pure half of the access rules (Casbin is the other)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from uuid import UUID


@dataclass(frozen=True)
class Subject:
    """The signed-in user as the rules see them."""

    id: UUID
    role: str
    departments: frozenset[UUID] = field(default_factory=frozenset)


@dataclass(frozen=True)
class Record:
    """A record as the rules see it: its type and the attributes conditions look at."""

    type: str
    id: UUID | None = None
    requester_id: UUID | None = None
    participants: frozenset[UUID] = field(default_factory=frozenset)
    department_id: UUID | None = None
    assignee_id: UUID | None = None


def within(subject: Any, record: Any, condition: str) -> bool:
    """Whether a record meets a rule's condition for a subject."""
    if condition == "any":
        return True
    if condition == "own":
        if record.type == "ticket":
            return subject.id == record.requester_id or subject.id in record.participants
        if record.type == "user":
            return subject.id == record.id
        return False
    if condition == "department":
        if record.type != "ticket":
            return False
        return record.department_id in subject.departments or record.assignee_id == subject.id
    return False


def broadest(conditions: set[str]) -> str | None:
    """Of the conditions under which a subject may act on some records, the widest."""
    for condition in ("any", "department", "own"):
        if condition in conditions:
            return condition
    return None
