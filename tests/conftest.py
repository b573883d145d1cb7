"""Fixtures: every store-backed test runs on SQLite and, when configured, on PostgreSQL.

PostgreSQL comes from LEDGERDESK_TEST_DATABASE_URL (each test gets its own schema, dropped
afterwards). Without it the PostgreSQL variants are skipped, except under CI=true, where a
missing service fails the run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ledgerdesk.adapters.clock import ManualClock
from ledgerdesk.bootstrap import Services, bootstrap, migrate
from ledgerdesk.settings import Settings
from ledgerdesk.tests.conftest_helpers import PG_URL, need_service
from ledgerdesk.tests.support import T0, People


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
def services(settings: Settings, clock: ManualClock) -> Iterator[Services]:
    migrate(settings)
    svc = bootstrap(settings, clock=clock)
    yield svc
    svc.close()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def people(services: Services) -> People:
    return People(services)
