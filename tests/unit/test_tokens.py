"""Access and refresh tokens: what they carry, and every way a token is refused."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any
from uuid import uuid4

import jwt
import pytest

from ledgerdesk.adapters.clock import ManualClock
from ledgerdesk.adapters.tokens import InvalidToken, TokenService, signing_key
from ledgerdesk.domain.errors import AuthenticationError
from ledgerdesk.domain.session import Session
from ledgerdesk.domain.user import User
from ledgerdesk.tests.support import T0

SECRET = "a-unit-test-secret-as-long-as-a-real-one"


def a_user(role: str = "agent") -> User:
    return User.start(
        User.Created,
        id=uuid4(),
        actor="system:test",
        at=T0,
        email="agent@example.com",
        name="Alan",
        role=role,
        department_ids=[],
        time_zone="UTC",
        locale="en",
        phone="",
    )


def a_session(user: User) -> Session:
    return Session.start(
        Session.Started,
        id=uuid4(),
        actor=user.actor,
        at=T0,
        user_id=user.id,
        user_agent="pytest",
        ip="127.0.0.1",
    )


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def tokens(clock: ManualClock) -> TokenService:
    return TokenService(SECRET, clock=clock)


@pytest.fixture
def user() -> User:
    return a_user()


@pytest.fixture
def session(user: User) -> Session:
    return a_session(user)


def claims_of(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})


def signed(claims: dict[str, Any], *, algorithm: str = "HS256", key: bytes | None = None) -> str:
    return jwt.encode(claims, key or signing_key(SECRET), algorithm=algorithm)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def refused(reason: str) -> Any:
    return pytest.raises(InvalidToken, match=reason)


# what a token carries -------------------------------------------------------------------------


def test_an_access_token_names_the_user_the_session_and_the_role(tokens, user, session):
    pair = tokens.issue(session, user)
    claims = tokens.verify_access(pair.access)
    assert (claims.user_id, claims.session_id, claims.role) == (user.id, session.id, "agent")
    assert claims.expires_at - claims.issued_at == timedelta(minutes=15)
    assert pair.expires_in == 15 * 60
    raw = claims_of(pair.access)
    assert raw["typ"] == "access" and raw["iss"] == "ledgerdesk" and raw["aud"] == "ledgerdesk-api"
    assert jwt.get_unverified_header(pair.access)["alg"] == "HS256"


def test_a_refresh_token_carries_the_sessions_generation_and_lives_two_weeks(tokens, user, session):
    session.refresh(0, actor=user.actor, at=T0)
    claims = tokens.verify_refresh(tokens.issue(session, user).refresh)
    assert (claims.user_id, claims.session_id, claims.generation) == (user.id, session.id, 1)
    assert claims.expires_at - claims.issued_at == timedelta(days=14)


def test_every_token_has_its_own_id(tokens, user, session):
    first, second = tokens.issue(session, user), tokens.issue(session, user)
    ids = {claims_of(t)["jti"] for t in (first.access, first.refresh, second.access)}
    assert len(ids) == 3


def test_tokens_are_not_signed_with_the_secret_key_itself(tokens, user, session):
    token = tokens.issue(session, user).access
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, SECRET, algorithms=["HS256"], audience="ledgerdesk-api")


def test_tokens_are_issued_only_for_the_sessions_own_user_and_a_live_session(tokens, user, session):
    with pytest.raises(ValueError, match="another user"):
        tokens.issue(session, a_user())
    session.revoke("signed out", actor=user.actor, at=T0)
    with pytest.raises(ValueError, match="ended session"):
        tokens.issue(session, user)


def test_an_invalid_token_is_an_authentication_error_with_its_reason(tokens):
    with pytest.raises(AuthenticationError) as caught:
        tokens.verify_access("not-a-token")
    assert isinstance(caught.value, InvalidToken)
    assert caught.value.reason == "the token is malformed" == str(caught.value)


# time -----------------------------------------------------------------------------------------


def test_an_access_token_is_refused_once_it_expires(tokens, clock, user, session):
    token = tokens.issue(session, user).access
    clock.advance(timedelta(minutes=14))
    tokens.verify_access(token)
    clock.advance(timedelta(minutes=1, seconds=10))
    with refused("the token has expired"):
        tokens.verify_access(token)


def test_a_refresh_token_is_refused_after_fourteen_days(tokens, clock, user, session):
    token = tokens.issue(session, user).refresh
    clock.advance(timedelta(days=13, hours=23))
    tokens.verify_refresh(token)
    clock.advance(timedelta(hours=1, seconds=10))
    with refused("the token has expired"):
        tokens.verify_refresh(token)


def test_a_token_whose_not_before_is_in_the_future_is_refused(tokens, clock, user, session):
    claims = claims_of(tokens.issue(session, user).access)
    claims["nbf"], claims["exp"] = claims["iat"] + 3600, claims["iat"] + 7200
    with refused("not valid yet"):
        tokens.verify_access(signed(claims))
    clock.advance(timedelta(hours=1))
    assert tokens.verify_access(signed(claims)).user_id == user.id


def test_a_token_issued_in_the_future_is_refused(tokens, user, session):
    claims = claims_of(tokens.issue(session, user).access)
    claims["iat"] += 3600
    with refused("not valid yet"):
        tokens.verify_access(signed(claims))


def test_a_token_with_a_time_that_is_not_a_number_is_refused(tokens, user, session):
    claims = claims_of(tokens.issue(session, user).access)
    claims["exp"] = "tomorrow"
    with refused("exp claim is not a time"):
        tokens.verify_access(signed(claims))


# signatures and algorithms --------------------------------------------------------------------


def test_a_token_with_a_tampered_payload_is_refused(tokens, user, session):
    header, payload, signature = tokens.issue(session, user).access.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["role"] = "admin"
    forged = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    with refused("signature does not match"):
        tokens.verify_access(forged)


def test_a_token_with_a_tampered_signature_is_refused(tokens, user, session):
    header, payload, signature = tokens.issue(session, user).access.split(".")
    raw = bytearray(base64.urlsafe_b64decode(signature + "=="))
    raw[0] ^= 1
    with refused("signature does not match"):
        tokens.verify_access(f"{header}.{payload}.{b64(bytes(raw))}")


def test_a_token_signed_with_another_key_is_refused(clock, user, session):
    other = TokenService("another-installations-secret", clock=clock)
    token = other.issue(session, user).access
    with refused("signature does not match"):
        TokenService(SECRET, clock=clock).verify_access(token)


def test_an_unsigned_token_with_algorithm_none_is_refused(tokens, user, session):
    claims = claims_of(tokens.issue(session, user).access)
    header = b64(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = b64(json.dumps(claims).encode())
    for token in (f"{header}.{payload}.", f"{header}.{payload}"):
        with refused("not signed with HS256|malformed"):
            tokens.verify_access(token)
    with refused("not signed with HS256"):
        tokens.verify_access(f"{header}.{payload}.")


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_a_token_signed_with_hs512_is_refused_even_with_the_right_key(tokens, user, session):
    claims = claims_of(tokens.issue(session, user).access)
    token = signed(claims, algorithm="HS512")
    with refused("not signed with HS256"):
        tokens.verify_access(token)


def test_garbage_an_empty_token_and_an_oversized_token_are_refused(tokens):
    with refused("malformed"):
        tokens.verify_access("a.b.c")
    with refused("no token was given"):
        tokens.verify_access("")
    with refused("too long"):
        tokens.verify_access("x" * 10_000)


# kinds, claims, issuer, audience ----------------------------------------------------------------


def test_a_refresh_token_is_refused_where_an_access_token_belongs(tokens, user, session):
    pair = tokens.issue(session, user)
    with refused("has no role claim"):
        tokens.verify_access(pair.refresh)
    claims = claims_of(pair.refresh)
    claims["role"] = "admin"  # even with every access claim present
    with refused("a refresh token was given where an access token belongs"):
        tokens.verify_access(signed(claims))


def test_an_access_token_is_refused_where_a_refresh_token_belongs(tokens, user, session):
    pair = tokens.issue(session, user)
    claims = claims_of(pair.access)
    claims["gen"] = 0
    with refused("an access token was given where a refresh token belongs"):
        tokens.verify_refresh(signed(claims))
    with refused("has no gen claim"):
        tokens.verify_refresh(pair.access)


@pytest.mark.parametrize("claim", ["sid", "sub", "exp", "iat", "jti", "typ", "role", "iss", "aud"])
def test_an_access_token_missing_a_claim_is_refused(tokens, user, session, claim):
    claims = claims_of(tokens.issue(session, user).access)
    del claims[claim]
    with refused(f"has no {claim} claim"):
        tokens.verify_access(signed(claims))


def test_claims_of_the_wrong_shape_are_refused(tokens, user, session):
    claims = claims_of(tokens.issue(session, user).refresh)
    for name, value, reason in [
        ("sid", "not-a-uuid", "sid claim is not an id"),
        ("gen", -1, "gen claim is malformed"),
        ("gen", True, "gen claim is malformed"),
        ("gen", "1", "gen claim is malformed"),
    ]:
        with refused(reason):
            tokens.verify_refresh(signed({**claims, name: value}))


def test_a_token_from_another_issuer_or_for_another_audience_is_refused(tokens, user, session):
    claims = claims_of(tokens.issue(session, user).access)
    with refused("not issued by this server"):
        tokens.verify_access(signed({**claims, "iss": "someone-else"}))
    with refused("not meant for this API"):
        tokens.verify_access(signed({**claims, "aud": "another-api"}))
    with refused("not meant for this API"):
        tokens.verify_access(signed({**claims, "aud": ["another-api", "ledgerdesk-api"]}))


def test_a_token_service_needs_a_secret_key(clock):
    with pytest.raises(ValueError, match="secret key"):
        TokenService("", clock=clock)
