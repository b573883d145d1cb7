"""The ticket lifecycle: New -> In Progress -> Resolved -> Closed, plus Waiting and reopen."""

from __future__ import annotations

from ledgerdesk.domain.values import Status

S = Status

# target -> the statuses it may be reached from, with the reason shown when it may not.
ALLOWED: dict[Status, frozenset[Status]] = {
    S.NEW: frozenset(),
    S.IN_PROGRESS: frozenset({S.NEW, S.WAITING}),
    S.WAITING: frozenset({S.NEW, S.IN_PROGRESS}),
    S.RESOLVED: frozenset({S.NEW, S.IN_PROGRESS, S.WAITING}),
    S.CLOSED: frozenset({S.NEW, S.IN_PROGRESS, S.WAITING, S.RESOLVED}),
}
REOPENABLE = frozenset({S.RESOLVED, S.CLOSED})
OPEN = frozenset({S.NEW, S.IN_PROGRESS, S.WAITING})


def refusal(current: Status, target: Status, *, reopen_closed: bool) -> str | None:
    """Why a ticket in `current` may not move to `target`, or None when it may."""
    if current == target:
        return f"it is already {current.label}"
    if target == S.NEW:
        return "a ticket is New only until someone works on it; reopen it instead"
    if target == S.IN_PROGRESS and current in REOPENABLE:
        if current == S.CLOSED and not reopen_closed:
            return "closed tickets stay closed here; open a new linked ticket instead"
        return None  # a reopen
    if current == S.CLOSED:
        return "a closed ticket must be reopened first"
    if current == S.RESOLVED and target == S.WAITING:
        return "a resolved ticket must be reopened before it can wait on the customer"
    if current not in ALLOWED[target]:
        return f"{target.label} is not reachable from {current.label}"
    return None


def is_reopen(current: Status, target: Status) -> bool:
    return current in REOPENABLE and target == S.IN_PROGRESS
