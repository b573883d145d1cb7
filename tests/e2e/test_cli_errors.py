"""Refused commands and unreachable stores: one clear line on stderr, and nothing written."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from ledgerdesk.tests.e2e.cast import AGENT, ALICE, open_ticket, staff_the_desk
from ledgerdesk.tests.e2e.shell import Ledgerdesk, one_line_error

NOBODY = "nobody@example.com"


def _open(subject: str, *extra: str, requester: str = ALICE) -> tuple[str, ...]:
    options = ("--requester", requester, "--subject", subject, "--text", "t")
    return ("tickets", "open", *options, *extra)


# case -> (arguments, words the error line must contain). T-1 is Resolved when they run.
REFUSED: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "show an unknown ticket": (("tickets", "show", "T-99"), ("T-99",)),
    "reply to an unknown ticket": (("tickets", "reply", "T-99", "--text", "hi"), ("T-99",)),
    "a malformed ticket number": (("tickets", "show", "ticket-one"), ("ticket-one",)),
    "an unknown requester": (_open("s", requester=NOBODY), (NOBODY,)),
    "acting as an unknown user": (
        ("tickets", "note", "T-1", "--text", "x", "--as", NOBODY),
        (NOBODY,),
    ),
    "assigning an unknown agent": (("tickets", "assign", "T-1", NOBODY), (NOBODY,)),
    "assigning a customer": (("tickets", "assign", "T-1", ALICE), (ALICE, "customer")),
    "a blank subject": (_open("   "), ("subject", "empty")),
    "a blank reply": (("tickets", "reply", "T-1", "--text", " \n "), ("text", "empty")),
    "an over-long subject": (_open("s" * 251), ("subject", "250")),
    "an over-long category": (("tickets", "set", "T-1", "--category", "c" * 81), ("80",)),
    "an over-long tag": (("tickets", "tag", "T-1", "t" * 41), ("tag", "40")),
    "an over-long user name": (
        ("users", "add", "bob@customer.test", "--name", "n" * 121),
        ("name", "120"),
    ),
    "back to New": (("tickets", "status", "T-1", "new"), ("T-1", "New")),
    "Resolved to Waiting": (("tickets", "status", "T-1", "waiting"), ("T-1", "Waiting")),
    "an unknown status": (("tickets", "status", "T-1", "done"), ("done",)),
    "an internal note by a customer": (
        ("tickets", "note", "T-1", "--text", "x", "--as", ALICE),
        ("note",),
    ),
    "a taken email": (("users", "add", ALICE), (ALICE,)),
    "an unknown department": (_open("s", "--department", "nowhere"), ("nowhere",)),
    "a version that never was": (("audit", "show", "T-1", "--version", "99"), ("99",)),
    "a moment before the ticket": (
        ("audit", "show", "T-1", "--as-of", "2000-01-01"),
        ("did not exist",),
    ),
}


def _stored(cli: Ledgerdesk) -> tuple[object, object]:
    """T-1 as JSON, and how many events the whole log holds."""
    return cli.json("tickets", "show", "T-1"), cli.json("audit", "verify")["events"]


def test_every_refused_command_prints_one_clear_line_and_writes_nothing(ledgerdesk, subtests):
    staff_the_desk(ledgerdesk)
    open_ticket(ledgerdesk)
    ledgerdesk("tickets", "reply", "T-1", "--text", "On it", "--as", AGENT)
    ledgerdesk("tickets", "status", "T-1", "resolved", "--as", AGENT)
    before = _stored(ledgerdesk)
    # Each command is its own process; running a few at once halves the wait.
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda case: ledgerdesk(*case[0], check=False), REFUSED.values()))
    for (name, (_, words)), result in zip(REFUSED.items(), results, strict=True):
        with subtests.test(name):
            line = one_line_error(result, code=1)
            assert result.stdout == ""
            for word in words:
                assert word in line, line
    with subtests.test("a line longer than a narrow terminal"):
        narrow = ledgerdesk.with_env(COLUMNS="40")
        assert len(one_line_error(narrow("tickets", "status", "T-1", "waiting", check=False))) > 40
    assert _stored(ledgerdesk) == before


@pytest.mark.parametrize("store", ["sqlite"])
def test_a_set_or_tag_with_one_refused_value_changes_nothing_at_all(ledgerdesk, store):
    ledgerdesk("users", "add", ALICE)
    open_ticket(ledgerdesk)
    before = ledgerdesk.json("tickets", "show", "T-1")
    for args in (
        ("tickets", "set", "T-1", "--priority", "high", "--category", "c" * 81),
        ("tickets", "tag", "T-1", "billing", "NOT OK!"),
    ):
        one_line_error(ledgerdesk(*args, check=False), code=1)
    assert ledgerdesk.json("tickets", "show", "T-1") == before


DOWN = "postgresql://postgres@127.0.0.1:1/nope?connect_timeout=1"


@pytest.mark.parametrize(
    "args",
    [("migrate",), ("tickets", "reply", "T-1", "--text", "hello")],
    ids=["migrate", "a command"],
)
def test_a_database_that_is_down_gives_exit_75_and_one_line(bare, args):
    down = bare.with_env(LEDGERDESK_DATABASE_URL=DOWN, LEDGERDESK_SECRET_KEY="e2e-secret")
    line = one_line_error(down(*args, check=False), code=75)
    assert "database" in line


@pytest.mark.parametrize(
    "environ",
    [
        {"LEDGERDESK_DATABASE_URL": "mysql://x"},
        {"LEDGERDESK_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/nope"},
        {"LEDGERDESK_SNAPSHOT_INTERVAL": "often"},
    ],
    ids=["not postgresql", "no secret key", "not a number"],
)
def test_a_configuration_error_gives_exit_78_and_one_line(bare, environ):
    line = one_line_error(bare.with_env(**environ)("tickets", "show", "T-1", check=False), code=78)
    assert "LEDGERDESK_" in line


def test_a_store_without_tables_asks_for_migrate_with_exit_75(bare):
    line = one_line_error(bare("tickets", "show", "T-1", check=False), code=75)
    assert "ledgerdesk migrate" in line
