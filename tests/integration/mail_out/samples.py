"""Realistic outgoing mails for the transport tests and the dispatch benchmark."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any

from ledgerdesk.domain.outgoing import OutgoingMail
from ledgerdesk.policies.mail.identity import LOOP_HEADER, MailIdentity

IDENTITY = MailIdentity(secret="test-secret", support_address="support@example.com")

TEXT = """Hello {name},

an agent replied to your ticket {number}:

> The printer on the third floor is back online; the paper tray was jammed.
> Please tell us if it happens again.

Reply to this mail to answer, or open {link} to see the whole conversation.

--
Example Support
"""

HTML = """<html><body><p>Hello {name},</p>
<p>an agent replied to your ticket <b>{number}</b>:</p>
<blockquote>The printer on the third floor is back online; the paper tray was jammed.
Please tell us if it happens again.</blockquote>
<p>Reply to this mail to answer, or <a href="{link}">open the ticket</a>.</p>
<p>-- <br>Example Support</p></body></html>
"""


def sample_mail(n: int = 0, **changes: Any) -> OutgoingMail:
    number = f"T-{1000 + n % 500}"
    event = uuid.UUID(int=n + 1).hex
    name = "Zoë Müller" if n % 7 == 0 else f"Customer {n}"
    link = f"https://help.example.com/portal/tickets/{number}"
    mail = OutgoingMail(
        key=f"outbox:{event}:customer{n}@example.org:email",
        message_id=IDENTITY.message_id(number, event),
        sender="Example Support <support@example.com>",
        to=(f"{name} <customer{n}@example.org>",),
        subject=f"[{number}] Re: Printer on the third floor is jammed again",
        text=TEXT.format(name=name, number=number, link=link),
        html=HTML.format(name=name, number=number, link=link),
        reply_to=IDENTITY.reply_address(number),
        in_reply_to=IDENTITY.message_id(number, uuid.UUID(int=10**9 + n).hex),
        references=(
            f"<customer-original-{n}@mail.example.org>",
            IDENTITY.message_id(number, uuid.UUID(int=10**9 + n).hex),
        ),
        automatic=True,
        headers=((LOOP_HEADER, IDENTITY.loop_value()),),
    )
    return dataclasses.replace(mail, **changes)
