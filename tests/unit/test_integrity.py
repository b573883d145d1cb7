"""Verifying hash chains and seals over synthetic event rows: every kind of tampering is named."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing.utils import get_topic

from ledgerdesk.domain.application.core import Core
from ledgerdesk.domain.chain import (
    GENESIS,
    digest_stored,
    encode_state,
    event_digest,
    stored_prev_hash,
)
from ledgerdesk.domain.integrity import Verifier
from ledgerdesk.domain.seal import CHECKPOINT_EVERY
from ledgerdesk.domain.ticket import Ticket, ticket_id
from ledgerdesk.domain.values import Status
from ledgerdesk.tests.unit.eventlog import (
    KEY,
    SEAL,
    T0,
    TOPIC,
    A,
    B,
    C,
    at,
    deleted,
    edited,
    kinds,
    make_log,
    positions_swapped,
    seal_of,
    states_swapped,
    stored_again,
    verify,
)

# an intact log ------------------------------------------------------------------------------


def test_an_untouched_sealed_log_verifies() -> None:
    rows = make_log()
    report = verify(rows, [seal_of(rows)])
    assert report.ok and report.first is None
    assert (report.events, report.aggregates, report.seals_checked, report.unsealed) == (
        10,
        3,
        1,
        0,
    )


def test_an_untouched_unsealed_log_verifies_and_counts_its_unsealed_events() -> None:
    report = verify(make_log())
    assert report.ok and (report.seals_checked, report.unsealed) == (0, 10)


def test_events_after_the_last_seal_are_counted_as_unsealed() -> None:
    rows = make_log()
    report = verify(rows, [seal_of(rows[:6])])
    assert report.ok and (report.seals_checked, report.unsealed) == (1, 4)


def test_consecutive_seals_each_continue_the_log_hash_of_the_one_before() -> None:
    rows = make_log()
    first = seal_of(rows[:4])
    second = seal_of(rows[4:], after=first)
    report = verify(rows, [second, first])  # the verifier orders seals itself
    assert report.ok and report.seals_checked == 2


def real_ticket_events() -> list[Any]:
    ticket = Ticket.start(
        Ticket.Opened,
        id=ticket_id("T-9"),
        actor="system:test",
        at=T0,
        number="T-9",
        subject="Printer on fire",
        requester_id=uuid4(),
        department_id=None,
        category="",
        priority="normal",
        due_at=None,
        tags=[],
        channel="api",
    )
    ticket.assign(uuid4(), actor="system:test", at=T0)
    ticket.change_status(Status.RESOLVED, actor="system:test", at=T0, reopen_closed=False)
    return ticket.collect_events()


def test_the_events_of_a_real_ticket_verify_from_the_bytes_the_application_stores() -> None:
    mapper = Core().mapper  # the application's own transcoder: canonical JSON
    verifier = Verifier([])
    for position, event in enumerate(real_ticket_events(), 1):
        stored = mapper.to_stored_event(event)
        assert stored.state == encode_state(
            {
                k: v
                for k, v in vars(event).items()
                if k not in ("originator_id", "originator_version")
            }
        )
        assert stored_prev_hash(stored.state) == event.prev_hash
        digest = verifier.feed(
            position, stored.originator_id, stored.originator_version, stored.topic, stored.state
        )
        assert digest == event_digest(event)
    assert verifier.finish().ok


def test_the_events_of_a_real_ticket_verify_from_their_fields_too() -> None:
    verifier = Verifier([])
    for position, event in enumerate(real_ticket_events(), 1):
        fields = {
            k: v for k, v in vars(event).items() if k not in ("originator_id", "originator_version")
        }
        digest = verifier.feed(
            position, event.originator_id, event.originator_version, get_topic(type(event)), fields
        )
        assert digest == event_digest(event)
    assert verifier.finish().ok


def test_a_row_is_keyed_by_its_id_hex_whether_fed_a_uuid_or_its_hex() -> None:
    rows = make_log()
    by_uuid, by_hex = Verifier([]), Verifier([])
    for row in rows:
        digest = by_uuid.feed(row.position, row.aggregate_id, row.version, row.topic, row.state)
        assert by_hex.feed(row.position, row.key, row.version, row.topic, row.state) == digest
        assert digest == digest_stored(row.topic, row.aggregate_id.hex, row.version, row.state)
    assert by_uuid.finish().ok and by_hex.finish().ok


def test_a_seal_records_each_aggregate_head_under_its_id_hex() -> None:
    rows = make_log()
    heads = seal_of(rows)["heads"]
    assert set(heads) == {A.hex, B.hex, C.hex}
    assert heads[A.hex] == [5, rows[-1].digest]


# altered ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2, 3])
def test_an_altered_event_in_the_middle_of_a_chain_is_named(version: int) -> None:
    rows = make_log()
    report = verify(edited(rows, A, version, note="I never said that"), [seal_of(rows)])
    assert report.first is not None
    assert (report.first.kind, report.first.aggregate_id, report.first.version) == (
        "altered",
        A.hex,
        version,
    )
    assert f"T-1 v{version} was altered" in report.first.message
    assert ("seal", SEAL, 1) in kinds(report)


def test_an_altered_link_is_named_as_the_event_that_carries_it() -> None:
    report = verify(edited(make_log(), A, 2, prev_hash="0" * 64))
    assert kinds(report) == [("altered", A.hex, 2)]
    assert "T-1 v2 was altered" in report.findings[0].message


def test_an_altered_last_event_is_named_by_the_seal_that_covers_it() -> None:
    rows = make_log()
    report = verify(edited(rows, A, 5, actor="system:backdate"), [seal_of(rows)])
    assert report.first is not None
    assert (report.first.kind, report.first.version, report.first.position) == ("altered", 5, 10)
    assert "T-1 v5" in report.first.message and "seal #1" in report.first.message


def test_an_altered_sealed_event_is_named_while_newer_events_wait_for_the_next_seal() -> None:
    rows = make_log()
    report = verify(edited(rows, B, 3, note="rewritten"), [seal_of(rows[:9])])  # B v3: position 9
    assert report.first is not None
    assert (report.first.kind, report.first.aggregate_id, report.first.version) == (
        "altered",
        B.hex,
        3,
    )
    assert report.unsealed == 1


def test_an_altered_last_event_before_any_seal_is_only_suspected_with_its_link() -> None:
    # T-3 has two events: v1 altered breaks the link to v2, and nothing tells which one changed.
    report = verify(edited(make_log(), C, 1, note="rewritten"))
    assert kinds(report) == [("altered", C.hex, 1)]
    assert "T-3 v1 or v2 was altered" in report.findings[0].message


def test_a_stored_state_rewritten_with_the_same_values_in_another_order_is_altered() -> None:
    # The digest covers the stored bytes as they are: re-encoding them is a change too.
    rows = make_log()
    i = at(rows, A, 2)
    fields = json.loads(rows[i].state)
    reordered = json.dumps(dict(reversed(fields.items())), separators=(",", ":")).encode()
    assert reordered != rows[i].state and json.loads(reordered) == fields
    assert stored_prev_hash(reordered) == stored_prev_hash(rows[i].state)
    tampered = [*rows[:i], replace(rows[i], state=reordered), *rows[i + 1 :]]
    report = verify(tampered, [seal_of(rows)])
    assert report.first is not None
    assert (report.first.kind, report.first.aggregate_id, report.first.version) == (
        "altered",
        A.hex,
        2,
    )


def test_an_altered_last_event_goes_unnoticed_until_it_is_sealed() -> None:
    # The limit seals exist for: nothing links to the newest event of a chain.
    assert verify(edited(make_log(), A, 5, note="rewritten")).ok


# missing ------------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2, 4])
def test_a_deleted_event_is_named_as_missing(version: int) -> None:
    rows = make_log()
    report = verify(deleted(rows, A, version), [seal_of(rows)])
    assert report.first is not None
    assert (report.first.kind, report.first.aggregate_id, report.first.version) == (
        "missing",
        A.hex,
        version,
    )
    assert f"T-1 v{version} is missing" in report.first.message
    assert ("seal", SEAL, 1) in kinds(report)


def test_a_deleted_last_event_is_named_by_the_seal_that_covers_it() -> None:
    rows = make_log()
    report = verify(deleted(rows, A, 5), [seal_of(rows)])
    assert ("missing", A.hex, 5) in kinds(report)
    missing = next(f for f in report.findings if f.kind == "missing")
    assert "T-1 v5, sealed in seal #1, is missing" in missing.message
    assert ("seal", SEAL, 1) in kinds(report)


def test_several_deleted_events_in_a_row_are_each_named() -> None:
    rows = deleted(deleted(make_log(), A, 2), A, 3)
    assert kinds(verify(rows)) == [("missing", A.hex, 2), ("missing", A.hex, 3)]


# reordered ----------------------------------------------------------------------------------


def test_two_events_of_a_ticket_that_swapped_contents_are_named_as_reordered() -> None:
    rows = make_log()
    report = verify(states_swapped(rows, A, 2, 3), [seal_of(rows)])
    assert report.first is not None
    assert (report.first.kind, report.first.aggregate_id, report.first.version) == (
        "reordered",
        A.hex,
        2,
    )
    assert "T-1 v2 and v3 were swapped" in report.first.message


def test_an_event_stored_before_the_one_it_follows_is_named_as_reordered() -> None:
    rows = make_log()
    report = verify(positions_swapped(rows, (A, 2), (A, 3)), [seal_of(rows)])
    assert report.first is not None
    assert (report.first.kind, report.first.version) == ("reordered", 2)
    assert "T-1 v2 (Ticket.Noted) is stored out of order" in report.first.message
    assert [f.kind for f in report.findings] == ["reordered", "seal"]


def test_an_event_stored_twice_is_named_as_reordered() -> None:
    assert kinds(verify(stored_again(make_log(), A, 2))) == [("reordered", A.hex, 2)]


def test_swapping_events_of_different_tickets_in_the_log_breaks_only_the_seal() -> None:
    rows = make_log()
    report = verify(positions_swapped(rows, (A, 3), (B, 2)), [seal_of(rows)])
    assert kinds(report) == [("seal", SEAL, 1)]
    assert report.first is not None and report.first.position == 10
    assert "no longer matches seal #1 (10 events now, 10 sealed)" in report.first.message


def test_swapping_events_of_different_tickets_without_a_seal_goes_unnoticed() -> None:
    assert verify(positions_swapped(make_log(), (A, 3), (B, 2))).ok


def test_a_seal_names_the_window_of_events_a_long_segment_was_reordered_in() -> None:
    rows = make_log("AB" * CHECKPOINT_EVERY + "A")  # 129 events, two checkpoints
    seal = seal_of(rows)
    assert len(seal["checkpoints"]) == 2
    report = verify(positions_swapped(rows, (B, 40), (A, 41)), [seal])  # positions 80 and 81
    assert kinds(report) == [("seal", SEAL, 1)]
    assert report.findings[0].message.endswith(
        f"within events 65-{2 * CHECKPOINT_EVERY} of that segment"
    )


def test_only_the_seal_whose_segment_changed_is_named() -> None:
    rows = make_log()
    first = seal_of(rows[:4])
    second = seal_of(rows[4:], after=first)
    report = verify(positions_swapped(rows, (A, 4), (C, 2)), [first, second])  # positions 7, 8
    assert kinds(report) == [("seal", SEAL, 2)]


# seals themselves ---------------------------------------------------------------------------


def test_a_seal_signed_with_another_key_is_named() -> None:
    rows = make_log()
    report = verify(rows, [seal_of(rows, key="someone-else")])
    assert kinds(report) == [("seal", SEAL, 1)]
    assert report.first is not None and report.first.position is None
    assert "seal #1 does not carry a valid signature" in report.first.message


def test_a_seal_edited_after_signing_is_named() -> None:
    rows = make_log()
    seal = {**seal_of(rows), "count": 9}
    report = verify(deleted(rows, C, 2), [seal])
    assert ("seal", SEAL, 1) in kinds(report)
    assert any("valid signature" in f.message for f in report.findings)


def test_a_seal_is_not_checked_for_a_signature_without_a_key() -> None:
    rows = make_log()
    verifier = Verifier([seal_of(rows, key="anything")])
    for row in rows:
        verifier.feed(row.position, row.aggregate_id, row.version, row.topic, row.state)
    assert verifier.finish().ok


# which finding comes first ------------------------------------------------------------------


def test_the_first_finding_is_the_one_found_earliest_in_the_log() -> None:
    rows = make_log()
    tampered = deleted(edited(rows, A, 2, note="x"), B, 3)  # found at positions 7 and 9
    report = verify(tampered, [seal_of(rows)])
    assert report.first is not None
    assert (report.first.kind, report.first.aggregate_id, report.first.version) == (
        "altered",
        A.hex,
        2,
    )
    assert report.first.position == min(f.position for f in report.findings if f.position)
    assert {f.kind for f in report.findings} == {"altered", "missing", "seal"}


def test_without_a_log_position_the_first_finding_is_the_first_recorded() -> None:
    rows = make_log()
    first = seal_of(rows[:3], key="forger")
    second = seal_of(rows[3:], key="forger", after=first)
    report = verify(rows, [second, first])
    assert kinds(report) == [("seal", SEAL, 1), ("seal", SEAL, 2)]
    assert report.first is report.findings[0]


# known defects ------------------------------------------------------------------------------


def test_an_altered_event_is_still_named_when_a_later_event_of_its_ticket_is_missing() -> None:
    report = verify(deleted(edited(make_log(), A, 2, note="x"), A, 4))
    assert ("missing", A.hex, 4) in kinds(report)
    assert any(f.kind == "altered" and f.aggregate_id == A.hex for f in report.findings)


def test_the_first_finding_names_the_earliest_tampered_event_in_the_log() -> None:
    report = verify(deleted(edited(make_log(), A, 3, note="x"), B, 2))
    assert report.first is not None
    assert (report.first.aggregate_id, report.first.version) == (A.hex, 3)


def test_seal_log_events_fed_with_hex_ids_are_not_counted_as_unsealed() -> None:
    rows = make_log()
    seal = seal_of(rows)
    verifier = Verifier([seal], key=KEY)
    for row in rows:
        verifier.feed(row.position, row.key, row.version, row.topic, row.state)
    seal_event = encode_state({"timestamp": T0, "actor": "system:sealer", "prev_hash": GENESIS})
    verifier.feed(11, SEAL, 1, TOPIC, seal_event)
    report = verifier.finish()
    assert report.ok and report.unsealed == 0
