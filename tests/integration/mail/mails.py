"""Building test mails the way clients write them (headers, MIME), as raw bytes."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from ledgerdesk.tests.support import T0

SUPPORT = "support@example.com"
SECRET = "corpus-secret"


def mail(
    sender: str = "Carol Customer <carol@customer.test>",
    to: str = SUPPORT,
    subject: str = "The printer is broken",
    text: str = "Hello,\n\nthe printer on floor 3 shows E-42.\n\nCarol",
    *,
    html: str | None = None,
    message_id: str | None = "auto",
    cc: str | None = None,
    in_reply_to: str | None = None,
    references: str | None = None,
    attachments: list[tuple[str, str, bytes]] = (),  # type: ignore[assignment]
    headers: dict[str, str] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    if cc:
        message["Cc"] = cc
    message["Subject"] = subject
    message["Date"] = format_datetime(T0)
    if message_id == "auto":
        message_id = make_msgid(domain="customer.test")
    if message_id:
        message["Message-ID"] = message_id
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    for name, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    return message.as_bytes()


def header(raw: bytes, name: str) -> Any:
    from email import message_from_bytes

    return message_from_bytes(raw)[name]
