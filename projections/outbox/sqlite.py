"""The outbox on SQLite: tables in the events' file."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.sqlite import SQLiteDatastore

from ledgerdesk.projections.outbox.sql import SqlOutboxView
from ledgerdesk.projections.ticket_index.sqlite import _open_transactions, _persistence_error


class SQLiteOutboxView(SqlOutboxView):
    def __init__(
        self, datastore: SQLiteDatastore, *, prefix: str = "outbox", events_table: str = ""
    ) -> None:
        self.datastore, self.events_table = datastore, events_table
        super().__init__(prefix)

    def table(self, name: str) -> str:
        return f"ledgerdesk_{name}"

    @contextmanager
    def writing(self) -> Iterator[Any]:
        """BEGIN IMMEDIATE (waits for the write lock instead of failing later); inside one,
        this thread's other views of the same file join it."""
        joined = _open_transactions.get(self.datastore)
        if joined is not None:
            yield joined
            return
        with self.datastore.get_connection(commit=True) as connection:
            raw = connection._sqlite_conn
            raw.execute("BEGIN IMMEDIATE")
            cursor = raw.cursor()
            _open_transactions.put(self.datastore, cursor)
            try:
                yield cursor
                raw.commit()
            except sqlite3.Error as error:
                raw.rollback()
                raise _persistence_error(error) from error
            except BaseException:
                raw.rollback()
                raise
            finally:
                _open_transactions.put(self.datastore, None)

    @contextmanager
    def reading(self) -> Iterator[Any]:
        joined = _open_transactions.get(self.datastore)
        if joined is not None:
            yield joined
            return
        with self.datastore.transaction(commit=False) as cursor:
            yield cursor

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
