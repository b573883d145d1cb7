"""Sign-in throttling: too many wrong passwords lock an address out for a while.

Failures are counted per (email, IP) and, with a higher limit, per email alone (against
guessing one account's password from many addresses). The counts live in this process's
memory: each API process keeps its own, and a restart forgets them. That is the embedded
default's (one API process); with a Redis queue the counts are shared by every process
(adapters/redis_throttle.py), and this one counts in their stead while Redis is unreachable.
"""

from __future__ import annotations

import threading
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from datetime import timedelta

from ledgerdesk.domain.ports import Clock

Key = tuple[str, str]  # (email, ip), or (email, EMAIL_ONLY) for the per-email count
EMAIL_ONLY = "\x00email"  # not an IP address, so the per-email key never meets a pair key


@dataclass
class _Record:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class LoginThrottle:
    """Counts failed sign-ins in memory, per process; thread-safe and bounded in size."""

    def __init__(
        self,
        clock: Clock,
        *,
        max_failures: int = 5,
        max_failures_per_email: int = 20,
        window: timedelta = timedelta(minutes=15),
        lockout: timedelta = timedelta(minutes=15),
        max_keys: int = 10_000,
    ) -> None:
        if min(max_failures, max_failures_per_email, max_keys) < 1:
            raise ValueError("limits must be at least 1")
        self._clock = clock
        self._limits = {False: max_failures, True: max_failures_per_email}
        self._window = window.total_seconds()
        self._lockout = lockout.total_seconds()
        self._max_keys = max_keys
        self._records: OrderedDict[Key, _Record] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    def check(self, email: str, ip: str) -> float | None:
        """Seconds to wait before the next attempt (for Retry-After), or None to go ahead."""
        now = self._now()
        with self._lock:
            waits = [
                record.locked_until - now
                for key in self._keys(email, ip)
                if (record := self._records.get(key)) is not None and record.locked_until > now
            ]
        return max(waits) if waits else None

    def failed(self, email: str, ip: str) -> None:
        """Count a wrong password; reaching a limit locks the key out."""
        now = self._now()
        with self._lock:
            for key in self._keys(email, ip):
                record = self._records.pop(key, None) or _Record()
                self._records[key] = record  # now the most recently used
                failures = record.failures
                while failures and failures[0] <= now - self._window:
                    failures.popleft()
                failures.append(now)
                if len(failures) >= self._limits[key[1] == EMAIL_ONLY]:
                    record.locked_until = now + self._lockout
                    failures.clear()
            if len(self._records) > self._max_keys:
                self._shrink(now)

    def succeeded(self, email: str, ip: str) -> None:
        """Forget the failures of this email from this address.

        The per-email count stays: a success from one address says nothing about guesses
        from others.
        """
        with self._lock:
            self._records.pop(self._keys(email, ip)[0], None)

    def close(self) -> None:
        """Nothing to let go of: the counts are this process's memory."""

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    def _keys(self, email: str, ip: str) -> tuple[Key, Key]:
        address = email.strip().lower()
        return (address, ip.strip()), (address, EMAIL_ONLY)

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _shrink(self, now: float) -> None:
        # Down to 90%, so the sweep is not run on every failure. First forget keys that hold
        # nothing any more, then the least recently used that are not locked out (flooding the
        # table with junk addresses must not free a locked key), then, if need be, any.
        for key in [k for k, r in self._records.items() if self._stale(r, now)]:
            del self._records[key]
        excess = len(self._records) - self._max_keys * 9 // 10
        if excess <= 0:
            return
        unlocked = [k for k, r in self._records.items() if r.locked_until <= now][:excess]
        for key in unlocked:
            del self._records[key]
        while len(self._records) > self._max_keys * 9 // 10:
            self._records.popitem(last=False)

    def _stale(self, record: _Record, now: float) -> bool:
        recent = record.failures and record.failures[-1] > now - self._window
        return record.locked_until <= now and not recent
