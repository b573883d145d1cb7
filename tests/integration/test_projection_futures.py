"""Read your writes without a blocked thread: `ProjectionRuntime.reached` futures, both stores."""

from __future__ import annotations

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
