"""Fuzzing every route from the API's own OpenAPI document: no input may cause a 5xx.

Schemathesis generates the requests (valid and invalid ones) from /openapi.json; each goes
through the real application and store. (schemathesis' pytest fixture integration does not
run under pytest 9, so the operations are walked here with hypothesis directly.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

EXAMPLES = 30


@pytest.mark.parametrize("store", ["sqlite"], indirect=True)
def test_no_generated_request_gets_a_server_error(api, store):  # type: ignore[no-untyped-def]
    api.open("alice@customer.test")  # something for the generated requests to find
    agent, admin = api.headers("agent@example.com"), api.headers("admin@example.com")
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        run_operation(
            operation, admin if operation.path.startswith("/policies") else agent, failures
        )
    assert not failures, "\n".join(failures[:10])


def run_operation(operation, headers, failures):  # type: ignore[no-untyped-def]
    """Send EXAMPLES generated requests for one operation; note any 5xx or non-problem error."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy())
    def run(case):  # type: ignore[no-untyped-def]
        case.headers = {**(case.headers or {}), **headers}
        response = case.call()
        if response.status_code >= 500:
            failures.append(f"{case.method} {case.formatted_path}: {response.text[:200]}")
        elif response.status_code >= 400:
            kind = response.headers.get("content-type") or [""]
            kind = kind[0] if isinstance(kind, list) else kind
            if not kind.startswith("application/problem+json"):
                failures.append(
                    f"{case.method} {case.formatted_path}: {response.status_code} as {kind}"
                )

    run()
