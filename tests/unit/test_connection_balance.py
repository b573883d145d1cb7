"""How API processes even out their connections (`serve --workers N`): the arithmetic."""

from __future__ import annotations

from ledgerdesk.api.processes import ConnectionBalance


def taken(balance: ConnectionBalance) -> int:
    n = 0
    while balance.take():
        n += 1
    return n


def test_a_process_over_its_share_closes_the_difference_one_answer_at_a_time():
    counts = [0, 5]
    balance = ConnectionBalance(counts, slot=0)
    balance.publish(11)
    assert counts == [11, 5]
    assert taken(balance) == 3  # 16 over two: 8 each
    counts[1] = 8  # their clients connected again, and the kernel placed them in the other
    balance.publish(8)
    assert taken(balance) == 0


def test_counts_one_apart_are_even_and_an_odd_total_rounds_up():
    assert taken(_published([0, 8], 9)) == 0
    assert taken(_published([0, 5, 5], 7)) == 1  # 17 over three: at most 6 each
    assert taken(_published([0, 7], 7)) == 0


def test_a_process_not_running_takes_no_share():
    assert taken(_published([0, -1], 16)) == 0  # alone, it keeps them all
    assert taken(_published([0, -1, 4], 12)) == 4


def _published(counts: list[int], mine: int) -> ConnectionBalance:
    balance = ConnectionBalance(counts, slot=0)
    balance.publish(mine)
    return balance


def test_three_processes_even_out_to_one_apart():
    assert taken(_published([0, 6, 4], 6)) == 1  # 16 over three: 6, 5, 5


def test_a_connection_picked_to_close_is_not_picked_again_while_its_answer_is_slow():
    counts = [0, 5]
    balance = ConnectionBalance(counts, slot=0)
    balance.publish(7)
    assert balance.take() and not balance.take()
    balance.publish(7)  # the picked one is still open: its request is still running
    assert counts == [6, 5] and not balance.take()
    balance.closed()
    balance.publish(6)  # gone; its client is now in the other process
    counts[1] = 6
    balance.publish(6)
    assert not balance.take()
