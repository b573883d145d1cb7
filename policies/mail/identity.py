"""How our mail names itself: Message-IDs, signed reply addresses, the subject token, loop header.

Outgoing Message-IDs and reply addresses carry the ticket number and a short HMAC, so a
reply threads without a lookup and nobody can forge a reference into someone else's ticket.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

LOOP_HEADER = "X-Ledgerdesk-Loop"
"""Set on every mail we send; a message carrying it with our instance name came from us."""

SIGNATURE_LENGTH = 10
_ID = re.compile(r"^<?ld\.(T-\d{1,12})\.([0-9a-f]{32})\.([0-9a-f]{10})@([^>\s]+)>?$", re.I)
_TOKEN = re.compile(r"\[(T-\d{1,12})\]", re.I)


@dataclass(frozen=True)
class MailIdentity:
    """The secret and domain our Message-IDs and reply addresses are signed with."""

    secret: str
    support_address: str
    instance: str = "ledgerdesk"

    @property
    def domain(self) -> str:
        return self.support_address.rpartition("@")[2].lower()

    def _sign(self, text: str) -> str:
        key = self.secret.encode()
        return hmac.new(key, text.encode(), hashlib.sha256).hexdigest()[:SIGNATURE_LENGTH]

    # Message-IDs ------------------------------------------------------------------------------

    def message_id(self, number: str, event_id: str) -> str:
        """The Message-ID of the mail sent for one event (32 hex digits) of ticket `number`."""
        number, event_hex = number.upper(), event_id.replace("-", "").lower()
        sig = self._sign(f"id:{number}.{event_hex}")
        return f"<ld.{number}.{event_hex}.{sig}@{self.domain}>"

    def ticket_of_message_id(self, message_id: str) -> str | None:
        """The ticket number one of our Message-IDs names, or None (not ours, or forged)."""
        match = _ID.match(message_id.strip())
        if match is None:
            return None
        number, event_hex, sig = match.group(1).upper(), match.group(2).lower(), match.group(3)
        expected = self._sign(f"id:{number}.{event_hex}")
        return number if hmac.compare_digest(expected, sig.lower()) else None

    # Reply addresses ---------------------------------------------------------------------------

    def reply_address(self, number: str, address: str | None = None) -> str:
        """`support+T-12.<sig>@example.com`: where replies about ticket `number` go."""
        local, _, domain = (address or self.support_address).partition("@")
        number = number.upper()
        return f"{local}+{number}.{self._sign('to:' + number)}@{domain}"

    def ticket_of_address(self, address: str) -> str | None:
        """The ticket number of a signed reply address, or None (plain, foreign or forged)."""
        local = address.strip().lower().partition("@")[0]
        _, plus, tag = local.partition("+")
        number, dot, sig = tag.rpartition(".")
        if not (plus and dot and re.fullmatch(r"t-\d{1,12}", number)):
            return None
        number = number.upper()
        return number if hmac.compare_digest(self._sign("to:" + number), sig) else None

    @staticmethod
    def base_address(address: str) -> str:
        """An address without its +tag: `support+T-12.x@a.b` -> `support@a.b`."""
        local, at, domain = address.strip().lower().partition("@")
        return f"{local.partition('+')[0]}{at}{domain}"

    # Subject token and loop header --------------------------------------------------------------

    @staticmethod
    def subject_token(number: str) -> str:
        return f"[{number.upper()}]"

    @staticmethod
    def ticket_of_subject(subject: str) -> str | None:
        """The ticket number of the first `[T-12]` token in a subject, if any."""
        match = _TOKEN.search(subject or "")
        return match.group(1).upper() if match else None

    def loop_value(self) -> str:
        return self.instance

    def is_our_loop(self, value: str | None) -> bool:
        return bool(value) and (value or "").strip().lower() == self.instance.lower()
