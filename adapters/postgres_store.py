"""eventsourcing's PostgreSQL factory, inserting events as four plain arrays.

The library sends a save's events as one array of a composite type, which psycopg builds in
Python field by field: about a sixth of the intake's storing time in a profile. Four text
array literals (ids, versions, topics, states) carry the same rows in one statement, inside
the library's transaction, table lock and notification as before; and all of it, with
BEGIN and COMMIT, in one round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import eventsourcing.postgres as es_postgres  # a module import: the library wants one factory
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.utils import retry
from psycopg.sql import SQL, Identifier

from ledgerdesk.projections.pg_transactions import one_round_trip


class ApplicationRecorder(es_postgres.PostgresApplicationRecorder):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The library names the channel after the table alone: stores in other schemas of the
        # same database would wake each other.
        self.channel_name = f"{self.datastore.schema}_{self.events_table_name}"[:63]
        self.insert_events_statement = SQL(
            "INSERT INTO {schema}.{table} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[]) "
            "RETURNING notification_id"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )
        self._notify_statement = SQL(
            "SELECT pg_notify(%s, (SELECT max(notification_id) FROM {schema}.{table})::text)"
        ).format(
            schema=Identifier(self.datastore.schema),
            table=Identifier(self.events_table_name),
        )

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """The library's insert in one round trip: BEGIN, the table lock, the rows, the
        notification and COMMIT are sent together (pipeline mode). The library waits for the
        rows before sending the rest, which held the table lock, that every save in every
        process queues for, over one more round trip. A conflict still raises IntegrityError
        and saves nothing."""
        if not stored_events:
            return super().insert_events(stored_events, **kwargs)
        with self.datastore.get_connection() as conn:
            with one_round_trip(conn) as curs:
                self._insert_events(curs, stored_events, **kwargs)  # the library's hook
                rows = conn.cursor()
                self._insert_stored_events(rows, stored_events, **kwargs)
                # Under the table lock the highest position is this save's last one: the
                # notification names it, so listeners already there need not read the log.
                curs.execute(self._notify_statement, (self.channel_name,))
            return [row["notification_id"] for row in rows.fetchall()]

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
