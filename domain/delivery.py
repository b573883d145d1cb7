"""Deliveries: what became of one outbox item (a notification to one user on one channel).

The outbox read model decides its items from the ticket events (pure reaction rules), so a
replay decides the same items with the same keys; what was sent is recorded here, as events,
so a replay or a second dispatcher never sends an item twice once its sending is recorded.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

from ledgerdesk.domain.chain import ChainedAggregate
from ledgerdesk.domain.errors import ConflictError

DELIVERY_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.dev/ns/delivery")


def delivery_id(key: str) -> UUID:
    return uuid5(DELIVERY_NAMESPACE, key)


class Delivery(ChainedAggregate):
    if TYPE_CHECKING:
        key: str
        channel: str
        user_id: UUID
        state: str  # pending, sent, failed, dead, read
        attempts: int
        message_id: str
        last_error: str

    class Opened(ChainedAggregate.Created):
        key: str
        channel: str
        user_id: UUID

        def apply(self, d: Delivery) -> None:
            d.key, d.channel, d.user_id = self.key, self.channel, self.user_id
            d.state, d.attempts, d.message_id, d.last_error = "pending", 0, "", ""

    class Sent(ChainedAggregate.Event):
        message_id: str

        def apply(self, d: Delivery) -> None:
            d.state, d.message_id = "sent", self.message_id
            d.attempts += 1

    class Failed(ChainedAggregate.Event):
        """One attempt failed; another is due at `retry_at`."""

        error: str
        retry_at: datetime

        def apply(self, d: Delivery) -> None:
            d.state, d.last_error = "failed", self.error
            d.attempts += 1

    class GaveUp(ChainedAggregate.Event):
        """Refused for good, or failed too often: a dead letter, visible to admins."""

        error: str

        def apply(self, d: Delivery) -> None:
            d.state, d.last_error = "dead", self.error
            d.attempts += 1

    class Requeued(ChainedAggregate.Event):
        """An admin sends a dead letter again."""

        def apply(self, d: Delivery) -> None:
            d.state, d.attempts = "pending", 0  # a fresh set of tries

    class Read(ChainedAggregate.Event):
        """The user read this in-app notification."""

        def apply(self, d: Delivery) -> None:
            d.state = "read"

    @classmethod
    def open(cls, key: str, channel: str, user_id: UUID, *, actor: str, at: datetime) -> Delivery:
        delivery: Delivery = cls.start(
            cls.Opened,
            id=delivery_id(key),
            actor=actor,
            at=at,
            key=key,
            channel=channel,
            user_id=user_id,
        )
        return delivery

    def sent(self, message_id: str, *, actor: str, at: datetime) -> None:
        if self.state == "sent":
            raise ConflictError(f"{self.key} was already sent")
        self.record(self.Sent, actor=actor, at=at, message_id=message_id)

    def failed(
        self,
        error: str,
        *,
        permanent: bool,
        max_attempts: int,
        retry_at: datetime,
        actor: str,
        at: datetime,
    ) -> None:
        if self.state == "sent":
            raise ConflictError(f"{self.key} was already sent")
        if permanent or self.attempts + 1 >= max_attempts:
            self.record(self.GaveUp, actor=actor, at=at, error=error[:500])
        else:
            self.record(self.Failed, actor=actor, at=at, error=error[:500], retry_at=retry_at)

    def requeue(self, *, actor: str, at: datetime) -> None:
        if self.state != "dead":
            raise ConflictError(f"{self.key} is not a dead letter (it is {self.state})")
        self.record(self.Requeued, actor=actor, at=at)

    def read(self, *, actor: str, at: datetime) -> None:
        if self.state != "read":
            self.record(self.Read, actor=actor, at=at)


OUTBOX_ORIGIN_ID = uuid5(DELIVERY_NAMESPACE, "outbox-origin")


class OutboxOrigin(ChainedAggregate):
    """Where notifications begin: events before this log position never notify anyone.

    Recorded once, by the first `migrate` that knows the outbox, so that upgrading an
    installation with history (or rebuilding the outbox later) does not mail its past.
    """

    if TYPE_CHECKING:
        from_position: int

    class Started(ChainedAggregate.Created):
        from_position: int

        def apply(self, origin: OutboxOrigin) -> None:
            origin.from_position = self.from_position
