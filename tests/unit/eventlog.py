"""A synthetic event log for the verifier: rows with real digests, seals, and ways to tamper.

Aggregates A, B and C stand for tickets T-1, T-2 and T-3; LAYOUT says which one wrote each
position of the log. Tampering helpers return a new list and never change the rows given.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from ledgerdesk.domain.chain import GENESIS, digest_fields
from ledgerdesk.domain.integrity import Report, Sealer, Verifier, seal_mac
from ledgerdesk.domain.seal import SEAL_LOG_ID

KEY = "test-secret-key"
TOPIC = "ledgerdesk.domain.ticket:Ticket.Noted"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
A, B, C = (UUID(int=n) for n in (0xA, 0xB, 0xC))
LABELS = {str(A): "T-1", str(B): "T-2", str(C): "T-3"}
LAYOUT = "ABACABACBA"  # log order: T-1 has 5 events, T-2 has 3, T-3 has 2


@dataclass(frozen=True)
class Row:
    """One stored event: its log position, key, topic and the fields kept in the store."""

    position: int
    aggregate_id: UUID
    version: int
    fields: dict[str, Any]
    topic: str = TOPIC

    @property
    def digest(self) -> str:
        return digest_fields(
            self.topic,
            {**self.fields, "originator_id": self.aggregate_id, "originator_version": self.version},
        )


def make_log(layout: str = LAYOUT) -> list[Row]:
    """Rows in log order, each aggregate's events linked by prev_hash to the one before."""
    ids = {"A": A, "B": B, "C": C}
    heads: dict[UUID, tuple[int, str]] = {}
    rows = []
    for position, letter in enumerate(layout, 1):
        aggregate = ids[letter]
        version, prev_hash = heads.get(aggregate, (0, GENESIS))
        fields = {
            "timestamp": T0 + timedelta(minutes=position),
            "actor": "system:test",
            "prev_hash": prev_hash,
            "note": f"{LABELS[str(aggregate)]} event {position}",
        }
        row = Row(position, aggregate, version + 1, fields)
        heads[aggregate] = (row.version, row.digest)
        rows.append(row)
    return rows


def seal_of(
    rows: list[Row], *, key: str = KEY, after: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The seal the application would record over `rows`, continuing from seal `after`."""
    sealer = Sealer(after["log_hash"] if after else GENESIS)
    for row in rows:
        sealer.add(str(row.aggregate_id), row.version, row.digest)
    upto = rows[-1].position
    return {
        "upto": upto,
        "count": sealer.count,
        "log_hash": sealer.log_hash,
        "checkpoints": sealer.checkpoints,
        "heads": sealer.heads,
        "mac": seal_mac(key, upto, sealer.count, sealer.log_hash, sealer.checkpoints, sealer.heads),
    }


def verify(rows: list[Row], seals: list[dict[str, Any]] | None = None) -> Report:
    verifier = Verifier(seals or [], key=KEY, labels=LABELS)
    for row in sorted(rows, key=lambda r: r.position):
        verifier.feed(row.position, row.aggregate_id, row.version, row.topic, row.fields)
    return verifier.finish()


def at(rows: list[Row], aggregate: UUID, version: int) -> int:
    return next(
        i for i, r in enumerate(rows) if (r.aggregate_id, r.version) == (aggregate, version)
    )


def edited(rows: list[Row], aggregate: UUID, version: int, **changes: Any) -> list[Row]:
    i = at(rows, aggregate, version)
    return [*rows[:i], replace(rows[i], fields={**rows[i].fields, **changes}), *rows[i + 1 :]]


def deleted(rows: list[Row], aggregate: UUID, version: int) -> list[Row]:
    i = at(rows, aggregate, version)
    return rows[:i] + rows[i + 1 :]


def states_swapped(rows: list[Row], aggregate: UUID, v1: int, v2: int) -> list[Row]:
    """Two events of one aggregate exchange their stored fields; keys and positions stay."""
    i, j = at(rows, aggregate, v1), at(rows, aggregate, v2)
    out = list(rows)
    out[i], out[j] = (
        replace(rows[i], fields=rows[j].fields),
        replace(rows[j], fields=rows[i].fields),
    )
    return out


def positions_swapped(
    rows: list[Row], first: tuple[UUID, int], second: tuple[UUID, int]
) -> list[Row]:
    """Two rows exchange their places in the log; their contents stay."""
    i, j = at(rows, *first), at(rows, *second)
    out = list(rows)
    out[i], out[j] = (
        replace(rows[i], position=rows[j].position),
        replace(rows[j], position=rows[i].position),
    )
    return out


def kinds(report: Report) -> list[tuple[str, str, int | None]]:
    return [(f.kind, f.aggregate_id, f.version) for f in report.findings]


SEAL = str(SEAL_LOG_ID)


def stored_again(rows: list[Row], aggregate: UUID, version: int) -> list[Row]:
    """A copy of one row appended at the end of the log."""
    return [*rows, replace(rows[at(rows, aggregate, version)], position=rows[-1].position + 1)]
