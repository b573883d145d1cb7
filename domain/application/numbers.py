"""Short human ticket numbers, unique under concurrent writers on both stores.

A ticket's id is uuid5(number), so the event store's primary key (originator id, version)
refuses a second ticket with the same number whichever process writes it. Each process keeps
a counter seeded from the store; when another process took the number, the save fails with an
integrity error, the counter is re-seeded and the command runs again.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class NumberAllocator:
    def __init__(self, exists: Callable[[int], bool]) -> None:
        self._exists = exists
        self._next: int | None = None
        self._lock = threading.Lock()

    def allocate(self) -> int:
        with self._lock:
            if self._next is None:
                self._next = self.highest_taken() + 1
            number = self._next
            self._next += 1
            return number

    def reserve(self, count: int) -> None:
        """This thread's unit of work is about to take about `count` numbers (a group commit
        of ticket creations). The counter needs no round trips; see SequenceNumbers."""

    def resync(self) -> None:
        """Forget the counter: the next allocation looks at the store again."""
        with self._lock:
            self._next = None

    def unit_ended(self, committed: bool) -> None:
        """A unit of work in this thread was saved, or not (its numbers are free again). The
        counter needs no telling: after a conflict it re-reads the store and finds them."""

    def highest_taken(self) -> int:
        """Some n with n taken and n+1 free (the highest, unless numbers were skipped)."""
        if not self._exists(1):
            return 0
        low, high = 1, 2
        while self._exists(high):  # gallop: O(log n) look-ups
            low, high = high, high * 2
        while high - low > 1:  # low is taken, high is free
            middle = (low + high) // 2
            if self._exists(middle):
                low = middle
            else:
                high = middle
        return low
