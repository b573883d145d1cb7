"""Departments (teams) that own tickets."""

from __future__ import annotations

from typing import Any

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
from ledgerdesk.api.schemas import DepartmentIn, DepartmentOut, DepartmentPatch
from ledgerdesk.domain.department import Department
from ledgerdesk.policies.access import Record

router = APIRouter(prefix="/departments", tags=["departments"], dependencies=[KnownQuery])


@router.get("", response_model=list[DepartmentOut])
def list_departments(caller: CurrentCaller, services: ServicesDep) -> list[Any]:
    """Every department."""
    require(services, caller, Record("department"), "read")
    return [services.app.get_aggregate(did) for _, did in services.app.department_ids()]


@router.post("", status_code=201, response_model=DepartmentOut)
def create_department(
    body: DepartmentIn,
    caller: CurrentCaller,
    services: ServicesDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> Department:
    """Create a department."""
    require(services, caller, Record("department"), "create")
    app = services.app

    def produce() -> str:
        return app.create_department(
            actor=caller.actor,
            slug=body.slug,
            name=body.name,
            description=body.description,
            aliases=body.aliases,
        ).slug

    department = app.department(
        once(services, caller, idempotency_key, "POST /departments", body, produce)
    )
    response.headers["Location"] = f"/departments/{department.slug}"
    settled(services)  # lists right after show its name
    return department


@router.get("/{slug}", response_model=DepartmentOut)
def get_department(slug: str, caller: CurrentCaller, services: ServicesDep) -> Department:
    """One department."""
    require(services, caller, Record("department"), "read")
    return services.app.department(slug)


@router.patch("/{slug}", response_model=DepartmentOut)
def update_department(
    slug: str, body: DepartmentPatch, caller: CurrentCaller, services: ServicesDep
) -> Department:
    """Rename, describe, route addresses, deactivate or reactivate a department."""
    require(services, caller, Record("department"), "update")
    app = services.app
    # A field sent as null is left unchanged, as one not sent.
    changes = body.model_dump(exclude_none=True, exclude={"active"})
    if changes:
        app.update_department(slug, actor=caller.actor, **changes)
    department = app.department(slug)
    if body.active is not None and body.active != department.active:
        change = app.reactivate_department if body.active else app.deactivate_department
        change(slug, actor=caller.actor)
    settled(services)
    return app.department(slug)
