"""Auditing from the shell: history, as-of views, exports, seals, and tampering found by verify."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from itertools import pairwise

import pytest

from ledgerdesk.domain.ticket import ticket_id
from ledgerdesk.tests.e2e.cast import AGENT, ALICE, open_ticket, staff_the_desk
from ledgerdesk.tests.e2e.shell import Result, one_line_error
from ledgerdesk.tests.e2e.tamper import replace_in_stored_event

REPLY = "Extinguisher on its way."


@pytest.fixture
def worked(ledgerdesk):
    """T-1 with five events: Opened, its message, an agent's reply (In Progress), Resolved."""
    staff_the_desk(ledgerdesk)
    open_ticket(ledgerdesk)  # v1 Opened, v2 MessageAdded
    ledgerdesk("tickets", "reply", "T-1", "--text", REPLY, "--as", AGENT)  # v3, v4
    ledgerdesk("tickets", "status", "T-1", "resolved", "--as", AGENT)  # v5
    return ledgerdesk


def _names_tampering(result: Result, event: str) -> None:
    assert result.code == 1, str(result)
    assert event in result.stderr and "Traceback" not in result.stderr, str(result)


def test_history_and_as_of_views_replay_the_ticket_through_the_cli(worked):
    history = worked.json("audit", "history", "T-1")

    assert [(h["version"], h["event"]) for h in history] == [
        (1, "Opened"),
        (2, "MessageAdded"),
        (3, "MessageAdded"),
        (4, "StatusChanged"),
        (5, "StatusChanged"),
    ]
    assert history[0]["actor"] == "system:cli" and history[2]["actor"].startswith("user:")
    assert history[2]["changes"]["visible_text"] == REPLY
    assert history[0]["prev_hash"] == ""
    assert all(h["prev_hash"] == before["hash"] for before, h in pairwise(history))

    at_v2 = worked.json("audit", "show", "T-1", "--version", "2")
    assert (at_v2["version"], at_v2["status"], len(at_v2["messages"])) == (2, "new", 1)
    opened, replied = (datetime.fromisoformat(history[i]["at"]) for i in (1, 2))
    between = (opened + (replied - opened) / 2).isoformat()
    assert worked.json("audit", "show", "T-1", "--as-of", between) == at_v2
    latest = worked.json("audit", "show", "T-1", "--version", "5")
    assert latest == worked.json("tickets", "show", "T-1") and latest["status"] == "resolved"


def test_an_export_verifies_and_an_edited_export_names_the_edited_event(worked, tmp_path):
    export = tmp_path / "T-1.json"
    worked("audit", "export", "T-1", "-o", str(export))
    assert worked("audit", "verify", "--file", str(export)).code == 0

    original = export.read_text()
    edited = json.loads(original)
    third = edited["events"][2]
    assert (third["version"], third["fields"]["visible_text"]) == (3, REPLY)
    third["fields"]["visible_text"] = "No idea, sorry."
    (tmp_path / "fields.json").write_text(json.dumps(edited, indent=2))
    # The text wherever it appears: the stored state as well as the readable fields.
    (tmp_path / "everywhere.json").write_text(original.replace("Extinguisher", "Nobody"))
    for name in ("fields.json", "everywhere.json"):
        _names_tampering(
            worked("audit", "verify", "--file", str(tmp_path / name), check=False), "T-1 v3"
        )


def test_a_sealed_log_verifies_and_an_event_rewritten_in_the_database_is_named(worked, settings):
    worked("audit", "seal")
    assert worked("audit", "verify").code == 0

    replace_in_stored_event(settings, ticket_id("T-1"), 3, b"Extinguisher", b"Nobody")

    _names_tampering(worked("audit", "verify", check=False), "T-1 v3")


@pytest.mark.parametrize("store", ["sqlite"])
def test_verify_names_an_event_rewritten_as_text_by_plain_sql(ledgerdesk, settings, store):
    ledgerdesk("users", "add", ALICE)
    open_ticket(ledgerdesk)
    ledgerdesk("audit", "seal")  # v2 is the ticket's head: only a seal can vouch for it
    conn = sqlite3.connect(settings.sqlite_path)
    with conn:
        conn.execute(
            "UPDATE stored_events SET state = replace(state, 'printer', 'scanner') "
            "WHERE originator_id = ? AND originator_version = 2",
            (ticket_id("T-1").hex,),
        )
    conn.close()

    _names_tampering(ledgerdesk("audit", "verify", check=False), "T-1 v2")


@pytest.mark.parametrize("store", ["sqlite"])
def test_exporting_an_unknown_ticket_is_refused_with_one_line(ledgerdesk, tmp_path, store):
    export = tmp_path / "T-99.json"
    line = one_line_error(ledgerdesk("audit", "export", "T-99", "-o", str(export), check=False), 1)
    assert "T-99" in line and not export.exists()


NOT_AN_EXPORT = {
    "a list": [],
    "an event without topic": {
        "format": "ledgerdesk-audit-export/1",
        "ticket": "T-1",
        "aggregate_id": ticket_id("T-1").hex,
        "events": [{"version": 1}],
    },
}


@pytest.mark.parametrize("document", NOT_AN_EXPORT.values(), ids=NOT_AN_EXPORT.keys())
def test_a_file_that_is_no_export_is_refused_with_one_line(bare, tmp_path, document):
    path = tmp_path / "export.json"
    path.write_text(json.dumps(document))
    assert "file" in one_line_error(bare("audit", "verify", "--file", str(path), check=False), 1)
