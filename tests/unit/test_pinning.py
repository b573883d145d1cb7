"""Which CPU each API process of `serve --workers N` runs on."""

import os

import pytest

from ledgerdesk.api import processes
from ledgerdesk.api.processes import ApiProcesses, pinned_cpus


@pytest.fixture
def four_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "sched_getaffinity", lambda _: {6, 2, 4, 3}, raising=False)


@pytest.mark.usefixtures("four_cpus")
def test_each_process_gets_a_cpu_of_its_own_from_those_allowed() -> None:
    assert pinned_cpus(2) == [2, 3]
    assert pinned_cpus(4) == [2, 3, 4, 6]


@pytest.mark.usefixtures("four_cpus")
def test_one_process_or_more_processes_than_cpus_are_left_to_the_scheduler() -> None:
    assert pinned_cpus(1) is None
    assert pinned_cpus(5) is None


@pytest.mark.usefixtures("four_cpus")
def test_pinning_can_be_turned_off() -> None:
    assert ApiProcesses("127.0.0.1", 0, 2).cpus == [2, 3]
    assert ApiProcesses("127.0.0.1", 0, 2, pin=False).cpus is None


def test_without_affinity_calls_nothing_is_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(processes.os, "sched_getaffinity", raising=False)
    assert pinned_cpus(2) is None
