"""Concurrent ticket creation over HTTP: group-committed, yet each request answered as its own."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any


def test_concurrent_creations_each_get_their_ticket_errors_and_idempotency_intact(api):
    admin = api.headers(api.people.admin.email)
    alice = api.headers("alice@customer.test")

    def create(i: int) -> tuple[int, Any, dict[str, Any]]:
        if i % 5 == 4:  # a refused command among the others of its batch
            body = {"subject": f"Bad {i}", "text": "x", "priority": "whenever"}
            headers = admin
        elif i % 5 == 3:  # the same key from several requests at once: one ticket
            body, headers = {"subject": "Keyed", "text": "once"}, {**alice, "Idempotency-Key": "k1"}
        else:
            body = {
                "subject": f"Concurrent {i}",
                "text": f"word{i}",
                "requester_email": f"c{i % 3}@new.test",
            }
            headers = admin
        response = api.client.post("/tickets", json=body, headers=headers)
        return i, response.status_code, response.json()

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(create, range(40)))

    refused = [r for r in results if r[0] % 5 == 4]
    assert all(status == 422 for _, status, _ in refused)
    assert all(body["errors"][0]["field"] == "priority" for _, _, body in refused)
    keyed = {body["number"] for i, status, body in results if i % 5 == 3 and status == 201}
    assert len(keyed) == 1 and all(s == 201 for i, s, _ in results if i % 5 == 3)
    created = [(i, body) for i, status, body in results if i % 5 < 3]
    assert all(body["subject"] == f"Concurrent {i}" for i, body in created)
    assert all(body["requester"]["email"] == f"c{i % 3}@new.test" for i, body in created)
    numbers = [body["number"] for _, body in created] + list(keyed)
    assert len(set(numbers)) == len(numbers) == 25
    # Read your writes: each answer came after the read models had the ticket.
    for i, body in created[:5]:
        found = api.client.get("/tickets", params={"q": f"word{i}"}, headers=admin).json()
        assert [t["number"] for t in found["items"]] == [body["number"]]
    # Three new requesters were created once each, whatever the batches were.
    for n in range(3):
        assert api.services.app.user_by_email(f"c{n}@new.test") is not None
