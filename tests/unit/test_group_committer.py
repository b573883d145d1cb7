"""The request-level group committer: one batch for what waits together, errors kept apart."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any
from uuid import uuid4

import pytest

from ledgerdesk.api.committer import GroupCommitter
from ledgerdesk.domain.errors import DomainError, ValidationError


class FakeApp:
    """Runs a batch like `Core.batch`: domain errors in the results, a position per save."""

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.reads: list[list[Any]] = []
        self.last_position: int | None = None
        self.gate = threading.Event()
        self.entered = threading.Event()

    def batch(
        self, commands: Sequence[Callable[[], Any]], numbers: int = 0, reads: Sequence[Any] = ()
    ) -> list[Any]:
        self.entered.set()
        self.reads.append(list(reads))
        self.gate.wait(5)
        results: list[Any] = []
        for command in commands:
            try:
                results.append(command())
            except DomainError as error:
                results.append(error)
        self.batches.append(len(commands))
        if any(not isinstance(r, DomainError) for r in results):
            self.last_position = (self.last_position or 0) + len(commands)
        return results


def refused() -> Any:
    raise ValidationError("priority", "must be one of low, normal, high, urgent")


def broken() -> Any:
    raise KeyError("a bug")


def test_commands_waiting_together_are_saved_in_one_batch_each_with_its_own_result():
    app = FakeApp()
    committer = GroupCommitter(app)
    first = committer.submit(lambda: "warm")  # holds the committer at the gate
    assert app.entered.wait(5)
    futures = [committer.submit(partial(int, i)) for i in range(10)]
    app.gate.set()
    assert first.result(5).value == "warm"
    assert [f.result(5).value for f in futures] == list(range(10))
    assert app.batches == [1, 10]
    assert futures[0].result().position == app.last_position
    committer.stop()


def test_a_batch_reads_ahead_what_its_commands_said_they_would_read():
    app = FakeApp()
    committer = GroupCommitter(app)
    ids = [uuid4() for _ in range(4)]
    first = committer.submit(lambda: "warm", reads=ids[:1])
    assert app.entered.wait(5)
    futures = [committer.submit(partial(int, i), reads=[ids[i + 1]]) for i in range(3)]
    futures.append(committer.submit(partial(int, 3)))
    app.gate.set()
    assert [f.result(5).value for f in [first, *futures]] == ["warm", 0, 1, 2, 3]
    assert app.reads == [ids[:1], ids[1:]]
    committer.stop()


def test_a_refused_command_gets_its_domain_error_and_the_others_are_saved():
    app = FakeApp()
    committer = GroupCommitter(app)
    futures = [committer.submit(lambda: "a"), committer.submit(refused)]
    app.gate.set()
    assert futures[0].result(5).value == "a"
    with pytest.raises(ValidationError):
        futures[1].result(5)
    committer.stop()


def test_a_broken_command_fails_alone_when_its_batch_is_rerun_one_by_one():
    app = FakeApp()
    committer = GroupCommitter(app)
    hold = committer.submit(lambda: "warm")
    assert app.entered.wait(5)
    futures = [
        committer.submit(lambda: "a"),
        committer.submit(broken),
        committer.submit(lambda: "b"),
    ]
    app.gate.set()
    hold.result(5)
    assert futures[0].result(5).value == "a"
    assert futures[2].result(5).value == "b"
    with pytest.raises(KeyError):
        futures[1].result(5)
    committer.stop()


def test_nothing_saved_means_no_position_to_wait_for():
    app = FakeApp()
    committer = GroupCommitter(app)
    app.gate.set()
    with pytest.raises(ValidationError):
        committer.run(refused)
    assert committer.run(lambda: 1).position == 1
    committer.stop()
    with pytest.raises(RuntimeError):
        committer.submit(lambda: 2)
