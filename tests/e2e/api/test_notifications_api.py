"""In-app notifications, preferences and the admin outbox through the HTTP API."""

from __future__ import annotations

import json
import threading

from ledgerdesk.domain.delivery import delivery_id
from ledgerdesk.tests.e2e.api.conftest import Api


def settle(api: Api) -> None:
    api.services.projections.catch_up()


def test_an_assignment_notifies_the_agent_in_the_app_and_reading_it_is_an_event(api: Api):
    ticket = api.open("alice@customer.test")
    admin = api.headers("admin@example.com")
    response = api.client.put(
        f"/tickets/{ticket['number']}/assignee",
        json={"assignee_id": str(api.people.agent.id)},
        headers=admin,
    )
    assert response.status_code in (200, 204), response.text
    settle(api)
    agent = api.headers("agent@example.com")
    listed = api.client.get("/notifications", headers=agent).json()
    assigned = [n for n in listed if n["kind"] == "ticket_assigned"]
    assert len(assigned) == 1 and assigned[0]["ticket"] == ticket["number"]
    count = api.client.get("/notifications/unread-count", headers=agent).json()
    assert count >= 1
    read = api.client.post(
        "/notifications/read", json={"keys": [assigned[0]["key"]]}, headers=agent
    )
    assert read.json() == 1
    assert api.client.get("/notifications/unread-count", headers=agent).json() == count - 1
    assert api.services.app.get_aggregate(delivery_id(assigned[0]["key"])).state == "read"


def test_a_customer_cannot_mark_someone_elses_notification_read(api: Api):
    ticket = api.open("alice@customer.test")
    api.client.put(
        f"/tickets/{ticket['number']}/assignee",
        json={"assignee_id": str(api.people.agent.id)},
        headers=api.headers("admin@example.com"),
    )
    settle(api)
    agent = api.headers("agent@example.com")
    [key] = [n["key"] for n in api.client.get("/notifications", headers=agent).json()
             if n["kind"] == "ticket_assigned"]  # fmt: skip
    response = api.client.post(
        "/notifications/read", json={"keys": [key]}, headers=api.headers("bob@customer.test")
    )
    assert response.status_code == 404
    assert api.client.get("/notifications/unread-count", headers=agent).json() >= 1


def test_preferences_round_trip_and_bad_values_are_422_naming_the_field(api: Api):
    alice = api.headers("alice@customer.test")
    body = {"agent_replied": {"channels": ["in_app"], "digest": False}}
    response = api.client.put("/users/me/preferences", json=body, headers=alice)
    assert response.status_code == 200, response.text
    assert api.client.get("/users/me/preferences", headers=alice).json() == body
    bad = api.client.put(
        "/users/me/preferences", json={"agent_replied": {"channels": ["pigeon"]}}, headers=alice
    )
    assert bad.status_code == 422
    assert "channels" in bad.json()["detail"]


def test_only_admins_see_the_outbox(api: Api):
    api.open("alice@customer.test")
    settle(api)
    assert api.client.get("/outbox", headers=api.headers("agent@example.com")).status_code == 403
    listed = api.client.get("/outbox", headers=api.headers("admin@example.com"))
    assert listed.status_code == 200
    assert any(i["kind"] == "ticket_opened" for i in listed.json())


def test_the_stream_sends_a_new_notification_as_it_arrives(api: Api):
    ticket = api.open("alice@customer.test")
    agent = api.headers("agent@example.com")
    received: list[dict] = []

    def assign_soon() -> None:
        api.client.put(
            f"/tickets/{ticket['number']}/assignee",
            json={"assignee_id": str(api.people.agent.id)},
            headers=api.headers("admin@example.com"),
        )
        settle(api)

    timer = threading.Timer(0.2, assign_soon)
    with api.client.stream("GET", "/notifications/stream", headers=agent) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        for line in response.iter_lines():
            if line.startswith("retry:"):  # the stream has looked once: news comes as events
                timer.start()
            if line.startswith("data: "):
                received.append(json.loads(line[6:]))
                break
    timer.join()
    assert received[0]["kind"] == "ticket_assigned"


def test_marking_a_made_up_notification_read_is_404_and_records_nothing(api: Api):
    alice = api.headers("alice@customer.test")
    before = api.services.app.read(api.services.app.recorder.max_notification_id)
    made_up = f"x.1.0.ticket_assigned.{api.people.alice.id.hex}.in_app"
    response = api.client.post("/notifications/read", json={"keys": [made_up]}, headers=alice)
    assert response.status_code == 404
    assert api.services.app.read(api.services.app.recorder.max_notification_id) == before
