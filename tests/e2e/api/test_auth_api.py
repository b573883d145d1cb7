"""Sign-in over HTTP: tokens, refresh rotation, sign-out, throttling, forged tokens."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt


def test_signing_in_gives_tokens_and_me_answers(api):
    tokens = api.login("alice@customer.test")
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] > 0
    me = api.client.get("/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"})
    assert me.status_code == 200 and me.json()["email"] == "alice@customer.test"


def test_a_wrong_password_and_an_unknown_email_get_the_same_problem(api):
    wrong = api.client.post(
        "/auth/login", json={"email": "alice@customer.test", "password": "nope-nope"}
    )
    unknown = api.client.post(
        "/auth/login", json={"email": "who@nowhere.test", "password": "nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.headers["content-type"].startswith("application/problem+json")
    assert wrong.json()["detail"] == unknown.json()["detail"] == "wrong email or password"


def test_repeated_failures_are_throttled_with_retry_after(api):
    for _ in range(5):
        api.client.post(
            "/auth/login", json={"email": "bob@customer.test", "password": "guess-guess"}
        )
    blocked = api.client.post(
        "/auth/login", json={"email": "bob@customer.test", "password": "correct horse battery"}
    )
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0


def test_a_refresh_token_works_once_and_its_reuse_ends_the_session(api):
    first = api.login("alice@customer.test")
    second = api.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    again = api.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert again.status_code == 401
    newest = api.client.post(
        "/auth/refresh", json={"refresh_token": second.json()["refresh_token"]}
    )
    assert newest.status_code == 401  # the reuse revoked the whole session
    me = api.client.get(
        "/auth/me", headers={"Authorization": f"Bearer {second.json()['access_token']}"}
    )
    assert me.status_code == 401


def test_signing_out_ends_the_access_token_too(api):
    tokens = api.login("alice@customer.test")
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert api.client.post("/auth/logout", headers=headers).status_code == 204
    assert api.client.get("/auth/me", headers=headers).status_code == 401
    refreshed = api.client.post("/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert refreshed.status_code == 401


def _forge(token: str, **changes: object) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims.update(changes)
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def test_tampered_expired_alg_none_and_wrong_key_tokens_get_401(api, clock):
    token = api.login("alice@customer.test")["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    none_header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    none_body = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    attempts = {
        "tampered": _forge(token, role="admin"),
        "alg none": f"{none_header}.{none_body}.",
        "wrong key": jwt.encode(claims, "not-the-key", algorithm="HS256"),
        "garbage": "not.a.token",
    }
    for name, forged in attempts.items():
        response = api.client.get("/auth/me", headers={"Authorization": f"Bearer {forged}"})
        assert response.status_code == 401, name
    clock.advance(timedelta(hours=1))
    expired = api.client.get("/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert expired.status_code == 401


def test_a_request_without_a_token_is_told_to_sign_in(api):
    response = api.client.get("/tickets/T-1")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_reused_refresh_token_ends_access_even_for_a_remembered_caller(api):
    first = api.login("alice@customer.test")
    second = api.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]}).json()
    headers = {"Authorization": f"Bearer {second['access_token']}"}
    assert api.client.get("/auth/me", headers=headers).status_code == 200  # now remembered
    api.client.post("/auth/refresh", json={"refresh_token": first["refresh_token"]})  # reuse
    assert api.client.get("/auth/me", headers=headers).status_code == 401
