"""What the intake kept aside: received messages whose latest outcome is `quarantined`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from eventsourcing.utils import get_topic

from ledgerdesk.domain.application.core import Core
from ledgerdesk.domain.inbound import InboundMail, Outcome

PAGE = 2_000


@dataclass(frozen=True)
class QuarantineEntry:
    key: str
    received_at: datetime
    channel: str
    source: str
    sender: str
    subject: str
    reason: str
    raw_sha256: str
    attempts: int


class QuarantineQueries(Core):
    def quarantined(self, *, limit: int = 1000) -> list[QuarantineEntry]:
        """Messages in quarantine, oldest first (read from the log: admins' occasional look)."""
        topics = [get_topic(InboundMail.Received), get_topic(InboundMail.Reprocessed)]
        entries: dict[object, QuarantineEntry] = {}
        start = 1
        while True:
            batch = self.read(
                partial(self.recorder.select_notifications, start, PAGE, topics=topics)
            )
            for notification in batch:
                event: Any = self.mapper.to_domain_event(notification)
                entries.pop(event.originator_id, None)
                if event.outcome != Outcome.QUARANTINED:
                    continue
                # A retry's event carries only its outcome: the rest is the message's record.
                first = event if isinstance(event, InboundMail.Received) else None
                record: Any = first or self.get_aggregate(event.originator_id)
                entries[event.originator_id] = QuarantineEntry(
                    key=record.key,
                    received_at=event.timestamp,
                    channel=record.channel,
                    source=record.source,
                    sender=record.sender,
                    subject=record.subject,
                    reason=event.reason,
                    raw_sha256=record.raw_sha256,
                    attempts=1 if first else record.attempts,
                )
            if len(batch) < PAGE:
                break
            start = batch[-1].id + 1
        return list(entries.values())[:limit]
