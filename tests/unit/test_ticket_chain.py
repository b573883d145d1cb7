"""A ticket's events: who caused each, the hash chain linking them, and replaying them."""

from __future__ import annotations

import itertools

from ledgerdesk.domain.chain import GENESIS, event_digest
from ledgerdesk.tests.unit.tickets import AGENT, CUSTOMER, SYSTEM, kinds, opened, worked

# actors and links -----------------------------------------------------------------------------


def test_every_event_names_its_actor_and_time() -> None:
    ticket = worked()
    assert kinds(ticket) == [
        "Opened",
        "MessageAdded",
        "Assigned",
        "MessageAdded",
        "StatusChanged",
        "MessageAdded",
        "Tagged",
        "Untagged",
        "PriorityChanged",
        "DueDateSet",
        "StatusChanged",
        "MessageAdded",
        "StatusChanged",
        "StatusChanged",
        "MessageAdded",
        "Reopened",
        "StatusChanged",
    ]
    events = ticket.pending_events
    assert all(e.actor in (SYSTEM, AGENT, CUSTOMER, "system:sla") for e in events)
    assert events[0].actor == SYSTEM and events[-1].actor == AGENT
    assert all(e.timestamp.tzinfo is not None for e in events)


def test_every_event_links_to_the_digest_of_the_one_before() -> None:
    events = worked().pending_events
    assert events[0].prev_hash == GENESIS == ""
    for before, event in itertools.pairwise(events):
        assert event.prev_hash == event_digest(before)


def test_the_chain_head_is_the_digest_of_the_last_event() -> None:
    ticket = worked()
    assert ticket.chain_head == event_digest(ticket.pending_events[-1])
    assert len(ticket.chain_head) == 64


def test_replaying_the_events_rebuilds_the_same_ticket_and_chain_head() -> None:
    ticket = worked()
    events = ticket.collect_events()
    replayed = events[0].mutate(None)
    for event in events[1:]:
        replayed = event.mutate(replayed)
    assert replayed == ticket
    assert replayed.chain_head == ticket.chain_head
    assert (replayed.status, replayed.reopen_count, replayed.tags) == ("closed", 1, ["urgent-ish"])


def test_two_tickets_opened_alike_have_different_chains() -> None:
    first, second = opened("T-1"), opened("T-2")
    assert first.chain_head != second.chain_head
