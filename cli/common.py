"""Shared pieces of the CLI: consoles, the services context, actors, dates, progress bars."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from ledgerdesk.bootstrap import Services, bootstrap
from ledgerdesk.domain.errors import NotFoundError, ValidationError
from ledgerdesk.settings import Settings

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)  # one error, one line

EXIT_SOFTWARE = 70  # sysexits: internal software error
EXIT_TEMPFAIL = 75  # sysexits: temporary failure, try again (the store is down)
EXIT_CONFIG = 78  # sysexits: configuration error


@contextmanager
def services() -> Iterator[Services]:
    svc = bootstrap(Settings.from_env())
    try:
        yield svc
    finally:
        svc.close()


def actor_for(svc: Services, as_email: str | None) -> str:
    """`--as EMAIL` acts as that user; without it the CLI acts as `system:cli`."""
    if not as_email:
        return "system:cli"
    user = svc.app.user_by_email(as_email)
    if user is None:
        raise NotFoundError(f"there is no user with the email {as_email}")
    return user.actor


def user_id_for(svc: Services, email: str, what: str) -> UUID:
    user = svc.app.user_by_email(email)
    if user is None:
        raise NotFoundError(f"the {what} {email} is not a known user")
    return user.id


def parse_moment(value: str, field: str) -> datetime:
    """ISO 8601 with a zone (`2026-11-01T10:00Z`); a bare date means its start in UTC."""
    text = value.strip()
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        raise ValidationError(
            field, f"{value!r} is not a date and time such as 2026-11-01T10:00Z"
        ) from None
    if moment.tzinfo is None:
        if "T" in text or " " in text:
            raise ValidationError(field, f"{value!r} needs a time zone, e.g. {text}Z")
        moment = moment.replace(tzinfo=UTC)
    return moment


def to_jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def print_json(value: Any) -> None:
    """Plain JSON on stdout (no colours, no wrapping), for scripts."""
    sys.stdout.write(json.dumps(to_jsonable(value), ensure_ascii=False, indent=2) + "\n")


def progress_bar(description: str, *, transient: bool = False) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=transient,
    )
