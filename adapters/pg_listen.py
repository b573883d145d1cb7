"""LISTEN on PostgreSQL channels from one dedicated connection, reconnecting when it drops.

The projection runtime wakes its projections from the event store's channel (each save
notifies the last log position it wrote) and, in API worker processes that do not project
themselves, follows the read models' tracking channels (each projected batch notifies the
position it reached): read your writes across processes without polling.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

log = logging.getLogger("ledgerdesk.projections")


class PostgresListener:
    def __init__(self, datastore: Any) -> None:
        pool = datastore.pool
        self._conninfo: str = pool.conninfo
        skip = ("autocommit", "prepare_threshold", "row_factory")
        self._kwargs: dict[str, Any] = {
            k: v for k, v in (pool.kwargs or {}).items() if k not in skip
        }

    def run(
        self,
        channels: Sequence[str],
        on_notify: Callable[[str, str], None],
        on_connect: Callable[[], None],
        stopping: threading.Event,
    ) -> None:
        """Until `stopping` is set: call `on_notify(channel, payload)` for each notification
        and `on_connect()` after each (re)connection, when notifications may have been missed."""
        while not stopping.is_set():
            try:
                with psycopg.connect(self._conninfo, autocommit=True, **self._kwargs) as conn:
                    for channel in channels:
                        conn.execute(SQL("LISTEN {}").format(Identifier(channel)))
                    on_connect()
                    while not stopping.is_set():
                        for note in conn.notifies(timeout=0.5):
                            on_notify(note.channel, note.payload)
            except Exception:
                if stopping.is_set():
                    return
                log.exception("listening to PostgreSQL failed; trying again in a second")
                stopping.wait(1.0)
