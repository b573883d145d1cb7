"""Service discovery for the tests: which real services this run may use."""

from __future__ import annotations

import os

import pytest

PG_URL = os.environ.get("LEDGERDESK_TEST_DATABASE_URL", "")
REDIS_URL = os.environ.get("LEDGERDESK_TEST_REDIS_URL", "")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need_service(name: str, url: str) -> None:
    """Skip without the service, except under CI=true, where its absence fails the test."""
    if url:
        return
    message = f"{name} is not configured (set LEDGERDESK_TEST_{name.upper()}_URL)"
    if IN_CI:
        pytest.fail(f"CI=true and {message}")
    pytest.skip(message)
