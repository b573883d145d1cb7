"""The outbox's SQL, shared by both stores: the dialects differ only in names and placeholders."""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from eventsourcing.persistence import Tracking

from ledgerdesk.domain.delivery import delivery_id
from ledgerdesk.projections.outbox.view import (
    ATTEMPTED,
    OutboxChanges,
    OutboxItem,
    OutboxView,
    Person,
)
from ledgerdesk.projections.runtime import TrackingMovedError

ITEM_COLUMNS = (
    "key, kind, ticket, user_id, channel, status, attempts, next_at, last_error, message_id, "
    "created_at, updated_at, context, automatic, refs, delivery"
)
PERSON_COLUMNS = "id, email, name, role, departments, locale, phone, active, failing, prefs"
# The mails the daily limit counts (the same text in the partial index and in the query, so
# that both stores' planners match them).
AUTOMATIC_MAIL = "channel = 'email' AND automatic = 1 AND status NOT IN ('suppressed', 'digest')"


class SqlOutboxView(OutboxView):
    """Tables `<prefix>_items`, `<prefix>_people`, `<prefix>_tracking`."""

    placeholder = "?"
    real = "REAL"
    lock_row = ""  # SQLite: BEGIN IMMEDIATE already holds the file's write lock

    def __init__(self, prefix: str = "outbox") -> None:
        self.prefix = prefix
        self.items_table = self.table(f"{prefix}_items")
        self.people_table = self.table(f"{prefix}_people")
        self.tracking = self.table(f"{prefix}_tracking")

    # Dialect -----------------------------------------------------------------------------------

    @abstractmethod
    def table(self, name: str) -> str: ...

    @abstractmethod
    def writing(self) -> AbstractContextManager[Any]:
        """A write transaction's cursor (joining one this thread has open on the database)."""

    @abstractmethod
    def reading(self) -> AbstractContextManager[Any]: ...

    def sql(self, statement: str) -> str:
        return statement if self.placeholder == "?" else statement.replace("?", self.placeholder)

    # Tables ------------------------------------------------------------------------------------

    @property
    def index_prefix(self) -> str:
        return self.prefix.rsplit(".", 1)[-1].replace('"', "")

    def table_statements(self) -> list[str]:
        r = self.real
        bare = self.index_prefix
        return [
            f"CREATE TABLE IF NOT EXISTS {self.tracking} (application_name TEXT PRIMARY KEY, "
            "notification_id BIGINT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.people_table} (id TEXT PRIMARY KEY, "
            "email TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL, departments TEXT "
            "NOT NULL, locale TEXT NOT NULL, phone TEXT NOT NULL, active INTEGER NOT NULL, "
            "failing TEXT NOT NULL, prefs TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.items_table} (key TEXT PRIMARY KEY, "
            "kind TEXT NOT NULL, ticket TEXT NOT NULL, user_id TEXT NOT NULL, channel TEXT NOT "
            f"NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL, next_at {r}, last_error "
            f"TEXT NOT NULL, message_id TEXT NOT NULL, created_at {r} NOT NULL, updated_at {r}, "
            "context TEXT NOT NULL, automatic INTEGER NOT NULL, refs TEXT NOT NULL, "
            "delivery TEXT NOT NULL)",
            f"CREATE INDEX IF NOT EXISTS {bare}_delivery ON {self.items_table} (delivery)",
            f"CREATE INDEX IF NOT EXISTS {bare}_due ON {self.items_table} (status, next_at) "
            "WHERE status IN ('pending', 'failed')",
            f"CREATE INDEX IF NOT EXISTS {bare}_user ON {self.items_table} "
            "(user_id, channel, created_at)",
            f"CREATE INDEX IF NOT EXISTS {bare}_status ON {self.items_table} (status, created_at)",
            # The daily limit's count (automatic_mails) reads only the mails it counts: at most
            # the limit per person and day, however many were suppressed (a mail loop).
            f"CREATE INDEX IF NOT EXISTS {bare}_automatic ON {self.items_table} "
            f"(user_id, created_at) WHERE {AUTOMATIC_MAIL}",
        ]

    def create_table(self) -> None:
        with self.writing() as cur:
            for statement in self.table_statements():
                cur.execute(statement)

    def drop_tables(self) -> None:
        with self.writing() as cur:
            for table in (self.items_table, self.people_table, self.tracking):
                cur.execute(f"DROP TABLE IF EXISTS {table}")

    def position(self, application_name: str) -> int:
        with self.reading() as cur:
            return self._position(cur, self.tracking, application_name)

    def _position(self, cur: Any, table: str, application_name: str, lock: str = "") -> int:
        cur.execute(
            self.sql(f"SELECT notification_id FROM {table} WHERE application_name = ?{lock}"),
            (application_name,),
        )
        row = cur.fetchone()
        return int(_get(row, "notification_id", 0)) if row else 0

    def _swap(self, cur: Any, shadow: SqlOutboxView, application_name: str) -> bool:
        """The end of a rebuild, inside the caller's write transaction."""
        position = self._position(cur, shadow.tracking, application_name)
        if self._position(cur, self.tracking, application_name) > position:
            return False
        cur.execute(f"DELETE FROM {self.items_table}")
        cur.execute(f"INSERT INTO {self.items_table} SELECT * FROM {shadow.items_table}")
        cur.execute(f"DELETE FROM {self.people_table}")
        cur.execute(f"INSERT INTO {self.people_table} SELECT * FROM {shadow.people_table}")
        self._move(cur, application_name, position)
        for table in (shadow.items_table, shadow.people_table, shadow.tracking):
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        return True

    def refresh_statistics(self) -> None:
        """Nothing to tune: the outbox's queries use its indexes whatever its size."""

    # Writing -----------------------------------------------------------------------------------

    def write(self, changes: OutboxChanges, tracking: Tracking, expected: int) -> None:
        with self.writing() as cur:
            position = self._position(
                cur, self.tracking, tracking.application_name, lock=self.lock_row
            )
            if position != expected:
                raise TrackingMovedError(position)
            if changes.people:
                cur.executemany(
                    self.sql(
                        f"INSERT INTO {self.people_table} ({PERSON_COLUMNS}) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                        "email = excluded.email, name = excluded.name, role = excluded.role, "
                        "departments = excluded.departments, locale = excluded.locale, "
                        "phone = excluded.phone, active = excluded.active, "
                        "failing = excluded.failing, prefs = excluded.prefs"
                    ),
                    [_person_values(p) for p in changes.people.values()],
                )
            if changes.new_items:
                cur.executemany(
                    self.sql(
                        f"INSERT INTO {self.items_table} ({ITEM_COLUMNS}) VALUES "
                        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (key) DO NOTHING"
                    ),
                    [_item_values(i) for i in changes.new_items],
                )
            for delivery, fields in changes.updates:
                names = ", ".join(
                    f"{name} = {ATTEMPTED}" if value == ATTEMPTED else f"{name} = ?"
                    for name, value in fields.items()
                )
                values = [_stored(v) for v in fields.values() if v != ATTEMPTED]
                cur.execute(
                    self.sql(f"UPDATE {self.items_table} SET {names} WHERE delivery = ?"),
                    [*values, delivery],
                )
            self._move(cur, tracking.application_name, tracking.notification_id)

    def _move(self, cur: Any, application_name: str, position: int) -> None:
        cur.execute(
            self.sql(
                f"INSERT INTO {self.tracking} (application_name, notification_id) VALUES (?, ?) "
                "ON CONFLICT (application_name) DO UPDATE SET "
                "notification_id = excluded.notification_id"
            ),
            (application_name, position),
        )

    # Reading -----------------------------------------------------------------------------------

    def people(self, ids: Iterable[str]) -> dict[str, Person]:
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Person] = {}
        with self.reading() as cur:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ", ".join("?" * len(chunk))
                cur.execute(
                    self.sql(
                        f"SELECT {PERSON_COLUMNS} FROM {self.people_table} WHERE id IN ({marks})"
                    ),
                    chunk,
                )
                for row in cur.fetchall():
                    person = _person(row)
                    found[person.id] = person
        return found

    def staff(self) -> list[Person]:
        with self.reading() as cur:
            cur.execute(
                f"SELECT {PERSON_COLUMNS} FROM {self.people_table} "
                "WHERE active = 1 AND role IN ('admin', 'agent')"
            )
            return [_person(row) for row in cur.fetchall()]

    def automatic_mails(
        self, user_ids: Iterable[str], since: datetime
    ) -> dict[str, list[datetime]]:
        wanted = list(dict.fromkeys(user_ids))
        found: dict[str, list[datetime]] = {}
        chunks = [wanted[start : start + 500] for start in range(0, len(wanted), 500)]
        queries = {len(chunk): self.automatic_query(len(chunk)) for chunk in chunks}
        with self.reading() as cur:
            for chunk in chunks:
                cur.execute(queries[len(chunk)], [*chunk, since.timestamp()])
                for row in cur.fetchall():
                    moment = _time(row["created_at"])
                    if moment is not None:
                        found.setdefault(row["user_id"], []).append(moment)
        return found

    def automatic_query(self, people: int) -> str:
        """The daily limit's count for some people, since a moment (read by its own index)."""
        marks = ", ".join("?" * people)
        hint = self.automatic_index_hint()
        return self.sql(
            f"SELECT user_id, created_at FROM {self.items_table}{hint} WHERE user_id IN ({marks}) "
            f"AND created_at >= ? AND {AUTOMATIC_MAIL}"
        )

    def automatic_index_hint(self) -> str:
        """What the daily limit's query says to pick its index ("": the planner finds it)."""
        return ""

    def due(self, channels: Iterable[str], now: datetime, limit: int) -> list[OutboxItem]:
        wanted = list(channels)
        marks = ", ".join("?" * len(wanted))
        with self.reading() as cur:
            cur.execute(
                self.sql(
                    f"SELECT {ITEM_COLUMNS} FROM {self.items_table} WHERE status IN "
                    f"('pending', 'failed') AND (next_at IS NULL OR next_at <= ?) AND channel IN "
                    f"({marks}) ORDER BY created_at LIMIT ?"
                ),
                [now.timestamp(), *wanted, limit],
            )
            return [_item(row) for row in cur.fetchall()]

    def items(
        self,
        *,
        status: str | None = None,
        kind: str | None = None,
        channel: str | None = None,
        user_id: str | None = None,
        ticket: str | None = None,
        limit: int = 100,
    ) -> list[OutboxItem]:
        where, params = [], []
        for column, value in (
            ("status", status), ("kind", kind), ("channel", channel), ("user_id", user_id),
            ("ticket", ticket),
        ):  # fmt: skip
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self.reading() as cur:
            cur.execute(
                self.sql(
                    f"SELECT {ITEM_COLUMNS} FROM {self.items_table} {clause} "
                    "ORDER BY created_at DESC, key LIMIT ?"
                ),
                [*params, limit],
            )
            return [_item(row) for row in cur.fetchall()]

    def item(self, key: str) -> OutboxItem | None:
        with self.reading() as cur:
            cur.execute(
                self.sql(f"SELECT {ITEM_COLUMNS} FROM {self.items_table} WHERE key = ?"), (key,)
            )
            row = cur.fetchone()
            return _item(row) if row else None

    def unread_count(self, user_id: str) -> int:
        with self.reading() as cur:
            cur.execute(
                self.sql(
                    f"SELECT COUNT(*) AS n FROM {self.items_table} WHERE user_id = ? AND "
                    "channel = 'in_app' AND status = 'unread'"
                ),
                (user_id,),
            )
            return int(_get(cur.fetchone(), "n", 0))


def _get(row: Any, name: str, default: Any) -> Any:
    if row is None:
        return default
    try:
        return row[name]
    except (KeyError, IndexError, TypeError):
        return row[0]


def _stored(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return value


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(float(value), UTC)


def _person_values(p: Person) -> tuple[Any, ...]:
    return (
        p.id, p.email, p.name, p.role, json.dumps(p.departments), p.locale, p.phone,
        int(p.active), p.failing, json.dumps(p.preferences),
    )  # fmt: skip


def _person(row: Any) -> Person:
    return Person(
        id=row["id"],
        email=row["email"],
        name=row["name"],
        role=row["role"],
        departments=json.loads(row["departments"]),
        locale=row["locale"],
        phone=row["phone"],
        active=bool(row["active"]),
        failing=row["failing"],
        preferences=json.loads(row["prefs"]),
    )


def _item_values(i: OutboxItem) -> tuple[Any, ...]:
    return (
        i.key, i.kind, i.ticket, i.user_id, i.channel, i.status, i.attempts,
        _stored(i.next_at), i.last_error, i.message_id, i.created_at.timestamp(),
        _stored(i.updated_at), json.dumps(i.context, ensure_ascii=False), int(i.automatic),
        json.dumps(i.references), delivery_id(i.key).hex,
    )  # fmt: skip


def _item(row: Any) -> OutboxItem:
    return OutboxItem(
        key=row["key"],
        kind=row["kind"],
        ticket=row["ticket"],
        user_id=row["user_id"],
        channel=row["channel"],
        status=row["status"],
        attempts=int(row["attempts"]),
        next_at=_time(row["next_at"]),
        last_error=row["last_error"],
        message_id=row["message_id"],
        created_at=_time(row["created_at"]) or datetime.fromtimestamp(0, UTC),
        updated_at=_time(row["updated_at"]),
        context=json.loads(row["context"]),
        automatic=bool(row["automatic"]),
        references=json.loads(row["refs"]),
    )
