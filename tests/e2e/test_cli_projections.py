"""`ledgerdesk projections status` and `rebuild` from the shell, on both stores."""

from __future__ import annotations

from ledgerdesk.tests.e2e.cast import open_ticket, staff_the_desk
from ledgerdesk.tests.e2e.shell import one_line_error


def test_status_shows_the_lag_and_a_rebuild_brings_it_to_zero(ledgerdesk):
    staff_the_desk(ledgerdesk)
    open_ticket(ledgerdesk)
    open_ticket(ledgerdesk, subject="Second")
    before, outbox = ledgerdesk.json("projections", "status")
    assert before["name"] == "ticket_index" and before["lag"] == before["head"] > 0
    assert outbox["name"] == "outbox"

    rebuilt = ledgerdesk("projections", "rebuild")
    assert f"ticket_index: rebuilt from {before['head']} events" in rebuilt.stderr
    assert f"outbox: rebuilt from {before['head']} events" in rebuilt.stderr

    after = ledgerdesk.json("projections", "status")
    assert [(a["position"], a["lag"]) for a in after] == [(before["head"], 0)] * 2
    ledgerdesk("projections", "rebuild", "ticket_index")  # again: the same result
    assert ledgerdesk.json("projections", "status") == after
    assert "ticket_index" in ledgerdesk("projections", "status").stdout


def test_rebuilding_an_unknown_read_model_is_one_clear_error(ledgerdesk):
    line = one_line_error(ledgerdesk("projections", "rebuild", "tickets", check=False), 1)
    assert line == "error: name: 'tickets' is not one of ticket_index, outbox"
