"""A synthetic event log for the verifier: stored rows with real digests, seals, ways to tamper.

Aggregates A, B and C stand for tickets T-1, T-2 and T-3; LAYOUT says which one wrote each
position of the log. A row keeps its state as the event store does: the exact canonical JSON
bytes the digest is computed over. Tampering helpers rewrite those bytes as an edit in the
database would, return a new list and never change the rows given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from ledgerdesk.domain.chain import GENESIS, digest_stored, encode_state
from ledgerdesk.domain.integrity import Report, Sealer, Verifier, seal_mac
from ledgerdesk.domain.seal import SEAL_LOG_ID

KEY = "test-secret-key"
TOPIC = "ledgerdesk.domain.ticket:Ticket.Noted"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
A, B, C = (UUID(int=n) for n in (0xA, 0xB, 0xC))
LABELS = {A.hex: "T-1", B.hex: "T-2", C.hex: "T-3"}  # the verifier keys aggregates by id hex
LAYOUT = "ABACABACBA"  # log order: T-1 has 5 events, T-2 has 3, T-3 has 2
SEAL = SEAL_LOG_ID.hex


@dataclass(frozen=True)
class Row:
    """One stored event: its log position, aggregate, version, topic and stored state bytes."""

    position: int
    aggregate_id: UUID
    version: int
    state: bytes
    topic: str = TOPIC

    @property
    def key(self) -> str:
        return self.aggregate_id.hex

    @property
    def digest(self) -> str:
        return digest_stored(self.topic, self.key, self.version, self.state)


def make_log(layout: str = LAYOUT) -> list[Row]:
    """Rows in log order, each aggregate's events linked by prev_hash to the one before."""
    ids = {"A": A, "B": B, "C": C}
    heads: dict[UUID, tuple[int, str]] = {}
    rows = []
    for position, letter in enumerate(layout, 1):
        aggregate = ids[letter]
        version, prev_hash = heads.get(aggregate, (0, GENESIS))
        state = {
            "timestamp": T0 + timedelta(minutes=position),
            "actor": "system:test",
            "prev_hash": prev_hash,
            "note": f"{LABELS[aggregate.hex]} event {position}",
        }
        row = Row(position, aggregate, version + 1, encode_state(state))
        heads[aggregate] = (row.version, row.digest)
        rows.append(row)
    return rows


def seal_of(
    rows: list[Row], *, key: str = KEY, after: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The seal the application would record over `rows`, continuing from seal `after`."""
    sealer = Sealer(after["log_hash"] if after else GENESIS)
    for row in rows:
        sealer.add(row.key, row.version, row.digest)
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
        verifier.feed(row.position, row.aggregate_id, row.version, row.topic, row.state)
    return verifier.finish()


def at(rows: list[Row], aggregate: UUID, version: int) -> int:
    return next(
        i for i, r in enumerate(rows) if (r.aggregate_id, r.version) == (aggregate, version)
    )


def edited(rows: list[Row], aggregate: UUID, version: int, **changes: Any) -> list[Row]:
    """One row's stored JSON rewritten with some values changed (typed values stay wrapped)."""
    i = at(rows, aggregate, version)
    state = encode_state({**json.loads(rows[i].state), **changes})
    return [*rows[:i], replace(rows[i], state=state), *rows[i + 1 :]]


def deleted(rows: list[Row], aggregate: UUID, version: int) -> list[Row]:
    i = at(rows, aggregate, version)
    return rows[:i] + rows[i + 1 :]


def states_swapped(rows: list[Row], aggregate: UUID, v1: int, v2: int) -> list[Row]:
    """Two events of one aggregate exchange their stored states; keys and positions stay."""
    i, j = at(rows, aggregate, v1), at(rows, aggregate, v2)
    out = list(rows)
    out[i], out[j] = (
        replace(rows[i], state=rows[j].state),
        replace(rows[j], state=rows[i].state),
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


def stored_again(rows: list[Row], aggregate: UUID, version: int) -> list[Row]:
    """A copy of one row appended at the end of the log."""
    return [*rows, replace(rows[at(rows, aggregate, version)], position=rows[-1].position + 1)]
