"""Sign-in throttling: lockouts per address and per account, and a bounded memory."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from ledgerdesk.adapters.clock import ManualClock
from ledgerdesk.adapters.throttle import LoginThrottle
from ledgerdesk.domain.ports import SignInThrottle
from ledgerdesk.tests.support import T0

EMAIL, IP = "alice@customer.test", "203.0.113.7"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0, tick=timedelta(0))


@pytest.fixture
def throttle(clock: ManualClock) -> LoginThrottle:
    return LoginThrottle(clock)


def fail(throttle: SignInThrottle, times: int, email: str = EMAIL, ip: str = IP) -> None:
    for _ in range(times):
        throttle.failed(email, ip)


def test_five_wrong_passwords_lock_the_address_out_for_fifteen_minutes(throttle, clock):
    fail(throttle, 4)
    assert throttle.check(EMAIL, IP) is None
    fail(throttle, 1)
    assert throttle.check(EMAIL, IP) == pytest.approx(15 * 60)
    clock.advance(timedelta(minutes=10))
    assert throttle.check(EMAIL, IP) == pytest.approx(5 * 60)  # the Retry-After seconds
    clock.advance(timedelta(minutes=5))
    assert throttle.check(EMAIL, IP) is None


def test_the_lockout_is_per_address_and_ignores_the_case_of_the_email(throttle):
    fail(throttle, 5, email="Alice@Customer.TEST")
    assert throttle.check(EMAIL, IP) is not None
    assert throttle.check(EMAIL, "198.51.100.1") is None
    assert throttle.check("bob@customer.test", IP) is None


def test_failures_older_than_the_window_are_forgotten(throttle, clock):
    fail(throttle, 4)
    clock.advance(timedelta(minutes=16))
    fail(throttle, 4)
    assert throttle.check(EMAIL, IP) is None
    fail(throttle, 1)
    assert throttle.check(EMAIL, IP) is not None


def test_a_successful_sign_in_clears_the_failures_from_that_address(throttle):
    fail(throttle, 4)
    throttle.succeeded(EMAIL, IP)
    fail(throttle, 4)
    assert throttle.check(EMAIL, IP) is None


def test_guessing_one_account_from_many_addresses_locks_the_account(throttle):
    for n in range(19):
        throttle.failed(EMAIL, f"198.51.100.{n}")
    assert throttle.check(EMAIL, "192.0.2.1") is None
    throttle.failed(EMAIL, "198.51.100.200")
    assert throttle.check(EMAIL, "192.0.2.1") == pytest.approx(15 * 60)
    assert throttle.check("bob@customer.test", "198.51.100.1") is None


def test_a_success_does_not_clear_the_per_account_count(throttle):
    for n in range(19):
        throttle.failed(EMAIL, f"198.51.100.{n}")
    throttle.succeeded(EMAIL, "192.0.2.1")
    throttle.failed(EMAIL, "198.51.100.99")
    assert throttle.check(EMAIL, "192.0.2.1") is not None


def test_the_limits_window_and_lockout_are_configurable(clock):
    throttle = LoginThrottle(
        clock, max_failures=2, window=timedelta(minutes=1), lockout=timedelta(seconds=30)
    )
    fail(throttle, 2)
    assert throttle.check(EMAIL, IP) == pytest.approx(30)
    with pytest.raises(ValueError, match="at least 1"):
        LoginThrottle(clock, max_failures=0)


def test_memory_stays_bounded_and_forgets_idle_keys_first(clock):
    throttle = LoginThrottle(clock, max_keys=10)
    fail(throttle, 5)  # locked: two keys (address and account)
    clock.advance(timedelta(minutes=1))
    for n in range(20):
        throttle.failed(f"user{n}@example.com", IP)
    assert len(throttle) <= 10
    assert throttle.check(EMAIL, IP) is not None  # junk addresses do not free a locked key


def test_keys_with_nothing_left_to_remember_are_dropped_first_when_memory_fills(clock):
    throttle = LoginThrottle(clock, max_keys=10)
    for n in range(5):
        throttle.failed(f"old{n}@example.com", IP)
    assert len(throttle) == 10
    clock.advance(timedelta(minutes=20))
    throttle.failed("new@example.com", IP)
    assert len(throttle) == 2  # only the new address and its account


def test_memory_stays_bounded_even_when_every_key_is_locked(clock):
    throttle = LoginThrottle(clock, max_failures=1, max_failures_per_email=1, max_keys=10)
    for n in range(50):
        throttle.failed(f"user{n}@example.com", IP)
    assert len(throttle) <= 10
    assert throttle.check("user49@example.com", IP) is not None


def test_failures_counted_from_many_threads_are_all_counted(clock):
    throttle = LoginThrottle(clock, max_failures=400, max_failures_per_email=10_000)

    def worker() -> None:
        for _ in range(50):
            throttle.failed(EMAIL, IP)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert throttle.check(EMAIL, IP) is not None  # exactly 400 failures reached the limit
