"""Reading the stored event log as plain rows, fast, for `audit verify` and sealing.

The library's notification log builds a UUID and a Notification object per row; verifying
needs only the id's hex, the version, the topic and the stored bytes, so this asks the
store for exactly those (about a third of the cost per row).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.sqlite import SQLiteApplicationRecorder

if TYPE_CHECKING:  # psycopg costs a quarter second to import; only PostgreSQL needs it
    from eventsourcing.postgres import PostgresApplicationRecorder

Row = tuple[int, str, int, str, bytes]  # position, aggregate id hex, version, topic, state


class SQLiteLogReader:
    def __init__(self, recorder: SQLiteApplicationRecorder) -> None:
        self._recorder = recorder
        self._sql = (
            "SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {recorder.events_table_name} WHERE rowid >= ? ORDER BY rowid LIMIT ?"
        )

    def rows(self, start: int, limit: int) -> list[Row]:
        with self._recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(self._sql, (start, limit))
            return [(r[0], r[1], r[2], r[3], _bytes(r[4])) for r in cursor.fetchall()]

    def by_aggregate(
        self, topics: Sequence[str], up_to: int, page: int
    ) -> Generator[list[Row], None, None]:
        """Events of these topics at or before a position, aggregate by aggregate (in the
        order of their ids, each in version order), `page` rows at a time. The log is
        append-only and positions are given in commit order, so what is at or before `up_to`
        never changes: pages read in separate transactions add up to one consistent read."""
        marks = ",".join("?" * len(topics))
        sql = (
            "SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {self._recorder.events_table_name} WHERE rowid <= ? AND topic IN ({marks}) "
            "{after}ORDER BY originator_id, originator_version LIMIT ?"
        )
        after: tuple[str, int] | None = None
        while True:
            with self._recorder.datastore.transaction(commit=False) as cursor:
                if after is None:
                    cursor.execute(sql.format(after=""), [up_to, *topics, page])
                else:
                    cursor.execute(
                        sql.format(after="AND (originator_id, originator_version) > (?, ?) "),
                        [up_to, *topics, *after, page],
                    )
                rows = [(r[0], r[1], r[2], r[3], _bytes(r[4])) for r in cursor.fetchall()]
            if rows:
                yield rows
            if len(rows) < page:
                return
            after = rows[-1][1], rows[-1][2]

    def count(self, up_to: int, topics: Sequence[str] | None = None) -> int:
        """How many events (of these topics) are at or before a position."""
        sql = f"SELECT count(*) FROM {self._recorder.events_table_name} WHERE rowid <= ?"
        if topics is not None:
            sql += f" AND topic IN ({','.join('?' * len(topics))})"
        with self._recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(sql, [up_to, *(topics or ())])
            return int(cursor.fetchone()[0])

    def events_of(self, ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """Every stored event of many aggregates in one query, in version order."""
        found: dict[UUID, list[StoredEvent]] = {}
        table = self._recorder.events_table_name
        for start in range(0, len(ids), 500):  # SQLite's variable limit is generous, not endless
            chunk = [i.hex for i in ids[start : start + 500]]
            sql = (
                f"SELECT originator_id, originator_version, topic, state FROM {table} "
                f"WHERE originator_id IN ({','.join('?' * len(chunk))}) "
                "ORDER BY originator_id, originator_version"
            )
            with self._recorder.datastore.transaction(commit=False) as cursor:
                cursor.execute(sql, chunk)
                for r in cursor.fetchall():
                    event = StoredEvent(UUID(r[0]), r[1], r[2], _bytes(r[3]))
                    found.setdefault(UUID(r[0]), []).append(event)
        return found


class PostgresLogReader:
    def __init__(self, recorder: PostgresApplicationRecorder) -> None:
        from psycopg.sql import SQL, Identifier

        self._recorder = recorder
        self._sql = SQL(
            "SELECT notification_id, replace(originator_id::text, '-', ''), originator_version, "
            "topic, state FROM {schema}.{table} WHERE notification_id >= %s "
            "ORDER BY notification_id LIMIT %s"
        ).format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name),
        )
        table = SQL("{schema}.{table}").format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name),
        )
        self._by_aggregate_sql = SQL(
            "SELECT notification_id, replace(originator_id::text, '-', ''), originator_version, "
            "topic, state FROM {table} WHERE notification_id <= %s AND topic = ANY(%s) "
            "ORDER BY originator_id, originator_version"
        ).format(table=table)
        self._count_sql = {
            chosen: SQL(
                "SELECT count(*) FROM {table} WHERE notification_id <= %s"
                + (" AND topic = ANY(%s)" if chosen else "")
            ).format(table=table)
            for chosen in (False, True)
        }
        self._events_sql = SQL(
            "SELECT originator_id, originator_version, topic, state FROM {schema}.{table} "
            "WHERE originator_id = ANY(%s::uuid[]) ORDER BY originator_id, originator_version"
        ).format(
            schema=Identifier(recorder.datastore.schema),
            table=Identifier(recorder.events_table_name),
        )

    @contextmanager
    def _statement(self) -> Iterator[Any]:
        """A cursor for one statement, outside any transaction: a single statement reads one
        snapshot anyway, and BEGIN and ROLLBACK around it would be two more round trips."""
        with self._recorder.datastore.get_connection() as conn, conn.cursor() as cursor:
            yield cursor

    def events_of(self, ids: Sequence[UUID]) -> dict[UUID, list[StoredEvent]]:
        """Every stored event of many aggregates in one query, in version order."""
        with self._statement() as cursor:
            cursor.execute(*self.events_query(ids))
            return self.events_from(cursor.fetchall())

    def events_query(self, ids: Sequence[UUID]) -> tuple[Any, tuple[str]]:
        """`events_of`'s statement and parameters (to send along with others)."""
        # One text literal, not a list: psycopg dumps list items one by one, slowly.
        return self._events_sql, ("{" + ",".join(str(i) for i in ids) + "}",)

    @staticmethod
    def events_from(rows: Sequence[dict[str, Any]]) -> dict[UUID, list[StoredEvent]]:
        """`events_of`'s answer from its statement's rows."""
        found: dict[UUID, list[StoredEvent]] = {}
        for r in rows:
            event = StoredEvent(
                r["originator_id"], r["originator_version"], r["topic"], _bytes(r["state"])
            )
            found.setdefault(r["originator_id"], []).append(event)
        return found

    def rows(self, start: int, limit: int) -> list[Row]:
        with self._statement() as cursor:
            cursor.execute(self._sql, (start, limit))
            return _pg_rows(cursor.fetchall())

    def by_aggregate(
        self, topics: Sequence[str], up_to: int, page: int
    ) -> Generator[list[Row], None, None]:
        """As SQLiteLogReader.by_aggregate (events are inserted under a table lock, so
        positions are committed in order here too), through one server-side cursor: pages of
        a keyset read would each be planned alone, and badly."""
        datastore = self._recorder.datastore
        with (
            datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor(name="ledgerdesk_by_aggregate") as cursor,
        ):
            # The transaction stays open, idle, while each page is applied and written: the
            # datastore's idle-in-transaction timeout (5 s) would end it under a slow batch.
            conn.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            cursor.execute(self._by_aggregate_sql, (up_to, list(topics)))
            while rows := cursor.fetchmany(page):
                yield _pg_rows(rows)

    def count(self, up_to: int, topics: Sequence[str] | None = None) -> int:
        with self._statement() as cursor:
            if topics is None:
                cursor.execute(self._count_sql[False], (up_to,))
            else:
                cursor.execute(self._count_sql[True], (up_to, list(topics)))
            found = cursor.fetchone()
            return int(found["count"]) if found else 0


def _pg_rows(rows: Sequence[dict[str, Any]]) -> list[Row]:
    return [
        (
            r["notification_id"],
            r["replace"],
            r["originator_version"],
            r["topic"],
            _bytes(r["state"]),
        )
        for r in rows
    ]


def _bytes(state: Any) -> bytes:
    if isinstance(state, bytes):
        return state
    if isinstance(state, bytearray | memoryview):
        return bytes(state)
    return str(state).encode("utf-8")  # a row rewritten by hand as TEXT: hash what is there


def log_reader_for(recorder: Any) -> SQLiteLogReader | PostgresLogReader | None:
    if isinstance(recorder, SQLiteApplicationRecorder):
        return SQLiteLogReader(recorder)
    # By class name along the MRO: importing psycopg just to ask would cost a quarter second.
    if any(c.__name__ == "PostgresApplicationRecorder" for c in type(recorder).__mro__):
        return PostgresLogReader(recorder)
    return None
