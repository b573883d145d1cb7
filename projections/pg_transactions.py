"""A PostgreSQL transaction sent to the server in one round trip (psycopg's pipeline mode).

Under load each round trip waits for the server, and then the client, to be scheduled, which
costs more than a short statement. psycopg's `conn.transaction()` inside a pipeline syncs
after BEGIN and again after COMMIT (four round trips for BEGIN, statements, COMMIT); here
BEGIN, the statements and COMMIT are plain statements of one pipeline, synced once. The
statements cannot read each other's results in Python (a result read syncs early): what must be
checked is checked in SQL, failing the statement, which fails the transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def one_round_trip(conn: Any) -> Iterator[Any]:
    """A cursor whose statements, between BEGIN and COMMIT, reach the server together when the
    block ends. If one fails (raised on leaving the block), the server skips the rest and the
    transaction is rolled back (one more round trip, on failures only); so is one the block
    leaves by an exception."""
    try:
        with conn.pipeline():
            cursor = conn.cursor()
            cursor.execute("BEGIN")
            yield cursor
            cursor.execute("COMMIT")
    except BaseException:
        if conn.info.transaction_status != 0:  # not IDLE: INTRANS or INERROR
            conn.rollback()
        raise
