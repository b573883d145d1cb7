"""Sign-in throttling shared by every API process, in Redis (the production queue's server).

The in-memory LoginThrottle gives each process counts of its own, so `serve --workers N`
allowed N times the limits and a restart forgot them. Here the same limits (per email and
address, and higher per email alone) are kept as sorted sets of failure times in Redis, each
failure counted and the lockout decided in one script, so every process sees the same counts.
Times come from the application's Clock (as with LoginThrottle); Redis' own expiry only
removes keys once nothing in them can matter. Emails and addresses are hashed into the key
names. If Redis cannot be reached, this process counts in memory meanwhile (and says so in
its log) rather than refusing every sign-in or letting guesses through unlimited.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid
from datetime import timedelta
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from ledgerdesk.adapters.throttle import LoginThrottle
from ledgerdesk.domain.ports import Clock

log = logging.getLogger("ledgerdesk.auth")

# KEYS: per key, its failure set and its lock (pairs); ARGV: now, window, lockout, expiry
# (seconds), a unique member for this failure, then each pair's limit.
FAILED = """
local now, window = tonumber(ARGV[1]), tonumber(ARGV[2])
local lockout, expiry = tonumber(ARGV[3]), tonumber(ARGV[4])
for i = 1, #KEYS, 2 do
  local failures, lock, limit = KEYS[i], KEYS[i + 1], tonumber(ARGV[5 + (i + 1) / 2])
  redis.call('ZREMRANGEBYSCORE', failures, '-inf', now - window)
  redis.call('ZADD', failures, now, ARGV[5])
  if redis.call('ZCARD', failures) >= limit then
    redis.call('SET', lock, tostring(now + lockout), 'EX', expiry)
    redis.call('DEL', failures)
  else
    redis.call('EXPIRE', failures, expiry)
  end
end
"""


class RedisLoginThrottle:
    """LoginThrottle's limits, counted in Redis for all processes at once."""

    def __init__(
        self,
        client: redis.Redis,
        clock: Clock,
        *,
        namespace: str = "default",
        max_failures: int = 5,
        max_failures_per_email: int = 20,
        window: timedelta = timedelta(minutes=15),
        lockout: timedelta = timedelta(minutes=15),
    ) -> None:
        if min(max_failures, max_failures_per_email) < 1:
            raise ValueError("limits must be at least 1")
        self._redis = client
        self._clock = clock
        self._prefix = f"ledgerdesk:{namespace}:signin:"
        self._limits = (max_failures, max_failures_per_email)
        self._window, self._lockout = window.total_seconds(), lockout.total_seconds()
        # Redis forgets a key a minute after nothing in it can count any more.
        self._expiry = int(max(self._window, self._lockout)) + 60
        self._failed = client.register_script(FAILED)
        self._fallback = LoginThrottle(
            clock,
            max_failures=max_failures,
            max_failures_per_email=max_failures_per_email,
            window=window,
            lockout=lockout,
        )
        self._warned = float("-inf")

    @classmethod
    def connect(cls, url: str, clock: Clock, *, namespace: str) -> RedisLoginThrottle:
        """Through a client that gives up fast: a sign-in must not wait for an absent Redis
        (redis-py's default retries with backoff for seconds on every call)."""
        client = redis.Redis.from_url(
            url,
            socket_timeout=1.0,
            socket_connect_timeout=1.0,
            retry=Retry(NoBackoff(), 1),
        )
        return cls(client, clock, namespace=namespace)

    def check(self, email: str, ip: str) -> float | None:
        now = self._now()
        keys = self._keys(email, ip)
        try:
            locks = cast(list[bytes | None], self._redis.mget([keys[1], keys[3]]))
        except redis.RedisError as error:
            return self._unreachable(error).check(email, ip)
        waits = [float(until) - now for until in locks if until is not None]
        # A lockout this process decided alone while Redis was away still holds.
        waits = [wait for wait in [*waits, self._fallback.check(email, ip)] if wait and wait > 0]
        return max(waits) if waits else None

    def failed(self, email: str, ip: str) -> None:
        keys = self._keys(email, ip)
        now = self._now()
        member = f"{now}:{uuid.uuid4().hex}"
        args: list[Any] = [now, self._window, self._lockout, self._expiry, member, *self._limits]
        try:
            self._failed(keys=keys, args=args)
        except redis.RedisError as error:
            self._unreachable(error).failed(email, ip)

    def succeeded(self, email: str, ip: str) -> None:
        failures, lock = self._keys(email, ip)[:2]
        try:
            self._redis.delete(failures, lock)
        except redis.RedisError as error:
            self._unreachable(error).succeeded(email, ip)

    def close(self) -> None:
        self._redis.close()

    def _keys(self, email: str, ip: str) -> list[str]:
        """The failure set and lock of (email, address), then those of the email alone."""
        address = email.strip().lower()
        pair = hashlib.sha256(f"{address}\n{ip.strip()}".encode()).hexdigest()[:32]
        alone = hashlib.sha256(f"{address}\n".encode()).hexdigest()[:32]
        p = self._prefix
        return [f"{p}f:{pair}", f"{p}l:{pair}", f"{p}fe:{alone}", f"{p}le:{alone}"]

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _unreachable(self, error: Exception) -> LoginThrottle:
        if time.monotonic() - self._warned > 60:  # once a minute at most
            self._warned = time.monotonic()
            log.warning("sign-in throttling counts in this process alone: Redis: %s", error)
        return self._fallback
