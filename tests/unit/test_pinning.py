"""Which CPU each API process of `serve --workers N` runs on, and when none is picked."""

import errno
import os
from pathlib import Path
from typing import Any

import pytest

from ledgerdesk.api import cpus
from ledgerdesk.api.cpus import cpu_quota, pin_to, pinned_cpus
from ledgerdesk.api.processes import ApiProcesses


@pytest.fixture
def four_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {6, 2, 4, 3}, raising=False)
    monkeypatch.setattr(cpus, "cpu_quota", lambda: None)


@pytest.mark.usefixtures("four_cpus")
def test_as_many_processes_as_cpus_get_one_each_from_those_allowed() -> None:
    assert pinned_cpus(4) == [2, 3, 4, 6]


@pytest.mark.usefixtures("four_cpus")
def test_one_process_fewer_or_more_processes_than_cpus_are_left_to_the_scheduler() -> None:
    # Fewer would crowd onto the first CPUs while the others idle; more could not spread.
    assert [pinned_cpus(n) for n in (1, 2, 3, 5)] == [None] * 4


@pytest.mark.usefixtures("four_cpus")
def test_a_cpu_quota_below_the_cpus_seen_leaves_them_to_the_scheduler(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(cpus, "cpu_quota", lambda: 2.0)
    assert pinned_cpus(4) is None
    monkeypatch.setattr(cpus, "cpu_quota", lambda: 4.0)
    assert pinned_cpus(4) == [2, 3, 4, 6]


def test_without_affinity_calls_nothing_is_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(cpus.os, "sched_getaffinity", raising=False)
    assert pinned_cpus(2) is None


@pytest.mark.usefixtures("four_cpus")
def test_each_slot_is_started_on_its_cpu_unless_pinning_is_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    started: list[tuple[Any, ...]] = []

    class Process:
        pid = 1000

        def __init__(self, *, target: Any, args: tuple[Any, ...], name: str) -> None:
            started.append(args)

        def start(self) -> None:
            self.pid = 1000 + len(started)

    supervisor = ApiProcesses("127.0.0.1", 0, 4)
    monkeypatch.setattr(supervisor._context, "Process", Process)
    for slot in (0, 3, 1):
        supervisor._start(slot)
    # A slot started again takes its CPU among those allowed now (taskset, a new cpuset).
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {8, 9, 10, 11}, raising=False)
    supervisor._start(3)
    unpinned = ApiProcesses("127.0.0.1", 0, 4, pin=False)
    monkeypatch.setattr(unpinned._context, "Process", Process)
    unpinned._start(0)
    assert [args[-1] for args in started] == [2, 6, 3, 11, None]


class Affinity:
    """os.sched_setaffinity's calls, failing with `error` for the thread ids in `failing`."""

    def __init__(self, error: int = 0, failing: tuple[int, ...] = ()) -> None:
        self.calls: list[tuple[int, set[int]]] = []
        self.error, self.failing = error, failing

    def __call__(self, thread: int, cpus: set[int]) -> None:
        self.calls.append((thread, set(cpus)))
        if thread in self.failing:
            raise OSError(self.error, os.strerror(self.error))


def test_pinning_sets_this_thread_first_then_every_other(monkeypatch: pytest.MonkeyPatch) -> None:
    affinity = Affinity(errno.ESRCH, failing=(12,))  # thread 12 ended meanwhile
    monkeypatch.setattr(os, "sched_setaffinity", affinity)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1})
    monkeypatch.setattr(cpus, "thread_ids", lambda: [11, 12, 13])
    assert pin_to(1) is True
    assert affinity.calls == [(0, {1}), (11, {1}), (12, {1}), (13, {1})]


@pytest.mark.parametrize("error", [errno.EINVAL, errno.EPERM])
@pytest.mark.parametrize("failing", [(0,), (13,)])  # at once, or at a later thread
def test_a_process_that_may_not_pin_runs_unpinned_instead_of_failing(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    error: int,
    failing: tuple[int, ...],
) -> None:
    # EINVAL: the CPU was taken from the process since its CPUs were counted; EPERM: a
    # sandbox forbids it. Raising would end the process, and its replacement the same way.
    affinity = Affinity(error, failing=failing)
    monkeypatch.setattr(os, "sched_setaffinity", affinity)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {0, 1})
    monkeypatch.setattr(cpus, "thread_ids", lambda: [11, 13])
    assert pin_to(1) is False
    # Every thread, those already moved too, back on the CPUs the process had.
    restored = affinity.calls[affinity.calls.index((failing[0], {1})) + 1 :]
    assert restored == [(0, {0, 1}), (11, {0, 1}), (13, {0, 1})]
    assert "cannot run on CPU 1" in caplog.text


def _cgroups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, membership: str) -> Path:
    listing = tmp_path / "cgroup"
    listing.write_text(membership)

    def fake_open(path: Any, *args: Any, **kwargs: Any) -> Any:
        return open(listing if path == "/proc/self/cgroup" else path, *args, **kwargs)

    monkeypatch.setattr(cpus, "open", fake_open, raising=False)  # its `open` alone
    return tmp_path / "fs"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_cpu_quota_of_a_v2_control_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _cgroups(tmp_path, monkeypatch, "0::/app.slice/serve\n")
    assert cpu_quota(str(root)) is None  # nothing to read
    _write(root / "app.slice/serve/cpu.max", "150000 100000\n")
    assert cpu_quota(str(root)) == 1.5
    _write(root / "app.slice/serve/cpu.max", "max 100000\n")
    assert cpu_quota(str(root)) is None


def test_a_quota_on_an_ancestor_group_counts_and_the_smallest_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _cgroups(tmp_path, monkeypatch, "0::/limited.slice/app.service\n")
    _write(root / "limited.slice/app.service/cpu.max", "max 100000\n")
    _write(root / "limited.slice/cpu.max", "300000 100000\n")
    assert cpu_quota(str(root)) == 3.0
    _write(root / "limited.slice/app.service/cpu.max", "120000 100000\n")
    assert cpu_quota(str(root)) == 1.2


def test_the_cpu_quota_of_a_container_that_sees_its_group_at_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _cgroups(tmp_path, monkeypatch, "0::/docker/abc123/init\n")
    _write(root / "cpu.max", "200000 100000\n")
    assert cpu_quota(str(root)) == 2.0


def test_the_cpu_quota_of_a_v1_control_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = _cgroups(tmp_path, monkeypatch, "5:cpuset:/\n4:cpu,cpuacct:/docker/abc\n0::/\n")
    _write(root / "cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "50000\n")
    _write(root / "cpu,cpuacct/docker/abc/cpu.cfs_period_us", "100000\n")
    assert cpu_quota(str(root)) == 0.5
    _write(root / "cpu,cpuacct/docker/abc/cpu.cfs_quota_us", "-1\n")
    assert cpu_quota(str(root)) is None
    # A pod's limit above a container without one (Kubernetes).
    _write(root / "cpu,cpuacct/docker/cpu.cfs_quota_us", "200000\n")
    _write(root / "cpu,cpuacct/docker/cpu.cfs_period_us", "100000\n")
    assert cpu_quota(str(root)) == 2.0
