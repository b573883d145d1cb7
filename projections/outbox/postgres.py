"""The outbox on PostgreSQL: tables in the events' schema."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

from ledgerdesk.projections.outbox.sql import SqlOutboxView


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresOutboxView(SqlOutboxView):
    placeholder = "%s"
    real = "DOUBLE PRECISION"
    lock_row = " FOR UPDATE"  # a write and a rebuild's swap take turns on the tracking row

    def __init__(self, datastore: Any, *, prefix: str = "outbox") -> None:
        self.datastore = datastore
        super().__init__(prefix)
        # Each move of the tracking row is notified here, on commit: processes that leave the
        # outbox to another (API processes beside the worker) learn how far it got.
        self.tracking_channel = f"{datastore.schema}_{prefix}_tracking"[:63]

    def _move(self, cur: Any, application_name: str, position: int) -> None:
        super()._move(cur, application_name, position)
        cur.execute("SELECT pg_notify(%s, %s)", (self.tracking_channel, str(position)))

    def table(self, name: str) -> str:
        return f"{quoted(self.datastore.schema)}.{quoted(name)}"

    def writing(self) -> AbstractContextManager[Any]:
        return self.datastore.transaction(commit=True)

    def reading(self) -> AbstractContextManager[Any]:
        return self.datastore.transaction(commit=False)

    def shadow(self) -> PostgresOutboxView:
        return PostgresOutboxView(self.datastore, prefix=f"{self.prefix}_new")

    def replace_with(
        self, shadow: Any, application_name: str, catch_up: Callable[[Any], None]
    ) -> bool:
        assert isinstance(shadow, PostgresOutboxView)
        with self.writing() as cur:
            cur.execute("SET LOCAL lock_timeout = '30s'")
            # The live follower's next write waits here, so the shadow catches up for good.
            cur.execute(f"LOCK TABLE {self.tracking} IN EXCLUSIVE MODE")
            catch_up(None)
            return self._swap(cur, shadow, application_name)
