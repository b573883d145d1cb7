"""A unit of work: the aggregates one command (or one batch of commands) loads and changes."""

from __future__ import annotations

from collections.abc import Iterable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate

from ledgerdesk.domain.errors import NotFoundError

if TYPE_CHECKING:
    from eventsourcing.application import Application

A = TypeVar("A", bound=Aggregate)

current_unit: ContextVar[UnitOfWork | None] = ContextVar("ledgerdesk_unit_of_work", default=None)


class UnitOfWork:
    def __init__(self, app: Application[UUID]) -> None:
        self._app = app
        self._seen: dict[UUID, Aggregate] = {}  # identity map: one instance per aggregate
        self._absent: set[UUID] = set()  # known not to exist (found so by `prefetch`)
        self._changed: dict[UUID, Aggregate] = {}

    def prefetch(self, ids: Iterable[UUID]) -> None:
        """Load many aggregates in one read, so that `find` needs no query for them."""
        reader = getattr(self._app, "log_reader", None)
        wanted = self.unread(ids)
        if reader is None or not wanted:
            return
        self.loaded(wanted, self._app.read(lambda: reader.events_of(wanted)))  # type: ignore[attr-defined]

    def unread(self, ids: Iterable[UUID]) -> list[UUID]:
        """Those of these aggregates this unit has not loaded (nor found absent) yet."""
        return [i for i in dict.fromkeys(ids) if i not in self._seen and i not in self._absent]

    def loaded(self, wanted: Iterable[UUID], stored: dict[UUID, list[Any]]) -> None:
        """Take in aggregates read ahead (their stored events, by id); those with none are
        remembered as absent."""
        mapper = self._app.mapper
        for aggregate_id in wanted:
            events = stored.get(aggregate_id)
            if not events:
                self._absent.add(aggregate_id)
                continue
            aggregate = None
            for event in events:
                domain_event: Any = mapper.to_domain_event(event)
                aggregate = domain_event.mutate(aggregate)
            self._seen[aggregate_id] = aggregate  # type: ignore[assignment]

    def find(self, cls: type[A], aggregate_id: UUID) -> A | None:
        """The aggregate with that id, or None when there is none (or it is another kind)."""
        aggregate = self._seen.get(aggregate_id)
        if aggregate is None:
            if aggregate_id in self._absent:
                return None
            try:
                aggregate = self._app.repository.get(aggregate_id)
            except AggregateNotFoundError:
                return None
            self._seen[aggregate_id] = aggregate
        return aggregate if isinstance(aggregate, cls) else None

    def get(self, cls: type[A], aggregate_id: UUID, what: str) -> A:
        aggregate = self.find(cls, aggregate_id)
        if aggregate is None:
            raise NotFoundError(f"no {what} with id {aggregate_id}")
        return aggregate

    def add(self, *aggregates: Any) -> None:
        """Mark aggregates (new or loaded) to be saved when the unit commits."""
        for aggregate in aggregates:
            self._seen[aggregate.id] = aggregate
            self._changed[aggregate.id] = aggregate

    def pending(self) -> list[Aggregate]:
        return [a for a in self._changed.values() if a.pending_events]

    def commit(self) -> None:
        aggregates = self.pending()
        if aggregates:
            self._app.save(*aggregates)
        self._changed.clear()
