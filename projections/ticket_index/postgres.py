"""The ticket index on PostgreSQL: tables beside the events, tsvector documents with GIN."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import DataError, Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from psycopg.errors import DivisionByZero
from psycopg.sql import SQL, Composed

from ledgerdesk.projections.pg_transactions import one_round_trip
from ledgerdesk.projections.runtime import TrackingMovedError
from ledgerdesk.projections.ticket_index import query as qry
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

CONFIG = "english"  # stemming: "printers" finds "printer"
MAX_LEXEMES = 50_000  # a document stops growing here (PostgreSQL caps a tsvector at 1 MB)
WRITE_COLUMNS = (
    "id", "number", "n", "subject", "requester_id", "department_id", "category", "priority",
    "priority_rank", "status", "assignee_id", "due_at", "tags", "created_at", "updated_at",
    "version", "reopen_count", "first_response_at", "resolved_at", "closed_at", "participants",
    "message_count", "public_message_count", "last_customer_activity_at",
    "last_agent_activity_at", "sla_first_response_due_at", "sla_resolution_due_at",
    "sla_breached",
)  # fmt: skip
READ_COLUMNS = tuple(c for c in WRITE_COLUMNS if c != "priority_rank")


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class PostgresTicketIndexView(PostgresTrackingRecorder, TicketIndexView, qry.Dialect):
    def __init__(
        self,
        datastore: PostgresDatastore,
        *,
        prefix: str = "ticket_index",
        deferred_indexes: bool = False,
        **kwargs: Any,
    ) -> None:
        kwargs["tracking_table_name"] = f"{prefix}_tracking"
        super().__init__(datastore, **kwargs)
        self.prefix = prefix
        schema = quoted(datastore.schema)
        self.tickets = f"{schema}.{quoted(prefix + '_tickets')}"
        self.users = f"{schema}.{quoted(prefix + '_users')}"
        self.departments = f"{schema}.{quoted(prefix + '_departments')}"
        self.tracking = f"{schema}.{quoted(prefix + '_tracking')}"
        # Each batch notifies the position it reached here, on commit: API workers that leave
        # projecting to another process resolve their read-your-writes waits from it.
        self.tracking_channel = f"{datastore.schema}_{prefix}_tracking"[:63]
        self.counts = f"{schema}.{quoted(prefix + '_counts')}"
        # Move the tracking row from the expected position (or make it, at 0 expected), else
        # divide by zero: the only way a plain statement can refuse, and fail its transaction.
        self._advance = (
            f"WITH moved AS (UPDATE {self.tracking} SET notification_id = %(to)s "
            "WHERE application_name = %(name)s "
            "AND coalesce(notification_id, 0) = %(expected)s RETURNING 1), "
            f"made AS (INSERT INTO {self.tracking} SELECT %(name)s, %(to)s "
            f"WHERE %(expected)s = 0 AND NOT EXISTS (SELECT 1 FROM {self.tracking} "
            "WHERE application_name = %(name)s) ON CONFLICT DO NOTHING RETURNING 1) "
            "SELECT 1 / ((SELECT count(*) FROM moved) + (SELECT count(*) FROM made))"
        )
        self.sql_create_statements.extend(Composed([SQL(s)]) for s in self._table_statements())
        if not deferred_indexes:
            self.sql_create_statements.extend(Composed([SQL(s)]) for s in self._index_statements())

    def _table_statements(self) -> list[str]:
        ts = "timestamptz"
        groups = "status, priority, department_id, assignee_id"
        return [
            f"CREATE TABLE IF NOT EXISTS {self.users} (id uuid PRIMARY KEY, email text NOT NULL, "
            "name text NOT NULL, role text NOT NULL, active boolean NOT NULL, "
            "department_ids uuid[] NOT NULL, search_key text NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.departments} (id uuid PRIMARY KEY, "
            "slug text NOT NULL, name text NOT NULL, active boolean NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.tickets} (id uuid PRIMARY KEY, "
            "number text NOT NULL, n bigint NOT NULL UNIQUE, subject text NOT NULL, "
            "requester_id uuid NOT NULL, department_id uuid, category text NOT NULL, "
            "priority text NOT NULL, priority_rank smallint NOT NULL, status text NOT NULL, "
            f"assignee_id uuid, due_at {ts}, tags text[] NOT NULL, created_at {ts} NOT NULL, "
            f"updated_at {ts} NOT NULL, version integer NOT NULL, reopen_count integer NOT NULL, "
            f"first_response_at {ts}, resolved_at {ts}, closed_at {ts}, "
            "participants uuid[] NOT NULL, message_count integer NOT NULL, "
            f"public_message_count integer NOT NULL, last_customer_activity_at {ts}, "
            f"last_agent_activity_at {ts}, sla_first_response_due_at {ts}, "
            f"sla_resolution_due_at {ts}, sla_breached boolean NOT NULL DEFAULT false, "
            "doc_public tsvector NOT NULL, doc_internal tsvector NOT NULL, "
            "doc_all tsvector GENERATED ALWAYS AS (doc_public || doc_internal) STORED)",
            f"CREATE TABLE IF NOT EXISTS {self.counts} (status text NOT NULL, "
            "priority text NOT NULL, department_id uuid, assignee_id uuid, "
            f"tickets integer NOT NULL, CONSTRAINT {quoted(self.prefix + '_counts_key')} "
            f"UNIQUE NULLS NOT DISTINCT ({groups}))",
            # An index made before this table existed: count it once.
            f"INSERT INTO {self.counts} SELECT {groups}, count(*) FROM {self.tickets} "
            f"WHERE NOT EXISTS (SELECT 1 FROM {self.counts}) GROUP BY {groups}",
        ]

    def _index_statements(self) -> list[str]:
        p, t = self.prefix, self.tickets
        indexes = {
            "updated": "(updated_at, n)",
            "created": "(created_at, n)",
            "due": "(due_at, n)",
            "priority": "(priority_rank, n)",
            "status": "(status)",
            "requester": "(requester_id)",
            "assignee": "(assignee_id)",
            "department": "(department_id, status)",
            "tags": "USING gin (tags)",
            "participants": "USING gin (participants)",
            "doc_public": "USING gin (doc_public)",
            "doc_all": "USING gin (doc_all)",
        }
        return [
            f"CREATE INDEX IF NOT EXISTS {quoted(f'{p}_tickets_{name}')} ON {t} {how}"
            for name, how in indexes.items()
        ]

    # Dialect -----------------------------------------------------------------------------------

    def uuid(self, value: UUID) -> Any:
        return value

    def time(self, value: datetime) -> Any:
        return value

    def literal_time(self, value: datetime) -> str:
        return f"'{value.isoformat()}'::timestamptz"

    def any_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        return f"{column} = ANY(?)", [list(values)]

    def has_all_tags(self, tags: Sequence[str]) -> tuple[str, list[Any]]:
        return "t.tags @> ?::text[]", [list(tags)]

    def has_participant(self, user_id: UUID) -> tuple[str, list[Any]]:
        return "t.participants @> ARRAY[?::uuid]", [user_id]

    def contains(self, column: str) -> str:
        return f"strpos({column}, ?) > 0"

    # Writing -----------------------------------------------------------------------------------

    def load_tickets(self, ids: Iterable[UUID]) -> dict[UUID, TicketRow]:
        wanted = list(ids)
        if not wanted:
            return {}
        rows = self._fetch(
            f"SELECT {', '.join(READ_COLUMNS)} FROM {self.tickets} WHERE id = ANY(?)", [wanted]
        )
        return {r["id"]: TicketRow(**r) for r in rows}

    def load_users(self, ids: Iterable[UUID]) -> dict[UUID, UserRow]:
        wanted = list(ids)
        if not wanted:
            return {}
        sql = f"SELECT id, email, name, role, active, department_ids FROM {self.users}"
        return {r["id"]: UserRow(**r) for r in self._fetch(f"{sql} WHERE id = ANY(?)", [wanted])}

    def load_departments(self, ids: Iterable[UUID]) -> dict[UUID, DepartmentRow]:
        wanted = list(ids)
        if not wanted:
            return {}
        sql = f"SELECT id, slug, name, active FROM {self.departments} WHERE id = ANY(?)"
        return {r["id"]: DepartmentRow(**r) for r in self._fetch(sql, [wanted])}

    def write(self, changes: Changes, tracking: Tracking, expected: int) -> None:
        try:
            with self._pipelined() as cur:
                # The tracking row first: it moves from the expected position to the batch's
                # (or is made, for a first batch) and stays locked until COMMIT, so two
                # batches cannot both pass; if it holds any other position this statement
                # fails, and the transaction with it, before a row is written. So the whole
                # batch, BEGIN to COMMIT, is one round trip (under load each round trip waits
                # for the server to be scheduled, and read-your-writes waits for this).
                cur.execute(
                    self._advance,
                    {
                        "name": tracking.application_name,
                        "to": tracking.notification_id,
                        "expected": expected,
                    },
                )
                # A read model can be rebuilt from the log: its commits need not wait for the
                # disk. A crash may lose the last ones, rows and tracking together, which are
                # then simply applied again.
                cur.execute("SET LOCAL synchronous_commit = off")
                self._write_rows(cur, changes)
                self._notify_position(cur, tracking.notification_id)
        except DataError as error:
            if not isinstance(error.__cause__, DivisionByZero):
                raise
            raise TrackingMovedError(self.position(tracking.application_name)) from None

    def write_rows(self, changes: Changes) -> None:
        with self._pipelined() as cur:
            cur.execute("SET LOCAL synchronous_commit = off")
            self._write_rows(cur, changes)

    @contextmanager
    def _pipelined(self) -> Iterator[Any]:
        """A cursor in a transaction whose statements, BEGIN to COMMIT, are sent together."""
        with self.datastore.get_connection() as conn, one_round_trip(conn) as cursor:
            yield cursor

    def _notify_position(self, cur: Any, position: int) -> None:
        cur.execute("SELECT pg_notify(%s, %s)", (self.tracking_channel, str(position)))

    def _write_rows(self, cur: Any, c: Changes) -> None:
        if c.users:
            cur.executemany(
                f"INSERT INTO {self.users} VALUES (%s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name, "
                "role = EXCLUDED.role, active = EXCLUDED.active, "
                "department_ids = EXCLUDED.department_ids, search_key = EXCLUDED.search_key",
                [
                    (u.id, u.email, u.name, u.role, u.active, u.department_ids, u.search_key)
                    for u in c.users.values()
                ],
            )
        if c.departments:
            cur.executemany(
                f"INSERT INTO {self.departments} VALUES (%s, %s, %s, %s) "
                "ON CONFLICT (id) DO UPDATE SET slug = EXCLUDED.slug, name = EXCLUDED.name, "
                "active = EXCLUDED.active",
                [(d.id, d.slug, d.name, d.active) for d in c.departments.values()],
            )
        new = [t for t in c.tickets.values() if t.id in c.new_tickets]
        old = [t for t in c.tickets.values() if t.id not in c.new_tickets]
        if new:
            values = ", ".join(["%s"] * len(WRITE_COLUMNS))
            cur.executemany(
                f"INSERT INTO {self.tickets} ({', '.join(WRITE_COLUMNS)}, doc_public, doc_internal)"
                f" VALUES ({values}, setweight(to_tsvector('{CONFIG}', %s), 'A') || "
                f"to_tsvector('{CONFIG}', %s), to_tsvector('{CONFIG}', %s))",
                [
                    (*_values(t), t.subject, _text(c.public_text, t), _text(c.internal_text, t))
                    for t in new
                ],
            )
        if old:
            sets = ", ".join(f"{col} = %s" for col in WRITE_COLUMNS[1:])
            cur.executemany(
                f"UPDATE {self.tickets} SET {sets}, "
                f"doc_public = {_appended('doc_public')}, "
                f"doc_internal = {_appended('doc_internal')} WHERE id = %s",
                [
                    (
                        *_values(t)[1:],
                        *([_text(c.public_text, t)] * 2),
                        *([_text(c.internal_text, t)] * 2),
                        t.id,
                    )
                    for t in old
                ],
            )
        if c.count_deltas:
            cur.executemany(
                f"INSERT INTO {self.counts} AS k VALUES (%s, %s, %s, %s, %s) "
                "ON CONFLICT (status, priority, department_id, assignee_id) "
                "DO UPDATE SET tickets = k.tickets + EXCLUDED.tickets",
                [(*key, delta) for key, delta in c.count_deltas.items()],
            )
            if any(delta < 0 for delta in c.count_deltas.values()):
                cur.execute(f"DELETE FROM {self.counts} WHERE tickets = 0")

    # Rebuilding --------------------------------------------------------------------------------

    def shadow(self) -> PostgresTicketIndexView:
        return PostgresTicketIndexView(
            self.datastore, prefix=f"{self.prefix}_new", deferred_indexes=True
        )

    def _own_tables(self) -> list[str]:
        return [self.tickets, self.users, self.departments, self.counts, self.tracking]

    def drop_tables(self) -> None:
        with self.datastore.transaction(commit=True) as cur:
            for table in self._own_tables():
                cur.execute(f"DROP TABLE IF EXISTS {table}")

    def replace_with(
        self, shadow: TicketIndexView, application_name: str, catch_up: Callable[[Any], None]
    ) -> bool:
        assert isinstance(shadow, PostgresTicketIndexView)
        with self.datastore.transaction(commit=True) as cur:
            for statement in shadow._index_statements():  # built before any lock is taken
                cur.execute(statement)
        schema = self.datastore.schema
        with self.datastore.transaction(commit=True) as cur:
            cur.execute("SET LOCAL lock_timeout = '30s'")
            # The live runner's batches start by locking this table: from here on it waits,
            # so the shadow can catch up with it for good.
            cur.execute(f"LOCK TABLE {self.tracking} IN EXCLUSIVE MODE")
            catch_up(None)
            position = _position(cur, shadow.tracking, application_name)
            if _position(cur, self.tracking, application_name) > position:
                return False
            cur.execute(
                f"INSERT INTO {self.tracking} VALUES (%s, %s) ON CONFLICT (application_name) "
                "DO UPDATE SET notification_id = EXCLUDED.notification_id",
                (application_name, position),
            )
            self._notify_position(cur, position)
            suffixes = ("_tickets", "_users", "_departments", "_counts")
            cur.execute(
                "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = ANY(%s)",
                (schema, [shadow.prefix + s for s in suffixes]),
            )
            indexes = [r["indexname"] for r in cur.fetchall()]
            live = ", ".join(f"{quoted(schema)}.{quoted(self.prefix + s)}" for s in suffixes)
            cur.execute(f"LOCK TABLE {live} IN ACCESS EXCLUSIVE MODE")
            cur.execute(f"DROP TABLE {live}, {shadow.tracking}")
            for suffix in suffixes:
                cur.execute(
                    f"ALTER TABLE {quoted(schema)}.{quoted(shadow.prefix + suffix)} "
                    f"RENAME TO {quoted(self.prefix + suffix)}"
                )
            for name in indexes:
                live_name = self.prefix + name[len(shadow.prefix) :]
                cur.execute(
                    f"ALTER INDEX {quoted(schema)}.{quoted(name)} RENAME TO {quoted(live_name)}"
                )
        self.refresh_statistics()  # fresh tables: autovacuum would get to them later
        return True

    def refresh_statistics(self) -> None:
        with self.datastore.get_connection() as conn:
            for table in (self.tickets, self.users, self.departments):
                conn.execute(f"ANALYZE {table}")

    # Queries -----------------------------------------------------------------------------------

    def search(self, query: TicketQuery, scope: Scope) -> Page:
        sort = qry.parse_sort(query.sort)
        limit = qry.parse_limit(query.limit)
        where, params = qry.query_conditions(query, self)
        scope_sql, scope_params = qry.scope_conditions(scope, self)
        where, params = where + scope_sql, params + scope_params
        tsquery = self._tsquery(qry.clean_text(query.text))
        if tsquery is not None:
            match, match_params = _text_match(scope, tsquery, self)
            where.append(match)
            params += match_params
        if sort.key == "relevance" and tsquery is None:
            sort = qry.Sort("updated_at", True)
        if sort.key == "relevance":
            doc, doc_params = _document(scope, self)
            # float8: a float4 rank would not survive the round trip through the cursor
            sort_sql, sort_params = f"ts_rank({doc}, ?::tsquery)::float8", [*doc_params, tsquery]
        else:
            sort_sql, sort_params = self.sort_expression(sort), []
        page_where, page_params = list(where), list(params)
        if query.cursor:
            key, n = qry.decode_cursor(query.cursor, sort)
            page_where.append(qry.keyset_condition(sort_sql, sort.descending))
            page_params += [*sort_params, key, n]
        page_sql = (
            f"SELECT {self._select_list()}, {sort_sql} AS sort_key{{matches}} "
            f"FROM {self.tickets} t WHERE {' AND '.join(page_where) or 'true'} "
            f"{qry.order_by(sort_sql, sort.descending)} LIMIT ?"
        )
        page_params = [*sort_params, *page_params, *sort_params, limit + 1]
        # The first page of a text search counts its matches in the same pass when the plan
        # sorts them all anyway (a bitmap scan of the GIN index, then the rows): visiting the
        # same rows again for a count would cost half as much again. When the plan walks the
        # sort index and stops at the page (a word in thousands of tickets), a count in the
        # same pass would walk the whole index (135 ms instead of 1.4 ms at 100,000 tickets):
        # the matches are counted apart then, up to the cap, as for lists and later pages.
        counted_here = (
            tsquery is not None
            and not query.cursor
            and self._sorts_every_match(page_sql.format(matches=""), page_params)
        )
        matches = ", count(*) OVER () AS matches" if counted_here else ""
        rows = self._fetch(page_sql.format(matches=matches), page_params)
        more = len(rows) > limit
        if counted_here:
            total = int(rows[0]["matches"]) if rows else 0
        elif more or query.cursor:
            total = self._count(where, params)
        else:  # a first page that holds every match
            total = len(rows)
        rows = rows[:limit]
        cursor = qry.encode_cursor(sort, rows[-1]["sort_key"], rows[-1]["n"]) if more else None
        items = self._named([_row(r) for r in rows])
        return Page(items, cursor, min(total, TOTAL_CAP), total <= TOTAL_CAP)

    def get_ticket_row(self, ticket_id: UUID, scope: Scope) -> TicketRow | None:
        where, params = qry.scope_conditions(scope, self)
        condition = " AND ".join(["t.id = ?", *where])
        rows = self._fetch(
            f"SELECT {self._select_list()} FROM {self.tickets} t WHERE {condition}",
            [ticket_id, *params],
        )
        return self._named([_row(rows[0])])[0] if rows else None

    def counters(self, scope: Scope) -> Counters:
        sql, params = qry.counters_query(scope, self, self.tickets, self.counts)
        rows = self._fetch(sql, params)
        return qry.counters_from(
            (r["status"], r["priority"], r["department_id"], r["assignee_id"], r["c"]) for r in rows
        )

    # Helpers -----------------------------------------------------------------------------------

    def _select_list(self) -> str:
        return ", ".join(f"t.{c}" for c in READ_COLUMNS)

    def _named(self, rows: list[TicketRow]) -> list[TicketRow]:
        """The people's and departments' names for display, in one query. (Joining them in
        the page query costs PostgreSQL ~2 ms of planning per query; this plans in 0.1 ms.)"""
        users = {u for r in rows for u in (r.requester_id, r.assignee_id) if u is not None}
        departments = {r.department_id for r in rows if r.department_id is not None}
        if not rows:
            return rows
        names = {
            r["id"]: r
            for r in self._fetch(
                f"SELECT id, name, email FROM {self.users} WHERE id = ANY(?) UNION ALL "
                f"SELECT id, name, NULL FROM {self.departments} WHERE id = ANY(?)",
                [list(users), list(departments)],
            )
        }
        for r in rows:
            requester, assignee = names.get(r.requester_id), names.get(r.assignee_id)
            department = names.get(r.department_id)
            if requester:
                r.requester_name, r.requester_email = requester["name"], requester["email"]
            if assignee:
                r.assignee_name, r.assignee_email = assignee["name"], assignee["email"]
            if department:
                r.department_name = department["name"]
        return rows

    def _sorts_every_match(self, sql: str, params: Sequence[Any]) -> bool:
        """Whether PostgreSQL's plan for a page sorts every matching row (rather than reading
        them in order from an index and stopping at the page). Planning costs ~0.2 ms."""
        plan = self._fetch(f"EXPLAIN (FORMAT JSON) {sql}", params)[0]["QUERY PLAN"][0]["Plan"]
        nodes = [plan]
        while nodes:
            node = nodes.pop()
            if node["Node Type"] == "Sort":  # not "Incremental Sort": that one stops early
                return True
            nodes.extend(  # the rows' own path, not a sub-query's (a filter's IN (SELECT …))
                child
                for child in node.get("Plans", ())
                if child.get("Parent Relationship") not in ("InitPlan", "SubPlan")
            )
        return False

    def _count(self, where: list[str], params: list[Any]) -> int:
        rows = self._fetch(
            f"SELECT count(*) AS c FROM (SELECT 1 FROM {self.tickets} t "
            f"WHERE {' AND '.join(where) or 'true'} LIMIT ?) s",
            [*params, TOTAL_CAP + 1],
        )
        return int(rows[0]["c"])

    def _tsquery(self, text: str) -> str | None:
        """The query websearch_to_tsquery makes of the text (it never fails on syntax), or
        None when nothing searchable is left (only stop words or punctuation)."""
        if not text:
            return None
        rows = self._fetch(
            f"SELECT q::text AS q, numnode(q) AS nodes FROM websearch_to_tsquery('{CONFIG}', ?) q",
            [text],
        )
        return rows[0]["q"] if rows and rows[0]["nodes"] else None

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        with self.datastore.get_connection() as conn, conn.cursor() as cur:
            cur.execute(sql.replace("?", "%s"), list(params))
            return list(cur.fetchall())


def _values(t: TicketRow) -> tuple[Any, ...]:
    return tuple(getattr(t, c) for c in WRITE_COLUMNS)


def _text(texts: dict[UUID, list[str]], t: TicketRow) -> str:
    return "\n".join(texts.get(t.id, ())).replace("\x00", "")


def _appended(column: str) -> str:
    return (
        f"CASE WHEN %s = '' OR length({column}) > {MAX_LEXEMES} THEN {column} "
        f"ELSE {column} || to_tsvector('{CONFIG}', %s) END"
    )


def _position(cur: Any, table: str, application_name: str) -> int:
    cur.execute(
        f"SELECT notification_id FROM {table} WHERE application_name = %s", (application_name,)
    )
    found = cur.fetchone()
    return int(found["notification_id"]) if found and found["notification_id"] else 0


def _row(r: dict[str, Any]) -> TicketRow:
    r.pop("sort_key", None)
    r.pop("matches", None)
    return TicketRow(**r)


def _document(scope: Scope, d: qry.Dialect) -> tuple[str, list[Any]]:
    """The text a reader's search looks in: notes only where the scope may read them."""
    if scope.text == "all":
        return "t.doc_all", []
    if scope.text == "public":
        return "t.doc_public", []
    notes, params = qry.notes_condition(scope, d)
    return f"(CASE WHEN {notes} THEN t.doc_all ELSE t.doc_public END)", params


def _text_match(scope: Scope, tsquery: str, d: qry.Dialect) -> tuple[str, list[Any]]:
    """The full-text condition, in a form each document's GIN index can answer."""
    if scope.text != "mixed":
        return f"{_document(scope, d)[0]} @@ ?::tsquery", [tsquery]
    notes, params = qry.notes_condition(scope, d)
    return (
        f"({notes} AND t.doc_all @@ ?::tsquery OR NOT {notes} AND t.doc_public @@ ?::tsquery)",
        [*params, tsquery, *params, tsquery],
    )
