"""Idempotency keys: the same POST sent twice (a retry after a timeout) creates one ticket."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

from ledgerdesk.domain.chain import ChainedAggregate

IDEMPOTENCY_NAMESPACE = uuid5(NAMESPACE_URL, "https://ledgerdesk.dev/ns/idempotency-key")


class IdempotencyRecord(ChainedAggregate):
    """What a client's key produced; its id is derived from the client and the key."""

    if TYPE_CHECKING:
        fingerprint: str
        result: str

    @staticmethod
    def id_for(owner: str, key: str) -> UUID:
        return uuid5(IDEMPOTENCY_NAMESPACE, f"{owner}\n{key}")

    class Recorded(ChainedAggregate.Created):
        fingerprint: str
        result: str

        def apply(self, record: IdempotencyRecord) -> None:
            record.fingerprint, record.result = self.fingerprint, self.result
