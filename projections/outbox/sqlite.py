"""The outbox on SQLite: tables in the events' file."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from eventsourcing.sqlite import SQLiteDatastore

from ledgerdesk.projections import sqlite_transactions as transactions
from ledgerdesk.projections.outbox.sql import SqlOutboxView


class SQLiteOutboxView(SqlOutboxView):
    def __init__(
        self, datastore: SQLiteDatastore, *, prefix: str = "outbox", events_table: str = ""
    ) -> None:
        self.datastore, self.events_table = datastore, events_table
        self._automatic_index = False  # seen in the file (made by `migrate`)
        super().__init__(prefix)

    def table(self, name: str) -> str:
        return f"ledgerdesk_{name}"

    def writing(self) -> AbstractContextManager[Any]:
        return transactions.writing(self.datastore)

    def reading(self) -> AbstractContextManager[Any]:
        return transactions.reading(self.datastore)

    def automatic_index_hint(self) -> str:
        """SQLite's planner, without statistics, takes the wider `_user` index for the daily
        limit's count. The hint names the partial index once it exists: a file not migrated
        since it was added would refuse a query naming a missing index."""
        name = f"{self.index_prefix}_automatic"
        if not self._automatic_index:
            with self.reading() as cur:
                cur.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?", (name,)
                )
                self._automatic_index = cur.fetchone() is not None
        return f" INDEXED BY {name}" if self._automatic_index else ""

    def shadow(self) -> SQLiteOutboxView:
        return SQLiteOutboxView(
            self.datastore, prefix=f"{self.prefix}_new", events_table=self.events_table
        )

    def replace_with(
        self, shadow: Any, application_name: str, catch_up: Callable[[Any], None]
    ) -> bool:
        assert isinstance(shadow, SQLiteOutboxView)
        with self.writing() as cur:
            catch_up(lambda after, limit: self._read_log(cur, after, limit))
            return self._swap(cur, shadow, application_name)

    def _read_log(self, cur: Any, after: int, limit: int) -> list[tuple[Any, ...]]:
        cur.execute(
            "SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {self.events_table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (after, limit),
        )
        return [(r[0], r[1], r[2], r[3], bytes(r[4])) for r in cur.fetchall()]
