"""`ledgerdesk users …` and `ledgerdesk departments …`."""

from __future__ import annotations

import sys
from collections.abc import Callable
from uuid import UUID

import typer
from rich.table import Table

from ledgerdesk.bootstrap import Services
from ledgerdesk.cli.common import actor_for, console, print_json, services
from ledgerdesk.domain.errors import NotFoundError, ValidationError
from ledgerdesk.domain.user import User

users = typer.Typer(help="Admins, agents and customers.", no_args_is_help=True)
departments = typer.Typer(help="Departments (teams) that own tickets.", no_args_is_help=True)


def _password(password: str | None, prompt: bool, stdin: bool) -> str | None:
    if stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif prompt:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if password is not None and len(password) < 8:
        raise ValidationError("password", "must be at least 8 characters long")
    return password


@users.command("add")
def users_add(
    email: str = typer.Argument(..., help="The user's email address (unique)."),
    name: str = typer.Option("", help="Display name (default: the part before @)."),
    role: str = typer.Option("customer", help="admin, agent, customer or a custom role."),
    department: list[str] = typer.Option(
        [], "--department", "-d", help="Department slug (repeatable)."
    ),
    time_zone: str = typer.Option("UTC", help="IANA time zone, e.g. Europe/Berlin."),
    locale: str = typer.Option("en", help="Language for mail, e.g. en or de."),
    phone: str = typer.Option("", help="Mobile number in +<country><number> form, for SMS."),
    password: str | None = typer.Option(
        None, help="Password (visible in shell history; prefer --password-prompt)."
    ),
    password_prompt: bool = typer.Option(False, "--password-prompt", help="Ask for the password."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from stdin."
    ),
    as_email: str | None = typer.Option(
        None, "--as", help="Act as this user (default: system:cli)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print the user as JSON."),
) -> None:
    """Create a user."""
    secret = _password(password, password_prompt, password_stdin)
    with services() as svc:
        department_ids = [svc.app.department(slug).id for slug in department]
        user = svc.app.create_user(
            actor=actor_for(svc, as_email),
            email=email,
            name=name,
            role=role,
            department_ids=department_ids,
            time_zone=time_zone,
            locale=locale,
            phone=phone,
            password_hash=svc.passwords.hash(secret) if secret else None,
        )
        if json_out:
            print_json(_user_json(user))
        else:
            console.print(f"created {user.role} {user.email} ({user.id})")


@users.command("list")
def users_list(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List every user."""
    with services() as svc:
        found = [svc.app.user(uid) for _, uid in _all(svc.app.user_ids)]
        if json_out:
            print_json([_user_json(u) for u in found])
            return
        table = Table("email", "name", "role", "time zone", "locale", "active")
        for u in found:
            table.add_row(
                u.email, u.name, u.role, u.time_zone, u.locale, "yes" if u.active else "no"
            )
        console.print(table)


@users.command("deactivate")
def users_deactivate(email: str, as_email: str | None = typer.Option(None, "--as")) -> None:
    """Deactivate a user (they keep their history; they can no longer act)."""
    with services() as svc:
        user = _user(svc, email)
        svc.app.deactivate_user(user.id, actor=actor_for(svc, as_email))
        console.print(f"deactivated {user.email}")


@users.command("reactivate")
def users_reactivate(email: str, as_email: str | None = typer.Option(None, "--as")) -> None:
    """Reactivate a deactivated user."""
    with services() as svc:
        user = _user(svc, email)
        svc.app.reactivate_user(user.id, actor=actor_for(svc, as_email))
        console.print(f"reactivated {user.email}")


@departments.command("add")
def departments_add(
    slug: str = typer.Argument(..., help="Permanent handle, e.g. billing."),
    name: str = typer.Option(..., help="Display name."),
    description: str = typer.Option("", help="What the team handles."),
    alias: list[str] = typer.Option(
        [], "--alias", help="Support address routed here (repeatable)."
    ),
    as_email: str | None = typer.Option(None, "--as"),
) -> None:
    """Create a department."""
    with services() as svc:
        dept = svc.app.create_department(
            actor=actor_for(svc, as_email),
            slug=slug,
            name=name,
            description=description,
            aliases=alias,
        )
        console.print(f"created department {dept.slug} ({dept.name})")


@departments.command("list")
def departments_list(json_out: bool = typer.Option(False, "--json")) -> None:
    """List departments."""
    with services() as svc:
        found = [svc.app.get_aggregate(did) for _, did in _all(svc.app.department_ids)]
        rows = [
            {"id": d.id, "slug": d.slug, "name": d.name, "aliases": d.aliases, "active": d.active}
            for d in found
        ]
        if json_out:
            print_json(rows)
            return
        table = Table("slug", "name", "aliases", "active")
        for r in rows:
            table.add_row(
                r["slug"], r["name"], ", ".join(r["aliases"]), "yes" if r["active"] else "no"
            )
        console.print(table)


@departments.command("deactivate")
def departments_deactivate(slug: str, as_email: str | None = typer.Option(None, "--as")) -> None:
    """Deactivate a department (no new tickets go to it)."""
    with services() as svc:
        svc.app.deactivate_department(slug, actor=actor_for(svc, as_email))
        console.print(f"deactivated department {slug}")


def _user(svc: Services, email: str) -> User:
    user = svc.app.user_by_email(email)
    if user is None:
        raise NotFoundError(f"there is no user with the email {email}")
    return user


def _all(page: Callable[..., list[tuple[int, UUID]]]) -> list[tuple[int, UUID]]:
    """Every row of a paged id listing."""
    found: list[tuple[int, UUID]] = []
    start = 1
    while True:
        batch = page(start=start, limit=1000)
        found.extend(batch)
        if len(batch) < 1000:
            return found
        start = batch[-1][0] + 1


def _user_json(user: User) -> dict[str, object]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "department_ids": user.department_ids,
        "time_zone": user.time_zone,
        "locale": user.locale,
        "phone": user.phone,
        "active": user.active,
    }
