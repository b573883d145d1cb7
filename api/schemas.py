"""Request and response bodies. Unknown fields are refused (422 naming the field)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=1_000_000)


# Auth ------------------------------------------------------------------------------------------


class LoginIn(Strict):
    email: str = Field(max_length=254)
    password: str = Field(max_length=1024)


class RefreshIn(Strict):
    refresh_token: str = Field(max_length=4096)


class TokensOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


# Tickets ---------------------------------------------------------------------------------------


class TicketIn(Strict):
    subject: str = Field(max_length=1000)
    text: str
    requester_email: str | None = Field(default=None, max_length=254)
    requester_name: str | None = Field(default=None, max_length=200)
    department: str | None = Field(default=None, max_length=63)
    category: str = Field(default="", max_length=200)
    priority: str = Field(default="normal", max_length=20)
    due_at: datetime | None = None
    tags: list[str] = Field(default_factory=list, max_length=50)


class TicketPatch(Strict):
    priority: str | None = Field(default=None, max_length=20)
    category: str | None = Field(default=None, max_length=200)
    department: str | None = Field(default=None, max_length=63)
    due_at: datetime | None = None
    clear_due_at: bool = False
    add_tags: list[str] = Field(default_factory=list, max_length=50)
    remove_tags: list[str] = Field(default_factory=list, max_length=50)


class MessageIn(Strict):
    text: str


class TransitionIn(Strict):
    status: str = Field(max_length=20)
    reason: str = Field(default="", max_length=1000)


class AssignmentIn(Strict):
    assignee_id: UUID | None = None


class PersonOut(BaseModel):
    id: UUID
    email: str
    name: str


class MessageOut(BaseModel):
    id: UUID
    kind: str
    author: PersonOut | None
    actor: str
    channel: str
    visible_text: str
    full_text: str
    attachments: list[dict[str, Any]]
    email_message_id: str | None
    at: datetime


class TicketOut(BaseModel):
    id: UUID
    number: str
    subject: str
    status: str
    priority: str
    category: str
    department_id: UUID | None
    requester: PersonOut | None
    assignee: PersonOut | None
    due_at: datetime | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    version: int
    reopen_count: int
    first_response_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    messages: list[MessageOut]


class HistoryOut(BaseModel):
    version: int
    at: datetime
    actor: str
    event: str
    changes: dict[str, Any]
    hash: str
    prev_hash: str


# Users and departments -------------------------------------------------------------------------


class UserIn(Strict):
    email: str = Field(max_length=254)
    name: str = Field(default="", max_length=200)
    role: str = Field(default="customer", max_length=32)
    departments: list[str] = Field(default_factory=list, max_length=100)
    time_zone: str = Field(default="UTC", max_length=64)
    locale: str = Field(default="en", max_length=16)
    phone: str = Field(default="", max_length=32)
    password: str | None = Field(default=None, min_length=8, max_length=1024)


class UserPatch(Strict):
    email: str | None = Field(default=None, max_length=254)
    name: str | None = Field(default=None, max_length=200)
    role: str | None = Field(default=None, max_length=32)
    departments: list[str] | None = Field(default=None, max_length=100)
    time_zone: str | None = Field(default=None, max_length=64)
    locale: str | None = Field(default=None, max_length=16)
    phone: str | None = Field(default=None, max_length=32)
    active: bool | None = None


class UserOut(BaseModel):
    id: UUID
    email: str
    name: str
    role: str
    department_ids: list[UUID]
    time_zone: str
    locale: str
    phone: str
    active: bool


class DepartmentIn(Strict):
    slug: str = Field(max_length=63)
    name: str = Field(max_length=200)
    description: str = Field(default="", max_length=2000)
    aliases: list[str] = Field(default_factory=list, max_length=50)


class DepartmentPatch(Strict):
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    aliases: list[str] | None = Field(default=None, max_length=50)
    active: bool | None = None


class DepartmentOut(BaseModel):
    id: UUID
    slug: str
    name: str
    description: str
    aliases: list[str]
    active: bool


class RuleIn(Strict):
    rule: list[str] = Field(min_length=3, max_length=5)
