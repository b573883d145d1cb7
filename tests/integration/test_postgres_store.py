"""Our PostgreSQL recorder stores exactly the bytes it is given, in order, with its lock."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit
from uuid import uuid4

import pytest
from eventsourcing.persistence import IntegrityError, StoredEvent
from psycopg.sql import SQL, Identifier

from ledgerdesk.adapters.postgres_store import ApplicationRecorder, arrays
from ledgerdesk.bootstrap import bootstrap, migrate
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.tests.integration.lossy_proxy import lossy_proxy
from ledgerdesk.tests.support import People, open_ticket, opening_for, protocol_trace


def test_array_literals_quote_topics_and_carry_any_bytes():
    event = StoredEvent(uuid4(), 7, 'a"b\\c:T.E', bytes(range(256)))
    ids, versions, topics, states = arrays([event])
    assert ids == "{" + str(event.originator_id) + "}" and versions == "{7}"
    assert topics == '{"a\\"b\\\\c:T.E"}'
    assert states == '{"\\\\x' + bytes(range(256)).hex() + '"}'


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_events_round_trip_byte_for_byte_and_a_taken_version_is_refused(services):
    recorder = services.app.recorder
    assert isinstance(recorder, ApplicationRecorder)
    aggregate = uuid4()
    events = [
        StoredEvent(aggregate, 1, "ledgerdesk.test:Odd", bytes(range(256)) + b'"{\\}'),
        StoredEvent(aggregate, 2, "ledgerdesk.test:Odd", "ünïcødé ✓".encode()),
    ]
    ids = recorder.insert_events(events)
    assert ids is not None and len(ids) == 2 and ids[0] < ids[1]
    back = recorder.select_events(aggregate)
    assert [(e.originator_version, bytes(e.state)) for e in back] == [
        (1, events[0].state),
        (2, events[1].state),
    ]
    with pytest.raises(IntegrityError):
        recorder.insert_events(
            [
                StoredEvent(aggregate, 3, "ledgerdesk.test:Odd", b"{}"),
                StoredEvent(aggregate, 2, "ledgerdesk.test:Odd", b"{}"),
            ]
        )
    assert len(recorder.select_events(aggregate)) == 2  # nothing of the refused save
    assert recorder.max_notification_id() == ids[-1]


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_a_save_notifies_its_last_position_on_commit(services):
    """The save (one round trip: lock, rows, notification, commit) names its last position."""
    recorder = services.app.recorder
    with recorder.datastore.get_connection() as listener:
        listener.execute(SQL("LISTEN {}").format(Identifier(recorder.channel_name)))
        aggregate = uuid4()
        ids = recorder.insert_events(
            [StoredEvent(aggregate, v, "ledgerdesk.test:Odd", b"{}") for v in (1, 2, 3)]
        )
        assert ids is not None
        notes = [n.payload for n in listener.notifies(timeout=5, stop_after=1)]
        listener.execute("UNLISTEN *")
    assert notes == [str(ids[-1])]


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_a_save_and_a_refused_save_each_take_one_round_trip(services, tmp_path):
    """BEGIN, the table lock, the rows, the notification and COMMIT go out together, synced
    once; a refused save costs one more round trip (its ROLLBACK), and leaves the connection
    ready for the next."""
    recorder = services.app.recorder
    aggregate = uuid4()
    with protocol_trace(recorder.datastore, tmp_path / "trace") as sent:
        recorder.insert_events([StoredEvent(aggregate, 1, "ledgerdesk.test:Odd", b"{}")])
    assert sent.count("Sync") == 1, sent
    with (
        protocol_trace(recorder.datastore, tmp_path / "trace") as sent,
        pytest.raises(IntegrityError),
    ):
        recorder.insert_events([StoredEvent(aggregate, 1, "ledgerdesk.test:Odd", b"{}")])
    # One synced pipeline, then the ROLLBACK (psycopg also forgets its prepared statements).
    assert sent.count("Sync") == 1 and sent.index("Sync") < sent.index("Query"), sent
    assert recorder.insert_events([StoredEvent(aggregate, 2, "ledgerdesk.test:Odd", b"{}")])


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_a_batch_reads_ahead_and_takes_its_numbers_in_one_round_trip(services, people, tmp_path):
    """Before its commands run, a group commit loads what they will read and takes fresh
    ticket numbers together: one synced pipeline, then one for the save."""
    app = services.app
    email = people.alice.email
    opening = opening_for(app, people.agent.actor, email)

    # The process's first number is checked against the store (once); the holder of the
    # address is remembered: two ids to read ahead.
    assert opening() == "T-1"
    reads = app.email_reads(email)
    assert len(reads) == 2
    with protocol_trace(app.recorder.datastore, tmp_path / "trace") as sent:
        assert app.batch([opening] * 2, numbers=2, reads=reads) == ["T-2", "T-3"]
    assert sent.count("Sync") == 2, " ".join(sent)
    assert app.ticket("T-3").requester_id == people.alice.id
    with protocol_trace(app.recorder.datastore, tmp_path / "trace") as sent:
        assert app.batch([opening], numbers=1, reads=reads) == ["T-4"]
    assert sent.count("Sync") == 2, " ".join(sent)


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_the_read_ahead_follows_the_application_s_number_allocator(services, people, monkeypatch):
    """Numbers come from whatever allocator the application has when the batch runs (one
    without a sequence takes its numbers apart from the read)."""
    from ledgerdesk.domain.application.numbers import NumberAllocator

    app = services.app
    monkeypatch.setattr(app, "numbers", NumberAllocator(app.number_taken))
    reads = app.email_reads(people.alice.email)

    def opening() -> str:
        return app.open_ticket(
            actor=people.agent.actor, subject="hi", text="x", requester_id=people.alice.id
        ).number

    assert app.batch([opening] * 2, numbers=2, reads=reads) == ["T-1", "T-2"]


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_a_save_whose_answer_is_lost_after_its_commit_is_kept_once(settings, clock, caplog):
    """The connection drops after the server committed a ticket's opening and before the
    answer came: the retried save finds its own rows and keeps them, instead of a conflict
    that would run the command again and open a second ticket."""
    url = urlsplit(settings.database_url)
    with lossy_proxy((url.hostname or "127.0.0.1", url.port or 5432)) as proxy:
        through = settings.database_url.replace(
            url.netloc, f"{url.username}@127.0.0.1:{proxy.port}"
        )
        proxied = settings.with_changes(database_url=through)
        migrate(proxied)
        svc = bootstrap(proxied, clock=clock)
        try:
            people = People(svc)
            # The next save's answer is lost (its notification names the channel), and then
            # the answer to the retry's look for its rows too.
            proxy.arm(svc.app.recorder.channel_name.encode(), b"JOIN unnest(")
            with caplog.at_level(logging.WARNING, logger="ledgerdesk.store"):
                ticket = open_ticket(svc, people.alice, subject="Only once")
            assert proxy.losses == 2
            assert "kept once" in caplog.text
            opened = svc.app.ids_of(Ticket.Opened)
            assert [aggregate for _, aggregate in opened] == [ticket.id]
            assert svc.app.ticket(ticket.number).subject == "Only once"
            assert open_ticket(svc, people.bob).number == "T-2"  # the store works on
        finally:
            svc.close()


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_a_save_that_meets_other_rows_or_its_own_without_a_lost_answer_is_a_conflict(services):
    recorder = services.app.recorder
    aggregate = uuid4()
    recorder.insert_events([StoredEvent(aggregate, 1, "ledgerdesk.test:Odd", b"{}")])
    with pytest.raises(IntegrityError):  # the same bytes again, but no connection was lost
        recorder.insert_events([StoredEvent(aggregate, 1, "ledgerdesk.test:Odd", b"{}")])
    assert recorder._already_saved([StoredEvent(aggregate, 1, "ledgerdesk.test:Odd", b"{}")])
    for other in (
        StoredEvent(aggregate, 1, "ledgerdesk.test:Odd", b'{"x":1}'),
        StoredEvent(aggregate, 1, "ledgerdesk.test:Even", b"{}"),
        StoredEvent(aggregate, 2, "ledgerdesk.test:Odd", b"{}"),
    ):
        assert recorder._already_saved([other]) is None
