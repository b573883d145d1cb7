"""An intruder with database access: rewrite bytes inside one stored event, on either store."""

from __future__ import annotations

import sqlite3
from urllib.parse import parse_qs, urlparse
from uuid import UUID

from ledgerdesk.settings import Settings

WHERE = "WHERE originator_id = ? AND originator_version = ?"


def replace_in_stored_event(
    settings: Settings, aggregate_id: UUID, version: int, old: bytes, new: bytes
) -> None:
    """Replace `old` by `new` in the stored JSON of one event, leaving every other byte alone."""
    if settings.is_embedded:
        _sqlite(settings, aggregate_id, version, old, new)
    else:
        _postgres(settings, aggregate_id, version, old, new)


def _sqlite(settings: Settings, aggregate_id: UUID, version: int, old: bytes, new: bytes) -> None:
    conn = sqlite3.connect(settings.sqlite_path)
    try:
        with conn:
            key = (aggregate_id.hex, version)
            (state,) = conn.execute(f"SELECT state FROM stored_events {WHERE}", key).fetchone()
            assert old in state
            conn.execute(
                f"UPDATE stored_events SET state = ? {WHERE}", (state.replace(old, new), *key)
            )
    finally:
        conn.close()


def _postgres(settings: Settings, aggregate_id: UUID, version: int, old: bytes, new: bytes) -> None:
    import psycopg

    url = settings.database_url
    table = f'"{parse_qs(urlparse(url).query)["schema"][0]}".ledgerdesk_events'
    where = WHERE.replace("?", "%s")
    with psycopg.connect(url.split("?")[0], autocommit=True) as conn:
        row = conn.execute(f"SELECT state FROM {table} {where}", (aggregate_id, version)).fetchone()
        assert row is not None and old in bytes(row[0])
        state = bytes(row[0]).replace(old, new)
        conn.execute(f"UPDATE {table} SET state = %s {where}", (state, aggregate_id, version))
