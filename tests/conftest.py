"""Fixtures: every store-backed test runs on SQLite and, when configured, on PostgreSQL.

PostgreSQL comes from LEDGERDESK_TEST_DATABASE_URL (each test gets its own schema, dropped
afterwards). Without it the PostgreSQL variants are skipped, except under CI=true, where a
missing service fails the run.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledgerdesk.adapters.clock import ManualClock
from ledgerdesk.bootstrap import Services, bootstrap, migrate
from ledgerdesk.domain.user import User
from ledgerdesk.settings import Settings

PG_URL = os.environ.get("LEDGERDESK_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("LEDGERDESK_TEST_REDIS_URL", "")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def need_service(name: str, url: str) -> None:
    if url:
        return
    message = f"{name} is not configured (set LEDGERDESK_TEST_{name.upper()}_URL)"
    if IN_CI:
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)


def _pg_admin(url: str):  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(url, autocommit=True)


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest) -> str:
    if request.param == "postgres":
        need_service("database", PG_URL)
    return str(request.param)


@pytest.fixture
def settings(store: str, tmp_path: Path) -> Iterator[Settings]:
    base = Settings(data_dir=tmp_path / "var", secret_key="test-secret-key", snapshot_interval=10)
    if store == "sqlite":
        yield base
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    separator = "&" if "?" in PG_URL else "?"
    yield base.with_changes(database_url=f"{PG_URL}{separator}schema={schema}")
    with _pg_admin(PG_URL) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def services(settings: Settings, clock: ManualClock) -> Iterator[Services]:
    migrate(settings)
    svc = bootstrap(settings, clock=clock)
    yield svc
    svc.close()


class People:
    """A small cast: an admin, two agents in one department, two customers."""

    def __init__(self, svc: Services) -> None:
        app = svc.app
        self.admin = app.create_user(actor="system:test", email="admin@example.com",
                                     name="Ada Admin", role="admin")
        self.support = app.create_department(actor=self.admin.actor, slug="support",
                                             name="Support", aliases=["help@example.com"])
        self.agent = app.create_user(actor=self.admin.actor, email="agent@example.com",
                                     name="Alan Agent", role="agent",
                                     department_ids=[self.support.id])
        self.agent2 = app.create_user(actor=self.admin.actor, email="agent2@example.com",
                                      name="Grace Agent", role="agent",
                                      department_ids=[self.support.id])
        self.alice = app.create_user(actor="system:test", email="alice@customer.test",
                                     name="Alice", role="customer")
        self.bob = app.create_user(actor="system:test", email="bob@customer.test",
                                   name="Bob", role="customer")


@pytest.fixture
def people(services: Services) -> People:
    return People(services)


def open_ticket(svc: Services, requester: User, subject: str = "Printer on fire",
                text: str = "It is on fire.", **fields: object):  # type: ignore[no-untyped-def]
    return svc.app.open_ticket(actor=requester.actor, subject=subject, requester_id=requester.id,
                               text=text, **fields)  # type: ignore[arg-type]
