"""Users, departments and access rules over HTTP: who may read and change what, and rule
changes as audited events that apply at once, here and in another process."""

from __future__ import annotations

import time

from fastapi.testclient import TestClient

from ledgerdesk.api.app import create_app
from ledgerdesk.bootstrap import bootstrap
from ledgerdesk.domain.access import POLICY_ID, AccessPolicy


def test_a_customer_reads_and_changes_only_their_own_user_record(api):
    alice, bob = api.people.alice, api.people.bob
    headers = api.headers("alice@customer.test")
    assert [u["email"] for u in api.client.get("/users", headers=headers).json()] == [
        "alice@customer.test"
    ]
    assert api.client.get(f"/users/{alice.id}", headers=headers).status_code == 200
    for user in (bob, api.people.agent, api.people.admin):
        assert api.client.get(f"/users/{user.id}", headers=headers).status_code == 404
        changed = api.client.patch(f"/users/{user.id}", json={"name": "x"}, headers=headers)
        assert changed.status_code == 404
    assert api.client.get(f"/users/{api.people.support.id}", headers=headers).status_code == 404
    own = api.client.patch(f"/users/{alice.id}", json={"name": "Alice A."}, headers=headers)
    assert (own.status_code, own.json()["name"]) == (200, "Alice A.")
    for escalation in ({"role": "admin"}, {"departments": ["support"]}, {"email": "a@b.test"}):
        refused = api.client.patch(f"/users/{alice.id}", json=escalation, headers=headers)
        assert refused.status_code == 403, escalation
    refused = api.client.patch(f"/users/{alice.id}", json={"active": False}, headers=headers)
    assert refused.status_code == 403
    assert api.services.app.user(alice.id).role == "customer"
    created = api.client.post(
        "/users", json={"email": "eve@customer.test", "role": "customer"}, headers=headers
    )
    assert created.status_code == 403
    assert api.services.app.user_by_email("eve@customer.test") is None


def test_agents_create_customers_but_only_admins_create_or_promote_staff(api):
    agent, admin = api.headers("agent@example.com"), api.headers("admin@example.com")
    customer = api.client.post(
        "/users", json={"email": "carl@customer.test", "role": "customer"}, headers=agent
    )
    assert customer.status_code == 201, customer.text
    staff = api.client.post(
        "/users", json={"email": "mallory@example.com", "role": "admin"}, headers=agent
    )
    assert staff.status_code == 403
    promote = api.client.patch(
        f"/users/{customer.json()['id']}", json={"role": "agent"}, headers=agent
    )
    assert promote.status_code == 403
    promoted = api.client.patch(
        f"/users/{customer.json()['id']}", json={"role": "agent"}, headers=admin
    )
    assert (promoted.status_code, promoted.json()["role"]) == (200, "agent")


def test_only_admins_create_or_change_departments_and_rules(api):
    for who in ("alice@customer.test", "agent@example.com"):
        headers = api.headers(who)
        assert api.client.get("/departments/support", headers=headers).status_code == 200
        created = api.client.post(
            "/departments", json={"slug": "sales", "name": "Sales"}, headers=headers
        )
        assert created.status_code == 403
        renamed = api.client.patch("/departments/support", json={"name": "x"}, headers=headers)
        assert renamed.status_code == 403
        assert api.client.get("/policies/rules", headers=headers).status_code == 403
        rule = {"rule": ["p", "customer", "*", "*", "any"]}
        assert api.client.post("/policies/rules", json=rule, headers=headers).status_code == 403
        assert (
            api.client.post("/policies/rules/remove", json=rule, headers=headers).status_code == 403
        )
    assert api.services.app.department("support").name == "Support"


def test_a_customers_counters_count_only_their_own_tickets_in_every_breakdown(api):
    api.open("alice@customer.test", department="support", priority="urgent")
    for _ in range(3):
        api.open("bob@customer.test", department="support", priority="low")
    counters = api.client.get("/dashboard/counters", headers=api.headers("alice@customer.test"))
    assert counters.json() == {
        "total": 1,
        "by_status": {"new": 1},
        "by_priority": {"urgent": 1},
        "by_department": {str(api.people.support.id): 1},
        "by_assignee": {"none": 1},
    }


def test_each_rule_change_is_an_audited_event_and_applies_to_the_next_request(api):
    app, admin = api.services.app, api.headers("admin@example.com")
    api.open("alice@customer.test")  # no department: agents may not read it
    agent = api.headers("agent@example.com")
    assert api.client.get("/tickets/T-1", headers=agent).status_code == 404
    before = app.get_aggregate(POLICY_ID).version
    rule = {"rule": ["p", "agent", "ticket", "read", "any"]}
    assert api.client.post("/policies/rules", json=rule, headers=admin).status_code == 201
    assert api.client.get("/tickets/T-1", headers=agent).status_code == 200
    assert api.client.post("/policies/rules/remove", json=rule, headers=admin).status_code == 200
    assert api.client.get("/tickets/T-1", headers=agent).status_code == 404
    events = app.recorder.select_events(POLICY_ID, gt=before)
    assert [e.topic.rsplit(".", 1)[-1] for e in events] == ["RuleAdded", "RuleRemoved"]
    for event in events:
        decoded = app.mapper.to_domain_event(event)
        assert decoded.actor == api.people.admin.actor
        assert decoded.rule == rule["rule"]
    assert isinstance(app.get_aggregate(POLICY_ID), AccessPolicy)


def test_a_rule_changed_in_one_process_applies_in_another_within_seconds(api, settings, clock):
    api.open("alice@customer.test")
    other = bootstrap(settings, clock=clock)  # the same store, as another process has it
    try:
        # On PostgreSQL it follows the first one's read models, as `serve --workers` does.
        with TestClient(create_app(other, projects=not settings.database_url)) as elsewhere:
            token = api.login("agent@example.com")["access_token"]
            agent = {"Authorization": f"Bearer {token}"}
            assert elsewhere.get("/tickets/T-1", headers=agent).status_code == 404
            rule = {"rule": ["p", "agent", "ticket", "read", "any"]}
            admin = api.headers("admin@example.com")
            assert api.client.post("/policies/rules", json=rule, headers=admin).status_code == 201
            started = time.monotonic()
            while elsewhere.get("/tickets/T-1", headers=agent).status_code != 200:
                assert time.monotonic() - started < 5, "the other process never saw the rule"
                time.sleep(0.1)
            assert time.monotonic() - started < 3
    finally:
        other.close()


def test_a_role_that_inherits_the_admins_rules_creates_staff_as_admins_do(api):
    admin = api.headers("admin@example.com")
    rule = {"rule": ["g", "owner", "admin"]}
    assert api.client.post("/policies/rules", json=rule, headers=admin).status_code == 201
    api.add_user("olga@example.com", "owner")
    owner = api.headers("olga@example.com")
    created = api.client.post(
        "/users", json={"email": "newagent@example.com", "role": "agent"}, headers=owner
    )
    assert created.status_code == 201, created.text
