"""Targets of spawned intake processes (importable by name, as spawn needs)."""

from __future__ import annotations

import random
from typing import Any


def ingest_forever(settings: Any, raws: list[bytes], seed: int, ready: Any) -> None:
    """Target of a spawned process: ingest the messages in small shuffled batches, repeatedly."""
    from ledgerdesk.bootstrap import bootstrap

    svc = bootstrap(settings)
    size = random.Random(seed).randint(1, 9)
    ready.set()
    while True:  # in delivery order, as a mail queue or a mailbox hands them over, until killed
        for start in range(0, len(raws), size):
            chunk = range(start, min(start + size, len(raws)))
            svc.intake.ingest_many([(raws[i], f"m{i}") for i in chunk], "pipe")


def ingest_all(settings: Any, raws: list[bytes], barrier: Any, results: Any) -> None:
    from ledgerdesk.bootstrap import bootstrap

    svc = bootstrap(settings)
    try:
        barrier.wait()
        receipts = svc.intake.ingest_many([(raw, f"m{i}") for i, raw in enumerate(raws)], "pipe")
        results.put([r.outcome.value for r in receipts])
    except BaseException as error:
        results.put(error)
        raise
    finally:
        svc.close()
