"""Mailbox cursors: how far the IMAP channel has read each mailbox it polls."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

from ledgerdesk.domain.chain import ChainedAggregate
from ledgerdesk.domain.errors import ValidationError

MAILBOX_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.dev/ns/mailbox")


class MailboxCursor(ChainedAggregate):
    """One per mailbox URL (without credentials): the UIDVALIDITY seen and the last UID stored.

    IMAP UIDs only mean something within one UIDVALIDITY: when the server changes it, the
    cursor starts again from zero, and the intake's deduplication by Message-ID keeps the
    messages read a second time from becoming second tickets.
    """

    if TYPE_CHECKING:
        url: str
        uidvalidity: int
        last_uid: int

    @staticmethod
    def id_for(url: str) -> UUID:
        return uuid5(MAILBOX_NAMESPACE, url)

    class Started(ChainedAggregate.Created):
        url: str

        def apply(self, cursor: MailboxCursor) -> None:
            cursor.url, cursor.uidvalidity, cursor.last_uid = self.url, 0, 0

    class Advanced(ChainedAggregate.Event):
        uidvalidity: int
        last_uid: int

        def apply(self, cursor: MailboxCursor) -> None:
            cursor.uidvalidity, cursor.last_uid = self.uidvalidity, self.last_uid

    @classmethod
    def open(cls, url: str, *, actor: str, at: datetime) -> MailboxCursor:
        cursor: MailboxCursor = cls.start(
            cls.Started, id=cls.id_for(url), actor=actor, at=at, url=url
        )
        return cursor

    def next_uid(self, uidvalidity: int) -> int:
        """The first UID not yet stored, given the server's current UIDVALIDITY."""
        return self.last_uid + 1 if uidvalidity == self.uidvalidity else 1

    def advance(self, uidvalidity: int, last_uid: int, *, actor: str, at: datetime) -> bool:
        """Move past `last_uid`; a cursor never goes back within one UIDVALIDITY.

        Returns whether anything was recorded (two pollers racing record one advance).
        """
        self.check_position(uidvalidity, last_uid)
        if uidvalidity == self.uidvalidity and last_uid <= self.last_uid:
            return False
        self.record(self.Advanced, actor=actor, at=at, uidvalidity=uidvalidity, last_uid=last_uid)
        return True

    @staticmethod
    def check_position(uidvalidity: int, last_uid: int) -> None:
        # RFC 3501: both are non-zero unsigned 32-bit numbers.
        if not 0 < uidvalidity < 2**32:
            raise ValidationError("uidvalidity", f"{uidvalidity} is not an IMAP UIDVALIDITY")
        if not 0 <= last_uid < 2**32:  # 0: a new UIDVALIDITY, nothing stored under it yet
            raise ValidationError("last_uid", f"{last_uid} is not an IMAP UID")
