"""eventsourcing's SQLite factory with the durability level chosen in settings.

WAL mode with `synchronous=NORMAL` (SQLite's own advice for WAL) never corrupts the file and
loses nothing when the process dies; only a power cut or kernel crash can undo the last
commits. `FULL` makes every commit wait for the disk. `LEDGERDESK_SQLITE_SYNCHRONOUS` chooses.
"""

from __future__ import annotations

from typing import Any

import eventsourcing.sqlite as es_sqlite  # a module import: the library wants one factory here
from eventsourcing.utils import Environment

SYNCHRONOUS_LEVELS = ("OFF", "NORMAL", "FULL", "EXTRA")


class Factory(es_sqlite.SQLiteFactory):
    SQLITE_SYNCHRONOUS = "SQLITE_SYNCHRONOUS"

    def __init__(self, env: Environment | Any) -> None:
        super().__init__(env)
        level = (self.env.get(self.SQLITE_SYNCHRONOUS) or "NORMAL").upper()
        if level not in SYNCHRONOUS_LEVELS:
            raise OSError(f"SQLITE_SYNCHRONOUS must be one of {', '.join(SYNCHRONOUS_LEVELS)}")
        pool = self.datastore.pool
        create = pool._create_connection

        def create_with_level() -> es_sqlite.SQLiteConnection:
            connection = create()
            connection._sqlite_conn.execute(f"PRAGMA synchronous={level}")
            return connection

        pool._create_connection = create_with_level  # type: ignore[method-assign]
