"""A group commit's reads before its commands run, in one PostgreSQL round trip.

A batch of POST /tickets reads the aggregates its commands will look at (requesters' email
index entries and users, departments, Idempotency-Key records) and takes fresh ticket numbers
from the sequence. Each was a statement of its own, outside any transaction: two round trips,
each of which, under load, waits for the server and then for the committer thread to be
scheduled again (about a millisecond apiece, measured). Here both go in one pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from ledgerdesk.adapters.log_reader import PostgresLogReader
from ledgerdesk.adapters.ticket_numbers import SequenceNumbers


class PostgresReadAhead:
    def __init__(self, datastore: Any, reader: PostgresLogReader, numbers: SequenceNumbers) -> None:
        self.datastore, self.reader, self.numbers = datastore, reader, numbers

    def __call__(self, ids: Sequence[UUID], numbers: int) -> dict[UUID, list[Any]]:
        count = self.numbers.to_reserve(numbers)
        if not ids and count <= 0:
            return {}
        with self.datastore.get_connection() as conn:
            # The pipeline sends both statements, then syncs once on leaving the block; their
            # rows are read afterwards (reading one inside would sync early: a second trip).
            with conn.pipeline():
                events, fresh = conn.cursor(), conn.cursor()
                if ids:
                    events.execute(*self.reader.events_query(ids))
                if count > 0:
                    fresh.execute(*self.numbers.reserve_query(count))
            stored = self.reader.events_from(events.fetchall()) if ids else {}
            if count > 0:
                self.numbers.reserved(self.numbers.numbers_from(fresh.fetchall()))
        return stored
