"""The application core: configuration, command execution with retries, and group commit."""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Iterable, Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TypeVar
from uuid import UUID, uuid4

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    Mapper,
    PersistenceError,
    Recording,
    StoredEvent,
)
from eventsourcing.utils import Environment, EnvType, get_topic

from ledgerdesk.domain.application.numbers import NumberAllocator
from ledgerdesk.domain.application.unit_of_work import UnitOfWork, current_unit
from ledgerdesk.domain.chain import digest_stored, encoded_states, stored_digests
from ledgerdesk.domain.errors import ConflictError, DomainError, StoreUnavailableError
from ledgerdesk.domain.idempotency import IdempotencyRecord
from ledgerdesk.domain.ports import Clock, IdFactory, LogReader, ReadAhead
from ledgerdesk.domain.seal import LogSeal
from ledgerdesk.domain.ticket import Ticket, format_number, ticket_id
from ledgerdesk.domain.values import actor as check_actor
from ledgerdesk.domain.values import text as v_text

T = TypeVar("T")
log = logging.getLogger("ledgerdesk.app")
ATTEMPTS = 30  # a command meeting a concurrent write is re-run this many times at most
# The log position of the last save made in this thread (or task): what a reader waits for.
_last_position: ContextVar[int | None] = ContextVar("ledgerdesk_last_position", default=None)


class _UtcClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Core(Application[UUID]):
    """Commands are methods that run `get -> check -> mutate` inside a unit of work."""

    name = "LedgerDesk"

    log_reader: LogReader | None = None  # set by bootstrap; the notification log otherwise
    # Set by bootstrap where reads cost round trips (PostgreSQL): a batch's prefetch and
    # reservation of numbers together. None: one after the other.
    read_ahead: ReadAhead | None = None

    def __init__(
        self,
        env: EnvType | None = None,
        *,
        clock: Clock | None = None,
        new_id: IdFactory = uuid4,
        snapshot_interval: int = 50,
        reopen_closed: bool = True,
        secret_key: str = "",
    ) -> None:
        self.secret_key = secret_key
        self.clock: Clock = clock or _UtcClock()
        self.new_id = new_id
        self.reopen_closed = reopen_closed
        # The seal stream is read by every seal: a snapshot keeps that read short.
        self.snapshotting_intervals = {Ticket: snapshot_interval, LogSeal: 20}  # type: ignore[misc]
        env = dict(env or {})
        env.setdefault("IS_SNAPSHOTTING_ENABLED", "y")
        super().__init__(env)
        self.numbers = NumberAllocator(self.number_taken)
        # Called after each save with its recordings (the read models' runtime wakes up here).
        self.after_save: list[Callable[[list[Recording[UUID]]], None]] = []

    def construct_mapper(self) -> Mapper[UUID]:
        mapper = super().construct_mapper()
        return ChainMapper(mapper.transcoder, mapper.compressor, mapper.cipher)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        # The library's save(), minus its runtime Protocol isinstance checks (about 30 µs per
        # aggregate), which dominated group commits of many small aggregates.
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for obj in objs:
            if isinstance(obj, Aggregate):
                processing_event.events.extend(obj.collect_events())
                processing_event.aggregates[obj.id] = obj
            elif obj is not None:
                processing_event.collect_events(obj)
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        if not recordings:
            return
        _last_position.set(max(r.notification.id for r in recordings))
        for callback in list(self.after_save):
            try:
                callback(recordings)
            except Exception:  # the events are saved; a listener's failure must not undo that
                log.exception("an after-save callback failed")

    @property
    def last_position(self) -> int | None:
        """The log position of this thread's (or task's) last saved command, if any."""
        return _last_position.get()

    def construct_env(self, name: str, env: EnvType | None = None) -> Environment:
        # Unlike the library's default, never read the process environment: settings.py does.
        return Environment(name, dict(env or {}))

    # Execution -----------------------------------------------------------------------------

    def execute(self, command: Callable[[UnitOfWork], T]) -> T:
        """Run a command in a unit of work and save its changes in one transaction.

        Inside `batch()` the command joins the batch's unit instead and is saved with it.
        """
        outer = current_unit.get()
        if outer is not None:
            return command(outer)
        return self._in_unit(command)

    def batch(
        self,
        commands: Sequence[Callable[[], T]],
        *,
        atomic: bool = False,
        numbers: int = 0,
        reads: Iterable[UUID] = (),
    ) -> list[T | DomainError]:
        """Group commit: run many commands and save all their changes in one transaction.

        A command refused by the domain gives its error in the result list and changes
        nothing; the others are saved together. With `atomic=True` one refusal saves nothing
        and is raised. On a concurrent write the batch is re-run. `numbers`: how many tickets
        the commands will likely open (their numbers are then reserved together); `reads`:
        aggregates they will likely read (loaded together, in one query, before they run).
        """
        wanted = list(reads)

        def run_all(unit: UnitOfWork) -> list[T | DomainError]:
            read_ahead = self.read_ahead
            if read_ahead is not None:  # both reads in one round trip
                ids = unit.unread(wanted)
                if ids or numbers:
                    unit.loaded(ids, self.read(lambda: read_ahead(ids, numbers)))
            else:
                if wanted:
                    unit.prefetch(wanted)
                if numbers:
                    self.numbers.reserve(numbers)
            results: list[T | DomainError] = []
            for command in commands:
                try:
                    results.append(command())
                except DomainError as error:
                    if atomic:
                        raise
                    results.append(error)
            return results

        return self._in_unit(run_all)

    def _in_unit(self, work: Callable[[UnitOfWork], T]) -> T:
        """Run work in a fresh unit of work, commit it in one transaction, re-run on conflict."""
        outermost = current_unit.get() is None
        for attempt in range(ATTEMPTS):
            unit = UnitOfWork(self)
            token = current_unit.set(unit)
            committed = False
            try:
                result = work(unit)
                unit.commit()
                committed = True
                return result
            except IntegrityError:
                self._after_conflict(attempt)
            except PersistenceError as error:
                raise StoreUnavailableError(describe_store_error(error)) from error
            finally:
                current_unit.reset(token)
                if outermost:  # a unit inside another is saved (or not) with it
                    self.numbers.unit_ended(committed)
        raise ConflictError("someone else changed the same records at the same time; try again")

    def _after_conflict(self, attempt: int) -> None:
        log.info("concurrent write met (attempt %d); re-running the command", attempt + 1)
        self.numbers.resync()
        # Writers that collided would otherwise all re-read the same highest number and
        # collide again; a short random pause lets one of them win each round.
        time.sleep(random.uniform(0, 0.001 * 2 ** min(attempt, 6)))

    # Helpers shared by the command modules --------------------------------------------------

    def now(self) -> datetime:
        return self.clock.now()

    @staticmethod
    def check_actor(actor: str) -> str:
        return check_actor(actor)

    def number_taken(self, n: int) -> bool:
        """Whether ticket number n exists (the event store has its first event)."""
        return bool(
            self.read(lambda: self.recorder.select_events(ticket_id(format_number(n)), limit=1))
        )

    def read(self, query: Callable[[], T]) -> T:
        """Run a read against the store, turning connection failures into one clear error."""
        try:
            return query()
        except PersistenceError as error:
            raise StoreUnavailableError(describe_store_error(error)) from error

    def once(self, owner: str, key: str, fingerprint: str, produce: Callable[[], str]) -> str:
        """Run `produce` once per (owner, key): a repeat returns the first result, in the same
        transaction as the work itself; the same key with another request is refused."""
        key = v_text("idempotency_key", key, max_length=200)

        def command(unit: UnitOfWork) -> str:
            record_id = IdempotencyRecord.id_for(owner, key)
            found = unit.find(IdempotencyRecord, record_id)
            if found is not None:
                if found.fingerprint != fingerprint:
                    raise ConflictError("this Idempotency-Key was already used for another request")
                return found.result
            result = produce()
            unit.add(
                IdempotencyRecord.start(
                    IdempotencyRecord.Recorded,
                    id=record_id,
                    actor=owner,
                    at=self.now(),
                    fingerprint=fingerprint,
                    result=result,
                )
            )
            return result

        return self.execute(command)

    @staticmethod
    def idempotency_reads(owner: str, key: str) -> list[UUID]:
        """The record `once(owner, key, ...)` reads (none for a key it would refuse)."""
        try:
            return [IdempotencyRecord.id_for(owner, v_text("idempotency_key", key, max_length=200))]
        except DomainError:
            return []

    def ids_of(
        self, event_class: type[Any], *, start: int = 1, limit: int = 1000
    ) -> list[tuple[int, UUID]]:
        """(log position, aggregate id) of each event of a kind, in log order, from a position."""
        topic = get_topic(event_class)
        rows = self.read(
            lambda: self.recorder.select_notifications(start=start, limit=limit, topics=[topic])
        )
        return [(row.id, UUID(str(row.originator_id))) for row in rows]

    def get_aggregate(self, aggregate_id: UUID, version: int | None = None) -> Any:
        return self.read(lambda: self.repository.get(aggregate_id, version=version))


class ChainMapper(Mapper[UUID]):
    """Stores the bytes the hash chain already encoded, instead of encoding each event twice;
    and hands events read back their digest, taken from the bytes as stored."""

    def to_domain_event(self, stored_event: StoredEvent) -> Any:
        event = super().to_domain_event(stored_event)
        if not (self.compressor or self.cipher):
            aggregate = stored_event.originator_id
            aggregate_hex = aggregate.hex if isinstance(aggregate, UUID) else str(aggregate)
            digest = digest_stored(
                stored_event.topic,
                aggregate_hex,
                stored_event.originator_version,
                stored_event.state,
            )
            stored_digests.put(event, digest.encode())
        return event

    def to_stored_event(self, domain_event: Any) -> StoredEvent:
        state = encoded_states.take(domain_event)
        if state is None or self.compressor or self.cipher:
            return super().to_stored_event(domain_event)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(type(domain_event)),
            state=state,
        )


def describe_store_error(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    lowered = text.lower()
    if "no such table" in lowered or ("relation" in lowered and "does not exist" in lowered):
        return "the database has no tables yet: run `ledgerdesk migrate` first"
    if "connection" in lowered or "connect" in lowered or "timeout" in lowered:
        return f"the database cannot be reached ({text[:200]})"
    return f"the database refused the operation ({text[:200]})"
