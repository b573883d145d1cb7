"""Users (admins, agents, customers) and the index that keeps their email addresses unique."""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from ledgerdesk.domain.chain import ChainedAggregate
from ledgerdesk.domain.editable import EditableAggregate
from ledgerdesk.domain.errors import ConflictError

EMAIL_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.dev/ns/email")
STAFF_ROLES = frozenset({"admin", "agent"})


class User(EditableAggregate):
    if TYPE_CHECKING:
        email: str
        name: str
        role: str
        department_ids: list[UUID]
        time_zone: str
        locale: str
        phone: str
        password_hash: str
        mail_failing: str  # why mail to this address bounced ("" while it is deliverable)
        preferences: dict[str, dict[str, Any]]  # kind -> {"channels": [...], "digest": bool}

    class Created(ChainedAggregate.Created):
        email: str
        name: str
        role: str
        department_ids: list[UUID]
        time_zone: str
        locale: str
        phone: str

        def apply(self, u: User) -> None:
            u.email, u.name, u.role = self.email, self.name, self.role
            u.department_ids = list(self.department_ids)
            u.time_zone, u.locale, u.phone = self.time_zone, self.locale, self.phone
            u.password_hash, u.active, u.mail_failing = "", True, ""
            u.preferences = {}

    class PasswordSet(ChainedAggregate.Event):
        password_hash: str

        def apply(self, u: User) -> None:
            u.password_hash = self.password_hash

    class MailBounced(ChainedAggregate.Event):
        """Mail to the user's address bounced: outgoing mail stops until it is cleared."""

        reason: str

        def apply(self, u: User) -> None:
            u.mail_failing = self.reason or "bounced"

    class MailDeliverable(ChainedAggregate.Event):
        def apply(self, u: User) -> None:
            u.mail_failing = ""

    class PreferencesSet(ChainedAggregate.Event):
        """Which notifications the user wants, on which channels, now or in the digest only."""

        preferences: dict[str, dict[str, Any]]

        def apply(self, u: User) -> None:
            u.preferences = dict(self.preferences)

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def actor(self) -> str:
        return f"user:{self.id}"

    @property
    def label(self) -> str:
        return self.email

    def mark_bounced(self, reason: str, *, actor: str, at: datetime) -> None:
        if self.mail_failing != (reason or "bounced"):
            self.record(self.MailBounced, actor=actor, at=at, reason=reason)

    def mark_deliverable(self, *, actor: str, at: datetime) -> None:
        if self.mail_failing:
            self.record(self.MailDeliverable, actor=actor, at=at)

    def set_preferences(
        self, preferences: dict[str, dict[str, Any]], *, actor: str, at: datetime
    ) -> None:
        if preferences != self.preferences:
            self.record(self.PreferencesSet, actor=actor, at=at, preferences=preferences)

    def set_password_hash(self, password_hash: str, *, actor: str, at: datetime) -> None:
        self.record(self.PasswordSet, actor=actor, at=at, password_hash=password_hash)


class EmailIndex(ChainedAggregate):
    """One per address ever used: who holds it now. Its id is derived from the address."""

    if TYPE_CHECKING:
        email: str
        user_id: UUID | None

    @staticmethod
    @functools.lru_cache(maxsize=65536)
    def id_for(email: str) -> UUID:
        return uuid5(EMAIL_NAMESPACE, email.lower())

    class Claimed(ChainedAggregate.Created):
        email: str
        user_id: UUID

        def apply(self, index: EmailIndex) -> None:
            index.email, index.user_id = self.email, self.user_id

    class Reclaimed(ChainedAggregate.Event):
        user_id: UUID

        def apply(self, index: EmailIndex) -> None:
            index.user_id = self.user_id

    class Released(ChainedAggregate.Event):
        def apply(self, index: EmailIndex) -> None:
            index.user_id = None

    def claim(self, user_id: UUID, *, actor: str, at: datetime) -> None:
        if self.user_id is not None and self.user_id != user_id:
            raise ConflictError(f"{self.email} already belongs to another user")
        if self.user_id is None:
            self.record(self.Reclaimed, actor=actor, at=at, user_id=user_id)

    def release(self, *, actor: str, at: datetime) -> None:
        self.record(self.Released, actor=actor, at=at)
