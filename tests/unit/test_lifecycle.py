"""The ticket lifecycle: which status may follow which, and why not when it may not."""

from __future__ import annotations

import itertools

import pytest

from ledgerdesk.domain import lifecycle
from ledgerdesk.domain.values import Status

S = Status

ALLOWED = {
    (S.NEW, S.IN_PROGRESS),
    (S.NEW, S.WAITING),
    (S.NEW, S.RESOLVED),
    (S.NEW, S.CLOSED),
    (S.IN_PROGRESS, S.WAITING),
    (S.IN_PROGRESS, S.RESOLVED),
    (S.IN_PROGRESS, S.CLOSED),
    (S.WAITING, S.IN_PROGRESS),
    (S.WAITING, S.RESOLVED),
    (S.WAITING, S.CLOSED),
    (S.RESOLVED, S.CLOSED),
    (S.RESOLVED, S.IN_PROGRESS),  # a reopen
}
ALLOWED_WHEN_CLOSED_REOPENS = ALLOWED | {(S.CLOSED, S.IN_PROGRESS)}
PAIRS = list(itertools.product(Status, Status))


def name(pair: tuple[Status, Status]) -> str:
    return f"{pair[0].value}->{pair[1].value}"


@pytest.mark.parametrize("pair", PAIRS, ids=name)
def test_exactly_the_designed_transitions_are_allowed(pair: tuple[Status, Status]) -> None:
    current, target = pair
    reason = lifecycle.refusal(current, target, reopen_closed=False)
    assert (reason is None) == (pair in ALLOWED), reason


@pytest.mark.parametrize("pair", PAIRS, ids=name)
def test_reopening_closed_tickets_allows_only_closed_to_in_progress_more(
    pair: tuple[Status, Status],
) -> None:
    current, target = pair
    reason = lifecycle.refusal(current, target, reopen_closed=True)
    assert (reason is None) == (pair in ALLOWED_WHEN_CLOSED_REOPENS), reason


@pytest.mark.parametrize("current", list(Status), ids=str)
def test_no_ticket_goes_back_to_new(current: Status) -> None:
    for reopen_closed in (False, True):
        assert lifecycle.refusal(current, S.NEW, reopen_closed=reopen_closed) is not None


@pytest.mark.parametrize("status", list(Status), ids=str)
def test_a_ticket_cannot_move_to_the_status_it_already_has(status: Status) -> None:
    reason = lifecycle.refusal(status, status, reopen_closed=True)
    assert reason == f"it is already {status.label}"


@pytest.mark.parametrize(
    "pair", [p for p in PAIRS if p not in ALLOWED_WHEN_CLOSED_REOPENS], ids=name
)
def test_every_refusal_is_a_readable_sentence(pair: tuple[Status, Status]) -> None:
    reason = lifecycle.refusal(*pair, reopen_closed=False)
    assert reason
    assert "_" not in reason  # labels, never raw values such as in_progress
    assert reason == reason.strip() and reason[0].islower()  # it follows "cannot move ...: "


def test_a_resolved_ticket_cannot_wait_on_the_customer() -> None:
    reason = lifecycle.refusal(S.RESOLVED, S.WAITING, reopen_closed=True)
    assert reason is not None and "reopened" in reason


def test_a_closed_ticket_stays_closed_unless_closed_tickets_may_reopen() -> None:
    reason = lifecycle.refusal(S.CLOSED, S.IN_PROGRESS, reopen_closed=False)
    assert reason is not None and "new linked ticket" in reason
    assert lifecycle.refusal(S.CLOSED, S.IN_PROGRESS, reopen_closed=True) is None


def test_a_closed_ticket_must_be_reopened_before_it_resolves_or_waits() -> None:
    for target in (S.WAITING, S.RESOLVED):
        reason = lifecycle.refusal(S.CLOSED, target, reopen_closed=True)
        assert reason is not None and "reopened first" in reason


@pytest.mark.parametrize("pair", PAIRS, ids=name)
def test_only_resolved_or_closed_to_in_progress_is_a_reopen(pair: tuple[Status, Status]) -> None:
    expected = pair in {(S.RESOLVED, S.IN_PROGRESS), (S.CLOSED, S.IN_PROGRESS)}
    assert lifecycle.is_reopen(*pair) == expected


def test_open_statuses_are_new_in_progress_and_waiting() -> None:
    assert frozenset({S.NEW, S.IN_PROGRESS, S.WAITING}) == lifecycle.OPEN
