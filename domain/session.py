"""Sessions: one per sign-in, so every sign-in, token refresh and sign-out is an audited event.

Refresh tokens rotate. Each carries the session id and a generation number; refreshing with
the current generation moves the session to the next one. A token of an older generation is
a replay (a copy of a token that was already used, perhaps stolen), so the session ends.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import TYPE_CHECKING
from uuid import UUID

from ledgerdesk.domain import values as v
from ledgerdesk.domain.chain import ChainedAggregate
from ledgerdesk.domain.errors import AuthenticationError, ValidationError

MAX_USER_AGENT = 256
SIGNED_OUT = "signed out"
TOKEN_REUSED = "refresh token reused"
USER_INACTIVE = "user deactivated"
ENDED_MESSAGE = "this session has ended; sign in again"


class Session(ChainedAggregate):
    if TYPE_CHECKING:
        user_id: UUID
        user_agent: str
        ip: str
        generation: int
        revoked_reason: str
        revoked_at: datetime | None

    class Started(ChainedAggregate.Created):
        user_id: UUID
        user_agent: str
        ip: str

        def apply(self, s: Session) -> None:
            s.user_id, s.user_agent, s.ip = self.user_id, self.user_agent, self.ip
            s.generation, s.revoked_reason, s.revoked_at = 0, "", None

    class Refreshed(ChainedAggregate.Event):
        generation: int

        def apply(self, s: Session) -> None:
            s.generation = self.generation

    class Revoked(ChainedAggregate.Event):
        reason: str

        def apply(self, s: Session) -> None:
            s.revoked_reason, s.revoked_at = self.reason, self.timestamp

    @property
    def active(self) -> bool:
        return not self.revoked_reason

    def check_active(self) -> None:
        if not self.active:
            raise AuthenticationError(ENDED_MESSAGE)

    def is_current(self, generation: int) -> bool:
        """Whether a refresh token of this generation is the one most recently handed out."""
        return generation == self.generation

    def refresh(self, generation: int, *, actor: str, at: datetime) -> None:
        """Move to the next generation; only the current generation's token may do so."""
        self.check_active()
        if not self.is_current(generation):
            raise AuthenticationError("this refresh token was already used; sign in again")
        self.record(self.Refreshed, actor=actor, at=at, generation=self.generation + 1)

    def revoke(self, reason: str, *, actor: str, at: datetime) -> None:
        self.check_active()
        reason = v.text("reason", reason, max_length=200)
        self.record(self.Revoked, actor=actor, at=at, reason=reason)


def user_agent(value: object) -> str:
    """A client's User-Agent, shortened to a line we keep (longer ones are cut, not refused)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationError("user_agent", "must be text")
    short = " ".join(value.split())[:MAX_USER_AGENT]
    return v.text("user_agent", short, max_length=MAX_USER_AGENT, required=False)


def ip_address(value: object) -> str:
    """A client's IP address in its normal written form ("" when unknown)."""
    if value is None or value == "":
        return ""
    try:
        return str(ipaddress.ip_address(str(value).strip()))
    except ValueError:
        raise ValidationError("ip", f"{value!r} is not an IP address") from None
