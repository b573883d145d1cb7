"""The huey queue: SqliteHuey under the data directory by default, RedisHuey with QUEUE_URL."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey, crontab
from huey.api import TaskWrapper
from huey.consumer import Consumer

from ledgerdesk.bootstrap import Services
from ledgerdesk.manifest import MANIFEST
from ledgerdesk.utils import resolve

log = logging.getLogger("ledgerdesk.jobs")


def parse_cron(expression: str) -> Callable[[Any], bool]:
    """A five-field cron expression (minute hour day month weekday) as a huey schedule."""
    fields = expression.split()
    if len(fields) != 5:
        raise ValueError(f"{expression!r} is not a five-field cron expression")
    minute, hour, day, month, day_of_week = fields
    return crontab(minute=minute, hour=hour, day=day, month=month, day_of_week=day_of_week)


@dataclass
class Queue:
    huey: Huey
    tasks: dict[str, TaskWrapper]  # by job name, for enqueueing by hand


def build_queue(services: Services, *, immediate: bool = False) -> Queue:
    """A huey instance with every job of the manifest registered against these services."""
    settings = services.settings
    if settings.queue_url:
        huey: Huey = RedisHuey("ledgerdesk", url=settings.queue_url, immediate=immediate)
    else:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        huey = SqliteHuey(
            "ledgerdesk", filename=str(settings.data_dir / "queue.sqlite3"), immediate=immediate
        )
    tasks = {}
    jobs: list[dict[str, str]] = MANIFEST["jobs"]
    for job in jobs:
        function = _bound(resolve(job["task"]), services, job["name"])
        tasks[job["name"]] = huey.periodic_task(parse_cron(job["cron"]), name=job["name"])(function)
    return Queue(huey, tasks)


def _bound(function: Callable[[Services], Any], services: Services, name: str) -> Callable[[], Any]:
    """The job function with its services, under the job's own name (huey keys tasks by name)."""

    def job() -> Any:
        return function(services)

    job.__name__ = job.__qualname__ = name
    job.__module__ = "ledgerdesk.jobs"
    return job


class EmbeddedConsumer(Consumer):
    """A consumer that runs beside the web server: threads only, no signal handlers of its own."""

    def _set_signal_handlers(self) -> None:
        pass


def start_embedded(huey: Huey) -> EmbeddedConsumer:
    consumer = EmbeddedConsumer(huey, workers=2, worker_type="thread", periodic=True)
    consumer.start()
    return consumer
