"""Inbound mail: one aggregate per message received, whatever became of it.

Its id is derived from the message's Message-ID (or a hash of its bytes when it has none),
so the store's key makes "the same message twice is one message" hold across channels and
processes, and its events are the intake's audit trail: where each message went, and why.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from ledgerdesk.domain.chain import ChainedAggregate

INBOUND_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.dev/ns/inbound-mail")


class Outcome(StrEnum):
    OPENED = "opened"
    REPLIED = "replied"
    DUPLICATE = "duplicate"
    BOUNCE = "bounce"
    AUTO_REPLY = "auto_reply"
    LOOP = "loop"
    QUARANTINED = "quarantined"


class Kind(StrEnum):
    """What the classifier made of a message before threading."""

    NORMAL = "normal"
    BOUNCE = "bounce"
    AUTO_REPLY = "auto_reply"
    LOOP = "loop"
    INVALID = "invalid"  # cannot be processed: goes to quarantine with its reason


@dataclass
class MailFacts:
    """Everything the intake read from one message, as plain data: the domain's input."""

    key: str  # the deduplication key: normalised Message-ID, or "sha256:<hex>" of the bytes
    raw_sha256: str
    channel: str
    source: str
    kind: Kind
    reason: str = ""  # why INVALID / BOUNCE / AUTO_REPLY / LOOP
    message_id: str | None = None
    sender_email: str = ""
    sender_name: str = ""
    cc: list[tuple[str, str]] = field(default_factory=list)  # other people in To/Cc
    recipients: list[str] = field(default_factory=list)  # our addresses it was sent to
    subject: str = ""
    visible_text: str = ""
    full_text: str = ""
    html_sha256: str | None = None  # the sanitized HTML body, as a blob
    attachments: list[dict[str, Any]] = field(default_factory=list)
    our_refs: list[str] = field(default_factory=list)  # ticket numbers from our Message-IDs
    other_refs: list[str] = field(default_factory=list)  # other Message-IDs, newest first
    address_ticket: str | None = None  # from a signed plus address
    subject_ticket: str | None = None  # from a [T-12] token in the subject
    bounced_addresses: list[str] = field(default_factory=list)


@functools.lru_cache(maxsize=65536)
def inbound_id(key: str) -> UUID:
    return uuid5(INBOUND_NAMESPACE, key)


def message_key(message_id: str | None, raw_sha256: str) -> str:
    """The deduplication key: the Message-ID without brackets and case, else the bytes' hash."""
    cleaned = (message_id or "").strip().strip("<>").strip().lower()
    return f"mid:{cleaned}" if cleaned else f"sha256:{raw_sha256}"


class InboundMail(ChainedAggregate):
    if TYPE_CHECKING:
        key: str
        message_id: str | None
        raw_sha256: str
        html_sha256: str | None
        channel: str
        source: str
        sender: str
        subject: str
        outcome: str
        ticket: str | None
        reason: str
        attempts: int

    class Received(ChainedAggregate.Created):
        key: str
        message_id: str | None
        raw_sha256: str
        html_sha256: str | None
        channel: str
        source: str
        sender: str
        subject: str
        outcome: str
        ticket: str | None
        reason: str

        def apply(self, m: InboundMail) -> None:
            m.key, m.message_id, m.raw_sha256 = self.key, self.message_id, self.raw_sha256
            m.html_sha256, m.channel, m.source = self.html_sha256, self.channel, self.source
            m.sender, m.subject, m.outcome = self.sender, self.subject, self.outcome
            m.ticket, m.reason, m.attempts = self.ticket, self.reason, 1

    class Reprocessed(ChainedAggregate.Event):
        """A quarantined message run through the intake again, after a fix."""

        outcome: str
        ticket: str | None
        reason: str
        html_sha256: str | None

        def apply(self, m: InboundMail) -> None:
            m.outcome, m.ticket, m.reason = self.outcome, self.ticket, self.reason
            m.html_sha256 = self.html_sha256
            m.attempts += 1

    @property
    def quarantined(self) -> bool:
        return self.outcome == Outcome.QUARANTINED

    def reprocessed(
        self,
        outcome: Outcome,
        ticket: str | None,
        reason: str,
        html_sha256: str | None,
        *,
        actor: str,
        at: datetime,
    ) -> None:
        self.record(
            self.Reprocessed,
            actor=actor,
            at=at,
            outcome=outcome.value,
            ticket=ticket,
            reason=reason,
            html_sha256=html_sha256,
        )
