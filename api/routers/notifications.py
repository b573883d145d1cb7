"""In-app notifications (list, unread count, mark read, a live stream), notification
preferences, and the outbox for admins (dead letters, retry)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from ledgerdesk.api.deps import (
    CurrentCaller,
    IdempotencyKey,
    KnownQuery,
    ServicesDep,
    once,
    require_kind,
)
from ledgerdesk.api.errors import Problem
from ledgerdesk.domain.errors import NotFoundError
from ledgerdesk.projections.outbox.view import OutboxItem

router = APIRouter(tags=["notifications"], dependencies=[KnownQuery])
STREAM_POLL = 1.0  # seconds between two looks at the caller's notifications
HEARTBEAT = 15.0  # a comment line this often keeps proxies from closing an idle stream
SESSION_CHECK = 30  # polls between two checks that the caller is still signed in


class NotificationOut(BaseModel):
    key: str
    kind: str
    ticket: str
    created_at: datetime
    read: bool
    context: dict[str, str]


class ReadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    keys: list[str] = Field(default_factory=list, max_length=500)
    all: bool = False


class PreferenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    channels: list[str]
    digest: bool = False


class OutboxOut(BaseModel):
    key: str
    kind: str
    ticket: str
    user_id: str
    channel: str
    status: str
    attempts: int
    last_error: str
    message_id: str
    created_at: datetime
    next_at: datetime | None


STAFF_ONLY = frozenset({"reason", "actor", "author_id"})  # internal: who did it, and why


def _out(item: OutboxItem, staff: bool) -> NotificationOut:
    context = (
        item.context if staff else {k: v for k, v in item.context.items() if k not in STAFF_ONLY}
    )
    return NotificationOut(
        key=item.key,
        kind=item.kind,
        ticket=item.ticket,
        created_at=item.created_at,
        read=item.status == "read",
        context=context,
    )


@router.get("/notifications", response_model=list[NotificationOut])
def notifications(
    caller: CurrentCaller,
    services: ServicesDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[NotificationOut]:
    """The caller's in-app notifications, newest first."""
    items = services.outbox.items(
        channel="in_app",
        user_id=caller.user.id.hex,
        status="unread" if unread else None,
        limit=limit,
    )
    return [_out(item, caller.user.is_staff) for item in items]


@router.get("/notifications/unread-count", response_model=int)
def unread_count(caller: CurrentCaller, services: ServicesDep) -> int:
    """How many of the caller's notifications are unread."""
    return services.outbox.unread_count(caller.user.id.hex)


@router.post("/notifications/read", response_model=int)
def mark_read(
    body: ReadIn,
    caller: CurrentCaller,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> int:
    """Mark notifications read (by key, or all); each is an event; answers how many changed."""

    def produce() -> str:
        keys = body.keys
        if body.all:
            unread = services.outbox.items(
                channel="in_app", user_id=caller.user.id.hex, status="unread", limit=500
            )
            keys = [item.key for item in unread]
        if not keys:
            return "0"
        for key in keys:  # only notifications that exist, and are the caller's
            item = services.outbox.item(key)
            if item is None or item.channel != "in_app" or item.user_id != caller.user.id.hex:
                raise Problem(404, f"you have no notification {key}")
        return str(services.app.mark_read(caller.user.id, keys, actor=caller.actor))

    changed = once(services, caller, idempotency_key, "POST /notifications/read", body, produce)
    services.projections.wait(services.app.last_position, only=("outbox",))
    return int(changed)


@router.get("/notifications/stream")
async def stream(request: Request, caller: CurrentCaller, services: ServicesDep) -> Any:
    """Server-Sent Events: each new in-app notification of the caller, as it arrives."""
    user, staff = caller.user.id.hex, caller.user.is_staff

    def signed_in() -> bool:
        try:
            session = services.app.session(caller.session_id)
        except NotFoundError:
            return False
        person = services.app.find_user(caller.user.id)
        return bool(session and session.active and person and person.active)

    async def events() -> AsyncIterator[str]:
        seen: set[str] = set()
        first = True
        quiet = 0.0
        polls = 0
        while not await request.is_disconnected():
            polls += 1
            if polls % SESSION_CHECK == 0 and not await run_in_threadpool(signed_in):
                yield "event: signed_out\ndata: {}\n\n"  # signed out or deactivated: stop
                return
            items = await run_in_threadpool(
                services.outbox.items, channel="in_app", user_id=user, limit=50
            )
            fresh = [i for i in reversed(items) if i.key not in seen]
            seen.update(i.key for i in items)
            if first:  # what exists already is for the list, not the stream
                first, fresh = False, []
                yield "retry: 3000\n\n"
            for item in fresh:
                data = json.dumps(_out(item, staff).model_dump(mode="json"), ensure_ascii=False)
                yield f"id: {item.key}\nevent: notification\ndata: {data}\n\n"
            quiet = 0.0 if fresh else quiet + STREAM_POLL
            if quiet >= HEARTBEAT:
                quiet = 0.0
                yield ": still here\n\n"
            await asyncio.sleep(STREAM_POLL)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


@router.get("/users/me/preferences", response_model=dict[str, PreferenceIn])
def preferences(caller: CurrentCaller, services: ServicesDep) -> dict[str, Any]:
    """The caller's notification preferences (kinds not listed use the defaults)."""
    return services.app.user(caller.user.id).preferences


@router.put("/users/me/preferences", response_model=dict[str, PreferenceIn])
def set_preferences(
    body: dict[str, PreferenceIn], caller: CurrentCaller, services: ServicesDep
) -> dict[str, Any]:
    """Choose, per kind, the channels (email, in_app, sms) and whether only in the digest."""
    user = services.app.set_preferences(
        caller.user.id, {k: v.model_dump() for k, v in body.items()}, actor=caller.actor
    )
    return user.preferences


@router.get("/outbox", response_model=list[OutboxOut])
def outbox(
    caller: CurrentCaller,
    services: ServicesDep,
    status: str | None = None,
    ticket: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[Any]:
    """Admins: outgoing notifications, newest first (e.g. `status=dead` for dead letters)."""
    require_kind(services, caller, "outbox", "read")
    return [
        OutboxOut.model_validate(item, from_attributes=True)
        for item in services.outbox.items(status=status, ticket=ticket, limit=limit)
    ]


@router.post("/outbox/{key}/retry", response_model=OutboxOut)
def retry(
    key: str, caller: CurrentCaller, services: ServicesDep, idempotency_key: IdempotencyKey = None
) -> Any:
    """Admins: send a dead letter again."""
    require_kind(services, caller, "outbox", "update")

    def produce() -> str:
        services.app.requeue_delivery(key, actor=caller.actor)
        return key

    once(services, caller, idempotency_key, f"POST /outbox/{key}/retry", None, produce)
    services.projections.wait(services.app.last_position, only=("outbox",))
    item = services.outbox.item(key)
    if item is None:
        raise Problem(404, f"no outbox item {key}")
    return OutboxOut.model_validate(item, from_attributes=True)
