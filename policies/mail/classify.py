"""Classification: is a mail a bounce, an automatic reply, our own mail come back, or normal?

Pure rules over a parsed mail. Order matters: our own mail first (a loop must stop even when
it looks like anything else), then bounces (they are automatic too, but carry a failed
address), then automatic replies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ledgerdesk.domain.inbound import Kind
from ledgerdesk.policies.mail.identity import LOOP_HEADER, MailIdentity
from ledgerdesk.policies.mail.message import ParsedMail

MAX_MESSAGE_BYTES = 25 * 1024 * 1024

_BOUNCE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailer)(@|$)", re.I)
_BOUNCE_SUBJECTS = re.compile(
    r"undeliver|undelivered mail|delivery status notification \((failure|delay)\)|"
    r"mail delivery (failed|failure|subsystem)|returned mail|failure notice|"
    r"delivery (has )?failed|nicht zustellbar|unzustellbar|non remis|non distribuable|"
    r"no se puede entregar|no entregado|mensaje no entregado",
    re.I,
)
_AUTO_SUBJECTS = re.compile(
    r"^\s*(out of (the )?office|automatic reply|auto(matic)?[- ]?reply|auto:|autoreply|"
    r"automatische antwort|abwesenheitsnotiz|abwesend|réponse automatique|"
    r"reponse automatique|absence du bureau|respuesta automática|respuesta automatica|"
    r"fuera de la oficina|risposta automatica|fuori sede|resposta automática|"
    r"automatisch antwoord|afwezig)",
    re.I,
)
_BULK = frozenset({"bulk", "junk", "list", "auto_reply"})
_SUPPRESS_VALUES = frozenset({"all", "oof", "autoreply", "dr", "ndr", "rn", "nrn"})


@dataclass(frozen=True)
class Classification:
    kind: Kind
    reason: str = ""


def classify(
    mail: ParsedMail, identity: MailIdentity, our_addresses: frozenset[str]
) -> Classification:
    """What a mail is, and in a few words why."""
    if mail.size > MAX_MESSAGE_BYTES:
        return Classification(
            Kind.INVALID,
            f"the message is {mail.size / 1048576:.1f} MB; the limit is "
            f"{MAX_MESSAGE_BYTES // 1048576} MB",
        )
    if mail.size == 0:
        return Classification(Kind.INVALID, "the message is empty (0 bytes)")
    if not mail.headers:
        return Classification(Kind.INVALID, "no mail headers: this is not an email message")
    loop = _loop(mail, identity, our_addresses)
    if loop:
        return Classification(Kind.LOOP, loop)
    bounce = _bounce(mail)
    if bounce:
        return Classification(Kind.BOUNCE, bounce)
    auto = _auto_reply(mail)
    if auto:
        return Classification(Kind.AUTO_REPLY, auto)
    if mail.sender is None:
        return Classification(Kind.INVALID, "no sender address in From (or Sender / Reply-To)")
    return Classification(Kind.NORMAL)


def _loop(mail: ParsedMail, identity: MailIdentity, our_addresses: frozenset[str]) -> str:
    if any(identity.is_our_loop(v) for v in mail.headers.get(LOOP_HEADER.lower(), [])):
        return f"it carries our {LOOP_HEADER} header: our own mail came back"
    if mail.message_id and identity.ticket_of_message_id(mail.message_id):
        return "its Message-ID is one we made: our own mail came back"
    if mail.sender and identity.base_address(mail.sender[1]) in our_addresses:
        return f"it was sent from our own address {mail.sender[1]}"
    return ""


def _bounce(mail: ParsedMail) -> str:
    if mail.report is not None:
        return "delivery status report (RFC 3464)"
    sender = mail.sender[1] if mail.sender else mail.header("return-path").strip("<> ")
    if mail.header("x-failed-recipients"):
        return "X-Failed-Recipients header"
    if (not sender or _BOUNCE_SENDERS.match(sender)) and _BOUNCE_SUBJECTS.search(mail.subject):
        return f"bounce from {sender or 'the null sender'}: {mail.subject[:80]}"
    return ""


def _auto_reply(mail: ParsedMail) -> str:
    submitted = mail.header("auto-submitted").split(";")[0].strip().lower()
    if submitted and submitted != "no":
        return f"Auto-Submitted: {submitted}"
    precedence = mail.header("precedence").strip().lower()
    if precedence in _BULK:
        return f"Precedence: {precedence}"
    for name in ("x-autoreply", "x-autorespond", "x-autoresponder"):
        if mail.header(name):
            return f"{name} header"
    suppress = {v.strip().lower() for v in mail.header("x-auto-response-suppress").split(",")}
    if suppress & _SUPPRESS_VALUES:
        return "X-Auto-Response-Suppress header"
    if _AUTO_SUBJECTS.match(mail.subject):
        return f"out-of-office subject: {mail.subject[:80]}"
    return ""
