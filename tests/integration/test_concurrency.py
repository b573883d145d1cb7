"""Ticket numbers stay unique when several processes open tickets at once; group commit."""

from __future__ import annotations

import multiprocessing
from collections import Counter
from collections.abc import Callable
from typing import Any
from uuid import UUID

import pytest

from ledgerdesk.bootstrap import bootstrap
from ledgerdesk.domain.errors import ValidationError
from ledgerdesk.domain.user import EmailIndex
from ledgerdesk.tests.support import open_ticket, open_tickets_in_process, opening_for

WRITERS = 4
PER_WRITER = 25


def test_ticket_numbers_are_unique_and_gap_free_under_concurrent_processes(
    services, people, settings
):
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(WRITERS), context.Queue()
    workers = [
        context.Process(
            target=open_tickets_in_process,
            args=(settings, str(people.alice.id), PER_WRITER, barrier, results),
        )
        for _ in range(WRITERS)
    ]
    for worker in workers:
        worker.start()
    batches = [results.get(timeout=120) for _ in workers]
    assert not [b for b in batches if isinstance(b, BaseException)], batches
    numbers = [n for batch in batches for n in batch]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    counts = Counter(numbers)
    assert not [n for n, c in counts.items() if c > 1], "a number was given twice"
    assert sorted(int(n[2:]) for n in numbers) == list(range(1, WRITERS * PER_WRITER + 1))
    assert services.app.verify().ok


def test_a_batch_saves_many_commands_in_one_transaction_and_reports_refusals(services, people):
    app = services.app
    before = app.read(app.recorder.max_notification_id)
    results = app.batch(
        [
            lambda: open_ticket(services, people.alice, subject="one"),
            lambda: open_ticket(services, people.alice, subject=""),  # refused, nothing stored
            lambda: open_ticket(services, people.bob, subject="two"),
            lambda: app.add_reply("T-1", actor=people.agent.actor, text="answer in the same batch"),
        ]
    )
    assert isinstance(results[1], ValidationError)
    assert [r.number for r in (results[0], results[2])] == ["T-1", "T-2"]
    assert app.ticket("T-1").status == "in_progress"
    notifications = app.recorder.select_notifications(start=before + 1, limit=100)
    assert len(notifications) == 2 + 2 + 2  # opened+message twice; reply + status change


def test_commands_inside_a_batch_see_each_others_changes_before_the_save(services, people):
    app = services.app
    results = app.batch(
        [
            lambda: open_ticket(services, people.alice),
            lambda: app.assign("T-1", people.agent.id, actor=people.admin.actor),
            lambda: app.change_status("T-1", "resolved", actor=people.agent.actor),
        ]
    )
    assert not [r for r in results if isinstance(r, Exception)]
    assert app.ticket("T-1").status == "resolved"


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_two_applications_on_one_file_do_not_hand_out_the_same_number(services, people, settings):
    other = bootstrap(settings)
    try:
        a = open_ticket(services, people.alice).number
        b = other.app.open_ticket(
            actor="system:test", subject="s", text="t", requester_id=people.alice.id
        ).number
        c = open_ticket(services, people.alice).number  # this process's counter is stale now
        assert (a, b, c) == ("T-1", "T-2", "T-3")
    finally:
        other.close()


@pytest.mark.parametrize("store", ["postgres"], indirect=True)
def test_postgres_numbers_come_from_a_sequence_that_catches_up_with_the_store(
    services, people, settings
):
    """Several API processes take numbers from one sequence; when the sequence is behind the
    store (a restored database), the conflict re-seeds it and the command runs again."""
    import psycopg

    assert [open_ticket(services, people.alice).number for _ in range(3)] == ["T-1", "T-2", "T-3"]
    url, _, query = settings.database_url.partition("?")
    schema = query.split("schema=")[1]
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'ALTER SEQUENCE "{schema}".ledgerdesk_ticket_numbers RESTART')
    assert open_ticket(services, people.alice).number == "T-4"
    other = bootstrap(settings)
    try:
        number = other.app.open_ticket(
            actor="system:test", subject="s", text="t", requester_id=people.alice.id
        ).number
        assert number == "T-5"
        assert open_ticket(services, people.alice).number == "T-6"  # no stale counter
    finally:
        other.close()


def test_numbers_of_a_unit_that_was_not_saved_are_handed_out_again(services, people):
    """A conflict re-runs the whole batch: the numbers its first run took are reused, so
    concurrent processes leave no gaps (both stores)."""
    from eventsourcing.persistence import IntegrityError

    runs: list[str] = []

    def collides_once() -> str:
        number = open_ticket(services, people.alice).number
        runs.append(number)
        if len(runs) == 1:
            raise IntegrityError("another process saved the same record first")
        return number

    assert services.app.batch([collides_once]) == ["T-1"]
    assert runs == ["T-1", "T-1"]
    assert open_ticket(services, people.alice).number == "T-2"


def test_a_batch_reserves_its_numbers_together_and_hands_back_what_it_did_not_use(
    services, people, monkeypatch
):
    """The API's group commit tells the batch how many tickets it opens: PostgreSQL hands out
    their numbers in one round trip; unused ones go out first afterwards (both stores)."""
    app, numbers = services.app, services.app.numbers
    asked: list[int] = []
    sequence = hasattr(numbers, "reserve_query")  # the sequence (PostgreSQL)
    if sequence:  # the statement taking numbers, alone or beside the batch's reads
        reserve_query = numbers.reserve_query

        def counted(count: int) -> Any:
            asked.append(count)
            return reserve_query(count)

        monkeypatch.setattr(numbers, "reserve_query", counted)

    def opening() -> str:
        return open_ticket(services, people.alice).number

    assert app.batch([opening] * 3, numbers=5) == ["T-1", "T-2", "T-3"]
    assert asked == ([5] if sequence else [])
    assert opening() == "T-4"  # the two spare numbers go out first, with no round trip
    assert app.batch([opening], numbers=1) == ["T-5"]
    assert asked == ([5] if sequence else [])
    assert opening() == "T-6"
    assert asked == ([5, 1] if sequence else [])


def test_an_atomic_batch_with_one_refusal_saves_nothing(services, people):
    app = services.app
    number = open_ticket(services, people.alice).number
    before = app.ticket(number).version
    with pytest.raises(ValidationError, match="tag"):
        app.batch(
            [
                lambda: app.tag(number, "billing", actor=people.agent.actor),
                lambda: app.tag(number, "NOT OK!", actor=people.agent.actor),
            ],
            atomic=True,
        )
    assert app.ticket(number).version == before


def test_a_batch_loads_what_its_commands_will_read_in_one_query(services, people, monkeypatch):
    """The API's group commit says what each command will read (the requester's address index
    and, as this process last saw it, its holder): the batch loads all of it in one query,
    and a stale guess only costs the usual read (both stores)."""
    app = services.app
    queries: list[int] = []
    gets: list[object] = []
    events_of, get = app.log_reader.events_of, app.repository.get

    def counted_events_of(ids: list[UUID]) -> Any:
        queries.append(len(ids))
        return events_of(ids)

    def counted_get(aggregate_id: UUID, **kwargs: Any) -> Any:
        gets.append(aggregate_id)
        return get(aggregate_id, **kwargs)

    monkeypatch.setattr(app.log_reader, "events_of", counted_events_of)
    monkeypatch.setattr(app.repository, "get", counted_get)
    read_ahead = app.read_ahead
    if read_ahead is not None:  # PostgreSQL: the batch's reads go with its numbers

        def counted_read_ahead(ids: list[UUID], numbers: int) -> Any:
            queries.append(len(ids))
            return read_ahead(ids, numbers)

        monkeypatch.setattr(app, "read_ahead", counted_read_ahead)

    def opening(email: str) -> Callable[[], str]:
        return opening_for(app, people.agent.actor, email)

    email = "alice@customer.test"
    assert app.email_reads(email) == [EmailIndex.id_for(email)]  # nothing seen yet
    assert app.batch([opening(email)] * 2, reads=app.email_reads(email) * 2) == ["T-1", "T-2"]
    assert queries == [1] and gets == [people.alice.id]  # the index in one query, Alice alone
    queries.clear()
    gets.clear()
    assert app.email_reads(email) == [EmailIndex.id_for(email), people.alice.id]
    assert app.batch([opening(email)], reads=app.email_reads(email)) == ["T-3"]
    assert queries == [2] and gets == []  # index and holder in one query, nothing else

    # The address moves to someone else: the guess is wrong, the index tells, nothing stale.
    app.update_user(people.alice.id, actor=people.admin.actor, email="alice@elsewhere.test")
    carol = app.create_user(actor=people.admin.actor, email=email, role="customer")
    queries.clear()
    gets.clear()
    assert app.batch([lambda: app.user_by_email(email)], reads=app.email_reads(email)) == [carol]
    assert queries == [2] and gets == [carol.id]
    assert app.email_reads(email) == [EmailIndex.id_for(email), carol.id]

    # Released, it names no one: nothing is guessed any more.
    app.update_user(carol.id, actor=people.admin.actor, email="carol@elsewhere.test")
    assert app.user_by_email(email) is None
    assert app.email_reads(email) == [EmailIndex.id_for(email)]
    # A key the API would refuse prefetches nothing; one with spaces, the record `once` reads.
    assert app.idempotency_reads("user:x", "\x00" * 3) == []
    assert app.idempotency_reads("user:x", " a  b ") == app.idempotency_reads("user:x", "a b")
