"""Direct SQL on the stored events, as an intruder with database access would do it."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlparse
from uuid import UUID

import psycopg

from ledgerdesk.settings import Settings


class RawLog:
    def __init__(self, settings: Settings) -> None:
        self.embedded = settings.is_embedded
        if self.embedded:
            self.conn: Any = sqlite3.connect(settings.sqlite_path, isolation_level=None)
            self.table, self.pos, self.mark = "stored_events", "rowid", "?"
        else:
            url = settings.database_url
            schema = parse_qs(urlparse(url).query)["schema"][0]
            self.conn = psycopg.connect(url.split("?")[0], autocommit=True)
            self.conn.execute(f'SET search_path TO "{schema}"')
            self.table, self.pos, self.mark = "ledgerdesk_events", "notification_id", "%s"

    def _id(self, aggregate_id: UUID) -> Any:
        return aggregate_id.hex if self.embedded else aggregate_id

    def _run(self, sql: str, *params: Any) -> list[Any]:
        cursor = self.conn.execute(sql.replace("?", self.mark), params)
        return cursor.fetchall() if cursor.description else []

    def state(self, aggregate_id: UUID, version: int) -> dict[str, Any]:
        return json.loads(self.raw_state(aggregate_id, version))

    def edit(
        self, aggregate_id: UUID, version: int, change: Callable[[dict[str, Any]], None]
    ) -> None:
        state = self.state(aggregate_id, version)
        change(state)
        self._run(
            f"UPDATE {self.table} SET state=? WHERE originator_id=? AND originator_version=?",
            json.dumps(state).encode(),
            self._id(aggregate_id),
            version,
        )

    def delete(self, aggregate_id: UUID, version: int) -> None:
        self._run(
            f"DELETE FROM {self.table} WHERE originator_id=? AND originator_version=?",
            self._id(aggregate_id),
            version,
        )

    def raw_state(self, aggregate_id: UUID, version: int) -> bytes:
        rows = self._run(
            f"SELECT state FROM {self.table} WHERE originator_id=? AND originator_version=?",
            self._id(aggregate_id),
            version,
        )
        return bytes(rows[0][0])

    def swap_states(self, aggregate_id: UUID, a: int, b: int) -> None:
        """Exchange the stored bytes of two events of one aggregate."""
        state_a, state_b = self.raw_state(aggregate_id, a), self.raw_state(aggregate_id, b)
        for version, state in ((a, state_b), (b, state_a)):
            self._run(
                f"UPDATE {self.table} SET state=? WHERE originator_id=? AND originator_version=?",
                state,
                self._id(aggregate_id),
                version,
            )

    def position(self, aggregate_id: UUID, version: int) -> int:
        rows = self._run(
            f"SELECT {self.pos} FROM {self.table} WHERE originator_id=? AND originator_version=?",
            self._id(aggregate_id),
            version,
        )
        return int(rows[0][0])

    def swap_positions(self, first: tuple[UUID, int], second: tuple[UUID, int]) -> None:
        """Exchange two events' places in the log order (their content stays as it is)."""
        p1, p2 = self.position(*first), self.position(*second)
        where = "WHERE originator_id=? AND originator_version=?"
        self._run(f"UPDATE {self.table} SET {self.pos}=? {where}", -1, self._id(first[0]), first[1])
        self._run(
            f"UPDATE {self.table} SET {self.pos}=? {where}", p1, self._id(second[0]), second[1]
        )
        self._run(f"UPDATE {self.table} SET {self.pos}=? {where}", p2, self._id(first[0]), first[1])

    def close(self) -> None:
        self.conn.close()
