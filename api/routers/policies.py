"""Access policies: the rules admins edit; each change is an audited event, live at once."""

from __future__ import annotations

from fastapi import APIRouter

from ledgerdesk.api.deps import CurrentCaller, ServicesDep, require
from ledgerdesk.api.schemas import RuleIn
from ledgerdesk.policies.access import Record

router = APIRouter(prefix="/policies", tags=["policies"])


@router.get("/rules", response_model=list[list[str]])
def rules(caller: CurrentCaller, services: ServicesDep) -> list[list[str]]:
    """The current rules: [p, role, resource, action, condition] and [g, role, parent]."""
    require(services, caller, Record("policy"), "read")
    return services.access.rules()


@router.post("/rules", status_code=201, response_model=list[list[str]])
def add_rule(body: RuleIn, caller: CurrentCaller, services: ServicesDep) -> list[list[str]]:
    """Add a rule; it applies to the next request."""
    require(services, caller, Record("policy"), "manage")
    services.app.add_rule(body.rule, actor=caller.actor)
    services.access.changed()
    return services.access.rules()


@router.post("/rules/remove", response_model=list[list[str]])
def remove_rule(body: RuleIn, caller: CurrentCaller, services: ServicesDep) -> list[list[str]]:
    """Remove a rule; it stops applying with the next request."""
    require(services, caller, Record("policy"), "manage")
    services.app.remove_rule(body.rule, actor=caller.actor)
    services.access.changed()
    return services.access.rules()
