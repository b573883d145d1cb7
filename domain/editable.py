"""Configuration aggregates (users, departments, SLA policies, calendars) that are edited."""

from __future__ import annotations

from datetime import datetime

from ledgerdesk.domain.chain import ChainedAggregate
from ledgerdesk.domain.errors import ConflictError


class EditableAggregate(ChainedAggregate):
    active = True

    class Updated(ChainedAggregate.Event):
        changes: dict[str, object]

        def apply(self, aggregate: EditableAggregate) -> None:
            for key, value in self.changes.items():
                setattr(aggregate, key, value.copy() if isinstance(value, list | dict) else value)

    class Deactivated(ChainedAggregate.Event):
        def apply(self, aggregate: EditableAggregate) -> None:
            aggregate.active = False

    class Reactivated(ChainedAggregate.Event):
        def apply(self, aggregate: EditableAggregate) -> None:
            aggregate.active = True

    @property
    def label(self) -> str:
        return str(self.id)

    def update(self, changes: dict[str, object], *, actor: str, at: datetime) -> dict[str, object]:
        """Record the fields that really change; returns them (empty when nothing did)."""
        real = {k: v for k, v in changes.items() if getattr(self, k) != v}
        if real:
            self.record(self.Updated, actor=actor, at=at, changes=real)
        return real

    def deactivate(self, *, actor: str, at: datetime) -> None:
        if not self.active:
            raise ConflictError(f"{self.label} is already deactivated")
        self.record(self.Deactivated, actor=actor, at=at)

    def reactivate(self, *, actor: str, at: datetime) -> None:
        if self.active:
            raise ConflictError(f"{self.label} is already active")
        self.record(self.Reactivated, actor=actor, at=at)
