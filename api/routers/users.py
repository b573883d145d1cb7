"""Users: admins, agents and customers."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Response

from ledgerdesk.api.deps import (
    CurrentCaller,
    IdempotencyKey,
    KnownQuery,
    ServicesDep,
    once,
    require,
    settled,
)
from ledgerdesk.api.errors import Problem
from ledgerdesk.api.schemas import UserIn, UserOut, UserPatch
from ledgerdesk.bootstrap import Services
from ledgerdesk.domain.user import User
from ledgerdesk.policies.access import Record

router = APIRouter(prefix="/users", tags=["users"], dependencies=[KnownQuery])


@router.post("", status_code=201, response_model=UserOut)
def create_user(
    body: UserIn,
    caller: CurrentCaller,
    services: ServicesDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> User:
    """Create a user; any role but customer only for those who may change every user."""
    require(services, caller, Record("user"), "create")
    # The rule that lets an admin give someone another role (PATCH) decides, not a role name.
    if body.role != "customer" and not services.access.allowed(
        caller.subject, Record("user"), "update"
    ):
        raise Problem(403, "only those who may change every user create staff accounts")
    app = services.app

    def produce() -> str:  # hashes the password only when the user is made (not on a retry)
        password_hash = services.passwords.hash(body.password) if body.password else None
        return app.create_user(
            actor=caller.actor,
            email=body.email,
            name=body.name,
            role=body.role,
            department_ids=[app.department(slug).id for slug in body.departments],
            time_zone=body.time_zone,
            locale=body.locale,
            phone=body.phone,
            password_hash=password_hash,
        ).id.hex

    # The key's record keeps a digest of the request: whether it set a password, never which.
    request = body.model_copy(update={"password": "(given)" if body.password else None})
    user = app.user(UUID(once(services, caller, idempotency_key, "POST /users", request, produce)))
    response.headers["Location"] = f"/users/{user.id}"
    settled(services)  # a person search right after finds them
    return user


@router.get("", response_model=list[UserOut])
def list_users(caller: CurrentCaller, services: ServicesDep) -> list[User]:
    """Every user the caller may read."""
    condition = services.access.condition(caller.subject, "user", "read")
    if condition is None:
        raise Problem(403, "you may not read user records")
    if condition != "any":
        return [caller.user]
    found = []
    start = 1
    while True:
        page = services.app.user_ids(start=start, limit=1000)
        found += [services.app.user(uid) for _, uid in page]
        if len(page) < 1000:
            return found
        start = page[-1][0] + 1


@router.get("/{user_id}", response_model=UserOut)
def get_user(user_id: UUID, caller: CurrentCaller, services: ServicesDep) -> User:
    """One user."""
    return _readable(services, caller, user_id)


@router.patch("/{user_id}", response_model=UserOut)
def update_user(
    user_id: UUID, body: UserPatch, caller: CurrentCaller, services: ServicesDep
) -> User:
    """Change a user (admins: anyone; others: their own name, time zone, locale, phone)."""
    user = _readable(services, caller, user_id)
    # A field sent as null is left unchanged, as one not sent.
    changes: dict[str, Any] = body.model_dump(exclude_none=True, exclude={"active"})
    own_fields = {"name", "time_zone", "locale", "phone"}
    is_admin = services.access.allowed(caller.subject, Record("user", user.id), "update")
    if not is_admin and not (
        user.id == caller.user.id and set(changes) <= own_fields and body.active is None
    ):
        raise Problem(403, "you may change only your own name, time zone, locale and phone")
    if "departments" in changes:
        changes["department_ids"] = [
            services.app.department(s).id for s in changes.pop("departments")
        ]
    app = services.app
    if changes:
        app.update_user(user.id, actor=caller.actor, **changes)
    if body.active is not None and body.active != user.active:
        (app.reactivate_user if body.active else app.deactivate_user)(user.id, actor=caller.actor)
    settled(services)
    return app.user(user.id)


def _readable(services: Services, caller: CurrentCaller, user_id: UUID) -> User:
    user = services.app.find_user(user_id)
    if user is None or not services.access.allowed(caller.subject, Record("user", user_id), "read"):
        raise Problem(404, "there is no such user")
    return user
