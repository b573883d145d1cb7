"""The open loop of `make bench`'s HTTP run: when each client's requests are due."""

import itertools

import pytest

from ledgerdesk.bench.api import Pace


def test_the_clients_share_the_rate_evenly_one_due_time_each() -> None:
    clients, rate, origin = 16, 400.0, 100.0
    paces = [Pace(rate, origin, clients, i) for i in range(clients)]
    due = sorted(pace.due(n) for pace in paces for n in range(1, 51))
    assert len(due) == len(set(due)) == 800
    assert due[0] == origin
    gaps = {round(later - earlier, 9) for earlier, later in itertools.pairwise(due)}
    assert gaps == {round(1 / rate, 9)}  # 2.5 ms apart: 400 a second over all clients
    # Each client: one every 40 ms.
    assert paces[3].due(2) - paces[3].due(1) == pytest.approx(clients / rate)
