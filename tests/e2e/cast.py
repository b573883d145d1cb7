"""A small help desk built through the CLI: one agent and one customer."""

from __future__ import annotations

from ledgerdesk.tests.e2e.shell import Ledgerdesk

AGENT = "agent@example.com"
ALICE = "alice@customer.test"


def staff_the_desk(cli: Ledgerdesk, *department: str) -> None:
    """Add the agent (to `department`, when given) and the customer Alice."""
    cli(
        "users",
        "add",
        AGENT,
        "--name",
        "Alan Agent",
        "--role",
        "agent",
        *(("--department", department[0]) if department else ()),
    )
    cli("users", "add", ALICE, "--name", "Alice")


def open_ticket(
    cli: Ledgerdesk,
    *options: str,
    subject: str = "Printer on fire",
    text: str = "The printer is on fire.",
) -> None:
    """Open the next ticket for Alice, as the CLI itself (system:cli)."""
    cli("tickets", "open", "--requester", ALICE, "--subject", subject, "--text", text, *options)
