"""Ticket numbers from a PostgreSQL sequence, for several processes saving at once.

The domain's allocator keeps a counter per process and lets the event store's primary key
refuse a number another process took (the command then runs again). That is right for one
writer at a time; with several API processes creating tickets together, their counters would
meet on nearly every save. A sequence hands each number out once, whichever process asks.
`ledgerdesk migrate` creates the sequence and brings it up to the highest number in the store;
a process checks the first number it takes, and the next after any conflict, and skips
numbers the store already has (a restored database). Numbers taken by a unit of work that was
not saved (a conflict re-runs it) go back to this process and are handed out again first, if
still free; a command refused inside a batch after taking its number, or a process stopping
with numbers handed back, leaves them unused. Numbers are unique and nearly gapless.

A group commit that will open k tickets reserves k numbers in one round trip (`reserve`, or
`reserve_query` sent along with the batch's reads by `adapters/read_ahead.py`, which hands the
numbers back through `reserved`) rather than asking once per ticket inside its transaction;
what it does not use is kept as spare for the process's next tickets (no one else has them:
no look-up before reuse).
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
        # Check the first number this process takes, and the next after any conflict: the
        # sequence may be behind the store (restored, or numbers written before it existed).
        self._check = True
        self._returned: list[int] = []  # a heap: the lowest goes out first
        self._spare: list[int] = []  # reserved and never taken: no one else has them
        self._local = threading.local()

    def prepare(self) -> None:
        """Create the sequence and bring it up to the highest number in the store (`migrate`,
        under its lock; it needs the right to create objects in the schema)."""
        with self._datastore.transaction(commit=True) as cur:
            cur.execute(f"CREATE SEQUENCE IF NOT EXISTS {self._sequence}")
        self._forward_to(self.highest_taken())

    def reserve(self, count: int) -> None:
        count = self.to_reserve(count)
        if count > 0:
            self.reserved(self._nextvals(count))

    def to_reserve(self, count: int) -> int:
        """How many fresh numbers `count` tickets need from the sequence."""
        with self._lock:
            return count - len(self._returned) - len(self._spare)  # those go out first

    def reserved(self, numbers: list[int]) -> None:
        """Numbers `reserve_query` gave, for this thread's unit of work to take first."""
        self._reserved().extend(numbers)

    def reserve_query(self, count: int) -> tuple[str, tuple[str, int]]:
        """The statement (and parameters) taking `count` fresh numbers, sorted by `numbers_from`."""
        return (
            "SELECT nextval(%s::regclass) AS n FROM generate_series(1, %s)",
            (self._sequence, count),
        )

    @staticmethod
    def numbers_from(rows: list[dict[str, Any]]) -> list[int]:
        return sorted(int(row["n"]) for row in rows)

    def allocate(self) -> int:
        with self._lock:
            number = self._free_returned()
            check, self._check = self._check, False
        if number is None:
            number = self._fresh()
            # After a conflict, or at a process's first number: skip any the store already has
            # (one look-up each; far behind, `migrate` brings the sequence up in one step).
            for _ in range(1000 if check else 0):
                if not self._exists(number):
                    break
                number = self._fresh()
        self._pending().append(number)
        return number

    def resync(self) -> None:
        with self._lock:
            self._check = True

    def unit_ended(self, committed: bool) -> None:
        pending, reserved = self._pending(), self._reserved()
        if reserved or (pending and not committed):
            with self._lock:
                for number in reserved:  # fresh from the sequence: no look-up needed
                    heapq.heappush(self._spare, number)
                for number in [] if committed else pending:  # looked up before reuse
                    heapq.heappush(self._returned, number)
        pending.clear()
        reserved.clear()

    def _fresh(self) -> int:
        """A number from the sequence no one has taken: a spare one, one this unit reserved, or
        the next."""
        with self._lock:
            if self._spare:
                return heapq.heappop(self._spare)
        reserved = self._reserved()
        return reserved.pop(0) if reserved else self._nextval()

    def _nextval(self) -> int:
        return self._nextvals(1)[0]

    def _nextvals(self, count: int) -> list[int]:
        # One statement, outside any transaction (nextval is never rolled back anyway): one
        # round trip where BEGIN and COMMIT around it made three.
        with self._datastore.get_connection() as conn, conn.cursor() as cur:
            cur.execute(*self.reserve_query(count))
            return self.numbers_from(cur.fetchall())

    def _forward_to(self, highest: int) -> None:
        """Move the sequence up to `highest` (never down: another process may be past it)."""
        if not highest:
            return
        with self._datastore.transaction(commit=True) as cur:
            cur.execute(
                f"SELECT setval(%s::regclass, %s) FROM {self._sequence} "
                "WHERE %s > CASE WHEN is_called THEN last_value ELSE 0 END",
                (self._sequence, highest, highest),
            )

    def _pending(self) -> list[int]:
        """Numbers this thread's current unit of work took."""
        pending: list[int] | None = getattr(self._local, "pending", None)
        if pending is None:
            pending = self._local.pending = []
        return pending

    def _reserved(self) -> list[int]:
        """Numbers this thread's current unit of work reserved and has yet to take."""
        reserved: list[int] | None = getattr(self._local, "reserved", None)
        if reserved is None:
            reserved = self._local.reserved = []
        return reserved

    def _free_returned(self) -> int | None:
        while self._returned:
            number = heapq.heappop(self._returned)
            if not self._exists(number):
                return number
        return None
