"""Which CPU each API process of `serve --workers N` runs on (Linux), and pinning it there.

Why and when (measured figures): docs/deploy.md, "More than one API process".
"""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import PurePosixPath

from ledgerdesk.utils import thread_ids

log = logging.getLogger("ledgerdesk.serve")


def pinned_cpus(count: int) -> list[int] | None:
    """The CPU for each of `count` API processes, or None to leave them to the scheduler.
    Pinned only in the shape measured: as many processes (two or more) as the CPUs this
    process may use, and no CPU quota below that."""
    if not hasattr(os, "sched_getaffinity"):
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if count < 2 or count != len(cpus):
        return None
    quota = cpu_quota()
    if quota is not None and quota < len(cpus):
        return None
    return cpus


def cpu_quota(root: str = "/sys/fs/cgroup") -> float | None:
    """The smallest CPU quota (in CPUs) on this process's control group and its ancestors,
    or None: none set, or none readable. cgroup v2's `cpu.max`, v1's `cpu.cfs_quota_us`."""
    try:
        with open("/proc/self/cgroup") as file:
            lines = [line.rstrip("\n").split(":", 2) for line in file]
    except OSError:
        return None
    quotas = []
    for _, controllers, path in (line for line in lines if len(line) == 3):
        if not controllers:  # v2, "0::/path": "quota period" or "max period"
            mount = root
        elif "cpu" in controllers.split(","):  # v1, "4:cpu,cpuacct:/path": quota -1 is none
            mount = f"{root}/{controllers}"
        else:
            continue
        for folder in _up_from(mount, path):
            quota = _quota_in(folder, v2=not controllers)
            if quota is not None:
                quotas.append(quota)
    return min(quotas, default=None)


def _up_from(mount: str, path: str) -> list[str]:
    """The group's folder and each ancestor's up to the mount's root. A container in its own
    cgroup namespace sees its group at the root while /proc may name a deeper path: the
    missing folders are skipped and the root is read anyway."""
    here = PurePosixPath(path)
    groups = [here, *here.parents] if here.is_absolute() else [PurePosixPath("/")]
    return [f"{mount}{group}".rstrip("/") or "/" for group in groups]


def _quota_in(folder: str, *, v2: bool) -> float | None:
    try:
        if v2:
            with open(f"{folder}/cpu.max") as file:
                quota, period = file.read().split()[:2]
        else:
            with open(f"{folder}/cpu.cfs_quota_us") as file:
                quota = file.read().strip()
            with open(f"{folder}/cpu.cfs_period_us") as file:
                period = file.read().strip()
        if quota in ("max", "-1"):
            return None
        return int(quota) / int(period)
    except (OSError, ValueError):
        return None


def pin_to(cpu: int) -> bool:
    """Run this process, every thread it has and will start, on one CPU (Linux keeps the
    affinity per thread; a new thread inherits its creator's). False, with a warning, if it
    may not (the CPU taken away since it was counted, a sandbox): the process then runs on
    the CPUs it had, rather than failing and being restarted into the same failure."""
    before = os.sched_getaffinity(0)
    try:
        os.sched_setaffinity(0, {cpu})  # this thread first: those it starts inherit it
        for thread_id in thread_ids():
            with contextlib.suppress(ProcessLookupError):  # a thread that ended meanwhile
                os.sched_setaffinity(thread_id, {cpu})
    except OSError as error:
        log.warning("cannot run on CPU %s (%s); running on any of %s", cpu, error, before)
        for thread_id in [0, *thread_ids()]:
            with contextlib.suppress(OSError):
                os.sched_setaffinity(thread_id, before)
        return False
    return True
