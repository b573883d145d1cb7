"""The IMAP channel: new mail from each mailbox into the intake, acknowledged only once stored.

Per mailbox and per batch: fetch with BODY.PEEK[] (nothing is marked seen by reading), hand the
batch to the intake, which commits before it returns, then flag the messages (\\Seen and a
keyword) or move them, then advance the mailbox's cursor. A crash anywhere before the flag
re-delivers the batch on the next poll, and the intake's deduplication by Message-ID turns
the second delivery into `duplicate` outcomes instead of second tickets.
"""

from __future__ import annotations

import imaplib
import logging
import ssl
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Protocol

from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError, LoginError

from ledgerdesk.adapters.mail_in.imap_config import MailboxConfig, MailboxConfigError
from ledgerdesk.domain.application.core import Core
from ledgerdesk.domain.mailbox import MailboxCursor

log = logging.getLogger("ledgerdesk.mail.imap")

CHANNEL = "imap"
ACTOR = "system:imap-poll"
# Every outcome the intake stores (quarantine included): such a message may be acknowledged.
STORED = frozenset(
    {"opened", "replied", "duplicate", "bounce", "auto_reply", "loop", "quarantined"}
)
SEEN = b"\\Seen"
SIZE_CHUNK = 500  # UIDs per FETCH command: well inside servers' command-line limits


class IngestResult(Protocol):
    @property
    def source(self) -> str: ...
    @property
    def outcome(self) -> str: ...


Ingest = Callable[[Sequence[tuple[bytes, str]], str], Sequence[IngestResult]]


class MailboxError(Exception):
    """A mailbox could not be polled; the message names the mailbox (never its password)."""

    def __init__(self, url: str, reason: str) -> None:
        super().__init__(f"{url}: {reason}")
        self.url = url
        self.reason = reason


class MailboxUnreachableError(MailboxError):
    """The server cannot be reached, refused TLS, or dropped the connection."""


class MailboxLoginError(MailboxError):
    """The server refused the user name and password (or access token)."""


class IntakeIncompleteError(MailboxError):
    """The intake returned no stored outcome for some messages; they stay unacknowledged."""


@dataclass
class PollReport:
    url: str
    uidvalidity: int = 0
    fetched: int = 0
    acknowledged: int = 0
    last_uid: int = 0
    restarted: bool = False  # the server changed UIDVALIDITY: read from the start again
    outcomes: Counter[str] = field(default_factory=Counter)
    error: str = ""


def tls_context(mailbox: MailboxConfig) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(mailbox.cafile) if mailbox.cafile else None)
    if not mailbox.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def connect(mailbox: MailboxConfig) -> IMAPClient:
    """A logged-in client, or a MailboxError that says what went wrong in plain words."""
    context = tls_context(mailbox)
    where = f"{mailbox.host}:{mailbox.port}"
    try:
        client = IMAPClient(
            mailbox.host,
            port=mailbox.port,
            ssl=mailbox.security == "ssl",
            ssl_context=context,
            timeout=mailbox.timeout,
        )
    except ssl.SSLError as error:
        raise MailboxUnreachableError(mailbox.url, f"TLS with {where} failed: {error}") from error
    except (OSError, imaplib.IMAP4.error) as error:
        raise MailboxUnreachableError(
            mailbox.url, f"cannot connect to {where}: {_reason(error)}"
        ) from error
    try:
        if mailbox.security == "starttls":
            if not client.has_capability("STARTTLS"):
                raise MailboxUnreachableError(
                    mailbox.url,
                    f"{where} does not offer STARTTLS (use imaps://, or starttls=0 only on a "
                    "trusted network)",
                )
            client.starttls(context)
        if mailbox.auth == "xoauth2":
            client.oauth2_login(mailbox.username, mailbox.access_token())
        else:
            client.login(mailbox.username, mailbox.password)
    except LoginError as error:
        _close(client)
        raise MailboxLoginError(
            mailbox.url, f"the server refused the login of {mailbox.username}: {_reason(error)}"
        ) from error
    except ssl.SSLError as error:
        _close(client)
        raise MailboxUnreachableError(
            mailbox.url, f"STARTTLS with {where} failed: {error}"
        ) from error
    except (OSError, IMAPClientError, imaplib.IMAP4.error) as error:
        _close(client)
        raise MailboxUnreachableError(
            mailbox.url, f"{where} broke off before login: {_reason(error)}"
        ) from error
    except BaseException:
        _close(client)
        raise
    return client


class ImapPoller:
    """Polls mailboxes into the intake; one cursor aggregate per mailbox, saved through the app."""

    def __init__(
        self,
        mailboxes: Sequence[MailboxConfig],
        *,
        app: Core,
        ingest: Ingest,
        actor: str = ACTOR,
        connect: Callable[[MailboxConfig], IMAPClient] = connect,
    ) -> None:
        self.mailboxes = list(mailboxes)
        self.app = app
        self.ingest = ingest
        self.actor = actor
        self.connect = connect

    def poll_all(self) -> list[PollReport]:
        """Poll every mailbox; one failing mailbox does not stop the others.

        A store that is down (StoreUnavailableError) stops the whole poll: nothing can be
        stored, so nothing more is fetched.
        """
        reports = []
        for mailbox in self.mailboxes:
            try:
                reports.append(self.poll(mailbox))
            except (MailboxError, MailboxConfigError) as error:
                log.error("%s", error)
                reports.append(PollReport(mailbox.url, error=str(error)))
        return reports

    def poll(self, mailbox: MailboxConfig) -> PollReport:
        """Fetch, ingest, acknowledge and advance the cursor, batch by batch."""
        report = PollReport(mailbox.url)
        cursor = self._cursor(mailbox.url)  # first: with the store down, touch no mailbox
        client = self.connect(mailbox)
        try:
            with self._imap_errors(mailbox):
                selected = client.select_folder(mailbox.folder)
                report.uidvalidity = int(selected[b"UIDVALIDITY"])
                keywords = b"\\*" in selected.get(b"PERMANENTFLAGS", ())
                if mailbox.move_to and not client.folder_exists(mailbox.move_to):
                    client.create_folder(mailbox.move_to)
                start = cursor.next_uid(report.uidvalidity) if cursor else 1
                if cursor is not None and cursor.uidvalidity not in (0, report.uidvalidity):
                    report.restarted = True
                    log.warning(
                        "%s: UIDVALIDITY changed from %s to %s; reading the mailbox from the "
                        "start (messages already stored come back as duplicates)",
                        mailbox.url,
                        cursor.uidvalidity,
                        report.uidvalidity,
                    )
                report.last_uid = start - 1
                # "N:*" always matches the last message, even when its UID is below N.
                new = sorted(uid for uid in client.search(["UID", f"{start}:*"]) if uid >= start)
                sizes = self._sizes(client, new)
            if report.restarted and not new:  # remember the new UIDVALIDITY: warn only once
                self._advance(mailbox.url, report.uidvalidity, 0)
            for batch in batches(new, sizes, mailbox.batch_size, mailbox.batch_bytes):
                self._process(client, mailbox, batch, keywords, report)
        finally:
            _close(client)
        if report.fetched:
            log.info(
                "%s: %d fetched, %d acknowledged (%s)",
                mailbox.url,
                report.fetched,
                report.acknowledged,
                ", ".join(f"{k} {v}" for k, v in sorted(report.outcomes.items())),
            )
        return report

    def _process(
        self,
        client: IMAPClient,
        mailbox: MailboxConfig,
        batch: list[int],
        keywords: bool,
        report: PollReport,
    ) -> None:
        with self._imap_errors(mailbox):
            fetched = client.fetch(batch, [b"BODY.PEEK[]"])
        items: list[tuple[bytes, str]] = []
        uids: list[int] = []
        for uid in batch:
            data = fetched.get(uid)
            if data is None:  # expunged by someone else since the sizes were read
                continue
            items.append((data.get(b"BODY[]") or b"", source_of(mailbox, report.uidvalidity, uid)))
            uids.append(uid)
        report.fetched += len(items)
        # The intake commits before it returns; if it raises, nothing below runs.
        results = self.ingest(items, CHANNEL) if items else []
        outcomes = {result.source: str(result.outcome) for result in results}
        stored = [
            uid
            for uid, (_, source) in zip(uids, items, strict=True)
            if outcomes.get(source) in STORED
        ]
        report.outcomes.update(outcomes[source] for _, source in items if source in outcomes)
        if stored:
            with self._imap_errors(mailbox):
                self._acknowledge(client, mailbox, stored, keywords)
            report.acknowledged += len(stored)
        # The cursor passes only messages that are stored (or gone): a gap stays to be retried.
        acknowledged = set(stored)
        missing = [uid for uid in uids if uid not in acknowledged]
        upto = (min(missing) - 1) if missing else batch[-1]
        if upto > report.last_uid:
            self._advance(mailbox.url, report.uidvalidity, upto)
            report.last_uid = upto
        if missing:
            raise IntakeIncompleteError(
                mailbox.url,
                f"the intake stored no outcome for UID {', '.join(map(str, missing[:10]))}; "
                "they stay unacknowledged and are fetched again on the next poll",
            )

    @staticmethod
    def _sizes(client: IMAPClient, uids: list[int]) -> dict[int, int]:
        sizes: dict[int, int] = {}
        for i in range(0, len(uids), SIZE_CHUNK):
            found = client.fetch(uids[i : i + SIZE_CHUNK], [b"RFC822.SIZE"])
            sizes.update((uid, int(data.get(b"RFC822.SIZE", 0))) for uid, data in found.items())
        return sizes

    def _acknowledge(
        self, client: IMAPClient, mailbox: MailboxConfig, uids: list[int], keywords: bool
    ) -> None:
        messages = sequence_set(uids)
        flags = [SEEN, mailbox.keyword.encode()] if keywords else [SEEN]
        client.add_flags(messages, flags, silent=True)  # before a move: the copy keeps them
        if not mailbox.move_to:
            return
        if client.has_capability("MOVE"):
            client.move(messages, mailbox.move_to)
            return
        client.copy(messages, mailbox.move_to)
        client.add_flags(messages, [b"\\Deleted"], silent=True)
        if client.has_capability("UIDPLUS"):
            client.uid_expunge(messages)
        else:  # without UIDPLUS an EXPUNGE also removes others' \Deleted messages: RFC 3501
            client.expunge()

    def _cursor(self, url: str) -> MailboxCursor | None:
        return self.app.execute(lambda unit: unit.find(MailboxCursor, MailboxCursor.id_for(url)))

    def _advance(self, url: str, uidvalidity: int, last_uid: int) -> None:
        def command(unit: Any) -> None:
            cursor = unit.find(MailboxCursor, MailboxCursor.id_for(url))
            if cursor is None:
                cursor = MailboxCursor.open(url, actor=self.actor, at=self.app.now())
            cursor.advance(uidvalidity, last_uid, actor=self.actor, at=self.app.now())
            unit.add(cursor)

        self.app.execute(command)

    @contextmanager
    def _imap_errors(self, mailbox: MailboxConfig) -> Iterator[None]:
        try:
            yield
        except ssl.SSLError as error:
            raise MailboxUnreachableError(mailbox.url, f"TLS failed: {error}") from error
        except (OSError, imaplib.IMAP4.abort) as error:
            raise MailboxUnreachableError(
                mailbox.url, f"the connection broke: {_reason(error)}"
            ) from error
        except (IMAPClientError, imaplib.IMAP4.error) as error:
            raise MailboxError(mailbox.url, f"the server refused: {_reason(error)}") from error


def batches(uids: list[int], sizes: dict[int, int], count: int, size: int) -> Iterator[list[int]]:
    """Consecutive runs of at most `count` messages and `size` bytes (a bigger one alone)."""
    batch: list[int] = []
    total = 0
    for uid in uids:
        if batch and (len(batch) >= count or total + sizes.get(uid, 0) > size):
            yield batch
            batch, total = [], 0
        batch.append(uid)
        total += sizes.get(uid, 0)
    if batch:
        yield batch


def sequence_set(uids: Sequence[int]) -> str:
    """Sorted UIDs as an IMAP sequence set with ranges: 1:3,7,9:10."""
    runs: list[str] = []
    ordered = sorted(uids)
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and ordered[j + 1] == ordered[j] + 1:
            j += 1
        runs.append(str(ordered[i]) if i == j else f"{ordered[i]}:{ordered[j]}")
        i = j + 1
    return ",".join(runs)


def source_of(mailbox: MailboxConfig, uidvalidity: int, uid: int) -> str:
    """The message's RFC 5092 IMAP URL (without credentials): where the intake says it came from."""
    return f"{mailbox.url};UIDVALIDITY={uidvalidity}/;UID={uid}"


def _reason(error: BaseException) -> str:
    text = error.args[0] if len(error.args) == 1 else error
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if isinstance(error, OSError) and error.strerror:
        text = error.strerror
    text = str(text)
    if text[:2] in ("b'", 'b"') and text[-1:] == text[1]:  # imapclient wraps bytes in str()
        text = text[2:-1]
    return " ".join(text.split()) or type(error).__name__


def _close(client: IMAPClient) -> None:
    try:
        client.logout()
    except Exception:  # the connection may already be gone; closing is best effort
        with suppress(Exception):
            client.shutdown()
