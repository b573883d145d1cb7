"""The IMAP channel against a real Dovecot: fetch, ingest, acknowledge after commit, cursors."""

from __future__ import annotations

import dataclasses
import signal
import ssl
import subprocess
import sys
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import quote

import pytest

from ledgerdesk.adapters.mail_in.imap import (
    ImapPoller,
    IntakeIncompleteError,
    MailboxError,
    MailboxLoginError,
    MailboxUnreachableError,
    connect,
)
from ledgerdesk.adapters.mail_in.imap_config import (
    MailboxConfigError,
    parse_mailbox,
    parse_mailboxes,
)
from ledgerdesk.domain.errors import StoreUnavailableError
from ledgerdesk.domain.mailbox import MailboxCursor
from ledgerdesk.domain.ticket import Ticket
from ledgerdesk.jobs.mail import poll_mailboxes
from ledgerdesk.tests.integration.mail.dovecot import (
    Dovecot,
    free_port,
    running_dovecot,
    sample_mail,
)

KEYWORD = b"$Ledgerdesk"


class Recorder:
    """The real intake, recording what it was given and what it answered; `before` / `after` hooks
    let a test look at the mailbox mid-poll or make the poll die at that point."""

    def __init__(self, intake: Any) -> None:
        self.intake = intake
        self.calls: list[tuple[list[str], str]] = []
        self.results: list[Any] = []
        self.before: Any = None
        self.after: Any = None

    def __call__(self, items: Sequence[tuple[bytes, str]], channel: str) -> list[Any]:
        self.calls.append(([source for _, source in items], channel))
        if self.before:
            self.before(items)
        results = list(self.intake.ingest_many(items, channel))
        self.results.extend(results)
        if self.after:
            self.after(results)
        return results

    @property
    def outcomes(self) -> list[str]:
        return [r.outcome for r in self.results]

    @property
    def tickets(self) -> set[str]:
        return {r.ticket for r in self.results}


@pytest.fixture(scope="module")
def dovecot() -> Iterator[Dovecot]:
    with running_dovecot() as server:  # one server per module; each test has its own user
        yield server


@pytest.fixture
def intake(services: Any) -> Recorder:
    return Recorder(services.intake)


def tickets_opened(services: Any) -> int:
    return len(services.app.ids_of(Ticket.Opened))


@pytest.fixture
def account(dovecot: Dovecot) -> tuple[str, str]:
    return dovecot.add_user()


def append(dovecot: Dovecot, account: tuple[str, str], count: int, folder: str = "INBOX") -> None:
    with dovecot.client(*account) as client:
        if not client.folder_exists(folder):
            client.create_folder(folder)
        for i in range(count):
            client.append(folder, sample_mail(i, message_id=f"<m{i}.{folder}@example.com>"))


def flags(dovecot: Dovecot, account: tuple[str, str], folder: str = "INBOX") -> dict[int, set]:
    with dovecot.client(*account) as client:
        client.select_folder(folder, readonly=True)
        uids = client.search()
        return {uid: set(data[b"FLAGS"]) for uid, data in client.fetch(uids, ["FLAGS"]).items()}


def cursor(services: Any, url: str) -> MailboxCursor:
    return services.app.get_aggregate(MailboxCursor.id_for(parse_mailbox(url).url))


def poller(services: Any, intake: Recorder, *urls: str) -> ImapPoller:
    return ImapPoller([parse_mailbox(url) for url in urls], app=services.app, ingest=intake)


# Fetch, acknowledge, advance ----------------------------------------------------------------


def test_new_mail_is_ingested_then_flagged_seen_and_the_cursor_moves_past_it(
    services, dovecot, account, intake
):
    append(dovecot, account, 3)
    url = dovecot.url(*account)
    seen_while_ingesting: list[dict[int, set]] = []
    intake.before = lambda items: seen_while_ingesting.append(flags(dovecot, account))

    report = poller(services, intake, url).poll(parse_mailbox(url))

    assert (report.fetched, report.acknowledged, report.last_uid) == (3, 3, 3)
    assert intake.outcomes == ["opened"] * 3
    assert intake.calls[0][1] == "imap"
    assert intake.calls[0][0][0].endswith(f";UIDVALIDITY={report.uidvalidity}/;UID=1")
    assert ":" not in intake.calls[0][0][0].split("@")[0].removeprefix("imaps:")  # no password
    # Reading used BODY.PEEK[]: nothing was marked seen while the intake worked.
    assert all(b"\\Seen" not in f for f in seen_while_ingesting[0].values())
    assert all({b"\\Seen", KEYWORD} <= f for f in flags(dovecot, account).values())
    stored = cursor(services, url)
    assert (stored.uidvalidity, stored.last_uid) == (report.uidvalidity, 3)


def test_the_next_poll_fetches_only_mail_above_the_stored_uid(services, dovecot, account, intake):
    url = dovecot.url(*account)
    append(dovecot, account, 2)
    poller(services, intake, url).poll_all()
    with dovecot.client(*account) as client:
        client.append("INBOX", sample_mail(99, message_id="<late@example.com>"))

    again = poller(services, intake, url).poll(parse_mailbox(url))
    empty = poller(services, intake, url).poll(parse_mailbox(url))

    assert [len(sources) for sources, _ in intake.calls] == [2, 1]
    assert intake.calls[1][0][0].endswith(";UID=3")
    assert (again.fetched, again.last_uid, empty.fetched) == (1, 3, 0)
    assert cursor(services, url).version == 3  # started, advanced twice; an empty poll adds none


def test_large_mailboxes_are_fetched_in_batches_each_acknowledged_on_its_own(
    services, dovecot, account, intake
):
    append(dovecot, account, 7)
    url = dovecot.url(*account, batch="3")
    acknowledged_after_first: list[int] = []

    def look(results: list[Any]) -> None:
        if len(intake.calls) == 2:  # the second batch is being stored: the first is flagged
            acknowledged_after_first.extend(
                uid for uid, f in flags(dovecot, account).items() if b"\\Seen" in f
            )

    intake.after = look
    report = poller(services, intake, url).poll(parse_mailbox(url))

    assert [len(sources) for sources, _ in intake.calls] == [3, 3, 1]
    assert acknowledged_after_first == [1, 2, 3]
    assert (report.acknowledged, cursor(services, url).last_uid) == (7, 7)


def test_move_to_puts_acknowledged_mail_into_the_folder_flagged(services, dovecot, account, intake):
    append(dovecot, account, 2)
    url = dovecot.url(*account, move_to="Ledgerdesk/Done")

    report = poller(services, intake, url).poll(parse_mailbox(url))

    assert report.acknowledged == 2
    assert flags(dovecot, account) == {}
    moved = flags(dovecot, account, "Ledgerdesk/Done")
    assert len(moved) == 2 and all({b"\\Seen", KEYWORD} <= f for f in moved.values())
    assert cursor(services, url).last_uid == 2


def test_a_quarantined_message_is_stored_so_it_is_acknowledged(services, dovecot, account, intake):
    with dovecot.client(*account) as client:
        client.append("INBOX", b"\x00\xff garbage, not a mail")
    url = dovecot.url(*account)

    report = poller(services, intake, url).poll(parse_mailbox(url))

    assert (report.acknowledged, report.outcomes["quarantined"]) == (1, 1)
    assert b"\\Seen" in flags(dovecot, account)[1]


def test_a_message_without_a_stored_outcome_stays_unacknowledged_and_holds_the_cursor(
    services, dovecot, account, intake
):
    def forget_uid_2(results: list[Any]) -> None:
        results[:] = [r for r in results if not r.source.endswith("=2")]

    intake.after = forget_uid_2
    append(dovecot, account, 3)
    url = dovecot.url(*account)

    with pytest.raises(IntakeIncompleteError, match="no outcome for UID 2"):
        poller(services, intake, url).poll(parse_mailbox(url))

    seen = {uid for uid, f in flags(dovecot, account).items() if b"\\Seen" in f}
    assert seen == {1, 3}
    assert cursor(services, url).last_uid == 1  # UID 2 is fetched again next time


# UIDVALIDITY, several mailboxes ------------------------------------------------------------


def test_a_new_uidvalidity_restarts_from_the_beginning_and_dedupe_keeps_one_ticket_each(
    services, dovecot, account, intake
):
    append(dovecot, account, 2, folder="Support")
    url = dovecot.url(*account, folder="Support")
    first = poller(services, intake, url).poll(parse_mailbox(url))
    # Recreating the folder gives it a new UIDVALIDITY (as a server restore or migration does).
    with dovecot.client(*account) as client:
        client.delete_folder("Support")
    append(dovecot, account, 3, folder="Support")  # the two old messages and a new one

    second = poller(services, intake, url).poll(parse_mailbox(url))

    assert second.uidvalidity != first.uidvalidity and second.restarted
    assert intake.outcomes == ["opened", "opened", "duplicate", "duplicate", "opened"]
    assert len(intake.tickets) == 3 and tickets_opened(services) == 3
    stored = cursor(services, url)
    assert (stored.uidvalidity, stored.last_uid) == (second.uidvalidity, 3)


def test_several_mailboxes_each_keep_their_own_cursor(services, dovecot, intake):
    one, two = dovecot.add_user(), dovecot.add_user()
    append(dovecot, one, 2)
    append(dovecot, two, 1, folder="Billing")
    setting = f"{dovecot.url(*one)}, {dovecot.url(*two, 'Billing', security='starttls')}"
    mailboxes = parse_mailboxes(setting)

    reports = ImapPoller(mailboxes, app=services.app, ingest=intake).poll_all()

    assert [(r.fetched, r.last_uid, r.error) for r in reports] == [(2, 2, ""), (1, 1, "")]
    ids = {MailboxCursor.id_for(m.url) for m in mailboxes}
    assert len(ids) == 2
    assert [services.app.get_aggregate(i).last_uid for i in ids] in ([2, 1], [1, 2])


# Transport security and errors -------------------------------------------------------------


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_ssl_and_starttls_sessions_are_encrypted_and_check_the_certificate(
    dovecot, account, security
):
    mailbox = parse_mailbox(dovecot.url(*account, security=security))
    client = connect(mailbox)
    try:
        assert isinstance(client.socket(), ssl.SSLSocket)
        assert client.select_folder("INBOX")[b"UIDVALIDITY"]
    finally:
        client.logout()
    # Without the test CA the self-signed certificate is refused, in plain words.
    untrusted = parse_mailbox(dovecot.url(*account, security=security, cafile=""))
    with pytest.raises(
        MailboxUnreachableError, match=r"TLS with 127\.0\.0\.1:\d+ failed.*CERTIFICATE"
    ):
        connect(untrusted)


def test_clear_text_is_only_used_when_asked_for(dovecot, account):
    client = connect(parse_mailbox(dovecot.url(*account, security="none")))
    try:
        assert not isinstance(client.socket(), ssl.SSLSocket)
    finally:
        client.logout()


def test_a_wrong_password_is_a_clear_login_error_and_other_mailboxes_still_poll(
    services, dovecot, account, intake
):
    append(dovecot, account, 1)
    wrong = dovecot.url(account[0], "not-the-password")
    right = dovecot.url(*account)

    with pytest.raises(MailboxLoginError) as refused:
        poller(services, intake, wrong).poll(parse_mailbox(wrong))
    reports = poller(services, intake, wrong, right).poll_all()

    message = str(refused.value)
    assert "refused the login of " + account[0] in message
    assert "Authentication failed" in message and "not-the-password" not in message
    assert reports[0].error == message and reports[1].acknowledged == 1


def test_a_server_that_is_down_is_a_clear_error_and_nothing_is_acknowledged(
    services, dovecot, account, intake
):
    port = free_port()  # nothing listens there
    url = f"imaps://someone:secret@127.0.0.1:{port}/INBOX"

    with pytest.raises(MailboxUnreachableError) as down:
        poller(services, intake, url).poll(parse_mailbox(url))

    assert str(down.value) == (
        f"imaps://someone@127.0.0.1:{port}/INBOX: cannot connect to 127.0.0.1:{port}: "
        "Connection refused"
    )
    assert intake.calls == []
    assert services.app.execute(lambda unit: unit.find(MailboxCursor, _id(url))) is None


def test_a_store_that_is_down_acknowledges_nothing(services, dovecot, account, intake):
    append(dovecot, account, 2)
    url = dovecot.url(*account)

    def store_down(items: Any) -> None:
        raise StoreUnavailableError("the database cannot be reached (test)")

    intake.before = store_down
    with pytest.raises(StoreUnavailableError):
        poller(services, intake, url).poll_all()

    assert all(b"\\Seen" not in f for f in flags(dovecot, account).values())
    assert services.app.execute(lambda unit: unit.find(MailboxCursor, _id(url))) is None


# Crash safety --------------------------------------------------------------------------------


def test_a_poll_that_dies_after_the_intake_committed_redelivers_without_a_second_ticket(
    services, dovecot, account, intake
):
    append(dovecot, account, 3)
    url = dovecot.url(*account)

    def die(results: Any) -> None:
        raise KeyboardInterrupt  # the process is stopped between storing and flagging

    intake.after = die
    with pytest.raises(KeyboardInterrupt):
        poller(services, intake, url).poll(parse_mailbox(url))
    assert all(b"\\Seen" not in f for f in flags(dovecot, account).values())
    intake.after = None

    report = poller(services, intake, url).poll(parse_mailbox(url))

    assert intake.outcomes == ["opened"] * 3 + ["duplicate"] * 3
    assert len(intake.tickets) == 3 and tickets_opened(services) == 3
    assert report.acknowledged == 3 and cursor(services, url).last_uid == 3


def test_the_server_going_down_before_the_flag_redelivers_without_a_second_ticket(services, intake):
    with running_dovecot() as server:  # its own server: this test stops it
        account = server.add_user()
        append(server, account, 2)
        url = server.url(*account)
        intake.after = lambda results: server.halt()

        with pytest.raises(MailboxUnreachableError, match="connection broke"):
            poller(services, intake, url).poll(parse_mailbox(url))
        server.resume()
        intake.after = None
        assert all(b"\\Seen" not in f for f in flags(server, account).values())

        report = poller(services, intake, url).poll(parse_mailbox(url))

        assert intake.outcomes == ["opened", "opened", "duplicate", "duplicate"]
        assert len(intake.tickets) == 2 and tickets_opened(services) == 2
        assert report.acknowledged == 2


def _id(url: str) -> Any:
    return MailboxCursor.id_for(parse_mailbox(url).url)


KILLED_AFTER_INGEST = """
import os, signal, sys
from pathlib import Path
from ledgerdesk.adapters.mail_in.imap import ImapPoller
from ledgerdesk.adapters.mail_in.imap_config import parse_mailbox
from ledgerdesk.bootstrap import bootstrap
from ledgerdesk.settings import Settings

data_dir, database_url, secret_key, url = sys.argv[1:]
svc = bootstrap(Settings(data_dir=Path(data_dir), database_url=database_url, secret_key=secret_key))

def ingest(items, channel):
    svc.intake.ingest_many(items, channel)  # committed ...
    os.kill(os.getpid(), signal.SIGKILL)  # ... and the process dies before flagging

ImapPoller([parse_mailbox(url)], app=svc.app, ingest=ingest).poll_all()
"""


def test_a_poll_process_killed_between_commit_and_flag_redelivers_without_a_second_ticket(
    services, settings, dovecot, account, intake
):
    append(dovecot, account, 4)
    url = dovecot.url(*account)
    args = [str(settings.data_dir), settings.database_url, settings.secret_key, url]

    killed = subprocess.run(
        [sys.executable, "-c", KILLED_AFTER_INGEST, *args], capture_output=True, timeout=120
    )

    assert killed.returncode == -signal.SIGKILL, killed.stderr.decode()[-2000:]
    assert tickets_opened(services) == 4
    assert all(b"\\Seen" not in f for f in flags(dovecot, account).values())
    assert services.app.execute(lambda unit: unit.find(MailboxCursor, _id(url))) is None

    report = poller(services, intake, url).poll(parse_mailbox(url))

    assert intake.outcomes == ["duplicate"] * 4
    assert tickets_opened(services) == 4
    assert report.acknowledged == 4 and cursor(services, url).last_uid == 4


# XOAUTH2 (Gmail, Microsoft 365) ----------------------------------------------------------------


def test_xoauth2_logs_in_with_a_token_read_from_a_file_each_poll(
    services, dovecot, account, intake, tmp_path
):
    append(dovecot, account, 1)
    token_file = tmp_path / "token"
    token_file.write_text(dovecot.grant_token(account[0]) + "\n")
    url = dovecot.url(account[0], "", auth="xoauth2", token_file=str(token_file))

    report = poller(services, intake, url).poll(parse_mailbox(url))

    assert report.acknowledged == 1
    # An expired token is refused as a login error; the refreshed file is read on the next poll.
    dovecot.tokens.clear()
    with pytest.raises(MailboxLoginError, match="refused the login"):
        connect(parse_mailbox(url))
    token_file.write_text(dovecot.grant_token(account[0]))
    connect(parse_mailbox(url)).logout()


def test_xoauth2_can_take_its_token_from_a_command(dovecot, account):
    token = dovecot.grant_token(account[0])
    url = dovecot.url(
        account[0], "", security="starttls", auth="xoauth2", token_command=f"echo {token}"
    )

    client = connect(parse_mailbox(url))

    assert client.select_folder("INBOX")[b"UIDVALIDITY"]
    client.logout()


def test_the_access_token_is_read_afresh_from_its_file(tmp_path):
    token = tmp_path / "token"
    box = parse_mailbox(f"imaps://me%40gmail.com@imap.gmail.com/?auth=xoauth2&token_file={token}")
    with pytest.raises(MailboxConfigError, match="cannot read the access token file"):
        box.access_token()
    token.write_text("ya29.first\n")
    assert box.access_token() == "ya29.first"
    token.write_text("ya29.second")
    assert box.access_token() == "ya29.second"
    token.write_text("two words")
    with pytest.raises(MailboxConfigError, match="gave no usable access token"):
        box.access_token()


def test_the_access_token_can_come_from_a_command():
    command = quote(f"{sys.executable} -c \"print('eyJ0eXAi.token')\"")
    box = parse_mailbox(
        f"imaps://me%40contoso.com@outlook.office365.com/?auth=xoauth2&token_command={command}"
    )
    assert box.token_command[1:] == ("-c", "print('eyJ0eXAi.token')")
    assert box.access_token() == "eyJ0eXAi.token"
    command = quote(f"{sys.executable} -c 'import sys; sys.exit(\"expired\")'")
    failing = parse_mailbox(f"imaps://me@h/?auth=xoauth2&token_command={command}")
    with pytest.raises(MailboxConfigError, match="exited with 1: expired"):
        failing.access_token()


# The periodic job ----------------------------------------------------------------------------


def test_the_poll_job_reads_every_configured_mailbox_and_fails_loudly_for_a_broken_one(
    services, dovecot
):
    one, two = dovecot.add_user(), dovecot.add_user()
    append(dovecot, one, 2)
    append(dovecot, two, 1, folder="Billing")
    configured = dataclasses.replace(
        services,
        settings=services.settings.with_changes(
            mail_in=f"{dovecot.url(*one)} {dovecot.url(*two, 'Billing', security='starttls')}"
        ),
    )

    reports = poll_mailboxes(configured)

    assert [(r["fetched"], r["acknowledged"], r["error"]) for r in reports] == [
        (2, 2, ""),
        (1, 1, ""),
    ]
    assert tickets_opened(services) == 3
    assert poll_mailboxes(dataclasses.replace(services, settings=services.settings)) == []
    broken = dataclasses.replace(
        services,
        settings=services.settings.with_changes(
            mail_in=f"{dovecot.url(one[0], 'wrong')},{dovecot.url(*two)}"
        ),
    )
    with pytest.raises(MailboxError, match=r"1 of 2 mailboxes failed: .* refused the login"):
        poll_mailboxes(broken)


def test_a_new_uidvalidity_on_an_empty_folder_is_remembered(services, dovecot, account, intake):
    append(dovecot, account, 1, folder="Empty")
    url = dovecot.url(*account, folder="Empty")
    first = poller(services, intake, url).poll(parse_mailbox(url))
    with dovecot.client(*account) as client:
        client.delete_folder("Empty")
        client.create_folder("Empty")

    second = poller(services, intake, url).poll(parse_mailbox(url))
    third = poller(services, intake, url).poll(parse_mailbox(url))

    assert second.restarted and not third.restarted
    assert second.uidvalidity != first.uidvalidity
    assert (cursor(services, url).uidvalidity, cursor(services, url).last_uid) == (
        second.uidvalidity,
        0,
    )
