"""Ports: the small interfaces the domain needs from the outside world."""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from datetime import datetime
from typing import Any, Protocol
from uuid import UUID


class Clock(Protocol):
    """Tells the current time (timezone-aware UTC); tests and the demo move it by hand."""

    def now(self) -> datetime: ...


IdFactory = Callable[[], UUID]
"""Makes new aggregate ids (uuid4 in production, seeded in the demo)."""


class BlobStore(Protocol):
    """Content-addressed storage for raw mail and attachments, named by sha256."""

    def put(self, data: bytes) -> str: ...

    def put_many(self, items: Sequence[bytes], *, defer_sync: bool = False) -> list[str]: ...

    def flush(self) -> None:
        """Wait until every blob written so far is on disk."""
        ...

    def get(self, digest: str) -> bytes: ...

    def exists(self, digest: str) -> bool: ...


LogRow = tuple[int, str, int, str, bytes]
"""One stored event: log position, aggregate id (hex), version, topic, stored state bytes."""


class LogReader(Protocol):
    """Reads the stored event log as plain rows, in log order, from a position."""

    def rows(self, start: int, limit: int) -> list[LogRow]: ...

    def events_of(self, ids: Sequence[UUID]) -> dict[UUID, list[Any]]:
        """Every stored event (eventsourcing StoredEvent) of many aggregates, in one read."""
        ...

    def by_aggregate(
        self, topics: Sequence[str], up_to: int, page: int
    ) -> Generator[list[LogRow], None, None]:
        """Events of these topics at or before a position, aggregate by aggregate (ids in
        order, each aggregate's events in version order), `page` rows at a time."""
        ...

    def count(self, up_to: int, topics: Sequence[str] | None = None) -> int:
        """How many events (of these topics, or all) are at or before a position."""
        ...


class ReadAhead(Protocol):
    """What a group commit reads before its commands run, in one round trip: the stored events
    of the aggregates they will likely read, and fresh ticket numbers for those they will open
    (kept by the number allocator for this thread's unit of work)."""

    def __call__(self, ids: Sequence[UUID], numbers: int) -> dict[UUID, list[Any]]: ...


class PasswordHasher(Protocol):
    """Hashes and checks passwords; the domain only ever sees the hash."""

    def hash(self, password: str) -> str: ...

    def verify(self, password_hash: str, password: str) -> bool: ...


class SignInThrottle(Protocol):
    """Counts failed sign-ins per (email, address) and per email, and locks them out."""

    def check(self, email: str, ip: str) -> float | None:
        """Seconds to wait before the next attempt (for Retry-After), or None to go ahead."""

    def failed(self, email: str, ip: str) -> None:
        """Count a wrong password; reaching a limit locks the key out."""

    def succeeded(self, email: str, ip: str) -> None:
        """Forget the failures of this email from this address (not the per-email count)."""

    def close(self) -> None:
        """Let go of any connection."""
