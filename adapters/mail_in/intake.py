"""The intake path every channel uses: store raw bytes, parse, classify, thread, extract, append.

`MailIntake.ingest_many` is the one entry point (pipe, drop folder, IMAP, webhook). The raw
bytes are written to the blob store before anything reads them, so no parser failure can
lose a message; the events are committed before it returns, so a channel may acknowledge
(IMAP flag, webhook 2xx, pipe exit 0) exactly when it returns.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Future, ProcessPoolExecutor

from ledgerdesk.adapters.mail_in.parse import parse
from ledgerdesk.adapters.mail_in.reading import read_chunk
from ledgerdesk.domain.application import LedgerDesk
from ledgerdesk.domain.application.intake import Receipt
from ledgerdesk.domain.errors import DomainError
from ledgerdesk.domain.inbound import MailFacts
from ledgerdesk.domain.ports import BlobStore
from ledgerdesk.policies.mail.classify import classify
from ledgerdesk.policies.mail.identity import MailIdentity
from ledgerdesk.policies.mail.reply_text import visible_text
from ledgerdesk.policies.mail.thread import thread_clues

BATCH = 200  # mails per transaction: big enough for group commit, small enough to retry
CHANNELS = ("pipe", "drop", "imap", "webhook", "cli")


class MailIntake:
    """Turns raw messages into tickets, replies, bounces and quarantine entries."""

    def __init__(
        self, app: LedgerDesk, blobs: BlobStore, identity: MailIdentity, *, parallel: bool = True
    ) -> None:
        self.app, self.blobs, self.identity = app, blobs, identity
        self.parallel = parallel and (os.cpu_count() or 1) > 1
        self._pool: ProcessPoolExecutor | None = None
        self._pool_lock = threading.Lock()

    def ingest(self, raw: bytes, channel: str, source: str = "") -> Receipt:
        """One message; see `ingest_many`."""
        return self.ingest_many([(raw, source)], channel)[0]

    def ingest_many(
        self,
        items: Sequence[tuple[bytes, str]],
        channel: str,
        progress: Callable[[int], None] | None = None,
    ) -> list[Receipt]:
        """Store, then append many messages (group commit); raises StoreUnavailableError when
        the store is down, in which case nothing was acknowledged and the caller retries."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        chunks = [items[i : i + BATCH] for i in range(0, len(items), BATCH)]
        ours = self.our_addresses()
        # Many chunks: the next one is read in the parser process while this one is stored.
        pool = self._parser() if len(chunks) > 1 else None
        receipts: list[Receipt] = []
        reading = self._read(chunks[0], channel, ours, pool) if chunks else None
        for k, chunk in enumerate(chunks):
            assert reading is not None
            facts, derived = reading.result()
            if k + 1 < len(chunks):
                reading = self._read(chunks[k + 1], channel, ours, pool)
            self.blobs.put_many(derived, defer_sync=True)  # sanitized HTML, attachments
            # One disk wait covers the raw mail and what was derived from it, before the
            # events that name them commit.
            self.blobs.flush()
            receipts.extend(self.app.receive_mail(facts))
            if progress is not None:
                progress(len(chunk))
        return receipts

    def _read(
        self,
        chunk: Sequence[tuple[bytes, str]],
        channel: str,
        ours: frozenset[str],
        pool: ProcessPoolExecutor | None,
    ) -> Future[tuple[list[MailFacts], list[bytes]]]:
        # The raw bytes are stored before anything reads them.
        digests = self.blobs.put_many([raw for raw, _ in chunk], defer_sync=True)
        work = [(raw, d, s) for (raw, s), d in zip(chunk, digests, strict=True)]
        if pool is not None:
            try:
                return pool.submit(read_chunk, work, channel, self.identity, ours)
            except (BrokenExecutor, RuntimeError):  # the parser process died: read here
                self._pool = None
        done: Future[tuple[list[MailFacts], list[bytes]]] = Future()
        done.set_result(read_chunk(work, channel, self.identity, ours))
        return done

    def _parser(self) -> ProcessPoolExecutor | None:
        """One parser process beside this one (two cores: one reads, one stores)."""
        if not self.parallel:
            return None
        with self._pool_lock:
            if self._pool is None:
                context = multiprocessing.get_context("spawn")  # safe beside threads
                self._pool = ProcessPoolExecutor(1, mp_context=context)
            return self._pool

    def close(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def reprocess(self, key: str, *, actor: str) -> Receipt:
        """Run a quarantined message again from its stored raw bytes."""
        record = self.app.inbound_mail(key)
        if record is None:
            raise DomainError(f"no received message with key {key}")
        raw = self.blobs.get(record.raw_sha256)
        [facts], derived = read_chunk(
            [(raw, record.raw_sha256, record.source)],
            record.channel,
            self.identity,
            self.our_addresses(),
        )
        self.blobs.put_many(derived)
        facts.key = key
        return self.app.reprocess_mail(key, facts, actor=actor)

    def explain(self, raw: bytes) -> dict[str, object]:
        """What the intake reads from a message, without storing anything (for `mail inspect`)."""
        mail = parse(raw)
        ours = self.our_addresses()
        verdict = classify(mail, self.identity, ours)
        clues = thread_clues(mail, self.identity, ours)
        return {
            "message_id": mail.message_id,
            "sender": mail.sender[1] if mail.sender else None,
            "subject": mail.subject,
            "kind": verdict.kind.value,
            "why": verdict.reason,
            "our_ticket_references": clues.our_refs,
            "other_references": clues.other_refs[:10],
            "reply_address_ticket": clues.address_ticket,
            "subject_ticket": clues.subject_ticket,
            "sent_to_us_as": clues.recipients,
            "attachments": [
                {"name": a.name, "content_type": a.content_type, "size": len(a.data)}
                for a in mail.attachments
            ],
            "defects": mail.defects,
            "visible_text": visible_text(mail.text)[:2000] if mail.text else None,
        }

    def our_addresses(self) -> frozenset[str]:
        """The support address and every department alias: mail to these is mail to us."""
        support = self.identity.base_address(self.identity.support_address)
        return frozenset({support, *self.app.department_aliases()})
