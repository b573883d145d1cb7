"""The audit trail: history, as-of views, exports, seals, and SQL tampering found on both stores."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta

import pytest

from ledgerdesk.domain.errors import NotFoundError, ValidationError
from ledgerdesk.tests.integration.rawlog import RawLog
from ledgerdesk.tests.support import T0, open_ticket


@pytest.fixture
def raw(services, settings):
    log = RawLog(settings)
    yield log
    log.close()


@pytest.fixture
def worked(services, people, clock):
    """T-1 with six events, T-2 with two; all events sealed."""
    app = services.app
    t1 = open_ticket(services, people.alice)  # v1 Opened, v2 MessageAdded
    clock.advance(timedelta(hours=1))
    app.assign(t1.number, people.agent.id, actor=people.admin.actor)  # v3
    clock.advance(timedelta(hours=1))
    app.add_reply(t1.number, actor=people.agent.actor, text="On it")  # v4, v5 (in progress)
    clock.advance(timedelta(hours=1))
    app.change_status(t1.number, "resolved", actor=people.agent.actor)  # v6
    t2 = open_ticket(services, people.bob, subject="Other")
    app.seal()
    return app.ticket(t1.number), app.ticket(t2.number)


def test_history_lists_every_event_with_actor_time_changes_and_linked_hashes(
    services, people, worked
):
    t1, _ = worked
    history = services.app.history("T-1")
    assert [h.version for h in history] == [1, 2, 3, 4, 5, 6]
    assert [h.event for h in history] == [
        "Opened",
        "MessageAdded",
        "Assigned",
        "MessageAdded",
        "StatusChanged",
        "StatusChanged",
    ]
    assert history[2].actor == people.admin.actor
    assert history[2].changes == {"assignee_id": people.agent.id}
    assert history[0].prev_hash == ""
    assert all(h.prev_hash == prev.hash for prev, h in itertools.pairwise(history))
    assert history[-1].hash == t1.chain_head


def test_as_of_shows_the_ticket_exactly_as_it_was(services, worked):
    app = services.app
    at_open = app.as_of("T-1", at=T0 + timedelta(minutes=30))
    assert (at_open.status, at_open.assignee_id, at_open.version) == ("new", None, 2)
    at_v5 = app.as_of("T-1", version=5)
    assert at_v5.status == "in_progress" and len(at_v5.messages) == 2
    with pytest.raises(NotFoundError, match="did not exist yet"):
        app.as_of("T-1", at=T0 - timedelta(days=1))
    with pytest.raises(NotFoundError, match="no version 60"):
        app.as_of("T-1", version=60)
    with pytest.raises(ValidationError):
        app.as_of("T-1", at=(T0 + timedelta(hours=1)).replace(tzinfo=None))


def test_an_untouched_log_verifies(services, worked):
    report = services.app.verify()
    assert report.ok, report.findings
    assert report.seals_checked == 1 and report.unsealed == 0


def test_editing_a_middle_event_by_sql_is_named(services, worked, raw):
    t1, _ = worked
    raw.edit(t1.id, 2, lambda s: s.update(visible_text="I never said that"))
    report = services.app.verify()
    assert not report.ok
    assert report.first.kind == "altered"
    assert "T-1 v2" in report.first.message


def test_editing_the_last_sealed_event_is_named(services, worked, raw):
    t1, _ = worked
    raw.edit(t1.id, 6, lambda s: s.update(reason="backdated"))
    report = services.app.verify()
    assert (report.first.kind, report.first.version) == ("altered", 6)
    assert "T-1 v6" in report.first.message and "seal" in report.first.message


def test_deleting_an_event_by_sql_is_named(services, worked, raw):
    t1, _ = worked
    raw.delete(t1.id, 3)
    report = services.app.verify()
    assert (report.first.kind, report.first.version) == ("missing", 3)
    assert "T-1 v3 is missing" in report.first.message


def test_deleting_the_last_sealed_event_is_named(services, worked, raw):
    t1, _ = worked
    raw.delete(t1.id, 6)
    report = services.app.verify()
    assert any(f.kind == "missing" and f.version == 6 for f in report.findings)


def test_swapping_two_events_of_a_ticket_by_sql_is_named(services, worked, raw):
    t1, _ = worked
    raw.swap_states(t1.id, 3, 4)
    report = services.app.verify()
    assert report.first.kind == "reordered"
    assert "T-1 v3 and v4" in report.first.message


def test_reordering_the_log_across_tickets_breaks_the_seal(services, worked, raw):
    t1, t2 = worked
    raw.swap_positions((t1.id, 6), (t2.id, 1))
    report = services.app.verify()
    assert [f.kind for f in report.findings] == ["seal"]
    assert "no longer matches seal #1" in report.first.message


def test_events_after_the_last_seal_are_still_chain_checked(services, worked, raw, people):
    app = services.app
    app.add_note("T-2", actor=people.agent.actor, text="first")
    app.add_note("T-2", actor=people.agent.actor, text="second")
    raw.edit(worked[1].id, 3, lambda s: s.update(visible_text="rewritten"))
    report = app.verify()
    assert (report.first.kind, report.first.version) == ("altered", 3)
    assert app.verify().unsealed == 2


def test_an_export_verifies_offline_and_any_edit_to_it_is_found(services, worked):
    app = services.app
    document = json.loads(json.dumps(app.export("T-1")))
    assert len(document["events"]) == 6
    assert app.verify_export(document).ok
    document["events"][3]["fields"]["visible_text"] = "edited in the file"
    report = app.verify_export(document)
    assert not report.ok and report.first.version in (4, 5)


def test_sealing_twice_without_new_events_records_nothing(services, worked):
    assert services.app.seal() is None


def test_events_stored_without_the_chains_cached_bytes_still_verify(services, people):
    from ledgerdesk.domain import chain

    app = services.app

    def open_and_forget() -> object:
        ticket = open_ticket(services, people.alice)
        chain.encoded_states._items.clear()  # the store must encode them itself, identically
        return ticket

    app.batch([open_and_forget, lambda: app.add_note("T-1", actor=people.agent.actor, text="n")])
    app.seal()
    assert app.verify().ok
    assert services.app.history("T-1")[-1].hash == app.ticket("T-1").chain_head


def test_the_fast_log_reader_and_the_libraries_notification_log_agree(services, worked, raw):
    app = services.app
    fast = app.verify()
    reader, app.log_reader = app.log_reader, None
    try:
        slow = app.verify()
        raw.edit(worked[0].id, 2, lambda s: s.update(visible_text="rewritten"))
        assert app.verify().first.version == 2
    finally:
        app.log_reader = reader
    assert (fast.ok, fast.events, fast.seals_checked) == (slow.ok, slow.events, slow.seals_checked)
    assert app.verify().first.version == 2


def test_two_sealers_at_once_record_one_seal(services, people):
    import threading

    open_ticket(services, people.alice)
    app, barrier, results = services.app, threading.Barrier(2), []

    def seal() -> None:
        barrier.wait()
        results.append(app.seal())

    threads = [threading.Thread(target=seal) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(app._seal_log().seals) == 1
    assert sum(result is not None for result in results) == 1
    assert app.verify().ok


def test_a_long_unsealed_log_is_sealed_in_parts_that_verify(services, people):
    for n in range(12):
        open_ticket(services, people.alice, subject=f"part {n}")
    before = len(services.app._seal_log().seals) if services.app._seal_log() else 0
    result = services.app.seal(part=10)
    assert result is not None and result["count"] >= 24
    seals = services.app._seal_log().seals
    assert len(seals) - before == -(-result["count"] // 10)  # ceil: one seal per part
    assert services.app.verify().ok
    assert services.app.seal(part=10) is None  # nothing new since
