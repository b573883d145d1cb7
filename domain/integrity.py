"""Verifying the hash chains and seals of an event log, one stored row at a time.

Pure logic: it is fed rows (log position, aggregate id, version, topic, stored fields) in log
order by whoever reads them, from a database or from an exported file.
"""

from __future__ import annotations

import hashlib
import hmac
import sys
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from ledgerdesk.domain.chain import (
    GENESIS,
    canonical_json,
    digest_stored,
    encode_state,
    stored_prev_hash,
)
from ledgerdesk.domain.seal import CHECKPOINT_EVERY, SEAL_LOG_ID

SEAL_KEY = SEAL_LOG_ID.hex


def chain_log(log_hash: str, event_hash: str) -> str:
    return hashlib.sha256((log_hash + event_hash).encode("ascii")).hexdigest()


def seal_mac(
    key: str,
    upto: int,
    count: int,
    log_hash: str,
    checkpoints: list[str],
    heads: dict[str, list[Any]],
) -> str:
    message = canonical_json([upto, count, log_hash, checkpoints, heads]).encode("utf-8")
    return hmac.new(key.encode("utf-8"), message, hashlib.sha256).hexdigest()


@dataclass
class Finding:
    kind: str  # altered | missing | reordered | seal
    position: int | None
    aggregate_id: str
    version: int | None
    message: str


@dataclass(slots=True)
class _Chain:
    version: int = 0
    digest: str = GENESIS
    before: str = GENESIS  # digest of version - 1
    broken_at: int | None = None  # a link that broke at this version, not yet explained
    tainted: bool = False
    position: int = 0  # log position of `version`
    before_position: int = 0  # log position of version - 1


@dataclass
class Report:
    events: int = 0
    aggregates: int = 0
    seals_checked: int = 0
    unsealed: int = 0
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def first(self) -> Finding | None:
        placed = [f for f in self.findings if f.position is not None]
        return (
            min(placed, key=lambda f: f.position or 0)
            if placed
            else (self.findings[0] if self.findings else None)
        )


class Sealer:
    """Running log hash, checkpoints and per-aggregate heads over one segment of the log."""

    def __init__(self, log_hash: str = GENESIS) -> None:
        self.log_hash = log_hash
        self.count = 0
        self.checkpoints: list[str] = []
        self.heads: dict[str, list[Any]] = {}

    def add(self, aggregate_id: str, version: int, event_hash: str) -> None:
        self.log_hash = chain_log(self.log_hash, event_hash)
        self.count += 1
        if self.count % CHECKPOINT_EVERY == 0:
            self.checkpoints.append(self.log_hash[:32])
        self.heads[aggregate_id] = [version, event_hash]


class Verifier:
    """Feed it every stored row in log order, then call finish()."""

    def __init__(
        self,
        seals: list[dict[str, Any]],
        *,
        key: str | None = None,
        labels: dict[str, str] | None = None,
    ) -> None:
        self.report = Report()
        self.labels = labels if labels is not None else {}
        self._chains: dict[str, _Chain] = {}
        self._gaps: dict[tuple[str, int], Finding] = {}
        self._sealed: dict[tuple[str, int], tuple[str, int]] = {}
        self._seals = sorted(seals, key=lambda s: s["upto"])
        for number, seal in enumerate(self._seals, 1):
            if key is not None and not hmac.compare_digest(
                seal["mac"],
                seal_mac(
                    key,
                    seal["upto"],
                    seal["count"],
                    seal["log_hash"],
                    seal["checkpoints"],
                    seal["heads"],
                ),
            ):
                self._add(
                    Finding(
                        "seal",
                        None,
                        SEAL_KEY,
                        number,
                        f"seal #{number} does not carry a valid signature: it was "
                        "forged or altered",
                    )
                )
            for aggregate_id, (version, digest) in seal["heads"].items():  # keyed by id hex
                self._sealed[(aggregate_id, version)] = (digest, number)
        self._seal_index = 0
        self._next_upto = self._seals[0]["upto"] if self._seals else sys.maxsize
        self._segment = Sealer()
        self._unsealed = 0  # events (other than seals) since the last seal

    def label(self, aggregate_id: str) -> str:
        return self.labels.get(aggregate_id, aggregate_id)

    def feed(
        self,
        position: int,
        aggregate_id: UUID | str,
        version: int,
        topic: str,
        state: bytes | dict[str, Any],
    ) -> str:
        """Check one row: its stored state bytes (or its fields, which are encoded as stored);
        returns its digest."""
        if position > self._next_upto:
            self._close_segments_before(position)
        agg = aggregate_id.hex if isinstance(aggregate_id, UUID) else aggregate_id
        if isinstance(state, dict):
            prev_hash: Any = state.get("prev_hash")
            state = encode_state(state)
        else:
            prev_hash = stored_prev_hash(state)
        digest = digest_stored(topic, agg, version, state)
        self.report.events += 1
        segment = self._segment
        segment.log_hash = chain_log(segment.log_hash, digest)
        segment.count += 1
        if segment.count % CHECKPOINT_EVERY == 0:
            segment.checkpoints.append(segment.log_hash[:32])
        segment.heads[agg] = [version, digest]
        if agg != SEAL_KEY:
            self._unsealed += 1
        chain = self._chains.get(agg)
        if chain is None:
            chain = self._chains[agg] = _Chain()
            self.report.aggregates += 1
        sealed = self._sealed.pop((agg, version), None) if self._sealed else None
        if sealed is not None and sealed[0] != digest:
            name = topic.rsplit(":", 1)[-1]
            self._taint(
                chain,
                Finding(
                    "altered",
                    position,
                    agg,
                    version,
                    f"{self.label(agg)} v{version} ({name}) differs from the version sealed in "
                    f"seal #{sealed[1]}: it was altered",
                ),
            )
        if version != chain.version + 1:
            self._out_of_sequence(chain, agg, position, version, topic.rsplit(":", 1)[-1])
            version = max(version, chain.version)
        elif not chain.tainted and (chain.broken_at is not None or prev_hash != chain.digest):
            self._check_link(chain, agg, position, version, prev_hash)
        chain.before = chain.digest
        chain.digest = digest
        chain.version = version
        chain.before_position = chain.position
        chain.position = position
        return digest

    def _check_link(
        self, chain: _Chain, agg: str, position: int, version: int, prev_hash: Any
    ) -> None:
        linked = prev_hash == chain.digest
        if chain.broken_at is not None:
            earlier = chain.broken_at
            chain.broken_at = None
            if linked:  # v(earlier) is intact, so the one before it changed
                self._taint(
                    chain,
                    Finding(
                        "altered",
                        chain.before_position,
                        agg,
                        earlier - 1,
                        f"{self.label(agg)} v{earlier - 1} was altered: its hash no longer "
                        f"matches the one recorded in v{earlier}",
                    ),
                )
            elif prev_hash == chain.before:
                self._taint(
                    chain,
                    Finding(
                        "reordered",
                        chain.position,
                        agg,
                        earlier,
                        f"{self.label(agg)} v{earlier} and v{version} were swapped or moved",
                    ),
                )
            else:
                self._taint(
                    chain,
                    Finding(
                        "altered",
                        chain.position,
                        agg,
                        earlier,
                        f"{self.label(agg)} v{earlier} was altered: it neither links to "
                        f"v{earlier - 1} nor is linked from v{version}",
                    ),
                )
        elif not linked:
            chain.broken_at = version

    def _out_of_sequence(
        self, chain: _Chain, agg: str, position: int, version: int, name: str
    ) -> None:
        if chain.broken_at is not None:  # a break seen just before the gap is its own finding
            self._add(self._unexplained_break(chain, agg))
        gap = self._gaps.pop((agg, version), None)
        if gap is not None:
            gap.kind = "reordered"
            gap.message = (
                f"{self.label(agg)} v{version} ({name}) is stored out of order: "
                f"it appears after v{chain.version}"
            )
        elif version <= chain.version:
            self._taint(
                chain,
                Finding(
                    "reordered",
                    position,
                    agg,
                    version,
                    f"{self.label(agg)} v{version} ({name}) appears again after "
                    f"v{chain.version}: duplicated or reordered",
                ),
            )
        else:
            for missing in range(chain.version + 1, version):
                finding = Finding(
                    "missing",
                    position,
                    agg,
                    missing,
                    f"{self.label(agg)} v{missing} is missing "
                    f"(the log jumps from v{chain.version} to v{version})",
                )
                self._gaps[(agg, missing)] = finding
                self._taint(chain, finding)
        chain.broken_at = None

    def _unexplained_break(self, chain: _Chain, agg: str) -> Finding:
        """A broken link with no later event to tell which side changed."""
        v = chain.broken_at
        assert v is not None
        chain.broken_at = None
        chain.tainted = True
        return Finding(
            "altered",
            chain.before_position,
            agg,
            v - 1,
            f"{self.label(agg)} v{v - 1} or v{v} was altered: the link between them is broken",
        )

    def _taint(self, chain: _Chain, finding: Finding) -> None:
        chain.tainted = True
        self._add(finding)

    def _add(self, finding: Finding) -> None:
        self.report.findings.append(finding)

    def _close_segments_before(self, position: int | None) -> None:
        while self._seal_index < len(self._seals) and (
            position is None or position > self._seals[self._seal_index]["upto"]
        ):
            seal = self._seals[self._seal_index]
            self._seal_index += 1
            self._next_upto = (
                self._seals[self._seal_index]["upto"]
                if self._seal_index < len(self._seals)
                else sys.maxsize
            )
            self.report.seals_checked += 1
            segment, self._segment = self._segment, Sealer(seal["log_hash"])
            self._unsealed = 0
            if segment.log_hash == seal["log_hash"] and segment.count == seal["count"]:
                continue
            window = next(
                (
                    i
                    for i, (a, b) in enumerate(
                        zip(segment.checkpoints, seal["checkpoints"], strict=False)
                    )
                    if a != b
                ),
                None,
            )
            where = (
                (
                    f" within events {window * CHECKPOINT_EVERY + 1}-"
                    f"{(window + 1) * CHECKPOINT_EVERY} of that segment"
                )
                if window is not None
                else ""
            )
            self._add(
                Finding(
                    "seal",
                    seal["upto"],
                    SEAL_KEY,
                    self._seal_index,
                    f"the log up to position {seal['upto']} no longer matches seal "
                    f"#{self._seal_index} ({segment.count} events now, {seal['count']} "
                    f"sealed): events were altered, deleted, inserted or "
                    f"reordered{where}",
                )
            )

    def finish(self) -> Report:
        self._close_segments_before(None)
        self.report.unsealed = self._unsealed
        for agg, chain in self._chains.items():
            if chain.broken_at is not None:
                self._add(self._unexplained_break(chain, agg))
        for (agg, version), (_digest, number) in self._sealed.items():
            self._add(
                Finding(
                    "missing",
                    None,
                    agg,
                    version,
                    f"{self.label(agg)} v{version}, sealed in seal #{number}, is missing",
                )
            )
        return self.report
