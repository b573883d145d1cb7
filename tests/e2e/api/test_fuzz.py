"""Fuzzing every route from the API's own OpenAPI document: no input may cause a 5xx.

Schemathesis generates the requests from /openapi.json, both ones that fit the schema and
ones that do not (wrong types, missing fields, bad formats), sent as each kind of caller: an
admin, an agent, a customer and nobody signed in. Each goes through the real application and
store, on both stores. (schemathesis' pytest fixture integration does not run under pytest 9,
so the operations are walked here with hypothesis directly.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode

EXAMPLES = 10  # per operation, generation mode and caller
CALLERS = {
    "admin": "admin@example.com",
    "agent": "agent@example.com",
    "customer": "alice@customer.test",
    "nobody": None,
}


@pytest.mark.parametrize("caller", list(CALLERS))
def test_no_generated_request_gets_a_server_error(api, caller):  # type: ignore[no-untyped-def]
    api.open("alice@customer.test", department="support")  # something to find
    api.open("bob@customer.test")  # and something a customer may not see
    email = CALLERS[caller]
    headers = api.headers(email) if email else {}
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        if operation.path == "/auth/logout" and email:  # it would end the caller's session
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            run_operation(operation, mode, headers, failures)
    assert not failures, "\n".join(failures[:10])


def run_operation(operation, mode, headers, failures):  # type: ignore[no-untyped-def]
    """Send EXAMPLES generated requests for one operation; note any 5xx or non-problem error."""

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def run(case):  # type: ignore[no-untyped-def]
        sent = {k: v for k, v in (case.headers or {}).items() if k.lower() != "authorization"}
        case.headers = {**sent, **headers}
        response = case.call()
        where = f"{mode.value} {case.method} {case.formatted_path}"
        if response.status_code >= 500:
            failures.append(f"{where}: {response.status_code} {response.text[:200]}")
        elif response.status_code >= 400:
            kind = response.headers.get("content-type") or [""]
            kind = kind[0] if isinstance(kind, list) else kind
            if not kind.startswith("application/problem+json"):
                failures.append(f"{where}: {response.status_code} as {kind}")

    try:
        run()
    except Unsatisfiable:  # nothing of the operation can be made invalid (no parameters)
        if mode is not GenerationMode.NEGATIVE:
            raise
