"""Users, departments, SLA policies and calendars: created, changed and audited on both stores."""

from __future__ import annotations

import pytest

from ledgerdesk.domain.errors import ConflictError, NotFoundError, ValidationError


def test_an_email_address_belongs_to_one_user_whatever_its_case(services, people):
    with pytest.raises(ConflictError, match=r"alice@customer\.test already exists"):
        services.app.create_user(actor="system:test", email="ALICE@Customer.test")
    assert services.app.user_by_email("Alice@CUSTOMER.test").id == people.alice.id


def test_changing_a_users_email_frees_the_old_address_for_someone_else(services, people):
    app = services.app
    app.update_user(people.bob.id, actor=people.admin.actor, email="robert@customer.test")
    assert app.user_by_email("bob@customer.test") is None
    assert app.user_by_email("robert@customer.test").id == people.bob.id
    newcomer = app.create_user(actor="system:test", email="bob@customer.test", name="New Bob")
    assert app.user_by_email("bob@customer.test").id == newcomer.id
    with pytest.raises(ConflictError):
        app.update_user(newcomer.id, actor=people.admin.actor, email="robert@customer.test")


def test_user_fields_are_validated_and_every_change_is_an_event(services, people):
    app = services.app
    app.update_user(
        people.agent.id,
        actor=people.admin.actor,
        time_zone="Europe/Berlin",
        locale="de_at",
        phone="+49 170 1234567",
        name="Alan A. Agent",
    )
    agent = app.user(people.agent.id)
    assert (agent.time_zone, agent.locale, agent.phone) == (
        "Europe/Berlin",
        "de-AT",
        "+491701234567",
    )
    assert agent.version == 2  # one Updated event for all four fields
    with pytest.raises(ValidationError, match="time_zone"):
        app.update_user(people.agent.id, actor=people.admin.actor, time_zone="Mars/Olympus")
    with pytest.raises(ValidationError, match="phone"):
        app.update_user(people.agent.id, actor=people.admin.actor, phone="12")
    with pytest.raises(ValidationError, match="not a field"):
        app.update_user(people.agent.id, actor=people.admin.actor, password_hash="x")
    with pytest.raises(NotFoundError, match="department"):
        app.update_user(people.agent.id, actor=people.admin.actor, department_ids=[people.alice.id])


def test_a_password_is_kept_only_as_an_argon2_hash(services, people):
    app = services.app
    app.set_password_hash(
        people.admin.id, services.passwords.hash("correct horse"), actor=people.admin.actor
    )
    stored = app.user(people.admin.id).password_hash
    assert stored.startswith("$argon2") and "correct horse" not in stored
    assert services.passwords.verify(stored, "correct horse")
    assert not services.passwords.verify(stored, "wrong horse")


def test_departments_have_unique_slugs_and_can_be_deactivated(services, people):
    app = services.app
    with pytest.raises(ConflictError, match="slug 'support' already exists"):
        app.create_department(actor=people.admin.actor, slug="support", name="Again")
    with pytest.raises(ValidationError, match="slug"):
        app.create_department(actor=people.admin.actor, slug="Not A Slug!", name="x")
    app.update_department(
        "support",
        actor=people.admin.actor,
        name="Customer Support",
        aliases=["Help@Example.com", "support@example.com"],
    )
    support = app.department("support")
    assert (support.name, support.aliases) == (
        "Customer Support",
        ["help@example.com", "support@example.com"],
    )
    app.deactivate_department("support", actor=people.admin.actor)
    with pytest.raises(Exception, match="deactivated"):
        services.app.open_ticket(
            actor=people.alice.actor,
            subject="s",
            text="t",
            requester_id=people.alice.id,
            department_id=support.id,
        )
    app.reactivate_department("support", actor=people.admin.actor)
    assert [d for _, d in app.department_ids()] == [support.id]


def test_sla_policies_and_calendars_are_audited_configuration(services, people):
    app = services.app
    calendar = app.create_calendar(
        actor=people.admin.actor,
        name="Berlin office",
        time_zone="Europe/Berlin",
        hours={"mon": [["09:00", "12:00"], ["13:00", "17:00"]], "fri": [["09:00", "15:00"]]},
        holidays=["2026-12-25", "2026-12-24"],
    )
    policy = app.create_sla_policy(
        actor=people.admin.actor,
        name="Standard",
        calendar_id=calendar.id,
        targets={
            "urgent": {"first_response_minutes": 30, "resolution_minutes": 240},
            "normal": {"first_response_minutes": 480, "resolution_minutes": 2880},
        },
    )
    app.update_department("support", actor=people.admin.actor, sla_policy_id=policy.id)
    assert app.department("support").sla_policy_id == policy.id
    app.update_sla_policy(policy.id, actor=people.admin.actor, name="Standard 2027")
    assert app.get_aggregate(policy.id).name == "Standard 2027"
    assert app.get_aggregate(calendar.id).holidays == ["2026-12-24", "2026-12-25"]
    with pytest.raises(ValidationError, match="resolution cannot come before"):
        app.create_sla_policy(
            actor=people.admin.actor,
            name="Bad",
            targets={"low": {"first_response_minutes": 60, "resolution_minutes": 30}},
        )
    with pytest.raises(ValidationError, match="overlap"):
        app.update_calendar(
            calendar.id,
            actor=people.admin.actor,
            hours={"tue": [["09:00", "12:00"], ["11:00", "13:00"]]},
        )
    with pytest.raises(ValidationError, match="holidays"):
        app.update_calendar(calendar.id, actor=people.admin.actor, holidays=["someday"])
    assert app.verify().ok
