"""A TicketQuery and a Scope as SQL conditions, sort keys and cursors, shared by both stores.

The SQL here uses `?` placeholders; the PostgreSQL view turns them into `%s`. User input only
ever travels as parameters.
"""

from __future__ import annotations

import base64
import binascii
import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from ledgerdesk.domain import values as v
from ledgerdesk.domain.errors import ValidationError
from ledgerdesk.domain.ticket import parse_number
from ledgerdesk.projections.ticket_index.view import (
    MAX_LIMIT,
    Counters,
    Reach,
    Scope,
    TicketQuery,
)

SORT_KEYS = ("created_at", "updated_at", "due_at", "priority", "number", "relevance")
MAX_TEXT = 500  # characters of search text; more is cut
FAR_FUTURE = datetime(9999, 12, 31, tzinfo=UTC)  # due_at NULL sorts last either way
FAR_PAST = datetime(1, 1, 2, tzinfo=UTC)


@dataclass(frozen=True)
class Sort:
    key: str
    descending: bool

    @property
    def text(self) -> str:
        return ("-" if self.descending else "") + self.key


def parse_sort(value: str | None) -> Sort:
    text = (value or "-updated_at").strip()
    key = text.lstrip("-+")
    if key not in SORT_KEYS:
        raise ValidationError("sort", f"{value!r} is not one of {', '.join(SORT_KEYS)}")
    if key == "relevance":  # best first, whatever the sign
        return Sort(key, True)
    return Sort(key, text.startswith("-"))


def parse_limit(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_LIMIT:
        raise ValidationError("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    return value


def clean_text(value: str | None) -> str:
    """Search text without control characters (NUL cannot even reach PostgreSQL), capped."""
    if not value:
        return ""
    return " ".join(v.CONTROL_PATTERN.sub(" ", str(value)).split())[:MAX_TEXT]


def number_of(value: str | int) -> int:
    if isinstance(value, bool):
        raise ValidationError("number", "is not a ticket number such as T-12")
    if isinstance(value, int):
        if value < 1:
            raise ValidationError("number", f"{value} is not a ticket number such as T-12")
        return value
    return parse_number(value)


# Cursors: the sort they belong to, the last row's sort key and its number (the tie-breaker).


def encode_cursor(sort: Sort, key: Any, n: int) -> str:
    if isinstance(key, datetime):
        key = key.isoformat()
    raw = json.dumps({"s": sort.text, "k": key, "n": n}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort) -> tuple[Any, int]:
    """The (sort key, number) a page continues after; time keys come back as datetimes."""
    refused = ValidationError("cursor", "is not a cursor of this search; start again without it")
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise refused from None
    if not isinstance(data, dict) or data.get("s") != sort.text:
        raise refused
    key, n = data.get("k"), data.get("n")
    if not isinstance(n, int) or isinstance(n, bool):
        raise refused
    if sort.key in ("created_at", "updated_at", "due_at"):
        try:
            key = datetime.fromisoformat(str(key))
        except ValueError:
            raise refused from None
        if key.tzinfo is None:
            raise refused
    elif sort.key in ("priority", "number"):
        if not isinstance(key, int) or isinstance(key, bool):
            raise refused
    elif not isinstance(key, int | float) or isinstance(key, bool):
        raise refused
    return key, n


class Dialect(ABC):
    """What differs between the stores when filtering tickets (`t`) by a query."""

    tickets: str
    users: str
    departments: str

    @abstractmethod
    def uuid(self, value: UUID) -> Any: ...

    @abstractmethod
    def time(self, value: datetime) -> Any: ...

    @abstractmethod
    def any_of(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]: ...

    @abstractmethod
    def has_all_tags(self, tags: Sequence[str]) -> tuple[str, list[Any]]: ...

    @abstractmethod
    def has_participant(self, user_id: UUID) -> tuple[str, list[Any]]: ...

    @abstractmethod
    def contains(self, column: str) -> str:
        """A condition: the column contains the `?` parameter as a substring."""

    def sort_expression(self, sort: Sort) -> str:
        if sort.key == "due_at":
            sentinel = FAR_PAST if sort.descending else FAR_FUTURE
            return f"COALESCE(t.due_at, {self.literal_time(sentinel)})"
        return {
            "created_at": "t.created_at",
            "updated_at": "t.updated_at",
            "priority": "t.priority_rank",
            "number": "t.n",
        }[sort.key]

    @abstractmethod
    def literal_time(self, value: datetime) -> str: ...


def scope_conditions(scope: Scope, d: Dialect) -> tuple[list[str], list[Any]]:
    """The conditions a row must meet to be in the scope (none for everything)."""
    sql, params = reach_condition(scope.reach, d)
    return ([sql] if sql else []), params


def reach_condition(reach: Reach, d: Dialect) -> tuple[str | None, list[Any]]:
    """A reach as one condition on `t` (None: every ticket). It may be NULL where a column
    is: `notes_condition` makes it safe to negate."""
    if reach.everything:
        return None, []
    parts: list[str] = []
    params: list[Any] = []
    if reach.participant_id is not None:
        sql, values = d.has_participant(reach.participant_id)
        parts.append(f"t.requester_id = ? OR {sql}")
        params += [d.uuid(reach.participant_id), *values]
    if reach.department_ids:
        sql, ids = d.any_of("t.department_id", [d.uuid(i) for i in sorted(reach.department_ids)])
        parts.append(sql)
        params += ids
    if reach.assignee_id is not None:
        parts.append("t.assignee_id = ?")
        params.append(d.uuid(reach.assignee_id))
    return (f"({' OR '.join(parts)})" if parts else "1 = 0"), params


def notes_condition(scope: Scope, d: Dialect) -> tuple[str, list[Any]]:
    """Whether the reader may read a row's notes, never NULL (so it can be negated): for a
    scope whose notes reach only part of what it reads."""
    sql, params = reach_condition(scope.notes, d)
    return f"COALESCE({sql or 'true'}, false)", params


def query_conditions(q: TicketQuery, d: Dialect) -> tuple[list[str], list[Any]]:
    """Every filter of a query but the text (each store searches text its own way)."""
    where: list[str] = []
    params: list[Any] = []

    def add(sql: str, *values: Any) -> None:
        where.append(sql)
        params.extend(values)

    if q.number is not None and q.number != "":
        add("t.n = ?", number_of(q.number))
    person = clean_text(q.person).casefold()
    if person:
        matching = f"SELECT u.id FROM {d.users} u WHERE {d.contains('u.search_key')}"
        add(f"(t.requester_id IN ({matching}) OR t.assignee_id IN ({matching}))", person, person)
    if q.requester_id is not None:
        add("t.requester_id = ?", d.uuid(_uuid("requester_id", q.requester_id)))
    if q.assignee_id == "none":
        add("t.assignee_id IS NULL")
    elif q.assignee_id is not None:
        add("t.assignee_id = ?", d.uuid(_uuid("assignee_id", q.assignee_id)))
    if q.priority:
        sql, values = d.any_of("t.priority", sorted({v.priority(p).value for p in q.priority}))
        add(sql, *values)
    if q.status:
        sql, values = d.any_of("t.status", sorted({v.status(s).value for s in q.status}))
        add(sql, *values)
    if q.category is not None:
        add("t.category = ?", clean_text(q.category))
    if q.department_id is not None:
        add("t.department_id = ?", d.uuid(_uuid("department_id", q.department_id)))
    if q.tags:
        sql, values = d.has_all_tags(sorted({v.tag(t) for t in q.tags}))
        add(sql, *values)
    for column, start, end in (
        ("created_at", q.created_from, q.created_to),
        ("updated_at", q.updated_from, q.updated_to),
        ("due_at", q.due_from, q.due_to),
    ):
        if start is not None:
            add(f"t.{column} >= ?", d.time(_aware(f"{column[:-3]}_from", start)))
        if end is not None:
            add(f"t.{column} < ?", d.time(_aware(f"{column[:-3]}_to", end)))
    return where, params


def keyset_condition(sort_sql: str, descending: bool) -> str:
    return f"({sort_sql}, t.n) {'<' if descending else '>'} (?, ?)"


def order_by(sort_sql: str, descending: bool) -> str:
    direction = "DESC" if descending else "ASC"
    return f"ORDER BY {sort_sql} {direction}, t.n {direction}"


def page_sql(
    select_list: str, from_: str, where: list[str], sort_sql: str, descending: bool, joins: str
) -> str:
    """One page: sort and cut the matching ticket numbers first, then fetch and join only
    those rows (joining every match before sorting costs tens of milliseconds)."""
    direction = "DESC" if descending else "ASC"
    inner = (
        f"SELECT t.n AS n, {sort_sql} AS sort_key {from_} WHERE {' AND '.join(where) or '1=1'} "
        f"{order_by(sort_sql, descending)} LIMIT ?"
    )
    return (
        f"SELECT {select_list}, p.sort_key FROM ({inner}) p JOIN {{tickets}} t ON t.n = p.n "
        f"{joins} ORDER BY p.sort_key {direction}, p.n {direction}"
    )


COUNTER_GROUPS = "t.status, t.priority, t.department_id, t.assignee_id"


def counters_query(scope: Scope, d: Dialect, tickets: str, counts: str) -> tuple[str, list[Any]]:
    """The dashboard counters' SQL for a scope: rows of the four groups and a count `c`."""
    where, params = scope_conditions(scope, d)
    if scope.reach.participant_id is not None:  # a customer's few tickets: participants
        sql = (
            f"SELECT {COUNTER_GROUPS}, count(*) AS c FROM {tickets} t "
            f"WHERE {' AND '.join(where)} GROUP BY {COUNTER_GROUPS}"
        )
    else:  # departments and assignees are columns of the kept counts, so scopes apply
        sql = (
            f"SELECT {COUNTER_GROUPS}, t.tickets AS c FROM {counts} t "
            f"WHERE {' AND '.join(['t.tickets > 0', *where])}"
        )
    return sql, params


def counters_from(rows: Iterable[Sequence[Any]]) -> Counters:
    """Counters from (status, priority, department, assignee, count) groups: one scan of
    the scope's tickets instead of one per dimension."""
    total = 0
    dimensions: tuple[dict[Any, int], ...] = ({}, {}, {}, {})
    for *keys, count in rows:
        total += count
        for counts, key in zip(dimensions, keys, strict=True):
            counts[key] = counts.get(key, 0) + count
    return Counters(total, *dimensions)


def _uuid(field: str, value: object) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise ValidationError(field, f"{value!r} is not an id") from None


def _aware(field: str, value: datetime) -> datetime:
    checked = v.aware(field, value)
    assert checked is not None
    return checked
