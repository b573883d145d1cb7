"""Reactions: who is told what about a ticket's events. Pure: tickets in memory, no I/O."""

from __future__ import annotations

from uuid import uuid4

import pytest

from ledgerdesk.domain.outgoing import KINDS, Recipient
from ledgerdesk.domain.values import MessageKind, Status
from ledgerdesk.policies import reactions
from ledgerdesk.policies.reactions import CONTEXT_KEYS, REACTIONS, react, react_to
from ledgerdesk.tests.unit.notify.builders import (
    AGENT,
    CC,
    OTHER_AGENT,
    REQUESTER,
    SUPPORT,
    actor,
    decided,
    move,
    opened,
    say,
    so_far,
    users,
)

# a new ticket -------------------------------------------------------------------------------


def test_a_ticket_opened_by_mail_is_acknowledged_to_its_requester_with_its_number() -> None:
    [intent] = decided(opened(channel="email"))
    assert intent.kind == "ticket_opened" and intent.ticket == "T-12"
    assert users(intent) == [REQUESTER] and intent.automatic
    assert intent.context["number"] == "T-12" and intent.context["subject"] == "Printer on fire"


def test_the_acknowledgement_quotes_the_opening_message() -> None:
    [intent] = decided(opened(text="The printer smokes.\nUnplug it?"))
    assert intent.context["text"] == "The printer smokes.\nUnplug it?"


@pytest.mark.parametrize("channel", ["phone", "api", "cli", "portal"])
def test_a_ticket_staff_open_for_a_customer_is_acknowledged_too(channel: str) -> None:
    [intent] = decided(opened(channel=channel))
    assert intent.kind == "ticket_opened" and intent.context["channel"] == channel


def test_a_ticket_a_job_opens_on_the_system_channel_is_not_acknowledged() -> None:
    assert decided(opened(channel="system")) == []


def test_a_new_ticket_for_a_department_tells_the_department_that_nobody_has_it_yet() -> None:
    department = uuid4()
    intents = decided(opened(department_id=department))
    assert [i.kind for i in intents] == ["ticket_opened", "new_unassigned"]
    assert intents[1].recipients == (Recipient(department_id=department),)
    assert intents[1].context["text"] == "It smokes" and intents[1].automatic


def test_a_new_ticket_without_a_department_tells_no_department() -> None:
    assert [i.kind for i in decided(opened())] == ["ticket_opened"]


def test_a_ticket_assigned_in_the_command_that_opened_it_is_not_announced_as_unassigned() -> None:
    ticket = opened(department_id=uuid4())
    ticket.assign(AGENT, actor=actor(OTHER_AGENT), at=ticket.pending_events[0].timestamp)
    # the ticket as the whole command left it: already assigned
    kinds = [i.kind for i in react(ticket, ticket.pending_events)]
    assert kinds == ["ticket_opened", "ticket_assigned"]


# replies and notes ----------------------------------------------------------------------------


def test_a_public_agent_reply_goes_to_the_requester_and_every_ccd_participant() -> None:
    ticket = opened()
    ticket.add_participant(CC, actor=actor(AGENT), at=ticket.pending_events[0].timestamp)
    start = so_far(ticket)
    say(ticket, AGENT, staff=True, text="Unplug it, please.")
    [intent] = decided(ticket, start)
    assert intent.kind == "agent_replied" and users(intent) == [REQUESTER, CC]
    assert intent.context["text"] == "Unplug it, please."
    assert intent.context["author_id"] == str(AGENT) and intent.context["actor"] == actor(AGENT)


def test_an_agent_reply_is_relayed_as_a_human_reply_not_as_automatic_mail() -> None:
    ticket = opened()
    start = so_far(ticket)
    say(ticket, AGENT, staff=True)
    [intent] = decided(ticket, start)
    assert intent.automatic is False


def test_the_author_of_a_public_staff_reply_is_not_told_of_it() -> None:
    ticket = opened()
    ticket.add_participant(AGENT, actor=actor(AGENT), at=ticket.pending_events[0].timestamp)
    start = so_far(ticket)
    say(ticket, AGENT, staff=True)
    [intent] = decided(ticket, start)
    assert users(intent) == [REQUESTER]


def test_an_internal_note_tells_no_customer() -> None:
    ticket = opened()
    ticket.add_participant(CC, actor=actor(AGENT), at=ticket.pending_events[0].timestamp)
    ticket.assign(AGENT, actor=actor(OTHER_AGENT), at=ticket.pending_events[0].timestamp)
    start = so_far(ticket)
    say(ticket, OTHER_AGENT, staff=True, kind=MessageKind.NOTE, text="Customer is on the VIP list")
    say(ticket, None, kind=MessageKind.NOTE, text="Bounce: mailbox full")
    assert decided(ticket, start) == []


def test_each_customer_reply_tells_the_assignee() -> None:
    ticket = opened()
    ticket.assign(AGENT, actor=actor(OTHER_AGENT), at=ticket.pending_events[0].timestamp)
    start = so_far(ticket)
    say(ticket, REQUESTER, text="Still smoking.")
    say(ticket, CC, text="Here too.")
    intents = decided(ticket, start)
    assert [(i.kind, users(i)) for i in intents] == [
        ("customer_replied", [AGENT]),
        ("customer_replied", [AGENT]),
    ]
    assert [i.context["text"] for i in intents] == ["Still smoking.", "Here too."]
    assert intents[1].context["author_id"] == str(CC) and intents[1].automatic


def test_a_customer_reply_to_an_unassigned_ticket_tells_nobody_on_staff() -> None:
    ticket = opened()
    start = so_far(ticket)
    say(ticket, REQUESTER, text="Any news?")
    assert decided(ticket, start) == []


def test_a_customer_reply_that_reopens_a_resolved_ticket_tells_the_assignee_only() -> None:
    ticket = opened()
    ticket.assign(AGENT, actor=actor(OTHER_AGENT), at=ticket.pending_events[0].timestamp)
    move(ticket, Status.RESOLVED)
    start = so_far(ticket)
    say(ticket, REQUESTER, text="It is back.")
    assert type(ticket.pending_events[-1]).__name__ == "Reopened"
    assert [i.kind for i in decided(ticket, start)] == ["customer_replied"]


# status changes -------------------------------------------------------------------------------


@pytest.mark.parametrize("target", [Status.RESOLVED, Status.CLOSED, Status.WAITING])
def test_resolving_closing_or_waiting_tells_the_requester(target: Status) -> None:
    ticket = opened()
    start = so_far(ticket)
    move(ticket, target)
    [intent] = decided(ticket, start)
    assert intent.kind == "status_changed" and users(intent) == [REQUESTER]
    assert intent.context["status"] == target.value and intent.context["from_status"] == "new"
    assert intent.automatic


def test_work_starting_or_a_reopen_tells_the_requester_nothing() -> None:
    ticket = opened()
    start = so_far(ticket)
    move(ticket, Status.IN_PROGRESS)
    move(ticket, Status.RESOLVED)
    move(ticket, Status.IN_PROGRESS)  # a reopen by staff
    assert [i.context["status"] for i in decided(ticket, start)] == ["resolved"]


def test_a_requester_who_closes_their_own_ticket_is_not_told_of_it() -> None:
    ticket = opened()
    start = so_far(ticket)
    move(ticket, Status.CLOSED, by=actor(REQUESTER))
    assert decided(ticket, start) == []


# assignment -----------------------------------------------------------------------------------


def test_an_assignee_is_told_when_someone_else_assigns_them() -> None:
    ticket = opened()
    start = so_far(ticket)
    ticket.assign(AGENT, actor=actor(OTHER_AGENT), at=ticket.pending_events[0].timestamp)
    [intent] = decided(ticket, start)
    assert intent.kind == "ticket_assigned" and users(intent) == [AGENT]
    assert intent.context["actor"] == actor(OTHER_AGENT) and intent.context["priority"] == "high"


def test_an_agent_who_takes_a_ticket_themselves_is_not_told() -> None:
    ticket = opened()
    start = so_far(ticket)
    ticket.assign(AGENT, actor=actor(AGENT), at=ticket.pending_events[0].timestamp)
    assert decided(ticket, start) == []


def test_a_job_that_assigns_a_ticket_tells_the_assignee() -> None:
    ticket = opened()
    start = so_far(ticket)
    ticket.assign(SUPPORT, actor="system:round_robin", at=ticket.pending_events[0].timestamp)
    assert [i.kind for i in decided(ticket, start)] == ["ticket_assigned"]


# the table and its contract ------------------------------------------------------------------


def _a_busy_ticket(department: bool = True):  # type: ignore[no-untyped-def]
    ticket = opened(department_id=uuid4() if department else None)
    at = ticket.pending_events[0].timestamp
    ticket.add_participant(CC, actor=actor(AGENT), at=at)
    ticket.assign(AGENT, actor=actor(OTHER_AGENT), at=at)
    say(ticket, AGENT, staff=True, text="Unplug it.")
    say(ticket, AGENT, staff=True, kind=MessageKind.NOTE, text="internal")
    say(ticket, REQUESTER, text="Done.")
    move(ticket, Status.WAITING)
    move(ticket, Status.RESOLVED)
    return ticket


def test_every_intent_carries_exactly_its_kinds_documented_context_keys_as_text() -> None:
    intents = decided(_a_busy_ticket())
    assert {i.kind for i in intents} == set(KINDS) - {"sla_breached", "escalated"}
    for intent in intents:
        assert tuple(intent.context) == CONTEXT_KEYS[intent.kind], intent.kind
        assert all(isinstance(value, str) for value in intent.context.values())


def test_every_kind_has_documented_context_keys_and_every_rule_is_in_the_table() -> None:
    assert set(CONTEXT_KEYS) == set(KINDS)
    rules = {rule for listed in REACTIONS.values() for rule in listed}
    assert {rule.__name__ for rule in rules} == set(KINDS) - {"sla_breached", "escalated"}
    for kind in CONTEXT_KEYS:
        assert kind in (reactions.__doc__ or ""), kind


def test_react_decides_a_commands_events_in_event_order() -> None:
    ticket = _a_busy_ticket(department=False)
    kinds = [i.kind for i in react(ticket, ticket.pending_events)]
    assert kinds == [
        "ticket_opened",
        "ticket_assigned",
        "agent_replied",
        "customer_replied",
        "status_changed",
        "status_changed",
    ]


def test_the_same_events_decide_the_same_against_the_ticket_after_each_event_or_after_all() -> None:
    ticket = _a_busy_ticket(department=False)
    after_each = [(i.kind, i.recipients) for i in decided(ticket)]
    after_all = [(i.kind, i.recipients) for i in react(ticket, ticket.pending_events)]
    assert after_each == after_all


def test_an_event_of_another_ticket_decides_nothing() -> None:
    ticket, other = opened(number="T-12"), opened(number="T-13")
    assert react_to(other, ticket.pending_events[1]) == []


def test_a_rule_given_an_event_it_is_not_listed_for_decides_nothing() -> None:
    ticket = _a_busy_ticket()
    every_rule = {rule for listed in REACTIONS.values() for rule in listed}
    for event in ticket.pending_events:
        for rule in every_rule - set(REACTIONS.get(type(event).__name__, [])):
            assert rule(ticket, event) == [], (rule.__name__, type(event).__name__)
