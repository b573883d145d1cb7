"""LISTEN on PostgreSQL channels from one dedicated connection, reconnecting when it drops.

The projection runtime wakes its projections from the event store's channel (each save
notifies the last log position it wrote) and, in API worker processes that do not project
themselves, follows the read models' tracking channels (each projected batch notifies the
position it reached): read your writes across processes without polling.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

log = logging.getLogger("ledgerdesk.projections")
PING_EVERY = 15.0  # seconds
KEEPALIVE: dict[str, Any] = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 30,
    "keepalives_interval": 10,
    "keepalives_count": 3,
}


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
        on_idle: Callable[[], None] = lambda: None,
    ) -> None:
        """Until `stopping` is set: call `on_notify(channel, payload)` for each notification,
        `on_connect()` after each (re)connection, when notifications may have been missed, and
        `on_idle()` about twice a second. TCP keepalives and a ping every 15 s notice a
        connection that died silently (a firewall's idle timeout), so it is made again."""
        while not stopping.is_set():
            try:
                with psycopg.connect(
                    self._conninfo, autocommit=True, **KEEPALIVE, **self._kwargs
                ) as conn:
                    for channel in channels:
                        conn.execute(SQL("LISTEN {}").format(Identifier(channel)))
                    on_connect()
                    pinged = time.monotonic()
                    while not stopping.is_set():
                        for note in conn.notifies(timeout=0.5):
                            on_notify(note.channel, note.payload)
                        on_idle()
                        if time.monotonic() - pinged > PING_EVERY:
                            conn.execute("SELECT 1")
                            pinged = time.monotonic()
            except Exception:
                if stopping.is_set():
                    return
                log.exception("listening to PostgreSQL failed; trying again in a second")
                stopping.wait(1.0)
