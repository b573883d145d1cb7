"""FastAPI's OpenTelemetry support: off unless LEDGERDESK_TELEMETRY asks for it."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from opentelemetry import trace

from ledgerdesk.api.app import create_app
from ledgerdesk.bootstrap import Services


@pytest.mark.parametrize("wanted", [False, True])
def test_requests_ask_opentelemetry_only_when_telemetry_is_on(
    services: Services, wanted: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[object] = []
    provider = trace.get_tracer_provider()

    def get_tracer_provider() -> object:
        asked.append(provider)
        return provider

    monkeypatch.setattr(trace, "get_tracer_provider", get_tracer_provider)
    monkeypatch.setattr(services, "settings", services.settings.with_changes(telemetry=wanted))
    with TestClient(create_app(services)) as client:
        for _ in range(3):
            assert client.get("/health").status_code == 200
    assert bool(asked) is wanted
