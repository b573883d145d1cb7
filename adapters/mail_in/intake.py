"""The intake path every channel uses: store raw bytes, parse, classify, thread, extract, append.

`MailIntake.ingest_many` is the one entry point (pipe, drop folder, IMAP, webhook). The raw
bytes are written to the blob store before anything reads them, so no parser failure can
lose a message; the events are committed before it returns, so a channel may acknowledge
(IMAP flag, webhook 2xx, pipe exit 0) exactly when it returns.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ledgerdesk.adapters.mail_in.parse import parse
from ledgerdesk.domain import values as v
from ledgerdesk.domain.application import LedgerDesk
from ledgerdesk.domain.application.intake import Receipt
from ledgerdesk.domain.errors import DomainError
from ledgerdesk.domain.inbound import Kind, MailFacts, message_key
from ledgerdesk.domain.ports import BlobStore
from ledgerdesk.policies.mail.classify import classify
from ledgerdesk.policies.mail.html import html_to_text, sanitize_html
from ledgerdesk.policies.mail.identity import MailIdentity
from ledgerdesk.policies.mail.message import ParsedMail
from ledgerdesk.policies.mail.reply_text import visible_text
from ledgerdesk.policies.mail.thread import bounced_ticket_refs, thread_clues

log = logging.getLogger("ledgerdesk.intake")
BATCH = 200  # mails per transaction: big enough for group commit, small enough to retry
CHANNELS = ("pipe", "drop", "imap", "webhook", "cli")


@dataclass(frozen=True)
class Item:
    raw: bytes
    source: str


class MailIntake:
    """Turns raw messages into tickets, replies, bounces and quarantine entries."""

    def __init__(self, app: LedgerDesk, blobs: BlobStore, identity: MailIdentity) -> None:
        self.app, self.blobs, self.identity = app, blobs, identity

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
        receipts: list[Receipt] = []
        for start in range(0, len(items), BATCH):
            chunk = items[start : start + BATCH]
            # Raw bytes first, before anything reads them; one disk wait covers them and the
            # blobs derived from them, before the events that name them commit.
            digests = self.blobs.put_many([raw for raw, _ in chunk], defer_sync=True)
            ours, derived = self.our_addresses(), _Derived()
            facts = [
                self._facts(raw, digest, channel, source, ours, derived)
                for (raw, source), digest in zip(chunk, digests, strict=True)
            ]
            self.blobs.put_many(derived.items, defer_sync=True)  # sanitized HTML, attachments
            self.blobs.flush()
            receipts.extend(self.app.receive_mail(facts))
            if progress is not None:
                progress(len(chunk))
        return receipts

    def reprocess(self, key: str, *, actor: str) -> Receipt:
        """Run a quarantined message again from its stored raw bytes."""
        record = self.app.inbound_mail(key)
        if record is None:
            raise DomainError(f"no received message with key {key}")
        raw = self.blobs.get(record.raw_sha256)
        derived = _Derived()
        facts = self._facts(
            raw, record.raw_sha256, record.channel, record.source, self.our_addresses(), derived
        )
        self.blobs.put_many(derived.items)
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

    # Internals -------------------------------------------------------------------------------

    def _facts(
        self,
        raw: bytes,
        digest: str,
        channel: str,
        source: str,
        ours: frozenset[str],
        derived: _Derived,
    ) -> MailFacts:
        source = source or f"{channel}:{digest[:12]}"
        try:
            mail = parse(raw)
        except Exception as error:  # the parser never should; the raw bytes are safe anyway
            log.exception("the parser failed on %s", source)
            return _unreadable(None, digest, channel, source, "the parser failed", error)
        try:
            return self._read(mail, digest, channel, source, ours, derived)
        except Exception as error:
            log.exception("reading %s failed", source)
            why = "the message could not be read"
            return _unreadable(mail.message_id, digest, channel, source, why, error)

    def _read(
        self,
        mail: ParsedMail,
        digest: str,
        channel: str,
        source: str,
        ours: frozenset[str],
        derived: _Derived,
    ) -> MailFacts:
        verdict = classify(mail, self.identity, ours)
        clues = thread_clues(mail, self.identity, ours)
        message_id = mail.message_id if mail.message_id and len(mail.message_id) <= 900 else None
        facts = MailFacts(
            key=message_key(message_id, digest),
            raw_sha256=digest,
            channel=channel,
            source=source,
            kind=verdict.kind,
            reason=verdict.reason,
            message_id=message_id,
            sender_email=_address(mail.sender[1] if mail.sender else ""),
            sender_name=_clean(mail.sender[0] if mail.sender else "", v.MAX_NAME),
            cc=[(_clean(n, v.MAX_NAME), a) for n, a in clues.others if _address(a)],
            recipients=clues.recipients,
            subject=_clean(mail.subject, v.MAX_SUBJECT),
            our_refs=clues.our_refs,
            other_refs=clues.other_refs,
            address_ticket=clues.address_ticket,
            subject_ticket=clues.subject_ticket,
        )
        if verdict.kind in (Kind.INVALID, Kind.LOOP):
            return facts
        if verdict.kind == Kind.BOUNCE:
            facts.our_refs = bounced_ticket_refs(mail, self.identity) + facts.our_refs
            facts.bounced_addresses = [a for a in _bounced(mail) if _address(a)]
            if mail.report and (mail.report.status or mail.report.diagnostic):
                facts.reason = f"{facts.reason}: {mail.report.status} {mail.report.diagnostic}"
        if mail.text:
            full, shown = mail.text, visible_text(mail.text)
        else:  # HTML-only mail: its quoted history is dropped by structure, then by text rules
            full = html_to_text(mail.html) if mail.html else ""
            shown = visible_text(html_to_text(mail.html, drop_quotes=True)) if mail.html else ""
        facts.full_text, facts.visible_text = _body(full), _body(shown)
        attachments = [a for a in mail.attachments if a.data or a.name]
        if mail.html:
            facts.html_sha256 = derived.add(sanitize_html(mail.html).encode())
        stored = [derived.add(a.data) for a in attachments]
        facts.attachments = [
            {
                "sha256": sha,
                "name": _clean(a.name, 255) or "attachment",
                "content_type": _clean(a.content_type, 255) or "application/octet-stream",
                "size": len(a.data),
                "inline": a.inline,
                "content_id": _clean(a.content_id or "", 255) or None,
            }
            for a, sha in zip(attachments, stored, strict=True)
        ][:100]
        return facts


def _unreadable(
    message_id: str | None, digest: str, channel: str, source: str, why: str, error: Exception
) -> MailFacts:
    """Facts for a message that goes to quarantine because reading it failed."""
    return MailFacts(
        key=message_key(message_id, digest),
        raw_sha256=digest,
        channel=channel,
        source=source,
        kind=Kind.INVALID,
        reason=f"{why}: {type(error).__name__}: {error}"[:300],
        message_id=message_id,
    )


class _Derived:
    """Blobs derived from a batch's mails, written together with one disk sync."""

    def __init__(self) -> None:
        self.items: list[bytes] = []

    def add(self, data: bytes) -> str:
        self.items.append(data)
        return hashlib.sha256(data).hexdigest()


def _bounced(mail: ParsedMail) -> list[str]:
    if mail.report and mail.report.recipients:
        return mail.report.recipients
    failed = mail.header("x-failed-recipients")
    return [a.strip().lower() for a in failed.split(",") if "@" in a]


def _address(value: str) -> str:
    address = value.strip().lower()
    return address if v.EMAIL_PATTERN.fullmatch(address) and len(address) <= v.MAX_EMAIL else ""


def _clean(value: str, limit: int) -> str:
    return " ".join(value.replace("\x00", "").split())[:limit]


def _body(text: str) -> str:
    text = text.replace("\x00", "").replace("\r\n", "\n")
    if len(text) > v.MAX_TEXT:
        cut = v.MAX_TEXT - 100
        text = text[:cut] + "\n\n[… cut here: the whole message is kept as the raw mail]"
    return text
