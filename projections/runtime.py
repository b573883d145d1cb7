"""Keeping read models current: catch-up after each save, log following, restarts, waits.

One thread per projection reads the log from the view's tracking position and applies it in
batches (one transaction each, with the tracking row). It wakes up when this process saves
(the application's `after_save` callbacks), when PostgreSQL notifies a write by any process
(the store's channel, whose payload is the last position written), or after `poll_interval`
(SQLite writes by other processes). `wait(position)` blocks on a condition that each
processed batch notifies.

API worker processes that leave projecting to another process `watch()` instead: the
PostgreSQL views notify the position each batch reached, and the waits resolve from that.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from collections.abc import Callable, Collection, Sequence
from concurrent.futures import Future, InvalidStateError, ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Recording, Tracking

from ledgerdesk.domain.ports import LogReader, LogRow
from ledgerdesk.projections.log import EventDecoder, ReadLog, collector_paused

log = logging.getLogger("ledgerdesk.projections")
MAX_BACKOFF = 5.0
BACKGROUND_DELAY = 0.05  # seconds a background projection lets pass after being woken
STATISTICS_EVERY = 25_000  # events applied between two refreshes of the planner's statistics


class TrackingMovedError(Exception):
    """A view's tracking position is not the one a batch was computed from."""

    def __init__(self, position: int) -> None:
        super().__init__(f"the view's tracking position moved to {position}")
        self.position = position


class RebuildableView(Protocol):
    def position(self, application_name: str) -> int: ...

    def create_table(self) -> None: ...

    def drop_tables(self) -> None: ...

    def shadow(self) -> Any: ...

    def replace_with(
        self, shadow: Any, application_name: str, catch_up: Callable[[ReadLog | None], None]
    ) -> bool: ...

    def refresh_statistics(self) -> None: ...


class Listener(Protocol):
    """Notifications from the store (PostgreSQL LISTEN), on one connection."""

    def run(
        self,
        channels: Sequence[str],
        on_notify: Callable[[str, str], None],
        on_connect: Callable[[], None],
        stopping: threading.Event,
        on_idle: Callable[[], None] = ...,
    ) -> None: ...


class BatchProjection(Protocol):
    name: str
    topics: tuple[str, ...]

    @property
    def view(self) -> Any: ...

    def process_events(
        self, items: Sequence[tuple[Any | None, Tracking]], expected: int | None = None
    ) -> None: ...


@dataclass(frozen=True)
class ProjectionStatus:
    name: str
    position: int
    head: int
    running: bool
    failures: int
    last_error: str

    @property
    def lag(self) -> int:
        return max(self.head - self.position, 0)


class _Follower:
    """One projection: its thread, its position and the condition waiters sleep on."""

    def __init__(self, runtime: ProjectionRuntime, projection: BatchProjection) -> None:
        self.runtime = runtime
        self.projection = projection
        self.topics = frozenset(projection.topics)
        self.position: int | None = None
        self.changed = threading.Condition()
        self.wake = threading.Event()
        self.lock = threading.Lock()  # one batch at a time through the projection object
        self.failures = 0
        self.last_error = ""
        self.thread: threading.Thread | None = None
        self.statistics: threading.Thread | None = None  # a refresh of the planner's statistics
        # Read back by the client that wrote (search, lists): commands wait for it. The outbox
        # works in the background; nobody waits for it.
        self.read_back: bool = getattr(projection, "read_back", True)
        # While the runtime runs: "runs" (its thread here), "watched" (another process runs
        # it; its tracking channel tells how far) or None (not followed by this process).
        self.mode: str | None = None

    def advance(self, position: int) -> None:
        with self.changed:
            self.position = position
            self.changed.notify_all()
        self.runtime._settle()

    def catch_up(
        self, batch_size: int, read: ReadLog | None = None, *, read_ahead: bool = False
    ) -> int:
        """Apply everything after the view's position; returns how many events were read.

        With `read_ahead` (rebuilds), the next batch is read and decoded in a helper thread
        while this one is written: decoding is Python, writing mostly waits for the store.
        """
        app = self.runtime.app
        read = read or self.runtime.read_log

        def fetch(after: int) -> tuple[Sequence[LogRow], list[tuple[Any, Tracking]]]:
            notifications = read(after, batch_size)
            return notifications, self.runtime.decode(notifications, self.topics)

        done = 0
        with self.lock, ThreadPoolExecutor(1) as helper:
            if self.position is None:
                self.advance(self.projection.view.position(app.name))
            ahead: tuple[int, Future[Any]] | None = None
            while True:
                assert self.position is not None
                if ahead is not None and ahead[0] == self.position:
                    notifications, items = ahead[1].result()
                else:
                    notifications, items = fetch(self.position)
                ahead = None
                if not notifications:
                    return done
                last = notifications[-1][0]
                if read_ahead and len(notifications) == batch_size:
                    ahead = (last, helper.submit(fetch, last))
                try:
                    self.projection.process_events(items, expected=self.position)
                except TrackingMovedError as moved:  # another process (or a rebuild) moved it
                    self.advance(moved.position)
                    continue
                self.advance(last)
                done += len(notifications)
                if len(notifications) < batch_size or self.runtime.stopping.is_set():
                    return done  # stopping: the rest waits for the next start

    def refresh_statistics(self) -> bool:
        """Refresh the view's planner statistics in a thread of their own (False while the last
        refresh still runs). PostgreSQL's ANALYZE takes 30 ms and more as the index grows, and
        blocks no write: run here, it held back every request waiting for this projection.
        (SQLite's ANALYZE holds the file's write lock meanwhile, wherever it runs.)"""
        if self.runtime.stopping.is_set() or (
            self.statistics is not None and self.statistics.is_alive()
        ):
            return False

        def refresh() -> None:
            try:
                self.projection.view.refresh_statistics()
            except Exception:  # the next refresh tries again; the projection goes on meanwhile
                log.exception("refreshing the statistics of %s failed", self.projection.name)

        self.statistics = threading.Thread(
            target=refresh, name=f"statistics-{self.projection.name}", daemon=True
        )
        self.statistics.start()
        return True

    def run(self) -> None:
        backoff = 0.05
        stopping = self.runtime.stopping
        unanalysed = STATISTICS_EVERY  # statistics once at start, then as the view grows
        while not stopping.is_set():
            self.wake.wait(self.runtime.poll_interval)
            self.wake.clear()
            if not self.read_back:
                # Nobody waits for a background projection: let the read-back ones have the
                # moment after a write (read your writes), and gather a bigger batch meanwhile.
                stopping.wait(BACKGROUND_DELAY)
            if stopping.is_set():
                return
            try:
                unanalysed += self.catch_up(self.runtime.batch_size)
                if unanalysed >= STATISTICS_EVERY and self.refresh_statistics():
                    unanalysed = 0
                backoff = 0.05
            except Exception as error:
                self.failures += 1
                self.last_error = f"{type(error).__name__}: {error}"
                log.exception(
                    "projection %s failed (%d so far); restarting from its tracking position",
                    self.projection.name,
                    self.failures,
                )
                with self.lock:  # re-read from the view: nothing of the failed batch was kept
                    self.position = None
                stopping.wait(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                self.wake.set()


def _channel(follower: _Follower) -> str:
    """The PostgreSQL channel a view notifies its tracking position on ("" for none)."""
    return str(getattr(follower.projection.view, "tracking_channel", ""))


class ProjectionRuntime:
    def __init__(
        self,
        app: Application[Any],
        projections: Sequence[BatchProjection],
        *,
        batch_size: int = 500,
        poll_interval: float = 0.5,
        listener: Listener | None = None,
    ) -> None:
        self.app = app
        self.listener = listener
        self.batch_size = batch_size
        self.poll_interval = poll_interval
        self.stopping = threading.Event()
        self.followers = {p.name: _Follower(self, p) for p in projections}
        self.decoder = EventDecoder(app.mapper)
        self._follow_thread: threading.Thread | None = None
        self._started = False
        self._promises: list[tuple[int, Future[bool]]] = []  # (position, resolved when reached)
        self._promises_lock = threading.Lock()

    @property
    def projections(self) -> dict[str, BatchProjection]:
        return {name: f.projection for name, f in self.followers.items()}

    # Running -------------------------------------------------------------------------------------

    def start(
        self,
        only: Collection[str] | None = None,
        *,
        background: bool = True,
        read_back: bool = True,
        project: bool = True,
    ) -> None:
        """Start following the log (idempotent); `only` these projections when given, without
        the background ones (the outbox) when `background` is false and without the ones
        clients read back (the ticket index) when `read_back` is false: another process (the
        worker, or the API) follows the log for them. On PostgreSQL the projections left to
        another process are watched instead: their tracking channel says how far that process
        got, so `wait` covers them too. `project=False` runs none here (`watch`)."""
        if self._started:
            return
        self._started = True
        self.stopping.clear()
        callbacks = getattr(self.app, "after_save", None)
        if callbacks is not None and project:
            callbacks.append(self._saved)
        for name, follower in self.followers.items():
            follower.mode = None
            if (
                project
                and (only is None or name in only)
                and (read_back if follower.read_back else background)
            ):
                follower.mode = "runs"
                follower.thread = threading.Thread(
                    target=follower.run, name=f"projection-{follower.projection.name}", daemon=True
                )
                follower.thread.start()
                follower.wake.set()
            elif self.listener is not None and _channel(follower):
                follower.mode = "watched"
        self._follow_thread = threading.Thread(
            target=self._follow_log, name="projection-log-follower", daemon=True
        )
        self._follow_thread.start()

    def watch(self) -> None:
        """Follow, without projecting, how far another process has projected the read models
        (PostgreSQL: their tracking channels): `wait` and `reached` then resolve from that
        process's progress. For API workers beside `serve`'s projector."""
        if self.listener is None or not all(
            _channel(f) for f in self.followers.values() if f.read_back
        ):
            raise RuntimeError("watching another process's projections needs PostgreSQL")
        self.start(project=False)

    def stop(self, timeout: float = 5.0) -> None:
        if not self._started:
            return
        self._started = False
        self.stopping.set()
        callbacks = getattr(self.app, "after_save", None)
        if callbacks is not None and self._saved in callbacks:
            callbacks.remove(self._saved)
        deadline = time.monotonic() + timeout
        for follower in self.followers.values():
            follower.wake.set()
        for follower in self.followers.values():
            if follower.thread is not None:
                follower.thread.join(max(deadline - time.monotonic(), 0.0))
            # Read once its follower has stopped (which may have just started one); joined
            # before the store's connections close (SQLite's would crash under it).
            if follower.statistics is not None:
                follower.statistics.join(max(deadline - time.monotonic(), 0.0))
        if self._follow_thread is not None:
            self._follow_thread.join(timeout)
        with self._promises_lock:
            waiting, self._promises = self._promises, []
        for _, promise in waiting:  # nobody will reach them now
            with suppress(InvalidStateError):
                promise.set_result(False)

    @property
    def running(self) -> bool:
        return self._started

    def catch_up(self) -> int:
        """Apply everything new now, in the calling thread (CLI, tests)."""
        return sum(f.catch_up(self.batch_size) for f in self.followers.values())

    def wait(
        self,
        position: int | None,
        timeout: float = 5.0,
        *,
        everything: bool = False,
        only: Collection[str] | None = None,
    ) -> bool:
        """Block until every read model clients read back has processed the log up to
        `position` (read your writes; `everything`: background ones like the outbox too;
        `only`: just these); False on timeout. Without a running runtime, catch up in this
        thread."""
        if not position:
            return True
        if not self._started:
            self.catch_up()
        deadline = time.monotonic() + timeout
        for name, follower in self.followers.items():
            if only is not None and name not in only:
                continue
            if only is None and not (everything or follower.read_back):
                continue
            if self._started and follower.mode is None:
                continue  # another process runs it and this one cannot see how far it got
            with follower.changed:

                def reached(f: _Follower = follower) -> bool:
                    return f.position is not None and f.position >= position

                if reached():
                    continue
                follower.wake.set()
                if not follower.changed.wait_for(reached, max(deadline - time.monotonic(), 0)):
                    return False
        return True

    def reached(self, position: int | None) -> Future[bool]:
        """A future resolved (True) once every projection has processed the log up to
        `position`: read your writes for code that must not block a thread (async routes).
        Only while the runtime runs; a stopped runtime catches up here, in this thread."""
        promise: Future[bool] = Future()
        if not position or self._processed() >= position:
            promise.set_result(True)
            return promise
        if not self._started:
            promise.set_result(self.wait(position))
            return promise
        with self._promises_lock:
            self._promises.append((position, promise))
        self._settle()  # it may have been reached meanwhile
        self._wake_all(position)
        return promise

    def _processed(self) -> int:
        """The log position every projection clients read back has reached."""
        positions = [
            f.position
            for f in self.followers.values()
            if f.read_back and (f.mode is not None or not self._started)
        ]
        return min((p or 0 for p in positions), default=0)

    def _settle(self) -> None:
        if not self._promises:
            return
        processed = self._processed()
        with self._promises_lock:
            due = [p for p in self._promises if p[0] <= processed]
            self._promises = [p for p in self._promises if p[0] > processed]
        for _, promise in due:
            with suppress(InvalidStateError):  # its waiter may have given up (cancelled it)
                promise.set_result(True)

    def wait_for_last_command(self, timeout: float = 5.0) -> bool:
        """Wait until the read models show what this thread's last command saved."""
        return self.wait(getattr(self.app, "last_position", None), timeout)

    def _saved(self, recordings: list[Recording[Any]]) -> None:
        if recordings:
            self._wake_all(max(r.notification.id for r in recordings))

    def _wake_all(self, position: int) -> None:
        for follower in self.followers.values():
            if follower.mode != "watched" and (
                follower.position is None or follower.position < position
            ):
                follower.wake.set()

    def _follow_log(self) -> None:
        """PostgreSQL LISTEN/NOTIFY, on one connection: wake the projections run here when any
        process writes (the payload is the last position written, so a projection already
        there sleeps on); move the watched ones to the position their tracking channel names.
        After each (re)connection, and every `poll_interval`, the watched positions are read
        again: a notification lost with a dead connection delays a wait, never blocks it."""
        events = getattr(self.app.recorder, "channel_name", None)
        watched = {_channel(f): f for f in self.followers.values() if f.mode == "watched"}
        runs_here = any(f.mode == "runs" for f in self.followers.values())
        channels = ([events] if events and runs_here else []) + list(watched)
        if self.listener is None or not channels:
            return  # SQLite: polling, and the in-process callbacks, are enough
        last_refresh = 0.0

        def refresh() -> None:
            nonlocal last_refresh
            last_refresh = time.monotonic()
            for follower in watched.values():
                follower.advance(
                    max(follower.position or 0, follower.projection.view.position(self.app.name))
                )

        def notified(channel: str, payload: str) -> None:
            position = int(payload) if payload.isdigit() else sys.maxsize
            follower = watched.get(channel)
            if follower is None:
                self._wake_all(position)
            elif position != sys.maxsize:
                follower.advance(max(follower.position or 0, position))

        def connected() -> None:
            self._wake_all(sys.maxsize)
            refresh()

        def idle() -> None:
            if watched and time.monotonic() - last_refresh >= self.poll_interval:
                refresh()

        self.listener.run(channels, notified, connected, self.stopping, idle)

    # Reading the log ---------------------------------------------------------------------------

    def read_log(self, after: int, limit: int) -> Sequence[LogRow]:
        """The log after a position, through the library (cheapest for the few new events a
        live projection reads)."""
        return [
            (n.id, UUID(str(n.originator_id)).hex, n.originator_version, n.topic, n.state)
            for n in self.app.recorder.select_notifications(
                start=after, limit=limit, inclusive_of_start=False
            )
        ]

    def read_log_in_bulk(self, after: int, limit: int) -> Sequence[LogRow]:
        """The log after a position as plain rows (no objects per row), for rebuilds."""
        reader = getattr(self.app, "log_reader", None)
        if reader is None:
            return self.read_log(after, limit)
        return reader.rows(after + 1, limit)

    def decode(
        self, rows: Sequence[LogRow], topics: frozenset[str]
    ) -> list[tuple[Any | None, Tracking]]:
        """Domain events for the topics a projection handles; None for the others."""
        name, event = self.app.name, self.decoder.event
        return [(event(row) if row[3] in topics else None, Tracking(name, row[0])) for row in rows]

    # Status and rebuilding ----------------------------------------------------------------------

    def status(self) -> list[ProjectionStatus]:
        head = self.app.recorder.max_notification_id() or 0
        return [
            ProjectionStatus(
                name=name,
                position=f.projection.view.position(self.app.name),
                head=head,
                running=self._started,
                failures=f.failures,
                last_error=f.last_error,
            )
            for name, f in self.followers.items()
        ]

    def rebuild(
        self,
        name: str,
        progress: Callable[[int, int], None] | None = None,
        batch_size: int = 20_000,
        attempts: int = 20,
    ) -> int:
        """Replay the whole log into fresh tables, then swap them in; returns events read.

        The live view keeps serving (and following the log) meanwhile. The swap happens only
        when the rebuilt tables are at least as far along as the live ones.
        """
        with collector_paused():
            return self._rebuild(name, progress, batch_size, attempts)

    def _rebuild(
        self,
        name: str,
        progress: Callable[[int, int], None] | None,
        batch_size: int,
        attempts: int,
    ) -> int:
        follower = self.followers[name]
        live = follower.projection.view
        shadow = live.shadow()
        shadow.drop_tables()
        shadow.create_table()
        for_view = getattr(follower.projection, "for_view", None)
        rebuilding = (
            for_view(shadow)
            if for_view is not None
            else type(follower.projection)(shadow, self.app.name)  # type: ignore[call-arg]
        )
        shadow_follower = _Follower(self, rebuilding)
        shadow_follower.position = 0
        done = 0
        reader = getattr(self.app, "log_reader", None)
        if getattr(rebuilding, "per_aggregate", False) and reader is not None:
            # The first pass, aggregate by aggregate, up to the position it covered.
            shadow_follower.position, done = self._load_by_aggregate(
                rebuilding, reader, progress, batch_size
            )

        def catch_up(read_log: ReadLog | None = None) -> None:
            """To the head of the log; with `read_log`, inside the view's swap transaction,
            whose store may be reachable only through that transaction."""
            nonlocal done
            while True:
                read = shadow_follower.catch_up(
                    batch_size, read_log or self.read_log_in_bulk, read_ahead=read_log is None
                )
                done += read
                if progress is not None and read_log is None:
                    head = self.app.recorder.max_notification_id() or 0
                    # events so far, of about as many as there will be
                    position = shadow_follower.position or 0
                    progress(done, done + max(head - position, 0))
                if read < batch_size:
                    return

        for _ in range(attempts):
            catch_up()  # most of the log, while the live view serves and follows
            if live.replace_with(shadow, self.app.name, catch_up):
                with follower.lock:
                    follower.position = None  # re-read from the swapped-in tables
                follower.wake.set()
                if progress is not None:
                    progress(shadow_follower.position or 0, shadow_follower.position or 0)
                return done
        raise RuntimeError(f"the rebuild of {name} could not catch up with the live view")

    def _load_by_aggregate(
        self,
        projection: Any,
        reader: LogReader,
        progress: Callable[[int, int], None] | None,
        batch_size: int,
    ) -> tuple[int, int]:
        """A rebuild's first pass for a view whose rows each depend on one aggregate alone:
        the log up to its current head, read aggregate by aggregate, so each row is written
        once, whole, instead of once per batch that touches it. Returns the position covered
        (set as the shadow's tracking position; the usual catch-up goes on from there) and
        how many events of the log it covered.

        Three stages overlap: a helper reads and decodes the next batch, this thread applies
        one, and another helper writes the one before (the store works while Python does).
        Batches end between aggregates, so no batch reads a row another has yet to write.
        """
        up_to = self.app.recorder.max_notification_id() or 0
        if not up_to:
            return 0, 0
        topics = sorted(projection.topics)
        total = reader.count(up_to, topics)
        decode = self.decoder.event
        pages = reader.by_aggregate(topics, up_to, batch_size)
        carried: list[LogRow] = []  # the last aggregate of a page, whose events may go on

        def fetch() -> list[Any] | None:
            nonlocal carried
            rows = carried
            for page in pages:
                rows = rows + page
                last = rows[-1][1]
                cut = len(rows)
                while cut and rows[cut - 1][1] == last:
                    cut -= 1
                if cut:  # else the whole page is one aggregate: read on
                    rows, carried = rows[:cut], rows[cut:]
                    return [decode(row) for row in rows]
            carried = []
            return [decode(row) for row in rows] if rows else None

        done = 0
        try:
            with ThreadPoolExecutor(1) as reading, ThreadPoolExecutor(1) as writing:
                ahead = reading.submit(fetch)
                written: Future[None] | None = None
                while (events := ahead.result()) is not None:
                    ahead = reading.submit(fetch)
                    write = projection.load(events)
                    if written is not None:
                        written.result()
                    written = writing.submit(write)
                    done += len(events)
                    if progress is not None:
                        progress(done, total)
                if written is not None:
                    written.result()
        finally:
            pages.close()
        projection.loaded(up_to)
        # The log's events up to the position, as the catch-up counts them (the others were
        # skipped by the read itself).
        return up_to, reader.count(up_to)
