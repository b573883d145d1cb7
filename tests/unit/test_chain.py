"""Canonical JSON and event digests: one text and one hash per value, whatever the dict order."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

import pytest

from ledgerdesk.domain.chain import canonical_json, digest_fields

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
SAMPLES: list[Any] = [
    FIELDS,
    {"z": 1, "a": [1, 2.5, None, True], "m": {"y": "ü", "b": "\n"}},
    [SOME_ID, AT, date(2026, 1, 2), Decimal("1.10"), {"b", "a"}, frozenset({3, 1})],
    "plain text",
    [],
]


def test_keys_are_sorted_at_every_depth_without_spaces() -> None:
    assert canonical_json({"b": {"d": 1, "c": 2}, "a": [3, {"f": 4, "e": 5}]}) == (
        '{"a":[3,{"e":5,"f":4}],"b":{"c":2,"d":1}}'
    )


def test_the_text_does_not_depend_on_the_order_keys_were_added_in() -> None:
    backwards = dict(reversed(list(FIELDS.items())))
    assert list(backwards) != list(FIELDS)
    assert canonical_json(backwards) == canonical_json(FIELDS)


def test_uuids_datetimes_and_decimals_are_rendered_as_text() -> None:
    rendered = canonical_json(
        [
            SOME_ID,
            AT,
            datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=timezone(timedelta(hours=1))),
            date(2026, 1, 2),
            Decimal("1.10"),
        ]
    )
    assert rendered == (
        '["3f2b8c1e-5a4d-4e7f-9b6a-1c2d3e4f5a6b","2026-11-02T09:00:00+00:00",'
        '"2026-01-02T03:04:05.000006+01:00","2026-01-02","1.10"]'
    )


def test_sets_are_rendered_as_sorted_lists() -> None:
    assert canonical_json({"c", "a", "b"}) == '["a","b","c"]'
    assert canonical_json(frozenset({3, 1, 2})) == "[1,2,3]"


def test_text_outside_ascii_is_kept_as_is() -> None:
    assert canonical_json({"name": "Zoë 東京"}) == '{"name":"Zoë 東京"}'


def test_a_value_with_no_canonical_text_is_refused() -> None:
    with pytest.raises(TypeError, match="cannot hash a value of type object"):
        canonical_json({"x": object()})


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: type(s).__name__)
def test_canonical_json_round_trips_through_json(sample: Any) -> None:
    text = canonical_json(sample)
    assert canonical_json(json.loads(text)) == text


def test_a_digest_is_a_sha256_hex_and_is_stable() -> None:
    digest = digest_fields(TOPIC, FIELDS)
    assert len(digest) == 64 and int(digest, 16) >= 0
    assert digest_fields(TOPIC, dict(reversed(list(FIELDS.items())))) == digest


def test_a_digest_is_the_same_for_the_fields_read_back_from_json() -> None:
    # `audit verify` recomputes digests from stored or exported rows, where ids are text.
    read_back = json.loads(canonical_json(FIELDS))
    assert digest_fields(TOPIC, read_back) == digest_fields(TOPIC, FIELDS)


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
    assert digest_fields(TOPIC, {"x": True}) != digest_fields(TOPIC, {"x": 1})
