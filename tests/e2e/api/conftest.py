"""An HTTP client on the real application and stores (both), with signed-in users."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from ledgerdesk.api.app import create_app
from ledgerdesk.bootstrap import Services
from ledgerdesk.tests.support import People

PASSWORD = "correct horse battery"


@dataclass
class Api:
    client: TestClient
    services: Services
    people: People

    def login(self, email: str, password: str = PASSWORD) -> dict[str, Any]:
        response = self.client.post("/auth/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        return response.json()

    def headers(self, email: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.login(email)['access_token']}"}

    def add_user(self, email: str, role: str) -> Any:
        """A user of any role who signs in with the usual password."""
        return self.services.app.create_user(
            actor="system:test",
            email=email,
            role=role,
            password_hash=self.services.passwords.hash(PASSWORD),
        )

    def open(self, email: str, **body: Any) -> dict[str, Any]:
        payload = {"subject": "Printer on fire", "text": "It is on fire.", **body}
        response = self.client.post("/tickets", json=payload, headers=self.headers(email))
        assert response.status_code == 201, response.text
        return response.json()


@pytest.fixture
def api(services: Services, people: People) -> Iterator[Api]:
    hashed = services.passwords.hash(PASSWORD)
    for user in (people.admin, people.agent, people.agent2, people.alice, people.bob):
        services.app.set_password_hash(user.id, hashed, actor="system:test")
    services.access.seed()
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        yield Api(client, services, people)
