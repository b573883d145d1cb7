"""One OutgoingMail as the bytes an SMTP server receives (RFC 5322 + MIME, CRLF line ends).

Header values that may come from user-entered text (a subject, a display name, an extra
header) are flattened to one line first, so "hi\\r\\nBcc: x@evil" stays inside the Subject.
Non-ASCII display names and subjects are RFC 2047 encoded by the SMTP policy.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.policy import EmailPolicy
from email.utils import format_datetime, getaddresses
from typing import Any, TypeVar

from ledgerdesk.domain.outgoing import OutgoingMail, SendResult

# Headers the builder sets itself; `mail.headers` may not replace them.
RESERVED = frozenset(
    {
        "from",
        "to",
        "cc",
        "bcc",
        "subject",
        "date",
        "message-id",
        "in-reply-to",
        "references",
        "reply-to",
        "sender",
        "return-path",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
        "auto-submitted",
        "x-auto-response-suppress",
    }
)
_FIELD_NAME = re.compile(r"[!-9;-~]{1,76}")  # RFC 5322: printable ASCII except ":"
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")
_MSG_ID = re.compile(r"<[^<>\s@]+@[^<>\s@]+>")
UNFOLDED = frozenset({"message-id", "in-reply-to"})
# Headers the message itself reads back (its MIME structure): parsed when set.
STRUCTURED = frozenset({"content-type", "content-disposition", "content-transfer-encoding"})


class _Registry(HeaderRegistry):
    """The standard header classes, made once per name (the stock registry builds a new class
    for every header it parses, which made that most of the time spent on a message)."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(name)
        return made


class _Policy(EmailPolicy):
    """SMTP's policy with three changes, all about one message's cost or its threading:

    - a lone message id is never folded onto a second line (some readers keep the folding
      space as part of the id, and threading then fails);
    - headers other than the MIME structure's are kept as the (already checked, one-line)
      text until written, instead of being parsed when set: nothing reads them back;
    - a header that is short one-line ASCII is written as it is: folding would not change it.
    Together they halve the time a message takes to build; anything else is folded (and
    RFC 2047 encoded) by the standard header classes.
    """

    def header_store_parse(self, name: str, value: Any) -> tuple[str, Any]:
        if isinstance(value, str) and name.lower() not in STRUCTURED:
            if _CONTROL.search(value):
                raise ValueError("a header value may not contain control characters")
            return (name, value)
        return super().header_store_parse(name, value)

    def fold_binary(self, name: str, value: Any) -> bytes:
        text = str(value)
        if name.lower() in UNFOLDED:
            return f"{name}: {text.strip()}{self.linesep}".encode("ascii")
        short = len(name) + len(text) + 2 <= (self.max_line_length or 998)
        if short and text.isascii() and not _CONTROL.search(text):
            return f"{name}: {text}{self.linesep}".encode("ascii")
        if isinstance(value, str):
            value = self.header_factory(name, text)
        return super().fold_binary(name, value)


# 7bit: bodies go out as quoted-printable or base64, for servers without 8BITMIME.
POLICY = _Policy(linesep="\r\n", cte_type="7bit", header_factory=_Registry())
_CONTENT_TYPE = re.compile(r"[A-Za-z0-9!#$&^_.+-]+/[A-Za-z0-9!#$&^_.+-]+")


class UnsendableMail(ValueError):
    """The mail cannot be written as a valid message (a bad address or header): never retried."""


P = TypeVar("P")


def send_each(
    mails: Sequence[OutgoingMail],
    prepare: Callable[[OutgoingMail], P],
    send: Callable[[str, P], tuple[SendResult, str | None]],
) -> list[SendResult]:
    """The transports' loop: each mail prepared (one that cannot be is a permanent failure of
    its own) and sent; once `send` says the service is down (its second value), the rest fail
    with that reason, to be tried again later, without being tried now."""
    results: list[SendResult] = []
    down: str | None = None
    for mail in mails:
        if down is not None:
            results.append(SendResult(mail.key, ok=False, error=down))
            continue
        try:
            prepared = prepare(mail)
        except UnsendableMail as error:
            results.append(SendResult(mail.key, ok=False, permanent=True, error=str(error)))
            continue
        result, down = send(mail.key, prepared)
        results.append(result)
    return results


def one_line(value: str) -> str:
    """User-entered text made safe for a header: control characters (CR, LF, tabs) become
    single spaces, so the text can never start a header of its own."""
    return _CONTROL.sub(" ", value).strip()


@functools.lru_cache(maxsize=4096)  # the sender and reply addresses repeat from mail to mail
def address(value: str) -> Address:
    """One mailbox ("Name <a@b.c>" or "a@b.c") as an Address; UnsendableMail if it is not one."""
    flat = one_line(value)
    found = getaddresses([flat])
    if len(found) != 1 or not found[0][1] or "@" not in found[0][1]:
        raise UnsendableMail(f"{flat!r} is not one mail address")
    name, addr = found[0]
    local, _, domain = addr.rpartition("@")
    if not local or not domain or any(c.isspace() or c in '<>,;"\\' for c in addr):
        raise UnsendableMail(f"{flat!r} is not a valid mail address")
    if not addr.isascii():
        raise UnsendableMail(f"{addr!r}: addresses outside ASCII need SMTPUTF8, not supported")
    return Address(display_name=name, addr_spec=addr)


def message_id(value: str, what: str = "Message-ID") -> str:
    flat = one_line(value)
    if not (_MSG_ID.fullmatch(flat) and flat.isascii()):
        raise UnsendableMail(f"{what} {flat!r} is not <left@right>")
    return flat


def envelope(mail: OutgoingMail) -> tuple[str, list[str]]:
    """The SMTP envelope: the sender's and the recipients' bare addresses."""
    return address(mail.sender).addr_spec, [address(to).addr_spec for to in mail.to]


def build_message(mail: OutgoingMail, *, date: datetime | None = None) -> bytes:
    """The mail as RFC 5322 bytes; UnsendableMail when an address or a header is invalid."""
    if not mail.to:
        raise UnsendableMail("the mail has no recipient")
    msg = EmailMessage(policy=POLICY)
    msg["From"] = str(address(mail.sender))
    msg["To"] = ", ".join(str(address(to)) for to in mail.to)
    msg["Subject"] = one_line(mail.subject)
    msg["Date"] = format_datetime(date or datetime.now(UTC))
    msg["Message-ID"] = message_id(mail.message_id)
    if mail.in_reply_to:
        msg["In-Reply-To"] = message_id(mail.in_reply_to, "In-Reply-To")
    if mail.references:
        msg["References"] = " ".join(message_id(ref, "References") for ref in mail.references)
    if mail.reply_to:
        msg["Reply-To"] = str(address(mail.reply_to))
    if mail.automatic:
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Auto-Response-Suppress"] = "All"
    for name, value in mail.headers:
        if not _FIELD_NAME.fullmatch(name):
            raise UnsendableMail(f"{name!r} is not a header name")
        if name.lower() in RESERVED:
            raise UnsendableMail(f"the header {name} is set by the message builder itself")
        msg[name] = one_line(value)
    msg["MIME-Version"] = "1.0"
    msg.set_content(mail.text)
    if mail.html is not None:
        msg.add_alternative(mail.html, subtype="html")
    for filename, content_type, data in mail.attachments:
        kind = content_type.strip().lower()
        if not _CONTENT_TYPE.fullmatch(kind) or kind.startswith(("multipart/", "message/")):
            kind = "application/octet-stream"
        maintype, _, subtype = kind.partition("/")
        msg.add_attachment(
            data, maintype=maintype, subtype=subtype, filename=one_line(filename) or "attachment"
        )
    for part in msg.walk():
        if part is not msg:  # EmailMessage repeats it in every part it adds; once is enough
            del part["MIME-Version"]
    try:
        return msg.as_bytes()
    except (ValueError, TypeError) as error:  # a header the policy cannot fold or encode
        raise UnsendableMail(f"the mail cannot be written: {error}") from None
