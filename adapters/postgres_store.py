"""eventsourcing's PostgreSQL factory, inserting events as four plain arrays.

The library sends a save's events as one array of a composite type, which psycopg builds in
Python field by field: about a sixth of the intake's storing time in a profile. Four text
array literals (ids, versions, topics, states) carry the same rows in one statement, inside
the library's transaction, table lock and notification as before; and all of it, with
BEGIN and COMMIT, in one round trip. A save whose answer is lost with its connection is
retried as the library retries it, and kept once if it had been committed.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import eventsourcing.postgres as es_postgres  # a module import: the library wants one factory
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    OperationalError,
    StoredEvent,
)
from psycopg.sql import SQL, Composed, Identifier

from ledgerdesk.projections.pg_transactions import one_round_trip

log = logging.getLogger("ledgerdesk.store")
SAVE_ATTEMPTS, SAVE_RETRY_WAIT = 10, 0.2  # as eventsourcing retries a save


class ApplicationRecorder(es_postgres.PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The library names the channel after the table alone: stores in other schemas of the
        # same database would wake each other.
        self.channel_name = f"{self.datastore.schema}_{self.events_table_name}"[:63]
        self.insert_events_statement = self._statement(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[]) "
            "RETURNING notification_id"
        )
        self._saved_statement = self._statement(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state, e.notification_id "
            "FROM {schema}.{table} e JOIN unnest(%s::uuid[], %s::bigint[]) AS k(id, version) "
            "ON e.originator_id = k.id AND e.originator_version = k.version"
        )
        self._notify_statement = self._statement(
            "SELECT pg_notify(%s, (SELECT max(notification_id) FROM {schema}.{table})::text)"
        )

    def _statement(self, text: str) -> Composed:
        """SQL over the events table: `{schema}.{table}` filled in."""
        return SQL(text).format(
            schema=Identifier(self.datastore.schema), table=Identifier(self.events_table_name)
        )

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert in one round trip, retried as the library retries it when
        the connection fails; but a retry that finds the rows already there, exactly as
        sent, answers with their positions instead of a conflict: the connection failed
        after the COMMIT reached the server, and the save was made once. (The library's
        retry raised IntegrityError then, and the command ran again: a second ticket.)"""
        if not stored_events:
            return super().insert_events(stored_events, **kwargs)
        attempt, uncertain = 0, False  # uncertain: an earlier attempt may have committed
        while True:
            attempt += 1
            try:
                return self._insert_or_find(stored_events, uncertain, **kwargs)
            except (InterfaceError, OperationalError):
                if attempt >= SAVE_ATTEMPTS:
                    raise
                uncertain = True
                time.sleep(SAVE_RETRY_WAIT * (1 + 0.1 * (random.random() - 0.5)))

    def _insert_or_find(
        self, stored_events: Sequence[StoredEvent], uncertain: bool, **kwargs: Any
    ) -> list[int]:
        """One attempt; after an attempt that may have committed, a conflict with rows that
        are exactly these is that attempt's save (a failure to look is one more failure of
        the connection, and retried)."""
        try:
            return self._insert_once(stored_events, **kwargs)
        except IntegrityError:
            if uncertain and (saved := self._already_saved(stored_events)) is not None:
                log.warning("a save's answer was lost; the save had been made: kept once")
                return saved
            raise

    def _insert_once(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> list[int]:
        """BEGIN, the table lock, the rows, the notification and COMMIT, sent together
        (pipeline mode). The library waits for the rows before sending the rest, which held
        the table lock, that every save in every process queues for, over one more round
        trip. A conflict raises IntegrityError and saves nothing."""
        with self.datastore.get_connection() as conn:
            with one_round_trip(conn) as curs:
                self._insert_events(curs, stored_events, **kwargs)  # the library's hook
                rows = conn.cursor()
                self._insert_stored_events(rows, stored_events, **kwargs)
                # Under the table lock the highest position is this save's last one: the
                # notification names it, so listeners already there need not read the log.
                curs.execute(self._notify_statement, (self.channel_name,))
            return [row["notification_id"] for row in rows.fetchall()]

    def _already_saved(self, stored_events: Sequence[StoredEvent]) -> list[int] | None:
        """The positions of these events if the log holds every one of them byte for byte,
        else None. Each carries its aggregate's id and version, its time to the microsecond
        and the hash of the aggregate's event before: no other save writes the same bytes."""
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(self._saved_statement, arrays(stored_events)[:2])
            found = {
                (UUID(str(row["originator_id"])), row["originator_version"]): row
                for row in curs.fetchall()
            }
        positions = []
        for event in stored_events:
            row = found.get((UUID(str(event.originator_id)), event.originator_version))
            if row is None or row["topic"] != event.topic or bytes(row["state"]) != event.state:
                return None
            positions.append(row["notification_id"])
        return positions

    def _insert_stored_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        self._lock_table(curs)
        curs.execute(self.insert_events_statement, arrays(stored_events))


def arrays(events: Sequence[StoredEvent]) -> tuple[str, str, str, str]:
    """The four array literals of a save's rows, in order."""
    return (
        "{" + ",".join(str(e.originator_id) for e in events) + "}",
        "{" + ",".join(str(e.originator_version) for e in events) + "}",
        "{" + ",".join(_quoted(e.topic) for e in events) + "}",
        # bytea in hex: `\x…`, its backslash doubled inside a quoted array element
        "{" + ",".join(f'"\\\\x{bytes(e.state).hex()}"' for e in events) + "}",
    )


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Factory(es_postgres.PostgresFactory):
    application_recorder_class = ApplicationRecorder
