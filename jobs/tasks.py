"""The job functions. Each takes the wired services; the queue registers them from the manifest."""

from __future__ import annotations

import logging
from typing import Any

from ledgerdesk.bootstrap import Services

log = logging.getLogger("ledgerdesk.jobs")


def seal_log(services: Services) -> dict[str, Any] | None:
    """Record the head of the whole event log (nothing when nothing happened since the last)."""
    result = services.app.seal(actor="system:sealer")
    if result is not None:
        log.info("sealed %s events up to position %s", result["count"], result["upto"])
    return result
