"""The event log as projections read it: plain rows, decoded into domain events in bulk."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID, SafeUUID

from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent
from eventsourcing.utils import resolve_topic

from ledgerdesk.domain.ports import LogRow

ReadLog = Callable[[int, int], Sequence[LogRow]]
"""Reads the log after a position (exclusive): at most `limit` stored rows, in log order."""


def uuid_from_hex(text: str) -> UUID:
    """UUID(text) for the 32 hex digits the store keeps, without the constructor's parsing
    (a rebuild makes a few hundred thousand of them)."""
    value = object.__new__(UUID)
    object.__setattr__(value, "int", int(text, 16))
    object.__setattr__(value, "is_safe", _UNKNOWN_SAFETY)
    return value


_UNKNOWN_SAFETY = SafeUUID.unknown  # an enum member's lookup costs more than the rest


class EventDecoder:
    """Domain events from stored rows, as the application's mapper makes them, faster: typed
    values are decoded in one JSON pass and no Notification or StoredEvent is built."""

    def __init__(self, mapper: Mapper[Any]) -> None:
        self.mapper = mapper
        transcoder = mapper.transcoder
        self.fast = isinstance(transcoder, JSONTranscoder) and not (
            mapper.cipher or mapper.compressor
        )
        self.names = transcoder.names if isinstance(transcoder, JSONTranscoder) else {}
        # The C scanner itself: JSONDecoder.decode() adds two regex matches per call.
        self.scan = json.JSONDecoder(object_hook=self._value).scan_once  # type: ignore[attr-defined]
        self.classes: dict[str, type[Any]] = {}

    def _value(self, obj: dict[str, Any]) -> Any:
        if len(obj) == 2 and "_type_" in obj and "_data_" in obj:
            kind, data = obj["_type_"], obj["_data_"]
            if kind == "uuid_hex":
                return uuid_from_hex(data)
            if kind == "datetime_iso":
                return datetime.fromisoformat(data)
            return self.names[kind].decode(data)
        return obj

    def event(self, row: LogRow) -> Any:
        _, aggregate_hex, version, topic, state = row
        if not self.fast:
            stored = StoredEvent(UUID(aggregate_hex), version, topic, state)
            return self.mapper.to_domain_event(stored)
        cls = self.classes.get(topic)
        if cls is None:
            cls = self.classes[topic] = resolve_topic(topic)
        fields = self.scan(state.decode("utf-8"), 0)[0]
        fields["originator_id"] = uuid_from_hex(aggregate_hex)
        fields["originator_version"] = version
        stored_version = fields.pop("class_version", 1)
        while stored_version < getattr(cls, "class_version", 1):
            getattr(cls, f"upcast_v{stored_version}_v{stored_version + 1}")(fields)
            stored_version += 1
        event = object.__new__(cls)
        object.__setattr__(event, "__dict__", fields)
        return event


@contextmanager
def collector_paused() -> Iterator[None]:
    """A rebuild keeps a batch's tens of thousands of fresh objects alive at once; the cyclic
    garbage collector would scan them over and over (a third of a rebuild's time). Nothing
    in a batch forms cycles that outlive it, and collection resumes right after."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
