"""Notification commands: preferences, recording deliveries, dead letters, reading in-app ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from ledgerdesk.domain.application.core import Core
from ledgerdesk.domain.application.unit_of_work import UnitOfWork
from ledgerdesk.domain.delivery import OUTBOX_ORIGIN_ID, Delivery, OutboxOrigin, delivery_id
from ledgerdesk.domain.errors import ConflictError, NotFoundError
from ledgerdesk.domain.outgoing import check_preferences
from ledgerdesk.domain.user import User

MAX_ATTEMPTS = 6  # then a dead letter: after about 1 + 2 + 4 + 8 + 16 minutes of retries


@dataclass(frozen=True)
class Attempt:
    """What happened when one outbox item was handed to its transport."""

    key: str
    channel: str
    user_id: UUID
    ok: bool
    message_id: str = ""
    error: str = ""
    permanent: bool = False


class NotificationCommands(Core):
    def start_outbox(self, *, actor: str = "system:migrate") -> int:
        """Record, once, the log position notifications begin after; answers it."""

        def command(unit: UnitOfWork) -> int:
            origin = unit.find(OutboxOrigin, OUTBOX_ORIGIN_ID)
            if origin is None:
                head = self.read(self.recorder.max_notification_id) or 0
                origin = OutboxOrigin.start(
                    OutboxOrigin.Started,
                    id=OUTBOX_ORIGIN_ID,
                    actor=actor,
                    at=self.now(),
                    from_position=head,
                )
                unit.add(origin)
            return int(origin.from_position)

        return self.execute(command)

    def outbox_origin(self) -> int:
        """The log position notifications begin after (0 before `migrate` recorded it)."""
        origin = self.execute(lambda unit: unit.find(OutboxOrigin, OUTBOX_ORIGIN_ID))
        return int(origin.from_position) if origin is not None else 0

    def set_preferences(self, user_id: UUID, preferences: Any, *, actor: str) -> User:
        """Choose which notifications a user gets, on which channels, now or in the digest."""
        actor, clean = self.check_actor(actor), check_preferences(preferences)

        def command(unit: UnitOfWork) -> User:
            user = unit.get(User, user_id, "user")
            user.set_preferences(clean, actor=actor, at=self.now())
            unit.add(user)
            return user

        return self.execute(command)

    def record_attempts(self, attempts: Sequence[Attempt], *, actor: str) -> list[Delivery]:
        """Record many send attempts in one transaction (sent, to retry, or dead letters)."""
        actor = self.check_actor(actor)

        def command(unit: UnitOfWork) -> list[Delivery]:
            unit.prefetch(delivery_id(a.key) for a in attempts)
            done = []
            at = self.now()
            for attempt in attempts:
                delivery = self._delivery(
                    unit, attempt.key, attempt.channel, attempt.user_id, actor
                )
                if delivery.state == "sent":
                    continue  # another dispatcher recorded it first: nothing to add
                if attempt.ok:
                    delivery.sent(attempt.message_id, actor=actor, at=at)
                else:
                    delivery.failed(
                        attempt.error or "failed",
                        permanent=attempt.permanent,
                        max_attempts=MAX_ATTEMPTS,
                        retry_at=retry_time(at, delivery.attempts),
                        actor=actor,
                        at=at,
                    )
                done.append(delivery)
            return done

        return self.execute(command)

    def requeue_delivery(self, key: str, *, actor: str) -> Delivery:
        """Send a dead letter again (after its cause was fixed)."""
        actor = self.check_actor(actor)

        def command(unit: UnitOfWork) -> Delivery:
            delivery = unit.find(Delivery, delivery_id(key))
            if delivery is None:
                raise NotFoundError(f"no delivery {key}")
            delivery.requeue(actor=actor, at=self.now())
            unit.add(delivery)
            return delivery

        return self.execute(command)

    def mark_read(self, user_id: UUID, keys: Sequence[str], *, actor: str) -> int:
        """Mark a user's in-app notifications read; answers how many changed."""
        actor = self.check_actor(actor)

        def command(unit: UnitOfWork) -> int:
            unit.prefetch(delivery_id(k) for k in keys)
            changed = 0
            for key in keys:
                if not key.endswith(f".{user_id.hex}.in_app"):
                    raise NotFoundError(f"no notification {key} of this user")
                delivery = self._delivery(unit, key, "in_app", user_id, actor)
                if delivery.state != "read":
                    delivery.read(actor=actor, at=self.now())
                    changed += 1
            return changed

        return self.execute(command)

    def _delivery(
        self, unit: UnitOfWork, key: str, channel: str, user_id: UUID, actor: str
    ) -> Delivery:
        delivery = unit.find(Delivery, delivery_id(key))
        if delivery is None:
            delivery = Delivery.open(key, channel, user_id, actor=actor, at=self.now())
        elif delivery.user_id != user_id:
            raise ConflictError(f"{key} belongs to another user")
        unit.add(delivery)
        return delivery


def retry_time(at: datetime, attempts_so_far: int) -> datetime:
    """Exponential backoff: 1, 2, 4, 8, 16… minutes after a failure (at most 6 hours)."""
    from datetime import timedelta

    return at + timedelta(minutes=min(2**attempts_so_far, 360))
