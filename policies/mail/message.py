"""A parsed mail as plain data: what the parser read, for the rules to decide on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

Address = tuple[str, str]  # (display name, lower-case address)


@dataclass
class Attachment:
    name: str
    content_type: str
    data: bytes
    inline: bool = False
    content_id: str | None = None


@dataclass
class DeliveryReport:
    """What a bounce says: who could not be reached, why, and which of our mails it returns."""

    recipients: list[str] = field(default_factory=list)
    status: str = ""  # e.g. 5.1.1
    diagnostic: str = ""
    returned_message_ids: list[str] = field(default_factory=list)


@dataclass
class ParsedMail:
    size: int
    headers: dict[str, list[str]]  # lower-case name -> raw (undecoded) values, in order
    message_id: str | None
    in_reply_to: list[str]
    references: list[str]
    sender: Address | None
    reply_to: list[Address]
    to: list[Address]
    cc: list[Address]
    delivered_to: list[str]  # Delivered-To / X-Original-To / Envelope-To: the address used
    subject: str
    date: datetime | None
    text: str
    html: str
    attachments: list[Attachment]
    content_type: str
    report: DeliveryReport | None = None
    defects: list[str] = field(default_factory=list)

    def header(self, name: str) -> str:
        """The first value of a header (raw, as sent), or ''."""
        values = self.headers.get(name.lower())
        return values[0] if values else ""
