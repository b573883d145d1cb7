"""Seals: periodic records of the head of the whole event log, for `audit verify`."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from ledgerdesk.domain.chain import ChainedAggregate

SEAL_LOG_ID: UUID = uuid5(NAMESPACE_URL, "https://ledgerdesk.dev/ns/log-seal")
CHECKPOINT_EVERY = 64  # a running log hash is kept every this many events


class LogSeal(ChainedAggregate):
    """The one stream of seals. Each seal covers the log from the previous seal up to `upto`.

    `log_hash` chains every event digest in log order; `checkpoints` are the running hash every
    CHECKPOINT_EVERY events (to narrow a reordering down); `heads` are the last version and
    digest of every aggregate the segment touched (to name an altered or deleted last event);
    `mac` is an HMAC of the seal under the installation's secret key.
    """

    if TYPE_CHECKING:
        seals: list[dict[str, Any]]

    class Started(ChainedAggregate.Created):
        def apply(self, log: LogSeal) -> None:
            log.seals = []

    class Sealed(ChainedAggregate.Event):
        upto: int
        count: int
        log_hash: str
        checkpoints: list[str]
        heads: dict[str, list[Any]]
        mac: str

        def apply(self, log: LogSeal) -> None:
            log.seals.append(
                {
                    "upto": self.upto,
                    "count": self.count,
                    "log_hash": self.log_hash,
                    "mac": self.mac,
                    "at": self.timestamp,
                }
            )

    @property
    def last(self) -> dict[str, Any] | None:
        return self.seals[-1] if self.seals else None

    def seal(
        self,
        *,
        actor: str,
        at: datetime,
        upto: int,
        count: int,
        log_hash: str,
        checkpoints: list[str],
        heads: dict[str, list[Any]],
        mac: str,
    ) -> None:
        self.record(
            self.Sealed,
            actor=actor,
            at=at,
            upto=upto,
            count=count,
            log_hash=log_hash,
            checkpoints=checkpoints,
            heads=heads,
            mac=mac,
        )
