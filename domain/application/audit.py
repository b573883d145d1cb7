"""Audit queries for auditors: history, as-of views, exports, seals and verification."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from ledgerdesk.domain.application.core import Core
from ledgerdesk.domain.chain import (
    GENESIS,
    canonical_json,
    digest_stored,
    event_digest,
    stored_fields,
    stored_text,
)
from ledgerdesk.domain.errors import NotFoundError, ValidationError
from ledgerdesk.domain.integrity import Finding, Report, Sealer, Verifier, seal_mac
from ledgerdesk.domain.ports import LogRow
from ledgerdesk.domain.seal import SEAL_LOG_ID, LogSeal
from ledgerdesk.domain.ticket import Ticket, format_number, parse_number, ticket_id

EXPORT_FORMAT = "ledgerdesk-audit-export/1"
BASE_FIELDS = ("originator_id", "originator_version", "timestamp", "actor", "prev_hash")
PAGE = 5000
Progress = Callable[[int, int], None]


SEAL_PART = 20_000  # events per seal at most: a seal names the head of each aggregate it covers


@dataclass(frozen=True)
class HistoryEntry:
    version: int
    at: datetime
    actor: str
    event: str
    changes: dict[str, Any]
    hash: str
    prev_hash: str


class AuditQueries(Core):
    secret_key: str = ""

    def history(self, number: str) -> list[HistoryEntry]:
        """Every event of a ticket: version, time, actor, what changed, hash."""
        events = self._ticket_events(number)
        return [
            HistoryEntry(
                version=e.originator_version,
                at=e.timestamp,
                actor=e.actor,
                event=type(e).__qualname__.split(".")[-1],
                changes={
                    k: val
                    for k, val in e.__dict__.items()
                    if k not in BASE_FIELDS and k != "originator_topic"
                },
                hash=event_digest(e),
                prev_hash=e.prev_hash,
            )
            for e in events
        ]

    def as_of(
        self, number: str, *, at: datetime | None = None, version: int | None = None
    ) -> Ticket:
        """The ticket exactly as it was at a moment, or at a version."""
        if (at is None) == (version is None):
            raise ValidationError("as_of", "give either a time or a version")
        tid, num = self._ticket_ref(number)
        if at is not None:
            if at.tzinfo is None:
                raise ValidationError(
                    "as_of", "the time must carry a time zone, e.g. 2026-11-01T10:00Z"
                )
            versions = [
                e.originator_version for e in self._ticket_events(number) if e.timestamp <= at
            ]
            if not versions:
                raise NotFoundError(f"{num} did not exist yet at {at.isoformat()}")
            version = versions[-1]
        assert version is not None
        if version < 1:
            raise ValidationError("version", "versions start at 1")
        ticket = self.get_aggregate(tid, version=version)
        if ticket.version != version:
            raise NotFoundError(f"{num} has no version {version}; its latest is v{ticket.version}")
        return ticket

    def export(self, number: str) -> dict[str, Any]:
        """A ticket's whole event history with its hash chain, verifiable offline."""
        tid, num = self._ticket_ref(number)
        rows = self.read(lambda: self.recorder.select_events(tid))
        if not rows:
            raise NotFoundError(f"there is no ticket {num}")
        events = []
        for row in rows:
            digest = digest_stored(
                row.topic, UUID(str(row.originator_id)).hex, row.originator_version, row.state
            )
            events.append(
                {
                    "version": row.originator_version,
                    "topic": row.topic,
                    "state": row.state.decode("utf-8"),
                    "fields": stored_fields(row.state),
                    "hash": digest,
                }
            )
        head = events[-1]["hash"] if events else GENESIS
        body = {
            "format": EXPORT_FORMAT,
            "ticket": num,
            "aggregate_id": tid.hex,
            "exported_at": self.now().isoformat(),
            "events": events,
            "head": head,
        }
        body["mac"] = self._mac(canonical_json([body["aggregate_id"], len(events), head]))
        return body

    def verify_export(self, document: dict[str, Any]) -> Report:
        """Check an exported history on its own: every hash, every link, and the signature."""
        if not isinstance(document, dict) or document.get("format") != EXPORT_FORMAT:
            raise ValidationError("file", f"not a ledgerdesk audit export ({EXPORT_FORMAT})")
        try:
            aggregate_id = UUID(document["aggregate_id"])
            events = list(document["events"])
            for event in events:
                if not (
                    isinstance(event, dict)
                    and isinstance(event.get("topic"), str)
                    and isinstance(event.get("version"), int)
                    and isinstance(event.get("state"), str)
                ):
                    raise TypeError
        except (KeyError, TypeError, ValueError):
            raise ValidationError(
                "file", "the export's aggregate id or events are missing or malformed"
            ) from None
        verifier = Verifier([], labels={aggregate_id.hex: str(document.get("ticket"))})
        for position, event in enumerate(events, 1):
            state = str(event.get("state", "")).encode("utf-8")
            digest = verifier.feed(position, aggregate_id, event["version"], event["topic"], state)
            if digest != event.get("hash") or stored_fields(state) != event.get("fields"):
                verifier.report.findings.append(_export_mismatch(document, event, position))
        report = verifier.finish()
        head = events[-1]["hash"] if events else GENESIS
        if head != document.get("head"):
            report.findings.append(_export_mismatch(document, {"version": None}, None, "head"))
        if self.secret_key and not hmac.compare_digest(
            str(document.get("mac", "")),
            self._mac(
                canonical_json([document["aggregate_id"], len(events), document.get("head")])
            ),
        ):
            report.findings.append(_export_mismatch(document, {"version": None}, None, "mac"))
        return report

    def seal(self, *, actor: str = "system:sealer", part: int = SEAL_PART) -> dict[str, Any] | None:
        """Record the head of the whole log; None when nothing new happened since the last seal.

        A long unsealed log (a migration, a demo of 100,000 tickets) is sealed in parts of at
        most `part` events, one seal each, so no seal is one huge event.
        """
        actor = self.check_actor(actor)
        result: dict[str, Any] | None = None
        while True:
            sealed = self._seal_part(actor, part)
            if sealed is None:
                return result
            if result is not None:
                sealed["count"] += result["count"]
            result = sealed
            if sealed["part_count"] < part:
                return result

    def _seal_part(self, actor: str, part: int) -> dict[str, Any] | None:
        log = self._seal_log()
        last = log.seals[-1] if log is not None and log.seals else None
        start = last["upto"] + 1 if last else 1
        sealer = Sealer(last["log_hash"] if last else GENESIS)
        upto, fresh = start - 1, False
        seal_key = SEAL_LOG_ID.hex
        for position, key, version, topic, state in self._rows(start):
            sealer.add(key, version, digest_stored(topic, key, version, state))
            upto, fresh = position, fresh or key != seal_key
            if sealer.count >= part:
                break
        if not fresh:
            return None
        mac = seal_mac(
            self.secret_key, upto, sealer.count, sealer.log_hash, sealer.checkpoints, sealer.heads
        )

        def command(unit: Any) -> dict[str, Any] | None:
            seal_log = unit.find(LogSeal, SEAL_LOG_ID) or LogSeal.start(
                LogSeal.Started, id=SEAL_LOG_ID, actor=actor, at=self.now()
            )
            if (seal_log.last or {}).get("upto") != (last or {}).get("upto"):
                return None  # another sealer got there first (this is a re-run after a clash)
            seal_log.seal(
                actor=actor,
                at=self.now(),
                upto=upto,
                count=sealer.count,
                log_hash=sealer.log_hash,
                checkpoints=sealer.checkpoints,
                heads=sealer.heads,
                mac=mac,
            )
            unit.add(seal_log)
            return {
                "upto": upto,
                "count": sealer.count,
                "part_count": sealer.count,
                "log_hash": sealer.log_hash,
                "number": len(seal_log.seals),
            }

        return self.execute(command)

    def verify(self, progress: Progress | None = None) -> Report:
        """Recompute every hash, link and seal; name the first altered, missing or moved event."""
        seals = [
            {k: e.__dict__[k] for k in ("upto", "count", "log_hash", "checkpoints", "heads", "mac")}
            for e in self.read(lambda: list(self.events.get(SEAL_LOG_ID)))
            if isinstance(e, LogSeal.Sealed)
        ]
        labels: dict[str, str] = {}
        verifier = Verifier(seals, key=self.secret_key, labels=labels)
        total = self.read(self.recorder.max_notification_id) or 0
        opened = get_topic(Ticket.Opened)
        for position, key, version, topic, state in self._rows(1):
            if topic == opened:
                labels[key] = stored_text(state, b'"number":"') or "?"
            verifier.feed(position, key, version, topic, state)
            if progress is not None and verifier.report.events % PAGE == 0:
                progress(position, total)
        if progress is not None:
            progress(total, total)
        return verifier.finish()

    # Internals -------------------------------------------------------------------------------

    def _rows(self, start: int) -> Iterator[LogRow]:
        """Every stored event from a log position: (position, id hex, version, topic, state)."""
        reader = self.log_reader
        while True:
            if reader is not None:
                rows = self.read(partial(reader.rows, start, PAGE))
            else:
                rows = [
                    (
                        n.id,
                        UUID(str(n.originator_id)).hex,
                        n.originator_version,
                        n.topic,
                        n.state if isinstance(n.state, bytes) else str(n.state).encode("utf-8"),
                    )
                    for n in self.read(
                        partial(self.recorder.select_notifications, start=start, limit=PAGE)
                    )
                ]
            yield from rows
            if len(rows) < PAGE:
                return
            start = rows[-1][0] + 1

    def _seal_log(self) -> LogSeal | None:
        return self.execute(lambda unit: unit.find(LogSeal, SEAL_LOG_ID))

    def _ticket_ref(self, number: str) -> tuple[UUID, str]:
        num = format_number(parse_number(number))
        return ticket_id(num), num

    def _ticket_events(self, number: str) -> list[Any]:
        tid, num = self._ticket_ref(number)
        events = self.read(lambda: list(self.events.get(tid)))
        if not events:
            raise NotFoundError(f"there is no ticket {num}")
        return events

    def _mac(self, message: str) -> str:
        return hmac.new(self.secret_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def _export_mismatch(
    document: dict[str, Any], event: dict[str, Any], position: int | None, what: str = "hash"
) -> Finding:
    ticket = document.get("ticket", "the ticket")
    messages = {
        "hash": f"{ticket} v{event.get('version')}: the hash written in the export does not match "
        "the event's content",
        "head": f"{ticket}: the export's head hash does not match its last event",
        "mac": f"{ticket}: the export's signature does not match (altered after export, or "
        "exported by another installation)",
    }
    return Finding(
        "altered", position, document.get("aggregate_id", ""), event.get("version"), messages[what]
    )
