"""Read your writes without a blocked thread: `ProjectionRuntime.reached` futures, both stores."""

from __future__ import annotations

import threading

import pytest

from ledgerdesk.projections.ticket_index.view import Scope


def test_a_future_resolves_once_the_index_shows_the_command(services, people):
    runtime, app, index = services.projections, services.app, services.ticket_index
    runtime.start()
    try:
        futures = []
        for i in range(5):
            ticket = app.open_ticket(
                actor="system:test", subject=f"Fresh {i}", text="hi", requester_id=people.alice.id
            )
            futures.append((ticket, runtime.reached(app.last_position)))
        for ticket, future in futures:
            assert future.result(timeout=10) is True
            assert index.get_ticket_row(ticket.id, Scope.everything()) is not None
        assert runtime.reached(None).result(0) is True  # nothing to wait for
        assert runtime.reached(1).result(0) is True  # long reached
    finally:
        runtime.stop()


def test_a_slow_refresh_of_the_statistics_holds_back_no_write(services, people, monkeypatch):
    """ANALYZE runs beside the projection: the commands waiting for the index do not wait for
    it (on PostgreSQL it took 30 ms and more, a stall for every request in flight)."""
    runtime, app, index = services.projections, services.app, services.ticket_index
    analysing, release = threading.Event(), threading.Event()

    def slow_refresh() -> None:
        analysing.set()
        release.wait(10)

    monkeypatch.setattr(index, "refresh_statistics", slow_refresh)
    runtime.start()  # a first refresh of the statistics once started
    try:
        assert analysing.wait(10)
        ticket = app.open_ticket(
            actor="system:test", subject="Meanwhile", text="hi", requester_id=people.alice.id
        )
        assert runtime.reached(app.last_position).result(timeout=5) is True
        assert index.get_ticket_row(ticket.id, Scope.everything()) is not None
    finally:
        release.set()
        runtime.stop()


def test_without_a_running_runtime_the_future_comes_back_caught_up(services, people):
    runtime, app, index = services.projections, services.app, services.ticket_index
    ticket = app.open_ticket(
        actor="system:test", subject="Offline", text="hi", requester_id=people.alice.id
    )
    assert runtime.reached(app.last_position).result(0) is True
    assert index.get_ticket_row(ticket.id, Scope.everything()) is not None


def test_stopping_the_runtime_releases_whoever_still_waits(services, people):
    runtime = services.projections
    runtime.start()
    future = runtime.reached(10**9)  # a position nobody will write
    runtime.stop()
    assert future.result(timeout=5) is False


def test_a_process_that_only_watches_resolves_its_waits_from_the_projector(
    store, settings, services, people
):
    """API workers beside `serve --workers N` leave projecting to one process and learn from
    the tracking channel how far it got (PostgreSQL); SQLite refuses to watch."""
    from ledgerdesk.bootstrap import bootstrap

    worker = bootstrap(settings)
    try:
        if store == "sqlite":
            with pytest.raises(RuntimeError, match="PostgreSQL"):
                worker.projections.watch()
            return
        worker.projections.watch()
        services.projections.start()  # the projector, another "process" on the same store
        index = worker.ticket_index
        for i in range(5):
            ticket = worker.app.open_ticket(
                actor="system:test", subject=f"Worker {i}", text="hi", requester_id=people.alice.id
            )
            position = worker.app.last_position
            assert worker.projections.reached(position).result(timeout=10) is True
            assert index.get_ticket_row(ticket.id, Scope.everything()) is not None
            assert worker.projections.wait(position, timeout=10)
        # A watcher never projects: with the projector stopped, nothing new is reached.
        services.projections.stop()
        worker.app.open_ticket(
            actor="system:test", subject="Unseen", text="hi", requester_id=people.alice.id
        )
        assert not worker.projections.wait(worker.app.last_position, timeout=0.5)
    finally:
        worker.close()


def test_another_process_s_write_wakes_the_projections_at_once(store, settings, services, people):
    """PostgreSQL: the store's notification (with the position written) wakes a runtime in
    another process well within its two-second poll. SQLite has no notifications: its
    half-second poll finds the write."""
    import time

    from ledgerdesk.bootstrap import bootstrap

    within = 1.0 if store == "postgres" else 1.5
    other = bootstrap(settings)
    services.projections.start()
    try:
        for i in range(3):
            ticket = other.app.open_ticket(
                actor="system:test", subject=f"Other {i}", text="hi", requester_id=people.alice.id
            )
            started = time.monotonic()
            assert services.projections.wait(other.app.last_position, timeout=10)
            assert time.monotonic() - started < within
            assert services.ticket_index.get_ticket_row(ticket.id, Scope.everything())
    finally:
        services.projections.stop()
        other.close()


def test_waits_cover_the_projections_another_process_runs(store, settings, services, people):
    """The API with a queue projects the ticket index; the worker, the outbox. On PostgreSQL
    the API watches the outbox's tracking channel, so a wait for everything holds until the
    worker got there; SQLite cannot see it and does not wait for it."""
    import time

    from ledgerdesk.bootstrap import bootstrap

    worker = bootstrap(settings)
    services.projections.start(background=False)
    try:
        ticket = open_ticket_for(services, people)
        position = services.app.last_position
        if store == "sqlite":
            started = time.monotonic()
            assert services.projections.wait(position, timeout=5, everything=True)
            assert time.monotonic() - started < 1.0
            assert services.outbox.items(ticket=ticket.number) == []  # nobody projected it
            return
        assert not services.projections.wait(position, timeout=0.5, everything=True)
        worker.projections.start(read_back=False)
        assert services.projections.wait(position, timeout=10, everything=True)
        assert services.outbox.items(ticket=ticket.number)
    finally:
        services.projections.stop()
        worker.close()


def open_ticket_for(services, people):  # type: ignore[no-untyped-def]
    return services.app.open_ticket(
        actor=people.agent.actor, subject="Queued", text="hi", requester_id=people.alice.id
    )
