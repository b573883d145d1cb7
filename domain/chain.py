"""Tamper evidence: every event carries its actor and the hash of its aggregate's previous event.

The digest of an event is the sha256 of a canonical JSON rendering of its topic and fields
(the same fields the event store keeps), so `audit verify` can recompute it from stored rows
without rebuilding aggregates, and an exported history can be checked offline.
"""

from __future__ import annotations

import hashlib
import json

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

GENESIS = ""


def _canonical_default(value: Any) -> Any:
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot hash a value of type {type(value).__name__}")


def canonical_json(value: Any) -> str:
    """One stable JSON text for a value: sorted keys, no spaces, UUIDs and datetimes as text."""
    return json.dumps(
        value,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=_canonical_default,
    )


def digest_fields(topic: str, fields: dict[str, Any]) -> str:
    """The hash of one event, from its topic and all its fields (id, version, time included)."""
    return hashlib.sha256(canonical_json([topic, fields]).encode("utf-8")).hexdigest()


def event_digest(event: Any) -> str:
    return digest_fields(get_topic(type(event)), event.__dict__)


class ChainedAggregate(Aggregate):
    """An aggregate whose events form a hash chain and name who caused them."""

    chain_head = GENESIS

    class Event(Aggregate.Event):
        actor: str
        prev_hash: str

        def mutate(self, aggregate: Any) -> Any:
            digest = event_digest(self)  # first: an event that cannot be hashed changes nothing
            aggregate = super().mutate(aggregate)
            aggregate.chain_head = digest
            return aggregate

    class Created(Event, Aggregate.Created):
        def mutate(self, aggregate: Any) -> Any:
            digest = event_digest(self)
            aggregate = Aggregate.Created.mutate(self, aggregate)
            aggregate.chain_head = digest
            return aggregate

    def record(self, event_class: type[Any], *, actor: str, at: datetime, **fields: Any) -> None:
        """Append one event, linked to the previous one, stamped with who and when."""
        self.trigger_event(
            event_class, actor=actor, prev_hash=self.chain_head, timestamp=at, **fields
        )

    @classmethod
    def start(
        cls, event_class: type[Any], *, id: UUID, actor: str, at: datetime, **fields: Any
    ) -> Any:
        """Create the aggregate with its first, chain-starting event."""
        return cls._create(
            event_class, id=id, actor=actor, prev_hash=GENESIS, timestamp=at, **fields
        )
