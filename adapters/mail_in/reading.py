"""Reading stored messages into the facts the domain decides on: parse, classify, extract.

Pure of the store: it needs the bytes, our identity and addresses, and collects the blobs it
derives (sanitized HTML, attachments) for the caller to write. Being importable on its own,
it also runs in a parser process beside the one that stores (`read_chunk`).
"""

from __future__ import annotations

import hashlib
import logging

from ledgerdesk.adapters.mail_in.parse import parse
from ledgerdesk.domain import values as v
from ledgerdesk.domain.inbound import Kind, MailFacts, message_key
from ledgerdesk.policies.mail.classify import classify
from ledgerdesk.policies.mail.html import html_to_text, sanitize_html
from ledgerdesk.policies.mail.identity import MailIdentity
from ledgerdesk.policies.mail.message import ParsedMail
from ledgerdesk.policies.mail.reply_text import visible_text
from ledgerdesk.policies.mail.thread import bounced_ticket_refs, thread_clues

log = logging.getLogger("ledgerdesk.intake")


def read_chunk(
    items: list[tuple[bytes, str, str]],
    channel: str,
    identity: MailIdentity,
    ours: frozenset[str],
) -> tuple[list[MailFacts], list[bytes]]:
    """Facts for many stored messages ((raw, digest, source) each) and the blobs derived."""
    derived = Derived()
    facts = [
        read_message(raw, digest, channel, source, identity, ours, derived)
        for raw, digest, source in items
    ]
    return facts, derived.items


def read_message(
    raw: bytes,
    digest: str,
    channel: str,
    source: str,
    identity: MailIdentity,
    ours: frozenset[str],
    derived: Derived,
) -> MailFacts:
    """Everything the intake needs from one stored message; an unreadable one is INVALID."""
    source = source or f"{channel}:{digest[:12]}"
    try:
        mail = parse(raw)
    except Exception as error:  # the parser never should; the raw bytes are safe anyway
        log.exception("the parser failed on %s", source)
        return _unreadable(None, digest, channel, source, "the parser failed", error)
    try:
        return _read(mail, digest, channel, source, identity, ours, derived)
    except Exception as error:
        log.exception("reading %s failed", source)
        why = "the message could not be read"
        return _unreadable(mail.message_id, digest, channel, source, why, error)


def _read(
    mail: ParsedMail,
    digest: str,
    channel: str,
    source: str,
    identity: MailIdentity,
    ours: frozenset[str],
    derived: Derived,
) -> MailFacts:
    verdict = classify(mail, identity, ours)
    clues = thread_clues(mail, identity, ours)
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
        facts.our_refs = bounced_ticket_refs(mail, identity) + facts.our_refs
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


class Derived:
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
