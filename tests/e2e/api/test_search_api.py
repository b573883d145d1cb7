"""Search, counters and notifications over HTTP: the same access rule as a direct read."""

from __future__ import annotations

import time

import pytest


def _numbers(response):  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [item["number"] for item in response.json()["items"]]


def test_a_ticket_is_found_right_after_the_command_that_made_it(api):
    headers = api.headers("agent@example.com")
    for i in range(5):
        started = time.perf_counter()
        api.client.post(
            "/tickets",
            json={
                "subject": f"Toner {i}",
                "text": "empty",
                "requester_email": "alice@customer.test",
                "department": "support",
            },
            headers=headers,
        )
        found = _numbers(api.client.get("/tickets", params={"q": "toner"}, headers=headers))
        assert f"T-{i + 1}" in found
        assert time.perf_counter() - started < 2


def test_customers_list_and_search_only_their_own_tickets(api):
    api.open("alice@customer.test", subject="Alice printer")
    api.open("bob@customer.test", subject="Bob printer")
    alice = api.headers("alice@customer.test")
    assert _numbers(api.client.get("/tickets", headers=alice)) == ["T-1"]
    assert _numbers(api.client.get("/tickets", params={"q": "printer"}, headers=alice)) == ["T-1"]
    assert _numbers(api.client.get("/tickets", params={"number": "T-2"}, headers=alice)) == []
    counters = api.client.get("/dashboard/counters", headers=alice).json()
    assert counters["total"] == 1


def test_internal_note_text_is_not_searchable_by_customers(api):
    api.open("alice@customer.test", department="support")
    agent, alice = api.headers("agent@example.com"), api.headers("alice@customer.test")
    api.client.post("/tickets/T-1/notes", json={"text": "zebracorn escalation"}, headers=agent)
    assert _numbers(api.client.get("/tickets", params={"q": "zebracorn"}, headers=agent)) == ["T-1"]
    assert _numbers(api.client.get("/tickets", params={"q": "zebracorn"}, headers=alice)) == []


def test_agents_see_their_departments_in_lists_exactly_as_in_direct_reads(api):
    app = api.services.app
    app.create_department(actor="system:test", slug="billing", name="Billing")
    admin = api.headers("admin@example.com")
    for department in ("support", "billing", "support"):
        api.client.post(
            "/tickets",
            json={
                "subject": "x",
                "text": "y",
                "department": department,
                "requester_email": "alice@customer.test",
            },
            headers=admin,
        )
    agent = api.headers("agent@example.com")
    listed = _numbers(api.client.get("/tickets", headers=agent))
    readable = [
        n
        for n in ("T-1", "T-2", "T-3")
        if api.client.get(f"/tickets/{n}", headers=agent).status_code == 200
    ]
    assert sorted(listed) == sorted(readable) == ["T-1", "T-3"]
    assert api.client.get("/dashboard/counters", headers=agent).json()["total"] == 2


@pytest.mark.parametrize(
    "q",
    [
        '"',
        "*",
        "OR",
        "--",
        "'; drop table x; --",
        '"unbalanced',
        "a AND",
        "NEAR(",
        "-",
        "^",
        "()",
        "\\",
        "%_",
    ],
)
def test_search_syntax_in_the_query_never_fails(api, q):
    api.open("alice@customer.test")
    response = api.client.get("/tickets", params={"q": q}, headers=api.headers("agent@example.com"))
    assert response.status_code == 200, response.text


def test_filters_sorting_and_cursor_pagination(api):
    admin = api.headers("admin@example.com")
    for i, priority in enumerate(("low", "urgent", "normal", "urgent", "high")):
        api.client.post(
            "/tickets",
            json={
                "subject": f"Item {i}",
                "text": "t",
                "priority": priority,
                "requester_email": "alice@customer.test",
                "tags": ["vip"] if i % 2 else [],
            },
            headers=admin,
        )
    urgent = _numbers(api.client.get("/tickets", params={"priority": "urgent"}, headers=admin))
    assert sorted(urgent) == ["T-2", "T-4"]
    tagged = _numbers(api.client.get("/tickets", params={"tag": "vip"}, headers=admin))
    assert sorted(tagged) == ["T-2", "T-4"]
    by_person = _numbers(api.client.get("/tickets", params={"person": "ALICE"}, headers=admin))
    assert len(by_person) == 5
    pages, cursor = [], None
    while True:
        params = {"limit": 2, "sort": "number", **({"cursor": cursor} if cursor else {})}
        body = api.client.get("/tickets", params=params, headers=admin).json()
        pages.append([item["number"] for item in body["items"]])
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert pages == [["T-1", "T-2"], ["T-3", "T-4"], ["T-5"]]
    bad = api.client.get("/tickets", params={"sort": "colour"}, headers=admin)
    assert bad.status_code == 422


def test_notifications_start_empty_for_a_new_user(api):
    headers = api.headers("alice@customer.test")
    assert api.client.get("/notifications", headers=headers).json() == []
    assert api.client.get("/notifications/unread-count", headers=headers).json() == 0


def test_a_customers_list_does_not_count_internal_notes(api):
    api.open("alice@customer.test", department="support")
    api.client.post(
        "/tickets/T-1/notes", json={"text": "n"}, headers=api.headers("agent@example.com")
    )
    item = api.client.get("/tickets", headers=api.headers("alice@customer.test")).json()["items"][0]
    assert item["message_count"] == 1


def test_readers_of_every_ticket_find_notes_only_where_they_may_read_them(api):
    """The "all departments" switch lets agents read every ticket, not every note: a note
    on another department's ticket is neither found nor counted; their own department's is."""
    app, admin = api.services.app, api.headers("admin@example.com")
    app.create_department(actor="system:test", slug="billing", name="Billing")
    api.open("alice@customer.test", department="support", subject="Toner")
    api.open("alice@customer.test", department="billing", subject="Invoice")
    api.client.post("/tickets/T-1/notes", json={"text": "quokka shipment"}, headers=admin)
    api.client.post("/tickets/T-2/notes", json={"text": "wombat refund"}, headers=admin)
    added = api.client.post(
        "/policies/rules", json={"rule": ["p", "agent", "ticket", "read", "any"]}, headers=admin
    )
    assert added.status_code == 201
    agent = api.headers("agent@example.com")  # a member of support
    for sort in ("-updated_at", "relevance"):
        search = {"sort": sort}
        assert _numbers(
            api.client.get("/tickets", params={**search, "q": "quokka"}, headers=agent)
        ) == ["T-1"]
        assert (
            _numbers(api.client.get("/tickets", params={**search, "q": "wombat"}, headers=agent))
            == []
        )
        assert _numbers(
            api.client.get("/tickets", params={**search, "q": "invoice -wombat"}, headers=agent)
        ) == ["T-2"]
    assert api.client.get("/tickets/T-2", headers=agent).status_code == 200  # read, no notes
    counts = {
        item["number"]: item["message_count"]
        for item in api.client.get("/tickets", headers=agent).json()["items"]
    }
    assert counts == {"T-1": 2, "T-2": 1}
    assert _numbers(api.client.get("/tickets", params={"q": "wombat"}, headers=admin)) == ["T-2"]


def test_a_role_that_reads_tickets_but_no_notes_never_finds_a_ticket_by_its_notes(api):
    api.add_user("sue@example.com", "supervisor")
    admin = api.headers("admin@example.com")
    api.open("alice@customer.test", department="support", subject="Toner")
    api.client.post("/tickets/T-1/notes", json={"text": "quokka shipment"}, headers=admin)
    rule = {"rule": ["p", "supervisor", "ticket", "read", "any"]}
    assert api.client.post("/policies/rules", json=rule, headers=admin).status_code == 201
    sue = api.headers("sue@example.com")
    assert _numbers(api.client.get("/tickets", params={"q": "toner"}, headers=sue)) == ["T-1"]
    assert _numbers(api.client.get("/tickets", params={"q": "quokka"}, headers=sue)) == []
    assert api.client.get("/tickets", headers=sue).json()["items"][0]["message_count"] == 1
    assert [m["kind"] for m in api.client.get("/tickets/T-1", headers=sue).json()["messages"]] == [
        "reply"
    ]


def test_a_misspelt_or_unknown_query_parameter_is_a_422_naming_it(api):
    api.open("alice@customer.test")
    admin = api.headers("admin@example.com")
    for url, name in [
        ("/tickets?stauts=new", "stauts"),
        ("/tickets?q=printer&sort=number&colour=red", "colour"),
        ("/dashboard/counters?department=support", "department"),
        ("/tickets/T-1?verbose=1", "verbose"),
        ("/tickets/T-1/history?as_of=2026-01-01", "as_of"),
        ("/users?role=agent", "role"),
    ]:
        response = api.client.get(url, headers=admin)
        assert response.status_code == 422, (url, response.text)
        assert response.json()["errors"] == [
            {"field": name, "message": "is not a parameter of this route"}
        ]
    known = "/tickets?status=new&status=waiting&q=printer&sort=-created_at&limit=5"
    assert api.client.get(known, headers=admin).status_code == 200
    assert api.client.get("/tickets/T-1/as-of?version=1", headers=admin).status_code == 200


def test_a_search_right_after_a_user_or_department_change_shows_it(api):
    api.open("alice@customer.test", department="support")
    admin = api.headers("admin@example.com")
    for i in range(5):
        renamed = api.client.patch(
            f"/users/{api.people.alice.id}", json={"name": f"Zelda{i}"}, headers=admin
        )
        assert renamed.status_code == 200
        found = api.client.get("/tickets", params={"person": f"zelda{i}"}, headers=admin)
        assert _numbers(found) == ["T-1"]
        moved = api.client.patch("/departments/support", json={"name": f"Help {i}"}, headers=admin)
        assert moved.status_code == 200
        listed = api.client.get("/tickets", headers=admin).json()["items"]
        assert listed[0]["department_name"] == f"Help {i}"


def test_lists_filter_by_requester_and_show_every_field_of_the_index(api):
    api.open("alice@customer.test")
    api.open("bob@customer.test")
    admin = api.headers("admin@example.com")
    bob = str(api.people.bob.id)
    page = api.client.get("/tickets", params={"requester": bob}, headers=admin).json()
    assert [item["number"] for item in page["items"]] == ["T-2"]
    item = page["items"][0]
    for field in ("version", "reopen_count", "first_response_at", "resolved_at", "closed_at"):
        assert field in item
    assert (item["sla_breached"], item["sla_first_response_due_at"]) == (False, None)
    bad = api.client.get("/tickets", params={"requester": "bob"}, headers=admin)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "requester"
    alice = api.headers("alice@customer.test")  # the scope still applies
    assert (
        api.client.get("/tickets", params={"requester": bob}, headers=alice).json()["items"] == []
    )
