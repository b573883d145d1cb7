"""`ledgerdesk projections status` and `rebuild` from the shell, on both stores."""

from __future__ import annotations

import re
import urllib.error
from functools import partial

from ledgerdesk.tests.e2e.cast import open_ticket, staff_the_desk
from ledgerdesk.tests.e2e.served import free_port, get_json, post, wait_for_health
from ledgerdesk.tests.e2e.shell import one_line_error
from ledgerdesk.utils import stop_process


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


def test_a_rebuild_from_the_shell_leaves_serve_answering_and_every_ticket_findable(
    ledgerdesk, services, tmp_path
):
    """`projections rebuild` in one process while `serve` answers in another: no request
    fails meanwhile, tickets opened during it are in the rebuilt index, and the bar shows
    how far it got."""
    app = services.app
    app.create_user(
        actor="system:test",
        email="admin@serve.test",
        role="admin",
        password_hash=services.passwords.hash("serve-password-1"),
    )
    requester = app.create_user(actor="system:test", email="c@serve.test").id
    for chunk in range(30):  # enough log for the rebuild to take a while
        app.batch(
            [
                partial(
                    app.open_ticket,
                    actor="system:test",
                    subject=f"Seeded {chunk}-{i}",
                    text="old news",
                    requester_id=requester,
                )
                for i in range(200)
            ]
        )
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = ledgerdesk.popen("serve", "--port", str(port), log=tmp_path / "serve.log")
    try:
        wait_for_health(base, server, tmp_path / "serve.log")
        login = {"email": "admin@serve.test", "password": "serve-password-1"}
        token = post(f"{base}/auth/login", login)["access_token"]
        rebuild = ledgerdesk.popen(
            "projections", "rebuild", "ticket_index", log=tmp_path / "rebuild.log"
        )
        opened: list[str] = []
        failures: list[str] = []
        while rebuild.poll() is None or not opened:
            try:
                body = {"subject": "During", "text": f"fresh{len(opened)}"}
                opened.append(post(f"{base}/tickets", body, token)["number"])
                get_json(f"{base}/tickets?q=old", token)
            except urllib.error.HTTPError as error:
                failures.append(f"{error.code} {error.read()[:200]!r}")
        assert rebuild.wait(timeout=120) == 0, (tmp_path / "rebuild.log").read_text()
        assert failures == []
        for i, number in enumerate(opened):
            found = get_json(f"{base}/tickets?q=fresh{i}", token)["items"]
            assert [t["number"] for t in found] == [number]
        total = get_json(f"{base}/tickets?limit=1", token)["total"]
        assert total == 1_000  # counting stops there
        shown = (tmp_path / "rebuild.log").read_text()
        head = re.search(r"rebuilding ticket_index\D+(\d+)/(\d+)", shown)
        assert head and head.group(1) == head.group(2) and int(head.group(2)) >= 12_000, shown
        assert "ticket_index: rebuilt from" in shown
    finally:
        stop_process(server, 15)
