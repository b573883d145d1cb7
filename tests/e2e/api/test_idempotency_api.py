"""Every POST that changes something honours an Idempotency-Key: a retry does nothing twice."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from ledgerdesk.domain.access import POLICY_ID

RULE = ["p", "agent", "ticket", "read", "any"]
DEFAULT_RULE = ["p", "agent", "user", "create", "any"]
AGENT = {"email": "new@example.com", "role": "agent", "password": "long enough pass"}
# who, route, body, another body, what the work changes (T-1 exists)
RETRIES: list[tuple[str, str, dict[str, Any], dict[str, Any], str]] = [
    ("alice@customer.test", "/tickets/T-1/replies", {"text": "hi"}, {"text": "hey"}, "ticket"),
    ("agent@example.com", "/tickets/T-1/notes", {"text": "psst"}, {"text": "sh"}, "ticket"),
    (
        "agent@example.com",
        "/tickets/T-1/transitions",
        {"status": "resolved"},
        {"status": "closed"},
        "ticket",
    ),
    ("admin@example.com", "/users", AGENT, {**AGENT, "name": "Other"}, "users"),
    (
        "admin@example.com",
        "/departments",
        {"slug": "billing", "name": "Billing"},
        {"slug": "sales", "name": "Sales"},
        "departments",
    ),
    ("admin@example.com", "/policies/rules", {"rule": RULE}, {"rule": DEFAULT_RULE}, "policy"),
    (
        "admin@example.com",
        "/policies/rules/remove",
        {"rule": DEFAULT_RULE},
        {"rule": RULE},
        "policy",
    ),
    ("agent@example.com", "/notifications/read", {"all": True}, {"keys": ["x"]}, "unread"),
]


def _state(api: Any, what: str) -> Callable[[], Any]:
    app = api.services.app
    return {
        "ticket": lambda: app.ticket("T-1").version,
        "users": lambda: len(app.user_ids()),
        "departments": lambda: len(app.department_ids()),
        "policy": lambda: app.get_aggregate(POLICY_ID).version,
        "unread": lambda: api.services.outbox.unread_count(api.people.agent.id.hex),
    }[what]


@pytest.mark.parametrize(("who", "route", "body", "other", "what"), RETRIES)
def test_a_retried_post_with_the_same_key_does_its_work_once(api, who, route, body, other, what):
    api.open("alice@customer.test", department="support")
    api.services.app.assign("T-1", api.people.agent.id, actor="system:test")  # a notification
    api.services.projections.catch_up()
    state = _state(api, what)
    headers = {**api.headers(who), "Idempotency-Key": "retry-1"}
    before = state()
    first = api.client.post(route, json=body, headers=headers)
    assert first.status_code in (200, 201), first.text
    done = state()
    assert done != before
    second = api.client.post(route, json=body, headers=headers)
    assert (second.status_code, second.json()) == (first.status_code, first.json())
    assert state() == done
    refused = api.client.post(route, json=other, headers=headers)
    assert refused.status_code == 409, refused.text
    assert "Idempotency-Key" in refused.json()["detail"]
    assert state() == done


def test_without_a_key_a_repeated_reply_is_two_replies(api):
    api.open("alice@customer.test")
    alice = api.headers("alice@customer.test")
    for _ in range(2):
        reply = api.client.post("/tickets/T-1/replies", json={"text": "hi"}, headers=alice)
        assert reply.status_code == 201
    assert len(api.services.app.ticket("T-1").messages) == 3


def test_a_key_is_the_callers_own_and_the_routes(api):
    api.open("alice@customer.test")
    api.open("bob@customer.test")
    body, key = {"text": "same words"}, {"Idempotency-Key": "shared"}
    alice = {**api.headers("alice@customer.test"), **key}
    bob = {**api.headers("bob@customer.test"), **key}
    assert api.client.post("/tickets/T-1/replies", json=body, headers=alice).status_code == 201
    assert api.client.post("/tickets/T-2/replies", json=body, headers=bob).status_code == 201
    assert len(api.services.app.ticket("T-2").messages) == 2
    admin = {**api.headers("admin@example.com"), **key}
    assert api.client.post("/tickets/T-1/replies", json=body, headers=admin).status_code == 201
    # The same key on another route is another request: refused, not silently replayed.
    assert api.client.post("/tickets/T-1/notes", json=body, headers=admin).status_code == 409
    assert len(api.services.app.ticket("T-1").messages) == 3
