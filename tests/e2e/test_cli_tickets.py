"""Working a ticket from the shell, and the command's own help."""

from __future__ import annotations

import subprocess
import sys

from ledgerdesk.tests.e2e.cast import AGENT, ALICE, open_ticket, staff_the_desk

COMMANDS = ("migrate", "serve", "users", "departments", "tickets", "audit", "demo")


def test_tickets_show_json_gives_the_ticket_with_every_message(ledgerdesk):
    ledgerdesk("departments", "add", "billing", "--name", "Billing")
    staff_the_desk(ledgerdesk, "billing")
    open_ticket(
        ledgerdesk,
        "--department",
        "billing",
        "--priority",
        "high",
        "--tag",
        "refund",
        subject="Invoice twice",
        text="I was charged twice.\nSee below.",
    )
    ledgerdesk("tickets", "reply", "T-1", "--text", "Refund is on its way.", "--as", AGENT)
    ledgerdesk("tickets", "note", "T-1", "--text", "Refunded in the billing tool.", "--as", AGENT)
    ledgerdesk(
        "tickets", "status", "T-1", "waiting", "--reason", "confirm the refund", "--as", AGENT
    )

    ticket = ledgerdesk.json("tickets", "show", "T-1")

    summary = ("number", "subject", "status", "priority", "requester", "assignee")
    expected = ["T-1", "Invoice twice", "waiting", "high", ALICE, None]
    assert [ticket[key] for key in summary] == expected
    assert ticket["tags"] == ["refund"] and ticket["department_id"] is not None
    # Opened, first message, agent reply, New -> In Progress, note, In Progress -> Waiting.
    assert ticket["version"] == 6
    assert ticket["first_response_at"] is not None
    messages = ticket["messages"]
    assert [(m["kind"], m["sender"], m["by_staff"]) for m in messages] == [
        ("reply", ALICE, False),
        ("reply", AGENT, True),
        ("note", AGENT, True),
    ]
    assert [m["visible_text"] for m in messages] == [
        "I was charged twice.\nSee below.",
        "Refund is on its way.",
        "Refunded in the billing tool.",
    ]
    assert all(m["full_text"] == m["visible_text"] for m in messages)
    assert all(m["attachments"] == [] and m["channel"] == "cli" for m in messages)
    assert len({m["message_id"] for m in messages}) == 3


def test_the_help_lists_every_command(bare):
    result = bare("--help")
    listed = {line.strip("│ ").split(" ")[0] for line in result.stdout.splitlines()}
    assert set(COMMANDS) <= listed, result.stdout


def test_the_cli_also_runs_as_python_dash_m(bare):
    done = subprocess.run(
        [sys.executable, "-m", "ledgerdesk.cli", "--help"],
        env=bare.env,
        cwd=bare.cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "tickets" in done.stdout
