"""Ticket numbers from a PostgreSQL sequence, for several processes saving at once.

The domain's allocator keeps a counter per process and lets the event store's primary key
refuse a number another process took (the command then runs again). That is right for one
writer at a time; with several API processes creating tickets together, their counters would
meet on nearly every save. A sequence hands each number out once, whichever process asks.
The sequence is brought up to the highest number in the store when a process first allocates
and again after any conflict (a restored database, numbers written before the sequence
existed). Numbers taken by a unit of work that was not saved (a conflict re-runs it) go back
to this process and are handed out again first, if still free; a command refused inside a
batch after taking its number leaves it unused. Numbers are unique and, in the order tickets
are saved, nearly gapless.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Callable
from typing import Any

from ledgerdesk.domain.application.numbers import NumberAllocator

SEQUENCE = "ledgerdesk_ticket_numbers"


class SequenceNumbers(NumberAllocator):
    def __init__(self, exists: Callable[[int], bool], datastore: Any) -> None:
        super().__init__(exists)
        self._datastore = datastore
        schema = datastore.schema
        name = '"' + SEQUENCE + '"'
        self._sequence = f'"{schema}".{name}' if schema else name
        self._seeded = False
        self._returned: list[int] = []  # a heap: the lowest goes out first
        self._local = threading.local()

    def allocate(self) -> int:
        with self._lock:
            if not self._seeded:
                self._seed()
                self._seeded = True
            number = self._free_returned()
        if number is None:
            with self._datastore.transaction(commit=True) as cur:
                cur.execute("SELECT nextval(%s::regclass) AS n", (self._sequence,))
                number = int(cur.fetchone()["n"])
        self._pending().append(number)
        return number

    def resync(self) -> None:
        with self._lock:
            self._seeded = False

    def unit_ended(self, committed: bool) -> None:
        pending = self._pending()
        if not committed and pending:
            with self._lock:
                for number in pending:
                    heapq.heappush(self._returned, number)
        pending.clear()

    def _pending(self) -> list[int]:
        """Numbers this thread's current unit of work took."""
        pending: list[int] | None = getattr(self._local, "pending", None)
        if pending is None:
            pending = self._local.pending = []
        return pending

    def _free_returned(self) -> int | None:
        while self._returned:
            number = heapq.heappop(self._returned)
            if not self._exists(number):
                return number
        return None

    def _seed(self) -> None:
        highest = self.highest_taken()
        with self._datastore.transaction(commit=True) as cur:
            cur.execute(f"CREATE SEQUENCE IF NOT EXISTS {self._sequence}")
            if highest:
                cur.execute(
                    f"SELECT setval(%s::regclass, GREATEST(%s, (SELECT CASE WHEN is_called "
                    f"THEN last_value ELSE 0 END FROM {self._sequence})))",
                    (self._sequence, highest),
                )
