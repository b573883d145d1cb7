"""Tickets over HTTP: every route, problem+json errors, idempotency, and who sees what."""

from __future__ import annotations

import pytest

from ledgerdesk.api.app import TAGS


def test_a_customer_opens_replies_and_reads_their_ticket(api):
    ticket = api.open("alice@customer.test", priority="high", tags=["printer"])
    assert (ticket["number"], ticket["status"], ticket["priority"]) == ("T-1", "new", "high")
    assert ticket["requester"]["email"] == "alice@customer.test"
    headers = api.headers("alice@customer.test")
    replied = api.client.post(
        "/tickets/T-1/replies", json={"text": "More smoke now"}, headers=headers
    )
    assert replied.status_code == 201 and len(replied.json()["messages"]) == 2
    assert api.client.get("/tickets/T-1", headers=headers).json()["version"] == 3


def test_an_agent_works_a_ticket_through_its_lifecycle(api):
    api.open("alice@customer.test", department="support")
    agent = api.headers("agent@example.com")
    c = api.client
    assert (
        c.put(
            "/tickets/T-1/assignee", json={"assignee_id": str(api.people.agent.id)}, headers=agent
        ).json()["assignee"]["email"]
        == "agent@example.com"
    )
    assert (
        c.post("/tickets/T-1/replies", json={"text": "On it"}, headers=agent).json()["status"]
        == "in_progress"
    )
    assert c.post("/tickets/T-1/notes", json={"text": "VIP"}, headers=agent).status_code == 201
    patched = c.patch(
        "/tickets/T-1",
        json={"priority": "urgent", "add_tags": ["fire"], "category": "hardware"},
        headers=agent,
    )
    assert (patched.json()["priority"], patched.json()["tags"]) == ("urgent", ["fire"])
    moved = c.post("/tickets/T-1/transitions", json={"status": "resolved"}, headers=agent)
    assert moved.json()["status"] == "resolved"
    illegal = c.post("/tickets/T-1/transitions", json={"status": "waiting"}, headers=agent)
    assert illegal.status_code == 409
    assert illegal.headers["content-type"].startswith("application/problem+json")
    assert "cannot move T-1 from Resolved to Waiting" in illegal.json()["detail"]
    history = c.get("/tickets/T-1/history", headers=agent).json()
    assert [h["event"] for h in history][:2] == ["Opened", "MessageAdded"]
    as_of = c.get("/tickets/T-1/as-of", params={"version": 2}, headers=agent).json()
    assert as_of["status"] == "new" and as_of["assignee"] is None


def test_customers_never_see_internal_notes_anywhere(api):
    api.open("alice@customer.test", department="support")
    agent, alice = api.headers("agent@example.com"), api.headers("alice@customer.test")
    api.client.post("/tickets/T-1/notes", json={"text": "secret remark"}, headers=agent)
    for path, params in (
        ("/tickets/T-1", None),
        ("/tickets/T-1/as-of", {"version": 3}),
        ("/tickets/T-1/history", None),
    ):
        body = api.client.get(path, params=params, headers=alice).text
        assert "secret remark" not in body, path
    assert "secret remark" in api.client.get("/tickets/T-1", headers=agent).text
    note = api.client.post("/tickets/T-1/notes", json={"text": "mine"}, headers=alice)
    assert note.status_code == 403


def test_customers_see_a_status_change_in_history_but_not_staffs_reason_for_it(api):
    api.open("alice@customer.test", department="support")
    agent, alice = api.headers("agent@example.com"), api.headers("alice@customer.test")
    moved = api.client.post(
        "/tickets/T-1/transitions",
        json={"status": "waiting", "reason": "grumpy caller, stall"},
        headers=agent,
    )
    assert moved.status_code == 200
    seen = api.client.get("/tickets/T-1/history", headers=alice).json()
    assert seen[-1]["event"] == "StatusChanged" and seen[-1]["changes"]["to_status"] == "waiting"
    assert "grumpy" not in str(seen)
    staff = api.client.get("/tickets/T-1/history", headers=agent).json()
    assert staff[-1]["changes"]["reason"] == "grumpy caller, stall"
    # Her own changes keep their reasons: a reply of hers moves the ticket back.
    assert api.client.post("/tickets/T-1/replies", json={"text": "ok"}, headers=alice).is_success
    mine = [
        e
        for e in api.client.get("/tickets/T-1/history", headers=alice).json()
        if e["actor"] == api.people.alice.actor and "reason" in e["changes"]
    ]
    assert mine and mine[-1]["changes"]["reason"]


ROUTES = [
    ("get", "/tickets/T-1", None),
    ("patch", "/tickets/T-1", {"priority": "low"}),
    ("post", "/tickets/T-1/transitions", {"status": "resolved"}),
    ("put", "/tickets/T-1/assignee", {"assignee_id": None}),
    ("post", "/tickets/T-1/replies", {"text": "let me in"}),
    ("post", "/tickets/T-1/notes", {"text": "let me in"}),
    ("get", "/tickets/T-1/history", None),
    ("get", "/tickets/T-1/as-of?version=1", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_a_customer_cannot_reach_another_customers_ticket_by_any_route(api, method, path, body):
    api.open("alice@customer.test")
    bob = api.headers("bob@customer.test")
    response = api.client.request(method, path, json=body, headers=bob)
    assert response.status_code == 404, response.text
    missing = api.client.request(method, path.replace("T-1", "T-999"), json=body, headers=bob)
    assert missing.status_code == 404 and missing.json()["detail"] == response.json()["detail"]


def test_an_agent_sees_only_their_departments_until_the_policy_switch(api):
    app = api.services.app
    billing = app.create_department(actor="system:test", slug="billing", name="Billing")
    api.open("agent2@example.com", requester_email="alice@customer.test", department="billing")
    agent = api.headers("agent@example.com")
    assert api.client.get("/tickets/T-1", headers=agent).status_code == 404
    admin = api.headers("admin@example.com")
    added = api.client.post(
        "/policies/rules", json={"rule": ["p", "agent", "ticket", "read", "any"]}, headers=admin
    )
    assert added.status_code == 201
    assert api.client.get("/tickets/T-1", headers=agent).status_code == 200
    assert billing.slug == "billing"


def test_a_new_role_is_added_by_policy_alone(api):
    api.open("alice@customer.test")
    supervisor = api.add_user("sue@example.com", "supervisor")
    headers = api.headers("sue@example.com")
    assert api.client.get("/tickets/T-1", headers=headers).status_code == 404
    admin = api.headers("admin@example.com")
    for rule in (
        ["p", "supervisor", "ticket", "read", "any"],
        ["p", "supervisor", "ticket", "read_notes", "any"],
    ):
        assert (
            api.client.post("/policies/rules", json={"rule": rule}, headers=admin).status_code
            == 201
        )
    assert api.client.get("/tickets/T-1", headers=headers).status_code == 200
    assert (
        api.client.post("/tickets/T-1/replies", json={"text": "hi"}, headers=headers).status_code
        == 403
    )
    assert supervisor.role == "supervisor"
    assert (
        api.client.post(
            "/policies/rules", json={"rule": ["p", "customer", "*", "*", "any"]}, headers=headers
        ).status_code
        == 403
    )


def test_the_same_idempotency_key_creates_one_ticket(api):
    headers = {**api.headers("alice@customer.test"), "Idempotency-Key": "abc-123"}
    body = {"subject": "Once", "text": "only once"}
    first = api.client.post("/tickets", json=body, headers=headers)
    second = api.client.post("/tickets", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert first.json()["number"] == second.json()["number"] == "T-1"
    other = api.client.post("/tickets", json={**body, "text": "different"}, headers=headers)
    assert other.status_code == 409
    assert (
        api.client.post("/tickets", json=body, headers=api.headers("alice@customer.test")).json()[
            "number"
        ]
        == "T-2"
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"subject": "x", "text": "y", "colour": "red"}, "colour"),
        ({"subject": "x"}, "text"),
        ({"subject": "", "text": "y"}, "subject"),
        ({"subject": "x", "text": "y", "priority": "asap"}, "priority"),
        ({"subject": "x", "text": "y", "due_at": "tomorrow"}, "due_at"),
    ],
)
def test_bad_fields_get_422_naming_the_field(api, body, field):
    response = api.client.post("/tickets", json=body, headers=api.headers("alice@customer.test"))
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert field in [e["field"] for e in response.json()["errors"]]


def test_malformed_json_wrong_types_and_huge_bodies_get_clear_4xx(api):
    headers = api.headers("alice@customer.test")
    broken = api.client.post(
        "/tickets",
        content=b'{"subject": "x", "text": ',
        headers={**headers, "content-type": "application/json"},
    )
    assert broken.status_code == 422
    form = api.client.post(
        "/tickets", content=b"subject=x", headers={**headers, "content-type": "text/plain"}
    )
    assert 400 <= form.status_code < 500
    huge = api.client.post(
        "/tickets",
        content=b"x" * (3 * 1024 * 1024),
        headers={**headers, "content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert api.client.get("/tickets/not-a-number", headers=headers).status_code in (404, 422)


def test_a_nul_character_in_a_path_or_query_is_a_clear_422_on_every_route(api):
    admin = api.headers("admin@example.com")
    for url in (
        "/outbox?ticket=T-1%00",
        "/outbox?status=%00",
        "/tickets?q=printer%00fire",
        "/departments/sup%00port",
        "/tickets/T-1%00",
    ):
        response = api.client.get(url, headers=admin)
        assert response.status_code == 422, (url, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "NUL" in response.json()["detail"]


def test_null_in_a_patch_leaves_that_field_unchanged(api):
    admin = api.headers("admin@example.com")
    patched = api.client.patch(
        "/departments/support", json={"aliases": None, "name": None}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Support"
    user = api.people.alice.id
    patched = api.client.patch(f"/users/{user}", json={"email": None, "name": None}, headers=admin)
    assert patched.status_code == 200, patched.text
    assert patched.json()["email"] == "alice@customer.test"


def test_a_method_a_path_does_not_take_gets_405_naming_every_method_it_does(api):
    headers = api.headers("alice@customer.test")
    opened = api.open("alice@customer.test")
    for method, path, methods in [
        ("DELETE", "/tickets", "GET, POST"),  # two routers answer on /tickets
        ("PUT", f"/tickets/{opened['number']}", "GET, PATCH"),
        ("GET", "/auth/login", "POST"),
    ]:
        response = api.client.request(method, path, headers=headers)
        assert response.status_code == 405, (method, path, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.headers["allow"] == methods, (method, path)


def test_the_docs_list_the_resources_sign_in_first(api):
    document = api.client.get("/openapi.json").json()
    tags = [tag["name"] for tag in document["tags"]]
    assert tags == [name for name, _ in TAGS] and tags[:3] == ["auth", "tickets", "search"]
    used = {t for path in document["paths"].values() for op in path.values() for t in op["tags"]}
    assert used <= set(tags)  # every route under a listed resource, none left unordered
