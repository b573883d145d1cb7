"""Request-level group commit: concurrent requests' commands saved in one transaction.

Each append to the event store is one transaction (and on PostgreSQL one table lock), so
requests that each save alone queue behind each other. Here a request hands its command to
one committer thread, which takes every command waiting at that moment, runs them through
`app.batch()` (one unit of work, one transaction) and resolves each request's future with its
own result (or its own domain error) and the log position to wait for (read your writes).
A request may say what its command will read (`reads`): the batch loads all of it in one
query before the commands run, rather than one query per aggregate inside its transaction.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar
from uuid import UUID

from ledgerdesk.domain.errors import DomainError

T = TypeVar("T")


@dataclass(frozen=True)
class Committed(Generic[T]):
    """A command's result and the log position that holds its effect (None: saved nothing)."""

    value: T
    position: int | None


class _Item:
    __slots__ = ("command", "future", "numbers", "reads")

    def __init__(self, command: Callable[[], Any], numbers: int, reads: Sequence[UUID]) -> None:
        self.command = command
        self.numbers = numbers
        self.reads = reads
        self.future: Future[Committed[Any]] = Future()


class GroupCommitter:
    """One thread that saves the commands of concurrent requests together."""

    def __init__(self, app: Any, *, max_batch: int = 64) -> None:
        self.app = app
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stopped = False

    def submit(
        self, command: Callable[[], T], *, numbers: int = 0, reads: Sequence[UUID] = ()
    ) -> Future[Committed[T]]:
        """Queue a command (a callable that may raise DomainError); its future resolves once
        it is saved with the others, or with its error. `numbers`: how many tickets it opens
        (the batch reserves their numbers in one round trip); `reads`: aggregates it will
        likely read (the batch loads all its commands' in one query)."""
        item = _Item(command, numbers, reads)
        with self._lock:
            if self._stopped:
                raise RuntimeError("the committer has stopped")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="group-committer", daemon=True
                )
                self._thread.start()
            self._queue.put(item)
        return item.future

    def run(self, command: Callable[[], T], timeout: float = 60.0) -> Committed[T]:
        """Submit and wait (for code running in a worker thread)."""
        return self.submit(command).result(timeout)

    def stop(self, timeout: float = 5.0) -> None:
        with self._lock:
            self._stopped = True
            thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    # The committer thread ----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            items = [first]
            stop = False
            while len(items) < self.max_batch:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stop = True
                    break
                items.append(item)
            self._commit(items)
            if stop:
                return

    def _commit(self, items: list[_Item]) -> None:
        before = self.app.last_position
        try:
            results = self.app.batch(
                [item.command for item in items],
                numbers=sum(item.numbers for item in items),
                reads=[aggregate_id for item in items for aggregate_id in item.reads],
            )
        except DomainError as error:  # the whole batch failed (store down, endless conflicts)
            for item in items:
                item.future.set_exception(error)
            return
        except Exception as error:
            if len(items) == 1:  # the route re-raises it: the API logs it and answers 500
                items[0].future.set_exception(error)
                return
            # Some command is broken beyond a domain refusal: run each alone, so only it fails.
            for item in items:
                self._commit([item])
            return
        after = self.app.last_position
        position = after if after != before else None
        for item, result in zip(items, results, strict=True):
            if isinstance(result, DomainError):
                item.future.set_exception(result)
            else:
                item.future.set_result(Committed(result, position))
