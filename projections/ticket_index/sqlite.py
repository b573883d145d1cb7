"""The ticket index on SQLite: tables in the events' file, full text with FTS5."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import (
    Tracking,
)
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder

from ledgerdesk.projections import sqlite_transactions as transactions
from ledgerdesk.projections.log import uuid_from_hex
from ledgerdesk.projections.runtime import TrackingMovedError
from ledgerdesk.projections.ticket_index import query as qry
from ledgerdesk.projections.ticket_index.fts5 import fts5_query
from ledgerdesk.projections.ticket_index.sqlite_rows import (
    READ_COLUMNS,
    WRITE_COLUMNS,
    joined_text,
    optional_uuid,
    stored_time,
    ticket_row,
    ticket_values,
    user_row,
)
from ledgerdesk.projections.ticket_index.view import (
    TOTAL_CAP,
    Changes,
    Counters,
    DepartmentRow,
    Page,
    Scope,
    TicketIndexView,
    TicketQuery,
    TicketRow,
    UserRow,
)

TOKENIZER = "porter unicode61 remove_diacritics 2"  # stemming, like PostgreSQL's 'english'
WEIGHTS = "10.0, 1.0, 1.0"  # bm25 weights: subject, public replies, internal notes
PUBLIC = "{subject public} : "  # an FTS5 column filter: the text without internal notes
JOINED = (
    "ru.name AS requester_name, ru.email AS requester_email, au.name AS assignee_name, "
    "au.email AS assignee_email, d.name AS department_name"
)


class SQLiteTicketIndexView(SQLiteTrackingRecorder, TicketIndexView, qry.Dialect):
    def __init__(
        self,
        datastore: SQLiteDatastore,
        *,
        prefix: str = "ticket_index",
        deferred_indexes: bool = False,
        events_table: str = "stored_events",
        **kwargs: Any,
    ) -> None:
        self.prefix = prefix
        self.events_table = events_table  # read directly only while swapping in a rebuild
        self.deferred_indexes = deferred_indexes
        self.tickets, self.users = f"{prefix}_tickets", f"{prefix}_users"
        self.departments, self.tracking = f"{prefix}_departments", f"{prefix}_tracking"
        self.tags, self.participants = f"{prefix}_tags", f"{prefix}_participants"
        self.fts = f"{prefix}_fts"
        self.counts = f"{prefix}_counts"
        super().__init__(datastore, **kwargs)
        # The library names its table `tracking`; each view here keeps its own.
        self.insert_tracking_statement = (
            f"INSERT INTO {self.tracking} VALUES (:application_name, :notification_id) "
            "ON CONFLICT (application_name) DO UPDATE SET notification_id = :notification_id "
            f"WHERE {self.tracking}.notification_id < :notification_id RETURNING notification_id"
        )
        self.select_max_tracking_id_statement = (
            f"SELECT MAX(notification_id) FROM {self.tracking} WHERE application_name=?"
        )

    def construct_create_table_statements(self) -> list[str]:
        statements = [
            f"CREATE TABLE IF NOT EXISTS {self.tracking} (application_name TEXT PRIMARY KEY, "
            "notification_id INTEGER) WITHOUT ROWID",
            f"CREATE TABLE IF NOT EXISTS {self.users} (id TEXT PRIMARY KEY, email TEXT NOT NULL, "
            "name TEXT NOT NULL, role TEXT NOT NULL, active INTEGER NOT NULL, "
            "department_ids TEXT NOT NULL, search_key TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.departments} (id TEXT PRIMARY KEY, "
            "slug TEXT NOT NULL, name TEXT NOT NULL, active INTEGER NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.tickets} (n INTEGER PRIMARY KEY, "
            "id TEXT NOT NULL UNIQUE, number TEXT NOT NULL, subject TEXT NOT NULL, "
            "requester_id TEXT NOT NULL, department_id TEXT, category TEXT NOT NULL, "
            "priority TEXT NOT NULL, priority_rank INTEGER NOT NULL, status TEXT NOT NULL, "
            "assignee_id TEXT, due_at TEXT, tags TEXT NOT NULL, created_at TEXT NOT NULL, "
            "updated_at TEXT NOT NULL, version INTEGER NOT NULL, reopen_count INTEGER NOT NULL, "
            "first_response_at TEXT, resolved_at TEXT, closed_at TEXT, "
            "participants TEXT NOT NULL, message_count INTEGER NOT NULL, "
            "public_message_count INTEGER NOT NULL, last_customer_activity_at TEXT, "
            "last_agent_activity_at TEXT, sla_first_response_due_at TEXT, "
            "sla_resolution_due_at TEXT, sla_breached INTEGER NOT NULL DEFAULT 0)",
            f"CREATE TABLE IF NOT EXISTS {self.tags} (n INTEGER NOT NULL, tag TEXT NOT NULL, "
            "PRIMARY KEY (n, tag)) WITHOUT ROWID",
            f"CREATE TABLE IF NOT EXISTS {self.participants} (n INTEGER NOT NULL, "
            "user_id TEXT NOT NULL, PRIMARY KEY (n, user_id)) WITHOUT ROWID",
            f"CREATE VIRTUAL TABLE IF NOT EXISTS {self.fts} USING fts5("
            f"subject, public, internal, tokenize = '{TOKENIZER}')",
            # Dashboard counts per group; no department or assignee is '' (a key cannot be NULL).
            f"CREATE TABLE IF NOT EXISTS {self.counts} (status TEXT NOT NULL, "
            "priority TEXT NOT NULL, department_id TEXT NOT NULL, assignee_id TEXT NOT NULL, "
            "tickets INTEGER NOT NULL, "
            "PRIMARY KEY (status, priority, department_id, assignee_id)) WITHOUT ROWID",
            # An index made before this table existed: count it once.
            f"INSERT INTO {self.counts} SELECT status, priority, coalesce(department_id, ''), "
            f"coalesce(assignee_id, ''), count(*) FROM {self.tickets} "
            f"WHERE NOT EXISTS (SELECT 1 FROM {self.counts}) GROUP BY 1, 2, 3, 4",
        ]
        return statements + ([] if self.deferred_indexes else self._index_statements())

    def _index_statements(self) -> list[str]:
        t = self.tickets
        indexes = {
            f"{t}_updated": f"{t} (updated_at, n)",
            f"{t}_created": f"{t} (created_at, n)",
            f"{t}_due": f"{t} (due_at, n)",
            f"{t}_priority": f"{t} (priority_rank, n)",
            f"{t}_status": f"{t} (status)",
            f"{t}_requester": f"{t} (requester_id)",
            f"{t}_assignee": f"{t} (assignee_id)",
            f"{t}_department": f"{t} (department_id, status)",
            # Every column filters, scopes and sorts read: a ticket found by its number
            # (full-text matches) is checked from this narrow index, not the wide row.
            f"{t}_filters": f"{t} (n, status, priority, department_id, assignee_id, "
            "requester_id, category, priority_rank, updated_at, created_at, due_at)",
            f"{self.tags}_by_tag": f"{self.tags} (tag, n)",
            f"{self.participants}_by_user": f"{self.participants} (user_id, n)",
        }
        return [f"CREATE INDEX IF NOT EXISTS {name} ON {on}" for name, on in indexes.items()]

    # Dialect -----------------------------------------------------------------------------------

    def uuid(self, value: UUID) -> Any:
        return value.hex

    def time(self, value: datetime) -> Any:
        return stored_time(value)

    def literal_time(self, value: datetime) -> str:
        return f"'{stored_time(value)}'"

    def any_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} IN ({', '.join('?' * len(values))})", list(values)

    def has_all_tags(self, tags: Sequence[str]) -> tuple[str, list[Any]]:
        one = f"t.n IN (SELECT n FROM {self.tags} WHERE tag = ?)"
        return " AND ".join([one] * len(tags)), list(tags)

    def has_participant(self, user_id: UUID) -> tuple[str, list[Any]]:
        return f"t.n IN (SELECT n FROM {self.participants} WHERE user_id = ?)", [user_id.hex]

    def contains(self, column: str) -> str:
        return f"instr({column}, ?) > 0"

    # Writing -----------------------------------------------------------------------------------

    def load_tickets(self, ids: Iterable[UUID]) -> dict[UUID, TicketRow]:
        sql = f"SELECT {', '.join(READ_COLUMNS)} FROM {self.tickets} WHERE id IN "
        return {r.id: r for r in map(ticket_row, self._fetch_in(sql, [i.hex for i in ids]))}

    def load_users(self, ids: Iterable[UUID]) -> dict[UUID, UserRow]:
        sql = f"SELECT id, email, name, role, active, department_ids FROM {self.users} WHERE id IN "
        return {r.id: r for r in map(user_row, self._fetch_in(sql, [i.hex for i in ids]))}

    def load_departments(self, ids: Iterable[UUID]) -> dict[UUID, DepartmentRow]:
        sql = f"SELECT id, slug, name, active FROM {self.departments} WHERE id IN "
        rows = self._fetch_in(sql, [i.hex for i in ids])
        return {
            d.id: d
            for d in (
                DepartmentRow(uuid_from_hex(r["id"]), r["slug"], r["name"], bool(r["active"]))
                for r in rows
            )
        }

    def write(self, changes: Changes, tracking: Tracking, expected: int) -> None:
        with self._immediate() as cur:
            cur.execute(self.select_max_tracking_id_statement, (tracking.application_name,))
            current = cur.fetchone()[0] or 0
            if current != expected:
                raise TrackingMovedError(current)
            self._write_rows(cur, changes)
            self._insert_tracking(cur, tracking)

    def write_rows(self, changes: Changes) -> None:
        with self._immediate() as cur:
            self._write_rows(cur, changes)

    def _write_rows(self, cur: Any, c: Changes) -> None:
        if c.users:
            cur.executemany(
                f"INSERT INTO {self.users} VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
                "SET email = excluded.email, name = excluded.name, role = excluded.role, "
                "active = excluded.active, department_ids = excluded.department_ids, "
                "search_key = excluded.search_key",
                [
                    (u.id.hex, u.email, u.name, u.role, int(u.active),
                     json.dumps([i.hex for i in u.department_ids]), u.search_key)
                    for u in c.users.values()
                ],
            )  # fmt: skip
        if c.departments:
            cur.executemany(
                f"INSERT INTO {self.departments} VALUES (?, ?, ?, ?) ON CONFLICT (id) DO UPDATE "
                "SET slug = excluded.slug, name = excluded.name, active = excluded.active",
                [(d.id.hex, d.slug, d.name, int(d.active)) for d in c.departments.values()],
            )
        new = [t for t in c.tickets.values() if t.id in c.new_tickets]
        old = [t for t in c.tickets.values() if t.id not in c.new_tickets]
        marks = ", ".join("?" * len(WRITE_COLUMNS))
        cur.executemany(
            f"INSERT INTO {self.tickets} ({', '.join(WRITE_COLUMNS)}) VALUES ({marks})",
            [ticket_values(t) for t in new],
        )
        cur.executemany(
            f"INSERT INTO {self.fts} (rowid, subject, public, internal) VALUES (?, ?, ?, ?)",
            [
                (t.n, t.subject, joined_text(c.public_text, t), joined_text(c.internal_text, t))
                for t in new
            ],
        )
        sets = ", ".join(f"{col} = ?" for col in WRITE_COLUMNS[1:])
        cur.executemany(
            f"UPDATE {self.tickets} SET {sets} WHERE n = ?",
            [(*ticket_values(t)[1:], t.n) for t in old],
        )
        appended = [
            (joined_text(c.public_text, t), joined_text(c.internal_text, t), t.n)
            for t in old
            if t.id in c.public_text or t.id in c.internal_text
        ]
        cur.executemany(
            f"UPDATE {self.fts} SET public = public || char(10) || ?, "
            "internal = internal || char(10) || ? WHERE rowid = ?",
            appended,
        )
        retagged = [t for t in old if t.id in c.tags_changed]
        cur.executemany(f"DELETE FROM {self.tags} WHERE n = ?", [(t.n,) for t in retagged])
        cur.executemany(
            f"INSERT INTO {self.tags} VALUES (?, ?)",
            [(t.n, tag) for t in [*new, *retagged] for tag in set(t.tags)],
        )
        joined = [t for t in old if t.id in c.participants_changed]
        cur.executemany(f"DELETE FROM {self.participants} WHERE n = ?", [(t.n,) for t in joined])
        cur.executemany(
            f"INSERT INTO {self.participants} VALUES (?, ?)",
            [(t.n, u.hex) for t in [*new, *joined] for u in set(t.participants)],
        )
        cur.executemany(
            f"INSERT INTO {self.counts} VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (status, priority, department_id, assignee_id) "
            "DO UPDATE SET tickets = tickets + excluded.tickets",
            [
                (status, priority, _key(department), _key(assignee), delta)
                for (status, priority, department, assignee), delta in c.count_deltas.items()
            ],
        )
        if any(delta < 0 for delta in c.count_deltas.values()):
            cur.execute(f"DELETE FROM {self.counts} WHERE tickets = 0")

    # Rebuilding --------------------------------------------------------------------------------

    def shadow(self) -> SQLiteTicketIndexView:
        return SQLiteTicketIndexView(
            self.datastore,
            prefix=f"{self.prefix}_new",
            deferred_indexes=True,
            events_table=self.events_table,
        )

    def _data_tables(self) -> list[str]:
        return [
            self.tickets, self.users, self.departments, self.tags, self.participants,
            self.counts, self.fts,
        ]  # fmt: skip

    def drop_tables(self) -> None:
        with self._immediate() as cur:
            for table in [*self._data_tables(), self.tracking]:
                cur.execute(f"DROP TABLE IF EXISTS {table}")

    def replace_with(
        self, shadow: TicketIndexView, application_name: str, catch_up: Callable[[Any], None]
    ) -> bool:
        # One write transaction (the whole file's write lock): the shadow's last batches,
        # the renames, and this view's indexes on the renamed tables (SQLite cannot rename an
        # index). Writers wait meanwhile; readers keep their snapshot.
        assert isinstance(shadow, SQLiteTicketIndexView)
        with self._immediate() as cur:
            # Everything the last batches read and write goes through this transaction: a
            # new connection could wait behind this process's own writers, who wait for it.
            catch_up(lambda after, limit: self._read_log(cur, after, limit))
            position = _position(cur, shadow.tracking, application_name)
            if _position(cur, self.tracking, application_name) > position:
                return False
            cur.execute(
                f"INSERT INTO {self.tracking} VALUES (?, ?) ON CONFLICT (application_name) "
                "DO UPDATE SET notification_id = excluded.notification_id",
                (application_name, position),
            )
            cur.execute(f"DROP TABLE {shadow.tracking}")
            for theirs, ours in zip(shadow._data_tables(), self._data_tables(), strict=True):
                cur.execute(f"DROP TABLE IF EXISTS {ours}")
                cur.execute(f"ALTER TABLE {theirs} RENAME TO {ours}")
            for statement in self._index_statements():
                cur.execute(statement)
        self.refresh_statistics()
        return True

    def refresh_statistics(self) -> None:
        with self._immediate() as cur:
            for table in self._data_tables():
                if table != self.fts:  # FTS5 keeps its own statistics
                    cur.execute(f"ANALYZE {table}")

    def _read_log(self, cur: Any, after: int, limit: int) -> list[tuple[Any, ...]]:
        """Stored events after a position, as the log reader returns them."""
        cur.execute(
            "SELECT rowid, originator_id, originator_version, topic, state "
            f"FROM {self.events_table} WHERE rowid > ? ORDER BY rowid LIMIT ?",
            (after, limit),
        )
        return [(r[0], r[1], r[2], r[3], bytes(r[4])) for r in cur.fetchall()]

    # Queries -----------------------------------------------------------------------------------

    def search(self, query: TicketQuery, scope: Scope) -> Page:
        sort = qry.parse_sort(query.sort)
        limit = qry.parse_limit(query.limit)
        where, params = qry.query_conditions(query, self)
        scope_sql, scope_params = qry.scope_conditions(scope, self)
        where, params = where + scope_sql, params + scope_params
        must, must_not = fts5_query(qry.clean_text(query.text))
        if sort.key == "relevance" and not must:
            sort = qry.Sort("updated_at", True)
        from_ = f"FROM {self.tickets} t"
        descending = sort.descending
        sort_sql = self.sort_expression(sort) if sort.key != "relevance" else ""
        if must:
            # The full-text match is evaluated once, as a set: joined as the outer loop
            # (relevance needs its bm25) or as an IN list. Never as the inner side of a join:
            # FTS5 would then run the whole match again for every candidate ticket.
            expression = f"({must})" + (f" NOT ({must_not})" if must_not else "")
            if sort.key == "relevance":  # bm25: lower is better
                from_, condition, text_params, sort_sql = self._ranked(scope, expression)
                descending = False
            else:
                condition, text_params = self._matching(scope, expression, "IN")
            where.insert(0, condition)
            params[0:0] = text_params
        elif must_not:
            condition, text_params = self._matching(scope, must_not, "NOT IN")
            where.append(condition)
            params += text_params
        if must and not query.cursor and sort.key != "relevance":  # (bm25 takes no windows)
            # The matches are a bounded set: count them in the same pass as the page.
            return self._first_text_page(from_, where, params, sort, sort_sql, descending, limit)
        with self._reading() as cur:
            cur.execute(
                f"SELECT count(*) FROM (SELECT 1 {from_} WHERE {' AND '.join(where) or '1'} "
                "LIMIT ?)",
                [*params, TOTAL_CAP + 1],
            )
            total = cur.fetchone()[0]
            if query.cursor:
                key, n = qry.decode_cursor(query.cursor, sort)
                where.append(qry.keyset_condition(sort_sql, descending))
                params += [self.time(key) if isinstance(key, datetime) else key, n]
            sql = qry.page_sql(
                self._select_list(), from_, where, sort_sql, descending, self._joins()
            )
            cur.execute(sql.replace("{tickets}", self.tickets), [*params, limit + 1])
            rows = [dict(r) for r in cur.fetchall()]
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = qry.encode_cursor(sort, rows[-1]["sort_key"], rows[-1]["n"]) if more else None
        return Page(
            [ticket_row(r) for r in rows], cursor, min(total, TOTAL_CAP), total <= TOTAL_CAP
        )

    def _matching(self, scope: Scope, expression: str, op: str) -> tuple[str, list[Any]]:
        """Tickets whose text matches (op "IN") or does not ("NOT IN"), in the text the
        scope may search: a note's only where the reader may read the notes."""
        matches = f"t.n {op} (SELECT rowid FROM {self.fts} WHERE {self.fts} MATCH ?)"
        if scope.text != "mixed":
            return matches, [self._columns(scope) + f"({expression})"]
        notes, notes_params = qry.notes_condition(scope, self)
        return (
            f"({notes} AND {matches} OR NOT {notes} AND {matches})",
            [*notes_params, f"({expression})", *notes_params, f"{PUBLIC}({expression})"],
        )

    def _ranked(self, scope: Scope, expression: str) -> tuple[str, str, list[Any], str]:
        """For relevance: the matches as the outer loop (FROM), the condition that goes with
        them, their parameters (FROM's first), and the rank to sort by."""
        fts, rank = self.fts, f"bm25({self.fts}, {WEIGHTS})"
        if scope.text != "mixed":
            from_ = f"FROM {fts} CROSS JOIN {self.tickets} t ON t.n = {fts}.rowid"
            return from_, f"{fts} MATCH ?", [self._columns(scope) + f"({expression})"], rank
        # Each ticket matched twice, in all its text and in its public text alone; the
        # condition keeps the one the reader may search.
        notes, notes_params = qry.notes_condition(scope, self)
        from_ = (
            f"FROM (SELECT rowid AS n, {rank} AS rank, 1 AS notes FROM {fts} WHERE {fts} MATCH ? "
            f"UNION ALL SELECT rowid, {rank}, 0 FROM {fts} WHERE {fts} MATCH ?) m "
            f"CROSS JOIN {self.tickets} t ON t.n = m.n"
        )
        text_params = [f"({expression})", f"{PUBLIC}({expression})", *notes_params]
        return from_, f"{notes} = m.notes", text_params, "m.rank"

    @staticmethod
    def _columns(scope: Scope) -> str:
        return PUBLIC if scope.text == "public" else ""

    def _first_text_page(
        self,
        from_: str,
        where: list[str],
        params: list[Any],
        sort: qry.Sort,
        sort_sql: str,
        descending: bool,
        limit: int,
    ) -> Page:
        """The first page of a full-text search and the number of matches, from one pass over
        the matches (a separate count would evaluate the match and the filters again)."""
        direction = "DESC" if descending else "ASC"
        inner = (
            f"SELECT t.n AS n, {sort_sql} AS sort_key, count(*) OVER () AS matches {from_} "
            f"WHERE {' AND '.join(where)} {qry.order_by(sort_sql, descending)} LIMIT ?"
        )
        sql = (
            f"SELECT {self._select_list()}, p.sort_key, p.matches FROM ({inner}) p "
            f"JOIN {self.tickets} t ON t.n = p.n {self._joins()} "
            f"ORDER BY p.sort_key {direction}, p.n {direction}"
        )
        with self._reading() as cur:
            cur.execute(sql, [*params, limit + 1])
            rows = [dict(r) for r in cur.fetchall()]
        total = rows[0]["matches"] if rows else 0
        for row in rows:
            del row["matches"]
        more = len(rows) > limit
        rows = rows[:limit]
        cursor = qry.encode_cursor(sort, rows[-1]["sort_key"], rows[-1]["n"]) if more else None
        return Page(
            [ticket_row(r) for r in rows], cursor, min(total, TOTAL_CAP), total <= TOTAL_CAP
        )

    def get_ticket_row(self, ticket_id: UUID, scope: Scope) -> TicketRow | None:
        where, params = qry.scope_conditions(scope, self)
        with self._reading() as cur:
            cur.execute(
                f"SELECT {self._select_list()} FROM {self.tickets} t {self._joins()} "
                f"WHERE {' AND '.join(['t.id = ?', *where])}",
                [ticket_id.hex, *params],
            )
            found = cur.fetchone()
        return ticket_row(dict(found)) if found else None

    def counters(self, scope: Scope) -> Counters:
        sql, params = qry.counters_query(scope, self, self.tickets, self.counts)
        with self._reading() as cur:
            cur.execute(sql, params)
            rows = cur.fetchall()
        return qry.counters_from(
            (r[0], r[1], optional_uuid(r[2]), optional_uuid(r[3]), r[4]) for r in rows
        )

    # Helpers -----------------------------------------------------------------------------------

    def _immediate(self) -> AbstractContextManager[Any]:
        return transactions.writing(self.datastore)

    def _reading(self) -> AbstractContextManager[Any]:
        return transactions.reading(self.datastore)

    def _select_list(self) -> str:
        return ", ".join(f"t.{c}" for c in READ_COLUMNS) + ", " + JOINED

    def _joins(self) -> str:
        return (
            f"LEFT JOIN {self.users} ru ON ru.id = t.requester_id "
            f"LEFT JOIN {self.users} au ON au.id = t.assignee_id "
            f"LEFT JOIN {self.departments} d ON d.id = t.department_id"
        )

    def _fetch_in(self, sql: str, ids: list[str]) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        with self._reading() as cur:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                cur.execute(f"{sql}({', '.join('?' * len(chunk))})", chunk)
                rows.extend(dict(r) for r in cur.fetchall())
        return rows


def _position(cur: Any, table: str, application_name: str) -> int:
    cur.execute(
        f"SELECT notification_id FROM {table} WHERE application_name = ?", [application_name]
    )
    found = cur.fetchone()
    return int(found[0]) if found and found[0] else 0


def _key(value: UUID | None) -> str:
    return value.hex if value is not None else ""
