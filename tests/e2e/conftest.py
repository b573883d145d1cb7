"""Fixtures: the real command against the test's store (SQLite, and PostgreSQL when configured).

`settings` (tests/conftest.py) gives each test its data directory and, on PostgreSQL, a fresh
schema that it drops afterwards; here it becomes the subprocess's environment.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ledgerdesk.settings import Settings
from ledgerdesk.tests.e2e.shell import Ledgerdesk, clean_environ


@pytest.fixture
def ledgerdesk(settings: Settings, tmp_path: Path) -> Ledgerdesk:
    """`ledgerdesk …` on this test's store, already migrated."""
    values = {
        "LEDGERDESK_DATA_DIR": str(settings.data_dir),
        "LEDGERDESK_SNAPSHOT_INTERVAL": str(settings.snapshot_interval),
    }
    if settings.database_url:  # SQLite keeps the embedded default: a generated key
        values["LEDGERDESK_DATABASE_URL"] = settings.database_url
        values["LEDGERDESK_SECRET_KEY"] = settings.secret_key
    cli = Ledgerdesk(clean_environ(**values), cwd=tmp_path)
    cli("migrate")
    return cli


@pytest.fixture
def bare(tmp_path: Path) -> Ledgerdesk:
    """`ledgerdesk …` with an empty data directory and no store configured, not migrated."""
    return Ledgerdesk(clean_environ(LEDGERDESK_DATA_DIR=str(tmp_path / "var")), cwd=tmp_path)
