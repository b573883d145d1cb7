"""Ticket commands against the real stores (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from ledgerdesk.domain.errors import (
    ConflictError,
    IllegalTransitionError,
    NotFoundError,
    ValidationError,
)
from ledgerdesk.tests.support import T0, open_ticket


def test_a_new_ticket_gets_the_next_short_number_and_its_first_message(services, people):
    first = open_ticket(services, people.alice)
    second = open_ticket(services, people.bob, subject="Second")
    assert (first.number, second.number) == ("T-1", "T-2")
    stored = services.app.ticket("t-1")
    assert stored.status == "new"
    assert stored.subject == "Printer on fire"
    assert [m["visible_text"] for m in stored.messages] == ["It is on fire."]
    assert stored.messages[0]["author_id"] == people.alice.id


def test_the_whole_lifecycle_new_in_progress_waiting_resolved_closed_and_reopen(services, people):
    app = services.app
    number = open_ticket(services, people.alice).number
    app.assign(number, people.agent.id, actor=people.admin.actor)
    app.add_reply(number, actor=people.agent.actor, text="On it")
    assert app.ticket(number).status == "in_progress"
    app.change_status(number, "waiting", actor=people.agent.actor)
    app.add_reply(number, actor=people.alice.actor, text="Here are the logs")
    assert app.ticket(number).status == "in_progress"
    app.change_status(number, "resolved", actor=people.agent.actor)
    app.add_reply(number, actor=people.alice.actor, text="Still burning")
    reopened = app.ticket(number)
    assert (reopened.status, reopened.reopen_count) == ("in_progress", 1)
    app.change_status(number, "resolved", actor=people.agent.actor)
    app.change_status(number, "closed", actor="system:autoclose")
    assert app.ticket(number).status == "closed"


def test_an_illegal_transition_is_refused_with_the_reason_and_nothing_is_stored(services, people):
    app = services.app
    number = open_ticket(services, people.alice).number
    app.change_status(number, "resolved", actor=people.agent.actor)
    before = app.ticket(number).version
    with pytest.raises(IllegalTransitionError, match="cannot move T-1 from Resolved to Waiting"):
        app.change_status(number, "waiting", actor=people.agent.actor)
    assert app.ticket(number).version == before


def test_fields_tags_assignment_and_due_dates_change_and_are_validated(services, people):
    app = services.app
    number = open_ticket(services, people.alice, department_id=people.support.id).number
    app.set_priority(number, "URGENT", actor=people.agent.actor)
    app.set_category(number, "hardware", actor=people.agent.actor)
    app.set_due_date(number, T0 + timedelta(days=1), actor=people.agent.actor)
    app.tag(number, "Fire Hazard", actor=people.agent.actor)
    app.tag(number, "vip", actor=people.agent.actor)
    app.untag(number, "vip", actor=people.agent.actor)
    app.assign(number, people.agent.id, actor=people.admin.actor)
    app.assign(number, people.agent2.id, actor=people.admin.actor)
    ticket = app.ticket(number)
    assert (ticket.priority, ticket.category, ticket.tags) == (
        "urgent",
        "hardware",
        ["fire-hazard"],
    )
    assert ticket.assignee_id == people.agent2.id
    assert ticket.due_at == T0 + timedelta(days=1)
    app.unassign(number, actor=people.admin.actor)
    assert app.ticket(number).assignee_id is None
    with pytest.raises(ValidationError, match="priority"):
        app.set_priority(number, "whenever", actor=people.agent.actor)
    with pytest.raises(ValidationError, match="time zone"):
        app.set_due_date(number, T0.replace(tzinfo=None), actor=people.agent.actor)
    with pytest.raises(ValidationError, match="assignee"):
        app.assign(number, people.bob.id, actor=people.admin.actor)


def test_internal_notes_are_kept_apart_and_only_staff_write_them(services, people):
    app = services.app
    number = open_ticket(services, people.alice).number
    app.add_note(number, actor=people.agent.actor, text="Customer is on the old plan")
    ticket = app.ticket(number)
    assert [m["kind"] for m in ticket.messages] == ["reply", "note"]
    assert ticket.status == "new"  # a note is not a response
    with pytest.raises(ValidationError, match="internal notes"):
        app.add_note(number, actor=people.alice.actor, text="sneaky")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"subject": "   "}, "subject: must not be empty"),
        ({"subject": "x" * 251}, "the limit is 250"),
        ({"text": ""}, "text: must not be empty"),
        ({"priority": "asap"}, "priority"),
        ({"channel": "pigeon"}, "channel"),
        ({"tags": ["ok", "not ok!"]}, "tag"),
    ],
)
def test_bad_input_to_open_ticket_gets_one_clear_error(services, people, fields, message):
    with pytest.raises(ValidationError, match=message):
        open_ticket(services, people.alice, **fields)
    assert services.app.ticket_ids() == []


def test_unknown_tickets_users_and_departments_are_named_in_the_error(services, people):
    app = services.app
    with pytest.raises(NotFoundError, match="there is no ticket T-99"):
        app.ticket("T-99")
    with pytest.raises(NotFoundError, match="requester"):
        app.open_ticket(
            actor="system:test",
            subject="s",
            text="t",
            requester_id=people.admin.id.__class__(int=5),
        )
    with pytest.raises(NotFoundError, match="department 'nope'"):
        app.department("nope")
    with pytest.raises(ValidationError, match="ticket number"):
        app.ticket("banana")


def test_deactivated_users_cannot_open_tickets_or_be_assigned(services, people):
    app = services.app
    number = open_ticket(services, people.alice).number
    app.deactivate_user(people.agent.id, actor=people.admin.actor)
    with pytest.raises(Exception, match="deactivated"):
        app.assign(number, people.agent.id, actor=people.admin.actor)
    app.deactivate_user(people.bob.id, actor=people.admin.actor)
    with pytest.raises(Exception, match="deactivated"):
        open_ticket(services, people.bob)
    with pytest.raises(ConflictError, match="already deactivated"):
        app.deactivate_user(people.bob.id, actor=people.admin.actor)


def test_a_reply_with_an_email_message_id_already_on_the_ticket_is_refused(services, people):
    app = services.app
    number = open_ticket(services, people.alice, email_message_id="<a@mail>").number
    app.add_reply(number, actor=people.alice.actor, text="again", email_message_id="<b@mail>")
    with pytest.raises(ConflictError, match="already has the message <b@mail>"):
        app.add_reply(number, actor=people.alice.actor, text="again", email_message_id="<b@mail>")


def test_replies_to_a_closed_ticket_reopen_it_or_are_refused_per_setting(services, people):
    app = services.app
    number = open_ticket(services, people.alice).number
    app.change_status(number, "closed", actor=people.agent.actor)
    app.reopen_closed = False
    with pytest.raises(ConflictError, match="new linked ticket"):
        app.add_reply(number, actor=people.alice.actor, text="hello?")
    app.reopen_closed = True
    app.add_reply(number, actor=people.alice.actor, text="hello?")
    assert app.ticket(number).status == "in_progress"


def test_a_long_lived_ticket_is_read_back_from_a_snapshot(services, people):
    app = services.app
    number = open_ticket(services, people.alice).number
    for i in range(25):
        app.add_note(number, actor=people.agent.actor, text=f"note {i}")
    assert app.snapshots is not None
    ticket = app.ticket(number)
    snapshots = list(app.snapshots.get(ticket.id))
    assert snapshots and snapshots[-1].originator_version == 20  # interval 10 in tests
    assert len(ticket.messages) == 26
    fresh = app.repository.get(ticket.id)
    assert fresh.chain_head == ticket.chain_head


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
@pytest.mark.parametrize("level", ["normal", "full"])
def test_the_sqlite_durability_level_is_the_one_configured(services, settings, level):
    from ledgerdesk.bootstrap import bootstrap

    svc = bootstrap(settings.with_changes(sqlite_synchronous=level))
    try:
        with svc.app.factory.datastore.transaction(commit=False) as cursor:  # type: ignore[attr-defined]
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == {"normal": 1, "full": 2}[level]
    finally:
        svc.close()
