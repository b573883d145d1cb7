"""Threading clues: which ticket a mail may belong to, read from its headers alone.

The store decides among the clues (does the ticket exist, is the sender a participant);
these functions only read them, in the order DESIGN.md §6 gives: our Message-IDs in
In-Reply-To / References, then a signed plus address, then the `[T-12]` subject token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ledgerdesk.policies.mail.identity import MailIdentity
from ledgerdesk.policies.mail.message import ParsedMail

MAX_REFERENCES = 30  # a thread deeper than this is matched on its newest ids
_MESSAGE_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")


@dataclass
class ThreadClues:
    our_refs: list[str] = field(default_factory=list)  # ticket numbers, strongest first
    other_refs: list[str] = field(default_factory=list)  # foreign Message-IDs, newest first
    address_ticket: str | None = None
    subject_ticket: str | None = None
    recipients: list[str] = field(default_factory=list)  # our addresses the mail went to
    others: list[tuple[str, str]] = field(default_factory=list)  # everyone else in To / Cc


def thread_clues(
    mail: ParsedMail, identity: MailIdentity, our_addresses: frozenset[str]
) -> ThreadClues:
    clues = ThreadClues()
    # In-Reply-To names the mail being answered: strongest. References run oldest to newest.
    ids = list(dict.fromkeys([*mail.in_reply_to, *reversed(mail.references)]))[:MAX_REFERENCES]
    for message_id in ids:
        number = identity.ticket_of_message_id(message_id)
        if number is not None:
            if number not in clues.our_refs:
                clues.our_refs.append(number)
        else:
            clues.other_refs.append(message_id)
    people: dict[str, str] = {}
    for name, address in [*mail.to, *mail.cc]:
        if is_ours(address, identity, our_addresses):
            clues.recipients.append(identity.base_address(address))
            clues.address_ticket = clues.address_ticket or identity.ticket_of_address(address)
        elif mail.sender is None or address != mail.sender[1]:
            people.setdefault(address, name)
    for address in mail.delivered_to:
        if is_ours(address, identity, our_addresses):
            clues.recipients.append(identity.base_address(address))
            clues.address_ticket = clues.address_ticket or identity.ticket_of_address(address)
    clues.recipients = list(dict.fromkeys(clues.recipients))
    clues.others = list((name, address) for address, name in people.items())
    clues.subject_ticket = identity.ticket_of_subject(mail.subject)
    return clues


def is_ours(address: str, identity: MailIdentity, our_addresses: frozenset[str]) -> bool:
    return identity.base_address(address) in our_addresses


def bounced_ticket_refs(mail: ParsedMail, identity: MailIdentity) -> list[str]:
    """Ticket numbers of our mails a bounce returns (from its report, else from its text)."""
    candidates = list(mail.report.returned_message_ids) if mail.report else []
    candidates += _MESSAGE_ID.findall(mail.text)
    for attachment in mail.attachments:
        if attachment.content_type in ("message/rfc822", "text/rfc822-headers"):
            candidates += _MESSAGE_ID.findall(attachment.data[:65536].decode("latin-1"))
    numbers: list[str] = []
    for message_id in candidates:
        number = identity.ticket_of_message_id(message_id)
        if number and number not in numbers:
            numbers.append(number)
    return numbers
