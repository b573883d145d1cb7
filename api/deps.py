"""Dependencies of the routes: the services, the signed-in user, and access decisions."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Header, Request
from starlette.concurrency import run_in_threadpool

from ledgerdesk.api.errors import Problem
from ledgerdesk.bootstrap import Services
from ledgerdesk.domain.chain import canonical_json
from ledgerdesk.domain.errors import NotFoundError
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.domain.user import User
from ledgerdesk.policies.access import Record, Subject


# The small dependencies are `async`: FastAPI would run a plain function in a worker thread,
# one thread hop per dependency per request.
async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


@dataclass(frozen=True)
class Caller:
    """The signed-in user of a request."""

    user: User
    session_id: UUID
    subject: Subject

    @property
    def actor(self) -> str:
        return self.user.actor


def _bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Problem(
            401,
            "sign in first: send `Authorization: Bearer <access token>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


class CallerCache:
    """Who a session belongs to, remembered for a moment: most requests then need no read.

    A sign-out in this process forgets the entry at once; in another process it takes effect
    within `seconds`, as do role and department changes. Access tokens whose signature was
    checked are remembered too (until they expire), so a signature is verified once per
    token rather than once per request.
    """

    def __init__(self, seconds: float = 2.0, size: int = 10_000) -> None:
        self.seconds, self.size = seconds, size
        self._items: dict[UUID, tuple[float, Any, User]] = {}
        self._tokens: dict[str, Any] = {}
        self._lock = threading.Lock()

    def get(self, session_id: UUID) -> tuple[Any, User] | None:
        with self._lock:
            item = self._items.get(session_id)
        if item is None or time.monotonic() - item[0] > self.seconds:
            return None
        return item[1], item[2]

    def put(self, session_id: UUID, session: Any, user: User) -> None:
        with self._lock:
            if len(self._items) >= self.size:
                self._items.clear()
            self._items[session_id] = (time.monotonic(), session, user)

    def forget(self, session_id: UUID) -> None:
        with self._lock:
            self._items.pop(session_id, None)

    def claims(self, token: str, verify: Callable[[str], Any], now: datetime) -> Any:
        """The claims of an access token, verified by `verify` the first time it is seen."""
        claims = self._tokens.get(token)
        if claims is not None and claims.expires_at > now:
            return claims
        claims = verify(token)  # raises on a bad token: nothing is remembered then
        with self._lock:
            if len(self._tokens) >= self.size:
                self._tokens.clear()
            self._tokens[token] = claims
        return claims


async def current_caller(request: Request) -> Caller:
    from ledgerdesk.adapters.tokens import InvalidToken

    # The services straight from the app, not as a sub-dependency: every route signs its
    # caller in, and each dependency level costs FastAPI's resolver more than this whole
    # function (profiled under `make bench`).
    services: Services = request.app.state.services
    cache: CallerCache = request.app.state.callers
    try:
        claims = cache.claims(_bearer(request), services.tokens.verify_access, services.app.now())
    except InvalidToken as error:
        raise Problem(
            401,
            f"the access token is not valid: {error}",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        ) from None
    cached = cache.get(claims.session_id)
    if cached is not None and cached[1].id == claims.user_id:
        return Caller(cached[1], claims.session_id, subject_of(cached[1]))
    # The store is read in a worker thread, never in the event loop.
    return await run_in_threadpool(_signed_in, services, cache, claims.session_id, claims.user_id)


def _signed_in(services: Services, cache: CallerCache, session_id: UUID, user_id: UUID) -> Caller:
    try:
        session = services.app.session(session_id)
    except NotFoundError:
        session = None
    if session is None or not session.active or session.user_id != user_id:
        raise Problem(
            401,
            "this sign-in has ended; sign in again",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    user = services.app.find_user(session.user_id)
    if user is None or not user.active:
        raise Problem(
            401,
            "this account is deactivated",
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )
    cache.put(session.id, session, user)
    return Caller(user, session.id, subject_of(user))


CurrentCaller = Annotated[Caller, Depends(current_caller)]


def subject_of(user: User) -> Subject:
    return Subject(user.id, user.role, frozenset(user.department_ids))


def ticket_record(ticket: Ticket) -> Record:
    return Record(
        "ticket",
        ticket.id,
        requester_id=ticket.requester_id,
        participants=frozenset(ticket.participants),
        department_id=ticket.department_id,
        assignee_id=ticket.assignee_id,
    )


def require(services: Services, caller: Caller, record: Record, action: str) -> None:
    """Refuse unless allowed. A ticket the caller may not even read answers 404, so its
    existence does not leak; one they may read but not change answers 403."""
    if services.access.allowed(caller.subject, record, action):
        return
    if (
        record.type == "ticket"
        and action != "read"
        and services.access.allowed(caller.subject, record, "read")
    ):
        raise Problem(403, f"you may not {action.replace('_', ' ')} this ticket")
    if record.type == "ticket":
        raise Problem(404, "there is no such ticket")
    raise Problem(403, f"you may not {action.replace('_', ' ')} {record.type} records")


def require_kind(services: Services, caller: Caller, resource: str, action: str) -> str:
    """The condition under which the caller may `action` some `resource`, or 403."""
    condition = services.access.condition(caller.subject, resource, action)
    if condition is None:
        raise Problem(403, f"you may not {action.replace('_', ' ')} {resource} records")
    return condition


IdempotencyKey = Annotated[
    str | None,
    Header(
        max_length=200,
        description="Sent again with the same request (a retry), does nothing twice: the "
        "answer shows what the first one did. With another request: 409.",
    ),
]


def fingerprint(request: str | None, body: Any) -> str:
    """What an Idempotency-Key is checked against: the route and the body (None: the body
    alone, as POST /tickets' keys had it before the other routes took keys)."""
    text = canonical_json(jsonable(body))
    return hashlib.sha256((text if request is None else f"{request}\n{text}").encode()).hexdigest()


def once(
    services: Services,
    caller: Caller,
    key: str | None,
    request: str,
    body: Any,
    produce: Callable[[], str],
) -> str:
    """Run a command (`produce`, whose result names what it made or changed) once per caller
    and Idempotency-Key, in the same transaction as the key's record: a retry gets the first
    run's result without running it again."""
    if key is None:
        return produce()
    return services.app.once(caller.actor, key, fingerprint(request, body), produce)


async def known_query(request: Request) -> None:
    """Refuse query parameters the route does not take (a misspelt filter would otherwise
    be ignored, and the answer silently unfiltered)."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    names: frozenset[str] | None = getattr(route, "ledgerdesk_query_names", None)
    if names is None:  # worked out once per route, kept on it
        names = frozenset(_query_params(dependant))
        route.ledgerdesk_query_names = names  # type: ignore[union-attr]
    unknown = sorted(set(request.query_params) - names)
    if unknown:
        takes = ", ".join(sorted(names)) or "none"
        raise Problem(
            422,
            f"unknown query parameter {', '.join(unknown)} (this route takes: {takes})",
            errors=[
                {"field": name, "message": "is not a parameter of this route"} for name in unknown
            ],
        )


def _query_params(dependant: Any) -> Iterator[str]:
    for param in dependant.query_params:
        yield param.alias
    for sub in dependant.dependencies:
        yield from _query_params(sub)


KnownQuery = Depends(known_query)


def settled(services: Services) -> None:
    """Read your writes: return once the read models show this request's last command
    (milliseconds; the runtime signals each processed batch)."""
    services.projections.wait_for_last_command(timeout=5.0)


async def settled_at(services: Services, position: int | None, timeout: float = 5.0) -> None:
    """Read your writes without holding a thread: wait until the read models have processed
    the log up to `position`."""
    if not position:
        return
    if not services.projections.running:  # it would catch up in the calling thread
        await run_in_threadpool(services.projections.wait, position, timeout)
        return
    promise = services.projections.reached(position)
    try:
        await asyncio.wait_for(asyncio.wrap_future(promise), timeout)
    except TimeoutError:  # as `settled`: answer anyway; the change is saved
        promise.cancel()


def client_ip(request: Request) -> str:
    """The peer's address ("" when it is not an IP address, as under a test client)."""
    host = request.client.host if request.client else ""
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return ""


def jsonable(value: Any) -> Any:
    from fastapi.encoders import jsonable_encoder

    return jsonable_encoder(value)
