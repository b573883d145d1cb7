"""Sign-in throttling in Redis: the in-memory throttle's limits, shared by every process."""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
import redis

from ledgerdesk.adapters.clock import ManualClock
from ledgerdesk.adapters.redis_throttle import RedisLoginThrottle
from ledgerdesk.adapters.throttle import LoginThrottle
from ledgerdesk.bootstrap import bootstrap
from ledgerdesk.tests.conftest_helpers import REDIS_URL, need_service
from ledgerdesk.tests.support import T0

# The same behaviour as the in-memory throttle's, run here against Redis.
from ledgerdesk.tests.unit.test_throttle import (  # noqa: F401 - collected here too
    EMAIL,
    IP,
    fail,
    test_a_success_does_not_clear_the_per_account_count,
    test_a_successful_sign_in_clears_the_failures_from_that_address,
    test_failures_older_than_the_window_are_forgotten,
    test_five_wrong_passwords_lock_the_address_out_for_fifteen_minutes,
    test_guessing_one_account_from_many_addresses_locks_the_account,
    test_the_lockout_is_per_address_and_ignores_the_case_of_the_email,
)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0, tick=timedelta(0))


@pytest.fixture
def namespace() -> Iterator[str]:
    need_service("redis", REDIS_URL)
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"ledgerdesk:{name}:*"):
        client.delete(key)
    client.close()


@pytest.fixture
def throttle(clock: ManualClock, namespace: str) -> Iterator[RedisLoginThrottle]:
    shared = RedisLoginThrottle(redis.Redis.from_url(REDIS_URL), clock, namespace=namespace)
    yield shared
    shared.close()


def test_every_process_counts_the_same_failures(throttle, clock, namespace):
    other = RedisLoginThrottle(redis.Redis.from_url(REDIS_URL), clock, namespace=namespace)
    try:
        fail(throttle, 3)
        fail(other, 1)
        assert throttle.check(EMAIL, IP) is None and other.check(EMAIL, IP) is None
        fail(other, 1)  # the fifth, counted in another process
        assert throttle.check(EMAIL, IP) == pytest.approx(15 * 60)
        assert other.check(EMAIL, IP) == pytest.approx(15 * 60)
        clock.advance(timedelta(minutes=15))
        assert throttle.check(EMAIL, IP) is None
        fail(throttle, 4)
        other.succeeded(EMAIL, IP)
        fail(throttle, 4)
        assert throttle.check(EMAIL, IP) is None  # cleared for both by one success
    finally:
        other.close()


def test_desks_sharing_a_redis_keep_their_counts_apart(throttle, clock, namespace):
    elsewhere = RedisLoginThrottle(
        redis.Redis.from_url(REDIS_URL), clock, namespace=f"{namespace}-other"
    )
    try:
        fail(throttle, 5)
        assert throttle.check(EMAIL, IP) is not None
        assert elsewhere.check(EMAIL, IP) is None
    finally:
        elsewhere.close()


def test_redis_keeps_no_email_or_address_in_its_key_names(throttle, namespace):
    fail(throttle, 5)
    client = redis.Redis.from_url(REDIS_URL)
    keys = [key.decode() for key in client.scan_iter(f"ledgerdesk:{namespace}:*")]
    client.close()
    assert keys and not any("alice" in key or IP in key for key in keys)


def test_without_redis_a_process_counts_alone_at_once_and_says_so(clock, caplog):
    throttle = RedisLoginThrottle.connect("redis://127.0.0.1:1/0", clock, namespace="none")
    with caplog.at_level(logging.WARNING, logger="ledgerdesk.auth"):
        fail(throttle, 4)
        assert throttle.check(EMAIL, IP) is None
        fail(throttle, 1)
        assert throttle.check(EMAIL, IP) == pytest.approx(15 * 60)
    assert "counts in this process alone" in caplog.text
    assert caplog.text.count("counts in this process alone") == 1  # not once per attempt
    started = time.monotonic()
    throttle.check(EMAIL, IP)
    assert time.monotonic() - started < 0.5  # no retrying with backoff for seconds


def test_a_redis_queue_makes_bootstrap_share_the_counts(settings, services):
    need_service("redis", REDIS_URL)
    assert isinstance(services.throttle, LoginThrottle)  # the embedded default
    shared = bootstrap(settings.with_changes(queue_url=REDIS_URL), app=services.app)
    try:
        assert isinstance(shared.throttle, RedisLoginThrottle)
    finally:
        shared.throttle.close()


def test_a_lockout_decided_while_redis_was_away_holds_once_it_is_back(throttle, clock):
    away = RedisLoginThrottle.connect("redis://127.0.0.1:1/0", clock, namespace="none")
    throttle._fallback = away._fallback  # the same process: its memory, then Redis again
    fail(away, 5)
    assert throttle.check(EMAIL, IP) == pytest.approx(15 * 60)
    clock.advance(timedelta(minutes=15))
    assert throttle.check(EMAIL, IP) is None
