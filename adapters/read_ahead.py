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
    """The application's `read_ahead` on PostgreSQL (its numbers must be SequenceNumbers)."""

    def __init__(self, app: Any, datastore: Any, reader: PostgresLogReader) -> None:
        self.app, self.datastore, self.reader = app, datastore, reader

    def __call__(self, ids: Sequence[UUID], numbers: int) -> dict[UUID, list[Any]]:
        allocator = self.app.numbers  # the application's, whenever it was set
        if not isinstance(allocator, SequenceNumbers):  # numbers without a sequence: apart
            allocator.reserve(numbers)
            return self.reader.events_of(ids) if ids else {}
        count = allocator.to_reserve(numbers)
        if not ids and count <= 0:
            return {}
        with self.datastore.get_connection() as conn:
            # The pipeline sends both statements, then syncs once on leaving the block; their
            # rows are read afterwards (reading one inside would sync early: a second trip).
            # Both run in one implicit transaction: if the read fails, no number is taken.
            with conn.pipeline():
                events, fresh = conn.cursor(), conn.cursor()
                if ids:
                    events.execute(*self.reader.events_query(ids))
                if count > 0:
                    fresh.execute(*allocator.reserve_query(count))
            if count > 0:  # first: taken numbers are kept (as spare) whatever follows
                allocator.reserved(allocator.numbers_from(fresh.fetchall()))
            return self.reader.events_from(events.fetchall()) if ids else {}
