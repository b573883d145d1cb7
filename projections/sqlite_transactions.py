"""Transactions on the SQLite file the read models share with the events.

A write takes the file's write lock first (BEGIN IMMEDIATE: a deferred transaction that reads
before writing can fail at once with SQLITE_BUSY instead of waiting). Inside one, this
thread's other views of the same file join it instead of waiting for it (a rebuild's swap
reads the log and writes two views' tables in one transaction).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eventsourcing.persistence import IntegrityError, OperationalError, PersistenceError
from eventsourcing.sqlite import SQLiteDatastore


class _OpenTransactions(threading.local):
    """The write transaction this thread has open on each SQLite file, if any."""

    def __init__(self) -> None:
        self.cursors: dict[int, Any] = {}

    def get(self, datastore: SQLiteDatastore) -> Any:
        return self.cursors.get(id(datastore))

    def put(self, datastore: SQLiteDatastore, cursor: Any) -> None:
        if cursor is None:
            self.cursors.pop(id(datastore), None)
        else:
            self.cursors[id(datastore)] = cursor


_open = _OpenTransactions()


@contextmanager
def writing(datastore: SQLiteDatastore) -> Iterator[Any]:
    """A write transaction's cursor (joining this thread's open one on the same file)."""
    joined = _open.get(datastore)
    if joined is not None:
        yield joined
        return
    with datastore.get_connection(commit=True) as connection:
        raw = connection._sqlite_conn
        raw.execute("BEGIN IMMEDIATE")
        cursor = raw.cursor()
        _open.put(datastore, cursor)
        try:
            yield cursor
            raw.commit()
        except sqlite3.Error as error:
            raw.rollback()
            raise persistence_error(error) from error
        except BaseException:
            raw.rollback()
            raise
        finally:
            _open.put(datastore, None)


@contextmanager
def reading(datastore: SQLiteDatastore) -> Iterator[Any]:
    """A read's cursor (inside this thread's open write transaction, when there is one)."""
    joined = _open.get(datastore)
    if joined is not None:
        yield joined
        return
    with datastore.transaction(commit=False) as cursor:
        yield cursor


def persistence_error(error: sqlite3.Error) -> PersistenceError:
    """The library's error classes, as the rest of the store raises them."""
    if isinstance(error, sqlite3.IntegrityError):
        return IntegrityError(str(error))
    if isinstance(error, sqlite3.OperationalError):
        return OperationalError(str(error))
    return PersistenceError(str(error))
