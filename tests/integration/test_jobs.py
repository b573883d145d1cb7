"""The job queue: manifest jobs registered on SqliteHuey and RedisHuey, run by a real consumer."""

from __future__ import annotations

import time

import pytest

from ledgerdesk.bootstrap import bootstrap
from ledgerdesk.jobs.queue import build_queue, start_embedded
from ledgerdesk.tests.conftest_helpers import REDIS_URL, need_service
from ledgerdesk.tests.support import open_ticket


def _seal_through_consumer(queue, app, timeout: float = 90.0):  # type: ignore[no-untyped-def]
    """Enqueue the seal job, let a real consumer run it, return the seal it recorded."""
    queue.tasks["seal_log"]()  # huey keeps no results of periodic tasks: watch the effect
    consumer = start_embedded(queue.huey)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = app._seal_log()
            if log is not None and log.seals:
                return log.seals[-1]
            time.sleep(0.05)
        raise AssertionError(f"the seal job did not run within {timeout} s")
    finally:
        consumer.stop(graceful=True)


def test_the_seal_job_runs_through_the_embedded_sqlite_queue(services, people, settings):
    open_ticket(services, people.alice)
    queue = build_queue(services)
    queue.huey.flush()
    sealed = _seal_through_consumer(queue, services.app)
    assert sealed["count"] > 0
    assert services.app.verify().seals_checked == 1


def test_the_seal_job_runs_through_redis(services, people, settings):
    need_service("redis", REDIS_URL)
    redis_services = bootstrap(settings.with_changes(queue_url=REDIS_URL), app=services.app)
    open_ticket(services, people.alice)
    queue = build_queue(redis_services)
    queue.huey.flush()
    sealed = _seal_through_consumer(queue, services.app)
    assert sealed["count"] > 0
    queue.huey.flush()


def test_a_second_run_of_the_seal_job_without_news_records_nothing(services, people):
    open_ticket(services, people.alice)
    queue = build_queue(services, immediate=True)
    queue.tasks["seal_log"]()
    queue.tasks["seal_log"]()
    assert len(services.app._seal_log().seals) == 1


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_a_malformed_cron_in_the_manifest_is_refused(services, monkeypatch):
    from ledgerdesk import manifest

    monkeypatch.setitem(
        manifest.MANIFEST,
        "jobs",
        [{"name": "x", "task": "ledgerdesk.jobs.tasks:seal_log", "cron": "nope"}],
    )
    with pytest.raises(ValueError, match="five-field"):
        build_queue(services, immediate=True)
