"""Tamper evidence: every event carries its actor and the hash of its aggregate's previous event.

The digest of an event is the sha256 of its topic, aggregate id, version and its stored state:
the exact bytes the event store keeps. The domain encodes an event's state exactly as the
store's JSON transcoder does (fields in declaration order, no spaces, typed values wrapped),
hands those bytes to the store (see ChainMapper), and `audit verify` hashes stored rows as they
are, without decoding them.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from datetime import datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic, resolve_topic

GENESIS = ""
PREV_HASH_KEY = b'"prev_hash":"'


def _stored_form(value: Any) -> Any:
    # The wrappers of eventsourcing's JSONTranscoder (UUIDAsHex, DatetimeAsISO, DecimalAsStr).
    if isinstance(value, UUID):
        return {"_type_": "uuid_hex", "_data_": value.hex}
    if isinstance(value, datetime):
        return {"_type_": "datetime_iso", "_data_": value.isoformat()}
    if isinstance(value, Decimal):
        return {"_type_": "decimal_str", "_data_": str(value)}
    raise TypeError(f"cannot store a value of type {type(value).__name__}")


CANONICAL_ENCODER = json.JSONEncoder(
    default=_stored_form, separators=(",", ":"), ensure_ascii=False, sort_keys=True
)
# The store's own encoding (eventsourcing's JSONTranscoder: no spaces, keys in field order),
# built once: json.JSONEncoder.encode() rebuilds its C encoder on every call.
_c_make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
_STATE_ENCODER = (
    _c_make_encoder(
        None, _stored_form, json.encoder.encode_basestring, None, ":", ",", False, False, True
    )
    if _c_make_encoder is not None
    else None
)
_STATE_FALLBACK = json.JSONEncoder(default=_stored_form, separators=(",", ":"), ensure_ascii=False)


def canonical_json(value: Any) -> str:
    """One stable JSON text for a value: sorted keys, no spaces, typed values wrapped."""
    return CANONICAL_ENCODER.encode(value)


def encode_state(state: dict[str, Any]) -> bytes:
    """The bytes the event store keeps for an event's state (its fields but id and version),
    exactly as eventsourcing's JSONTranscoder writes them: field order, no spaces."""
    if _STATE_ENCODER is not None:
        return "".join(_STATE_ENCODER(state, 0)).encode("utf-8")
    return _STATE_FALLBACK.encode(state).encode("utf-8")


def digest_stored(topic: str, aggregate_hex: str, version: int, state: bytes) -> str:
    """The hash of one stored event."""
    h = hashlib.sha256(f"{topic}\n{aggregate_hex}\n{version}\n".encode())
    h.update(state)
    return h.hexdigest()


def digest_fields(topic: str, fields: dict[str, Any]) -> str:
    """The hash of an event given all its fields, `originator_id` and `originator_version` too."""
    state = dict(fields)
    aggregate = state.pop("originator_id")
    version = state.pop("originator_version")
    aggregate_hex = aggregate.hex if isinstance(aggregate, UUID) else str(aggregate)
    return digest_stored(topic, aggregate_hex, version, encode_state(state))


class _EncodedStates:
    """The stored bytes of recently hashed events, so the event store need not encode them again.

    Keyed by object id with the event kept alongside (an id is only trusted for that very
    object); bounded, because events hashed while replaying are never stored.
    """

    def __init__(self, size: int = 4096) -> None:
        self._size = size
        self._items: OrderedDict[int, tuple[Any, bytes]] = OrderedDict()
        self._lock = threading.Lock()

    def put(self, event: Any, state: bytes) -> None:
        with self._lock:
            self._items[id(event)] = (event, state)
            if len(self._items) > self._size:
                self._items.popitem(last=False)

    def take(self, event: Any) -> bytes | None:
        with self._lock:
            item = self._items.pop(id(event), None)
        return item[1] if item is not None and item[0] is event else None


encoded_states = _EncodedStates()
# The digests of events just read from the store, computed from their stored bytes (the same
# digest `audit verify` computes), so replaying an aggregate need not re-encode each event.
stored_digests = _EncodedStates()


def event_state(event: Any) -> dict[str, Any]:
    """The part of an event the store keeps as its state (all but id and version)."""
    state = dict(vars(event))
    del state["originator_id"], state["originator_version"]
    class_version = getattr(type(event), "class_version", 1)
    if class_version > 1:
        state["class_version"] = class_version
    return state


def event_digest(event: Any) -> str:
    state = encode_state(event_state(event))
    encoded_states.put(event, state)
    return digest_stored(
        get_topic(type(event)), event.originator_id.hex, event.originator_version, state
    )


UNCHAINED = b"unchained"


def mutate_unchained(event: Any, aggregate: Any) -> Any:
    """Apply an event to a read-only copy of an aggregate without hashing it (its chain head
    becomes "unchained"): for read models that follow state, never for recording events."""
    stored_digests.put(event, UNCHAINED)
    return event.mutate(aggregate)


def _known_digest(event: Any) -> str | None:
    found = stored_digests.take(event)
    return found.decode() if found is not None else None


def stored_text(state: bytes, key: bytes) -> str | None:
    """A plain text field (no quotes or escapes in it) read from stored JSON without decoding it.

    Only for fields declared before any field that can hold nested objects or free text, so
    the first occurrence of the key is the field itself (text inside a string is escaped).
    """
    start = state.find(key)
    if start < 0:
        return None
    start += len(key)
    end = state.find(b'"', start)
    return state[start:end].decode("utf-8", "replace") if end >= 0 else None


def stored_prev_hash(state: bytes) -> str | None:
    """The prev_hash inside a stored state, read without decoding the JSON."""
    return stored_text(state, PREV_HASH_KEY)


def _flatten_stored(obj: dict[str, Any]) -> Any:
    if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
        return obj["_data_"]
    return obj


_stored_decoder = json.JSONDecoder(object_hook=_flatten_stored)


def stored_fields(state: bytes) -> dict[str, Any]:
    """An event's fields from its stored JSON, for reading: typed values as their stored text."""
    fields: dict[str, Any] = _stored_decoder.decode(state.decode("utf-8"))
    fields.pop("class_version", None)
    return fields


class ChainedAggregate(Aggregate):
    """An aggregate whose events form a hash chain and name who caused them."""

    chain_head = GENESIS

    class Event(Aggregate.Event):
        actor: str
        prev_hash: str

        def mutate(self, aggregate: Any) -> Any:
            # First: an event that cannot be hashed changes nothing.
            digest = _known_digest(self) or event_digest(self)
            aggregate = super().mutate(aggregate)
            aggregate.chain_head = digest
            return aggregate

    class Created(Event, Aggregate.Created):
        def mutate(self, aggregate: Any) -> Any:
            # The library's version also matches event fields to __init__ parameters by
            # introspection; these aggregates have no __init__ and are built by apply().
            digest = _known_digest(self) or event_digest(self)
            cls = resolve_topic(self.originator_topic)
            created = cls.__new__(cls)
            created.__base_init__(self.originator_id, self.originator_version, self.timestamp)
            self.apply(created)
            created.chain_head = digest
            return created

    def record(self, event_class: type[Any], *, actor: str, at: datetime, **fields: Any) -> None:
        """Append one event, linked to the previous one, stamped with who and when."""
        event = event_class(
            originator_id=self.id,
            originator_version=self.version + 1,
            timestamp=at,
            actor=actor,
            prev_hash=self.chain_head,
            **fields,
        )
        event.mutate(self)
        self._pending_events.append(event)

    @classmethod
    def start(
        cls, event_class: type[Any], *, id: UUID, actor: str, at: datetime, **fields: Any
    ) -> Any:
        """Create the aggregate with its first, chain-starting event."""
        event = event_class(
            originator_id=id,
            originator_version=cls.INITIAL_VERSION,
            timestamp=at,
            originator_topic=get_topic(cls),
            actor=actor,
            prev_hash=GENESIS,
            **fields,
        )
        aggregate = event.mutate(None)
        aggregate._pending_events.append(event)
        return aggregate
