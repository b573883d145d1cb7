"""Access policies: the rules admins edit; each change is an audited event, live at once."""

from __future__ import annotations

from fastapi import APIRouter

from ledgerdesk.api.deps import (
    Caller,
    CurrentCaller,
    IdempotencyKey,
    KnownQuery,
    ServicesDep,
    once,
    require,
)
from ledgerdesk.api.schemas import RuleIn
from ledgerdesk.bootstrap import Services
from ledgerdesk.policies.access import Record

router = APIRouter(prefix="/policies", tags=["policies"], dependencies=[KnownQuery])


@router.get("/rules", response_model=list[list[str]])
def rules(caller: CurrentCaller, services: ServicesDep) -> list[list[str]]:
    """The current rules: [p, role, resource, action, condition] and [g, role, parent]."""
    require(services, caller, Record("policy"), "read")
    return services.access.rules()


@router.post("/rules", status_code=201, response_model=list[list[str]])
def add_rule(
    body: RuleIn,
    caller: CurrentCaller,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> list[list[str]]:
    """Add a rule; it applies to the next request."""
    return _change(services, caller, (idempotency_key, "POST /policies/rules", body), "add")


@router.post("/rules/remove", response_model=list[list[str]])
def remove_rule(
    body: RuleIn,
    caller: CurrentCaller,
    services: ServicesDep,
    idempotency_key: IdempotencyKey = None,
) -> list[list[str]]:
    """Remove a rule; it stops applying with the next request."""
    return _change(
        services, caller, (idempotency_key, "POST /policies/rules/remove", body), "remove"
    )


def _change(
    services: Services, caller: Caller, request: tuple[str | None, str, RuleIn], how: str
) -> list[list[str]]:
    require(services, caller, Record("policy"), "manage")
    key, route, body = request
    change = services.app.add_rule if how == "add" else services.app.remove_rule

    def produce() -> str:
        change(body.rule, actor=caller.actor)
        return ""

    once(services, caller, key, route, body, produce)
    services.access.changed()
    return services.access.rules()
