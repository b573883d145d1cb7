"""`ledgerdesk worker` runs at the lowest CPU priority unless told otherwise (Linux)."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from ledgerdesk.tests.e2e.shell import Ledgerdesk
from ledgerdesk.utils import stop_process

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="threads' niceness: /proc")


def niceness_of_threads(pid: int) -> dict[int, int]:
    found = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[int(task.name)] = int(fields[16])  # field 19 of stat: nice
    return found


def running(ledgerdesk: Ledgerdesk, tmp_path: Path, *args: str) -> dict[int, int]:
    """The niceness of each thread of a worker once it consumes its queue."""
    log = tmp_path / "worker.log"
    worker = ledgerdesk.popen("worker", *args, log=log)
    try:
        deadline = time.monotonic() + 60
        while "consuming the" not in log.read_text():
            assert worker.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        time.sleep(0.5)  # the consumer's threads start
        return niceness_of_threads(worker.pid)
    finally:
        stop_process(worker, 30)


def test_the_worker_and_every_thread_it_starts_yield_the_cpu(ledgerdesk, tmp_path):
    threads = running(ledgerdesk, tmp_path)
    assert len(threads) > 3  # the outbox, the dispatcher, the consumer's workers, …
    assert set(threads.values()) == {19}, threads


def test_niceness_zero_leaves_the_worker_as_it_was_started(ledgerdesk, tmp_path):
    threads = running(ledgerdesk, tmp_path, "--niceness", "0")
    assert set(threads.values()) == {os.getpriority(os.PRIO_PROCESS, 0)}, threads  # as ours
