"""Stored state and event digests: the exact bytes the store keeps, their hash, canonical JSON."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import (
    DatetimeAsISO,
    DecimalAsStr,
    JSONTranscoder,
    Mapper,
    UUIDAsHex,
)

from ledgerdesk.domain.application.core import ChainMapper, Core
from ledgerdesk.domain.chain import (
    GENESIS,
    ChainedAggregate,
    canonical_json,
    digest_fields,
    digest_stored,
    encode_state,
    encoded_states,
    event_digest,
    event_state,
    stored_fields,
    stored_prev_hash,
)

SOME_ID = UUID("3f2b8c1e-5a4d-4e7f-9b6a-1c2d3e4f5a6b")
AT = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TOPIC = "ledgerdesk.domain.ticket:Ticket.Assigned"
FIELDS: dict[str, Any] = {
    "originator_id": SOME_ID,
    "originator_version": 3,
    "timestamp": AT,
    "actor": "system:test",
    "prev_hash": "ab" * 32,
    "assignee_id": UUID(int=7),
    "tags": ["a", "b"],
    "due_at": None,
    "by_staff": True,
    "attachments": [{"name": "a.txt", "size": 3}],
}
STATE = {k: v for k, v in FIELDS.items() if k not in ("originator_id", "originator_version")}
SAMPLES: list[Any] = [
    FIELDS,
    {"z": 1, "a": [1, 2.5, None, True], "m": {"y": "ü", "b": "\n"}},
    [SOME_ID, AT, Decimal("1.10")],
    "plain text",
    [],
]


def library_transcoder() -> JSONTranscoder:
    """eventsourcing's own JSON transcoder with the transcodings an application registers."""
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return transcoder


# canonical JSON (seal and export signatures) --------------------------------------------------


def test_keys_are_sorted_at_every_depth_without_spaces() -> None:
    assert canonical_json({"b": {"d": 1, "c": 2}, "a": [3, {"f": 4, "e": 5}]}) == (
        '{"a":[3,{"e":5,"f":4}],"b":{"c":2,"d":1}}'
    )


def test_the_text_does_not_depend_on_the_order_keys_were_added_in() -> None:
    backwards = dict(reversed(list(FIELDS.items())))
    assert list(backwards) != list(FIELDS)
    assert canonical_json(backwards) == canonical_json(FIELDS)


def test_canonical_json_wraps_uuids_datetimes_and_decimals_with_sorted_keys() -> None:
    rendered = canonical_json(
        [
            SOME_ID,
            AT,
            datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=1))),
            Decimal("1.10"),
        ]
    )
    assert rendered == (
        '[{"_data_":"3f2b8c1e5a4d4e7f9b6a1c2d3e4f5a6b","_type_":"uuid_hex"},'
        '{"_data_":"2026-11-02T09:00:00+00:00","_type_":"datetime_iso"},'
        '{"_data_":"2026-01-02T03:04:05.000006+01:00","_type_":"datetime_iso"},'
        '{"_data_":"1.10","_type_":"decimal_str"}]'
    )


@pytest.mark.parametrize(
    "value",
    [date(2026, 1, 2), {"b", "a"}, frozenset({3, 1}), object()],
    ids=lambda v: type(v).__name__,
)
def test_a_value_the_store_has_no_form_for_is_refused(value: Any) -> None:
    # Domain events never carry these: refusing them keeps the hashed bytes the stored bytes.
    with pytest.raises(TypeError, match=f"cannot store a value of type {type(value).__name__}"):
        canonical_json({"x": value})
    with pytest.raises(TypeError, match=f"cannot store a value of type {type(value).__name__}"):
        encode_state({"x": value})


def test_text_outside_ascii_is_kept_as_is() -> None:
    assert canonical_json({"name": "Zoë 東京"}) == '{"name":"Zoë 東京"}'


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: type(s).__name__)
def test_canonical_json_round_trips_through_json(sample: Any) -> None:
    text = canonical_json(sample)
    assert canonical_json(json.loads(text)) == text


# stored state -------------------------------------------------------------------------------


def test_the_stored_state_keeps_field_order_without_spaces_and_wraps_typed_values() -> None:
    state = {"timestamp": AT, "actor": "system:test", "id": SOME_ID, "cost": Decimal("1.10")}
    assert encode_state(state) == (
        b'{"timestamp":{"_type_":"datetime_iso","_data_":"2026-11-02T09:00:00+00:00"},'
        b'"actor":"system:test",'
        b'"id":{"_type_":"uuid_hex","_data_":"3f2b8c1e5a4d4e7f9b6a1c2d3e4f5a6b"},'
        b'"cost":{"_type_":"decimal_str","_data_":"1.10"}}'
    )
    assert encode_state({"name": "Zoë 東京"}) == '{"name":"Zoë 東京"}'.encode()


def test_the_stored_state_depends_on_the_order_of_the_fields() -> None:
    backwards = dict(reversed(list(STATE.items())))
    assert encode_state(backwards) != encode_state(STATE)
    assert json.loads(encode_state(backwards)) == json.loads(encode_state(STATE))


@pytest.mark.parametrize(
    "sample", [s for s in SAMPLES if isinstance(s, dict)], ids=["fields", "plain"]
)
def test_the_stored_state_is_what_eventsourcings_json_transcoder_writes(sample: Any) -> None:
    transcoder = library_transcoder()
    state = {**sample, "amount": Decimal("12.50"), "name": "Zoë 東京", "nested": {"at": [AT]}}
    assert encode_state(state) == transcoder.encode(state)
    assert transcoder.decode(encode_state(state)) == state


def test_the_stored_state_is_what_the_applications_transcoder_writes() -> None:
    assert Core().mapper.transcoder.encode(STATE) == encode_state(STATE)


def test_stored_fields_reads_typed_values_as_their_stored_text() -> None:
    fields = stored_fields(encode_state({**STATE, "class_version": 2}))
    assert fields == {
        **STATE,
        "timestamp": "2026-11-02T09:00:00+00:00",
        "assignee_id": UUID(int=7).hex,
    }


def test_stored_fields_leaves_other_objects_alone() -> None:
    state = {"changes": {"_type_": "x", "other": 1}, "attachments": [{"name": "a", "size": 1}]}
    assert stored_fields(encode_state(state)) == state


def test_the_prev_hash_is_read_from_the_stored_bytes() -> None:
    assert stored_prev_hash(encode_state(STATE)) == "ab" * 32
    assert stored_prev_hash(encode_state({**STATE, "prev_hash": GENESIS})) == GENESIS
    assert stored_prev_hash(encode_state({"actor": "system:test"})) is None


def test_a_prev_hash_written_inside_a_text_value_is_not_read_as_the_link() -> None:
    # "note" sorts before "prev_hash"; the quotes inside it are escaped in the stored JSON.
    note = 'x","prev_hash":"' + "0" * 64
    assert stored_prev_hash(encode_state({**STATE, "note": note})) == "ab" * 32


# digests ------------------------------------------------------------------------------------


def test_a_digest_is_the_sha256_of_topic_id_hex_version_and_stored_bytes() -> None:
    state = encode_state(STATE)
    expected = hashlib.sha256(f"{TOPIC}\n{SOME_ID.hex}\n3\n".encode() + state).hexdigest()
    assert digest_stored(TOPIC, SOME_ID.hex, 3, state) == expected
    assert digest_fields(TOPIC, FIELDS) == expected


def test_a_digest_is_a_sha256_hex_and_is_stable() -> None:
    digest = digest_fields(TOPIC, FIELDS)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest_fields(TOPIC, dict(FIELDS)) == digest


def test_a_digest_covers_the_stored_bytes_so_the_order_of_the_fields_counts() -> None:
    # An event class always stores its fields in the same order; a rewritten row may not.
    backwards = dict(reversed(list(FIELDS.items())))
    assert digest_fields(TOPIC, backwards) != digest_fields(TOPIC, FIELDS)
    assert digest_fields(TOPIC, backwards) == digest_stored(
        TOPIC, SOME_ID.hex, 3, encode_state(dict(reversed(list(STATE.items()))))
    )


def test_a_digest_is_the_same_given_the_id_as_hex() -> None:
    assert digest_fields(TOPIC, {**FIELDS, "originator_id": SOME_ID.hex}) == digest_fields(
        TOPIC, FIELDS
    )


def test_a_digest_is_the_same_for_the_stored_json_read_back_as_it_is() -> None:
    # Read back without decoding typed values, the stored JSON encodes to the same bytes.
    read_back = json.loads(encode_state(STATE))
    assert encode_state(read_back) == encode_state(STATE)
    assert digest_fields(
        TOPIC, {**read_back, "originator_id": SOME_ID, "originator_version": 3}
    ) == digest_fields(TOPIC, FIELDS)


def test_a_typed_value_and_its_stored_text_do_not_hash_alike() -> None:
    as_text = {**FIELDS, "timestamp": AT.isoformat()}
    assert digest_fields(TOPIC, as_text) != digest_fields(TOPIC, FIELDS)
    readable = {**stored_fields(encode_state(STATE)), "originator_id": SOME_ID}
    assert digest_fields(TOPIC, {**readable, "originator_version": 3}) != digest_fields(
        TOPIC, FIELDS
    )


def changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    if isinstance(value, UUID):
        return UUID(int=value.int + 1)
    if isinstance(value, datetime):
        return value + timedelta(microseconds=1)
    if isinstance(value, list):
        return [*value, "x"] if not value or not isinstance(value[0], dict) else [{}]
    return "now set"


@pytest.mark.parametrize("key", list(FIELDS))
def test_a_digest_changes_when_any_field_changes(key: str) -> None:
    altered = {**FIELDS, key: changed(FIELDS[key])}
    assert altered[key] != FIELDS[key]
    assert digest_fields(TOPIC, altered) != digest_fields(TOPIC, FIELDS)


def test_a_digest_changes_when_a_field_is_added_or_removed() -> None:
    without = {k: v for k, v in FIELDS.items() if k != "due_at"}
    assert digest_fields(TOPIC, without) != digest_fields(TOPIC, FIELDS)
    assert digest_fields(TOPIC, {**FIELDS, "extra": None}) != digest_fields(TOPIC, FIELDS)


def test_a_digest_changes_with_the_topic() -> None:
    other = "ledgerdesk.domain.ticket:Ticket.Unassigned"
    assert digest_fields(other, FIELDS) != digest_fields(TOPIC, FIELDS)


def test_true_and_one_do_not_hash_alike() -> None:
    ids = {"originator_id": SOME_ID, "originator_version": 1}
    assert digest_fields(TOPIC, {**ids, "x": True}) != digest_fields(TOPIC, {**ids, "x": 1})


# event digests ------------------------------------------------------------------------------


class Widget(ChainedAggregate):
    class Made(ChainedAggregate.Created):
        name: str

    class Renamed(ChainedAggregate.Event):
        class_version = 2
        name: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state.setdefault("name", "")


def widget_events() -> list[Any]:
    widget = Widget.start(Widget.Made, id=SOME_ID, actor="system:test", at=AT, name="a")
    widget.record(Widget.Renamed, actor="system:test", at=AT, name="Zoë")
    events = widget.collect_events()
    assert events[1].prev_hash == event_digest(events[0])
    assert widget.chain_head == event_digest(events[1])
    return events


def test_an_event_digest_is_the_digest_of_the_state_the_library_would_store() -> None:
    mapper: Mapper[UUID] = Mapper(transcoder=library_transcoder())
    events = widget_events()
    for event in events:
        stored = mapper.to_stored_event(event)
        assert stored.state == encode_state(event_state(event))
        assert event_digest(event) == digest_stored(
            stored.topic, stored.originator_id.hex, stored.originator_version, stored.state
        )
    assert b'"class_version":2' in mapper.to_stored_event(events[1]).state


def test_the_application_stores_the_bytes_the_chain_hashed() -> None:
    mapper = Core().mapper
    assert isinstance(mapper, ChainMapper)
    library: Mapper[UUID] = Mapper(transcoder=library_transcoder())
    for event in widget_events():
        digest = event_digest(event)  # hashing keeps the encoded bytes for the store
        stored = mapper.to_stored_event(event)  # ... which takes them
        assert encoded_states.take(event) is None
        assert digest == digest_stored(
            stored.topic, stored.originator_id.hex, stored.originator_version, stored.state
        )
        assert stored == library.to_stored_event(event)
        assert mapper.to_stored_event(event) == stored  # encoded again, to the same bytes


def test_an_event_state_is_its_fields_but_id_and_version_with_its_class_version() -> None:
    made, renamed = widget_events()
    assert list(event_state(made)) == [
        k for k in vars(made) if k not in ("originator_id", "originator_version")
    ]
    assert event_state(renamed)["class_version"] == 2
    assert "class_version" not in event_state(made)
