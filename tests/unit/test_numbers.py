"""Ticket numbers: the allocator seeds itself from the store, then counts on under a lock."""

from __future__ import annotations

import random
import threading

import pytest

from ledgerdesk.domain.application.numbers import NumberAllocator


class FakeStore:
    """The numbers some writer already saved, and how often the allocator asked."""

    def __init__(self, taken: set[int] | None = None) -> None:
        self.taken = set(taken or ())
        self.lookups = 0

    def exists(self, number: int) -> bool:
        self.lookups += 1
        return number in self.taken


def test_the_first_ticket_is_number_one() -> None:
    assert NumberAllocator(FakeStore().exists).allocate() == 1


@pytest.mark.parametrize("highest", [1, 2, 3, 7, 8, 9, 64, 100, 1023, 1024, 1025])
def test_after_numbers_one_to_n_the_next_is_n_plus_one(highest: int) -> None:
    store = FakeStore(set(range(1, highest + 1)))
    assert NumberAllocator(store.exists).allocate() == highest + 1


def test_finding_the_highest_number_takes_a_logarithmic_number_of_lookups() -> None:
    store = FakeStore(set(range(1, 1_000_001)))
    assert NumberAllocator(store.exists).highest_taken() == 1_000_000
    assert store.lookups <= 2 * 20 + 2


@pytest.mark.parametrize("seed", range(40))
def test_with_gaps_it_finds_a_taken_number_followed_by_a_free_one(seed: int) -> None:
    rng = random.Random(seed)
    taken = {n for n in range(1, rng.randint(1, 500)) if rng.random() < 0.8}
    store = FakeStore(taken)
    highest = NumberAllocator(store.exists).highest_taken()
    if highest == 0:
        assert 1 not in taken
    else:
        assert highest in taken and highest + 1 not in taken
    assert NumberAllocator(store.exists).allocate() not in taken


def test_a_free_number_one_starts_the_count_even_if_later_numbers_are_taken() -> None:
    assert NumberAllocator(FakeStore({2, 3, 10}).exists).allocate() == 1


def test_allocations_count_on_without_asking_the_store_again() -> None:
    store = FakeStore({1, 2, 3})
    allocator = NumberAllocator(store.exists)
    assert allocator.allocate() == 4
    lookups = store.lookups
    assert [allocator.allocate() for _ in range(3)] == [5, 6, 7]
    assert store.lookups == lookups


def test_resync_reads_the_store_again() -> None:
    store = FakeStore()
    allocator = NumberAllocator(store.exists)
    assert allocator.allocate() == 1
    store.taken |= set(range(1, 11))  # another process saved tickets 1 to 10
    assert allocator.allocate() == 2  # still counting from its own seed
    allocator.resync()
    assert allocator.allocate() == 11
    assert allocator.allocate() == 12


def test_concurrent_allocations_are_unique_and_increasing() -> None:
    allocator = NumberAllocator(FakeStore().exists)
    start = threading.Barrier(10)
    drawn: list[list[int]] = [[] for _ in range(10)]

    def draw(mine: list[int]) -> None:
        start.wait()
        for _ in range(100):
            mine.append(allocator.allocate())

    threads = [threading.Thread(target=draw, args=(mine,)) for mine in drawn]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    every = [n for mine in drawn for n in mine]
    assert sorted(every) == list(range(1, 1001))
    assert all(mine == sorted(mine) and len(mine) == 100 for mine in drawn)
