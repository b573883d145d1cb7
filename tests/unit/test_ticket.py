"""The Ticket aggregate on its own: status rules, conversation, commands, numbers."""

from __future__ import annotations

import contextlib
import re
from datetime import timedelta
from uuid import UUID, uuid4

import pytest

from ledgerdesk.domain.errors import ConflictError, IllegalTransitionError, ValidationError
from ledgerdesk.domain.ticket import Ticket, format_number, parse_number, ticket_id
from ledgerdesk.domain.values import MessageKind, Priority, Status
from ledgerdesk.tests.unit.tickets import AGENT, CUSTOMER, T0, kinds, message, move, opened

# opening ------------------------------------------------------------------------------------


def test_a_new_ticket_is_new_unassigned_and_has_the_requester_as_participant() -> None:
    requester = uuid4()
    ticket = opened(requester_id=requester, tags=["vip"])
    assert (ticket.number, ticket.status, ticket.version) == ("T-1", "new", 1)
    assert ticket.assignee_id is None and ticket.messages == []
    assert ticket.participants == [requester] and ticket.tags == ["vip"]
    assert ticket.reopen_count == 0 and ticket.first_response_at is None


def test_tagging_a_ticket_does_not_change_the_tags_recorded_when_it_opened() -> None:
    tags = ["vip"]
    ticket = opened(tags=tags)
    ticket.tag("billing", actor=AGENT, at=T0, limit=30)
    assert tags == ["vip"] and ticket.pending_events[0].tags == ["vip"]


# status rules -------------------------------------------------------------------------------


def test_the_first_public_staff_reply_starts_work_and_marks_the_first_response() -> None:
    ticket = opened()
    later = T0 + timedelta(minutes=5)
    message(ticket, by_staff=True, at=later)
    assert ticket.status == Status.IN_PROGRESS
    assert ticket.first_response_at == later
    assert kinds(ticket)[1:] == ["MessageAdded", "StatusChanged"]


def test_a_later_staff_reply_keeps_the_first_response_time() -> None:
    ticket = opened()
    message(ticket, by_staff=True, at=T0)
    message(ticket, by_staff=True, at=T0 + timedelta(hours=1))
    assert ticket.first_response_at == T0
    assert kinds(ticket)[-1] == "MessageAdded"


def test_a_customer_reply_to_a_new_ticket_changes_nothing_but_the_conversation() -> None:
    ticket = opened()
    message(ticket, by_staff=False)
    assert ticket.status == Status.NEW and ticket.first_response_at is None


def test_a_customer_reply_to_a_waiting_ticket_puts_it_back_in_progress() -> None:
    ticket = opened()
    move(ticket, Status.WAITING)
    message(ticket, by_staff=False)
    assert ticket.status == Status.IN_PROGRESS
    assert ticket.reopen_count == 0
    assert ticket.pending_events[-1].reason == "customer replied"


def test_a_staff_reply_to_a_waiting_ticket_keeps_it_waiting() -> None:
    ticket = opened()
    move(ticket, Status.WAITING)
    message(ticket, by_staff=True)
    assert ticket.status == Status.WAITING


def test_a_customer_reply_to_a_resolved_ticket_reopens_it() -> None:
    ticket = opened()
    move(ticket, Status.IN_PROGRESS, Status.RESOLVED)
    assert ticket.resolved_at == T0
    message(ticket, by_staff=False)
    assert ticket.status == Status.IN_PROGRESS
    assert ticket.reopen_count == 1 and ticket.resolved_at is None
    reopened = ticket.pending_events[-1]
    assert isinstance(reopened, Ticket.Reopened)
    assert (reopened.from_status, reopened.actor) == ("resolved", CUSTOMER)


def test_a_customer_reply_to_a_closed_ticket_is_refused_and_records_nothing() -> None:
    ticket = opened()
    move(ticket, Status.CLOSED)
    before = (list(ticket.pending_events), ticket.version, ticket.chain_head, ticket.messages[:])
    with pytest.raises(ConflictError, match="T-1 is closed"):
        message(ticket, by_staff=False, reopen_closed=False)
    after = (list(ticket.pending_events), ticket.version, ticket.chain_head, ticket.messages)
    assert after == before


def test_a_customer_reply_to_a_closed_ticket_reopens_it_when_closed_tickets_may_reopen() -> None:
    ticket = opened()
    move(ticket, Status.CLOSED)
    message(ticket, by_staff=False, reopen_closed=True)
    assert ticket.status == Status.IN_PROGRESS and ticket.closed_at is None
    assert ticket.reopen_count == 1
    assert kinds(ticket)[-2:] == ["MessageAdded", "Reopened"]


@pytest.mark.parametrize("status", [Status.NEW, Status.WAITING, Status.RESOLVED, Status.CLOSED])
def test_a_note_never_changes_the_status(status: Status) -> None:
    ticket = opened()
    if status != Status.NEW:
        move(ticket, status)
    for by_staff in (True, False):
        message(ticket, by_staff=by_staff, kind=MessageKind.NOTE)
    assert ticket.status == status
    assert ticket.first_response_at is None
    assert kinds(ticket)[-2:] == ["MessageAdded", "MessageAdded"]


def test_the_same_email_message_is_refused_the_second_time() -> None:
    ticket = opened()
    message(ticket, by_staff=False, email_message_id="<m1@mail.test>")
    version = ticket.version
    with pytest.raises(ConflictError, match=re.escape("<m1@mail.test>")):
        message(ticket, by_staff=False, email_message_id="<m1@mail.test>")
    assert ticket.version == version and len(ticket.messages) == 1
    message(ticket, by_staff=False, email_message_id="<m2@mail.test>")
    assert len(ticket.messages) == 2


def test_messages_keep_who_wrote_them_when_and_how() -> None:
    ticket = opened()
    message(ticket, by_staff=False, email_message_id="<m1@mail.test>", text="It is on fire.")
    (first,) = ticket.messages
    assert first["actor"] == CUSTOMER and first["at"] == T0
    assert first["kind"] == "reply" and first["channel"] == "email"
    assert first["visible_text"] == "It is on fire." and first["by_staff"] is False
    assert "prev_hash" not in first and "originator_id" not in first


def test_an_illegal_transition_names_the_ticket_and_both_statuses() -> None:
    ticket = opened("T-7")
    move(ticket, Status.RESOLVED)
    version = ticket.version
    with pytest.raises(IllegalTransitionError) as caught:
        move(ticket, Status.WAITING)
    error = caught.value
    assert str(error).startswith("cannot move T-7 from Resolved to Waiting: ")
    assert (error.current, error.target) == ("resolved", "waiting")
    assert ticket.version == version


def test_resolving_and_closing_stamp_the_times() -> None:
    ticket = opened()
    ticket.change_status(Status.RESOLVED, actor=AGENT, at=T0, reopen_closed=False)
    ticket.change_status(Status.CLOSED, actor=AGENT, at=T0 + timedelta(days=1), reopen_closed=False)
    assert (ticket.resolved_at, ticket.closed_at) == (T0, T0 + timedelta(days=1))


def test_an_agent_may_reopen_a_resolved_ticket_by_moving_it_to_in_progress() -> None:
    ticket = opened()
    move(ticket, Status.RESOLVED, Status.IN_PROGRESS)
    assert ticket.reopen_count == 1 and isinstance(ticket.pending_events[-1], Ticket.Reopened)


# other commands -----------------------------------------------------------------------------


def test_assigning_and_unassigning_refuse_what_is_already_so() -> None:
    ticket = opened()
    agent = uuid4()
    with pytest.raises(ConflictError, match="not assigned"):
        ticket.unassign(actor=AGENT, at=T0)
    ticket.assign(agent, actor=AGENT, at=T0)
    assert ticket.assignee_id == agent
    with pytest.raises(ConflictError, match="already assigned"):
        ticket.assign(agent, actor=AGENT, at=T0)
    ticket.unassign(actor=AGENT, at=T0)
    assert ticket.assignee_id is None
    assert kinds(ticket)[1:] == ["Assigned", "Unassigned"]


def test_tagging_is_idempotent_and_limited() -> None:
    ticket = opened(tags=["a"])
    ticket.tag("a", actor=AGENT, at=T0, limit=2)
    ticket.tag("b", actor=AGENT, at=T0, limit=2)
    with pytest.raises(ValidationError) as caught:
        ticket.tag("c", actor=AGENT, at=T0, limit=2)
    assert caught.value.field == "tag" and "2 tags" in str(caught.value)
    assert ticket.tags == ["a", "b"] and kinds(ticket)[1:] == ["Tagged"]


def test_untagging_removes_a_tag_and_refuses_an_absent_one() -> None:
    ticket = opened(tags=["a", "b"])
    ticket.untag("a", actor=AGENT, at=T0)
    assert ticket.tags == ["b"]
    with pytest.raises(ConflictError, match="no tag 'a'"):
        ticket.untag("a", actor=AGENT, at=T0)


def test_setting_a_field_to_its_current_value_records_nothing() -> None:
    department, due = uuid4(), T0 + timedelta(days=2)
    ticket = opened(priority="high", category="billing", department_id=department, due_at=due)
    ticket.set_priority(Priority.HIGH, actor=AGENT, at=T0)
    ticket.set_category("billing", actor=AGENT, at=T0)
    ticket.set_department(department, actor=AGENT, at=T0)
    ticket.set_due_date(due, actor=AGENT, at=T0)
    assert ticket.version == 1


def test_setting_fields_records_one_event_each() -> None:
    ticket = opened()
    department, due, someone = uuid4(), T0 + timedelta(days=2), uuid4()
    ticket.set_priority(Priority.URGENT, actor=AGENT, at=T0)
    ticket.set_category("billing", actor=AGENT, at=T0)
    ticket.set_department(department, actor=AGENT, at=T0)
    ticket.set_due_date(due, actor=AGENT, at=T0)
    ticket.add_participant(someone, actor=AGENT, at=T0)
    ticket.add_participant(someone, actor=AGENT, at=T0)
    assert (ticket.priority, ticket.category, ticket.department_id, ticket.due_at) == (
        "urgent",
        "billing",
        department,
        due,
    )
    assert someone in ticket.participants
    assert kinds(ticket)[1:] == [
        "PriorityChanged",
        "CategoryChanged",
        "DepartmentChanged",
        "DueDateSet",
        "ParticipantAdded",
    ]


def test_a_message_that_cannot_be_recorded_leaves_the_ticket_untouched() -> None:
    ticket = opened()
    with contextlib.suppress(UnicodeEncodeError):
        message(ticket, by_staff=False, kind=MessageKind.NOTE, text="broken \udcff surrogate")
    assert (ticket.version, ticket.messages, len(ticket.pending_events)) == (1, [], 1)


# numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize("given", ["T-12", "t-12", "#12", "[T-12]", "12", " T-12 ", "T-012"])
def test_a_ticket_number_may_be_written_several_ways(given: str) -> None:
    assert parse_number(given) == 12


@pytest.mark.parametrize("given", ["T-0", "0", "abc", "T-1x", "T-", "", "T-1.5", "T--1", "X-12"])
def test_a_ticket_number_that_is_not_one_is_refused(given: str) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_number(given)
    assert caught.value.field == "ticket" and "T-12" in str(caught.value)


def test_a_ticket_number_with_a_superscript_digit_is_refused() -> None:
    with pytest.raises(ValidationError):
        parse_number("T-²")


def test_a_number_formats_with_the_t_prefix() -> None:
    assert format_number(1042) == "T-1042"
    assert parse_number(format_number(1042)) == 1042


def test_a_ticket_id_is_stable_and_ignores_the_case_of_the_number() -> None:
    # Stored tickets are found by this id: it must never change between releases.
    assert ticket_id("T-1") == UUID("7ef73f0e-30d5-5ef7-bd51-0d2640190c25")
    assert ticket_id("t-1") == ticket_id("T-1")
    assert ticket_id("T-2") != ticket_id("T-1")
    assert ticket_id("T-1").version == 5
