"""Sign-in sessions on both stores: passwords, refresh-token rotation, reuse, sign-out, audit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from ledgerdesk.adapters.clock import ManualClock
from ledgerdesk.adapters.event_store import store_env
from ledgerdesk.adapters.passwords import Argon2Hasher
from ledgerdesk.adapters.tokens import TokenService
from ledgerdesk.bootstrap import Services, bootstrap, migrate
from ledgerdesk.domain.application import LedgerDesk
from ledgerdesk.domain.application.auth import AuthCommands
from ledgerdesk.domain.errors import AuthenticationError, NotFoundError, ValidationError
from ledgerdesk.domain.session import Session
from ledgerdesk.settings import Settings
from ledgerdesk.tests.support import People

PASSWORD = "correct horse battery staple"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0"
IP = "203.0.113.7"


class App(LedgerDesk, AuthCommands):
    """The application with sign-in (also right once LedgerDesk includes AuthCommands)."""

    name = "LedgerDesk"  # eventsourcing names the tables after the class otherwise


@pytest.fixture
def services(settings: Settings, clock: ManualClock) -> Iterator[Services]:
    migrate(settings)
    app = App(
        store_env(settings),
        clock=clock,
        snapshot_interval=settings.snapshot_interval,
        secret_key=settings.resolved_secret_key(),
    )
    svc = bootstrap(settings, app=app, passwords=Argon2Hasher(time_cost=1, memory_cost=1024))
    yield svc
    svc.close()


@pytest.fixture
def alice(services: Services, people: People):
    hashed = services.passwords.hash(PASSWORD)
    return services.app.set_password_hash(people.alice.id, hashed, actor=people.admin.actor)


def sign_in(services: Services, email: str = "alice@customer.test", password: str = PASSWORD):
    return services.app.sign_in(
        email, password, hasher=services.passwords, user_agent=BROWSER, ip=IP
    )


def trail(services: Services, session: Session) -> list[tuple[str, str, object]]:
    """The session's events: (kind, actor, what it recorded)."""
    out: list[tuple[str, str, object]] = []
    for event in services.app.events.get(session.id):
        kind = type(event).__name__
        detail = {
            "Started": lambda e: (str(e.user_id), e.user_agent, e.ip),
            "Refreshed": lambda e: e.generation,
            "Revoked": lambda e: e.reason,
        }[kind](event)
        out.append((kind, event.actor, detail))
    return out


# signing in -------------------------------------------------------------------------------------


def test_signing_in_starts_a_session_recorded_as_an_event_by_the_user(services, alice):
    session = sign_in(services, email="Alice@Customer.TEST")
    assert (session.user_id, session.generation, session.active) == (alice.id, 0, True)
    assert (session.user_agent, session.ip) == (BROWSER, IP)
    assert trail(services, session) == [("Started", alice.actor, (str(alice.id), BROWSER, IP))]
    assert services.app.session(session.id).user_id == alice.id


def test_a_wrong_password_and_an_unknown_email_give_the_same_error(services, alice, people):
    errors = []
    for email, password in [
        ("alice@customer.test", "wrong horse"),
        ("nobody@customer.test", PASSWORD),
        ("bob@customer.test", PASSWORD),  # a user without a password
        ("not an email", PASSWORD),
        ("alice@customer.test", ""),
    ]:
        with pytest.raises(AuthenticationError) as caught:
            sign_in(services, email, password)
        errors.append((type(caught.value), str(caught.value)))
    assert set(errors) == {(AuthenticationError, "wrong email or password")}


def test_a_refused_sign_in_records_nothing(services, alice):
    before = services.app.recorder.max_notification_id()
    with pytest.raises(AuthenticationError):
        sign_in(services, password="wrong horse")
    assert services.app.recorder.max_notification_id() == before


def test_a_deactivated_user_cannot_sign_in_even_with_the_right_password(services, alice, people):
    services.app.deactivate_user(alice.id, actor=people.admin.actor)
    with pytest.raises(AuthenticationError, match=r"^wrong email or password$"):
        sign_in(services)
    services.app.reactivate_user(alice.id, actor=people.admin.actor)
    assert sign_in(services).active


def test_the_client_description_is_kept_short_and_the_ip_must_be_an_address(services, alice):
    session = services.app.sign_in(
        "alice@customer.test", PASSWORD, hasher=services.passwords, user_agent="x" * 5000, ip=""
    )
    assert (len(session.user_agent), session.ip) == (256, "")
    with pytest.raises(ValidationError, match="ip"):
        services.app.sign_in(
            "alice@customer.test", PASSWORD, hasher=services.passwords, ip="10.0.0.300"
        )
    ipv6 = services.app.sign_in(
        "alice@customer.test", PASSWORD, hasher=services.passwords, ip="2001:DB8::0001"
    )
    assert ipv6.ip == "2001:db8::1"


# refreshing -------------------------------------------------------------------------------------


def test_each_refresh_moves_the_session_to_the_next_generation(services, alice):
    session = sign_in(services)
    assert services.app.refresh(session.id, 0).generation == 1
    assert services.app.refresh(session.id, 1).generation == 2
    assert trail(services, session)[1:] == [
        ("Refreshed", alice.actor, 1),
        ("Refreshed", alice.actor, 2),
    ]


def test_reusing_an_old_refresh_token_ends_the_session_and_refuses_every_later_refresh(
    services, alice
):
    session = sign_in(services)
    services.app.refresh(session.id, 0)  # the rightful client, now at generation 1
    with pytest.raises(AuthenticationError, match=r"already used.*ended"):
        services.app.refresh(session.id, 0)  # a copy of the first token
    ended = services.app.session(session.id)
    assert (ended.active, ended.revoked_reason) == (False, "refresh token reused")
    with pytest.raises(AuthenticationError, match="session has ended"):
        services.app.refresh(session.id, 1)  # not even the current token works now
    assert [kind for kind, _, _ in trail(services, session)] == ["Started", "Refreshed", "Revoked"]
    assert trail(services, session)[-1] == ("Revoked", "system:auth", "refresh token reused")


def test_a_token_from_a_generation_never_handed_out_also_ends_the_session(services, alice):
    session = sign_in(services)
    with pytest.raises(AuthenticationError, match="already used"):
        services.app.refresh(session.id, 7)
    assert not services.app.session(session.id).active


def test_a_refresh_for_a_deactivated_user_ends_the_session(services, alice, people):
    session = sign_in(services)
    services.app.deactivate_user(alice.id, actor=people.admin.actor)
    with pytest.raises(AuthenticationError, match="session has ended"):
        services.app.refresh(session.id, 0)
    assert trail(services, session)[-1] == ("Revoked", "system:auth", "user deactivated")


def test_a_refresh_for_an_unknown_session_or_a_malformed_generation_is_refused(services, alice):
    from uuid import uuid4

    with pytest.raises(AuthenticationError, match="session has ended"):
        services.app.refresh(uuid4(), 0)
    session = sign_in(services)
    for generation in (-1, True, "0"):
        with pytest.raises(AuthenticationError):
            services.app.refresh(session.id, generation)
    assert services.app.session(session.id).active  # nonsense is refused without a revocation


def test_a_sign_in_in_a_batch_that_refuses_an_old_token_still_records_the_revocation(
    services, alice
):
    session = sign_in(services)
    services.app.refresh(session.id, 0)
    results = services.app.batch([lambda: services.app.refresh(session.id, 0)])
    assert isinstance(results[0], AuthenticationError)
    assert not services.app.session(session.id).active


# signing out ------------------------------------------------------------------------------------


def test_signing_out_ends_the_session_and_its_refresh_tokens(services, alice):
    session = sign_in(services)
    services.app.sign_out(session.id, actor=alice.actor)
    assert not services.app.session(session.id).active
    with pytest.raises(AuthenticationError, match="session has ended"):
        services.app.refresh(session.id, 0)
    with pytest.raises(AuthenticationError, match="session has ended"):
        services.app.sign_out(session.id, actor=alice.actor)
    assert trail(services, session)[-1] == ("Revoked", alice.actor, "signed out")


def test_signing_out_one_session_leaves_the_users_other_sessions_alone(services, alice):
    laptop, phone = sign_in(services), sign_in(services)
    services.app.sign_out(laptop.id, actor=alice.actor)
    assert services.app.refresh(phone.id, 0).active
    with pytest.raises(NotFoundError, match="session"):
        services.app.sign_out(alice.id, actor=alice.actor)  # not a session id


# with the tokens, and the audit ---------------------------------------------------------------


def test_tokens_from_a_sign_in_refresh_once_and_the_replay_is_caught(services, alice, clock):
    tokens = TokenService(services.settings.resolved_secret_key(), clock=clock)
    session = sign_in(services)
    first = tokens.issue(session, services.app.user(session.user_id))
    access = tokens.verify_access(first.access)
    assert (access.user_id, access.session_id, access.role) == (alice.id, session.id, "customer")
    clock.advance(timedelta(minutes=20))  # the access token has expired; the refresh has not
    claims = tokens.verify_refresh(first.refresh)
    renewed = services.app.refresh(claims.session_id, claims.generation)
    second = tokens.issue(renewed, services.app.user(renewed.user_id))
    assert tokens.verify_refresh(second.refresh).generation == 1
    replay = tokens.verify_refresh(first.refresh)  # still a validly signed token...
    with pytest.raises(AuthenticationError, match="already used"):
        services.app.refresh(replay.session_id, replay.generation)  # ...but used already
    with pytest.raises(AuthenticationError):
        services.app.refresh(claims.session_id, tokens.verify_refresh(second.refresh).generation)


def test_session_events_are_chained_and_pass_the_audit(services, alice, people):
    session = sign_in(services)
    services.app.refresh(session.id, 0)
    services.app.sign_out(session.id, actor=people.admin.actor)
    events = list(services.app.events.get(session.id))
    assert events[0].prev_hash == "" and all(e.prev_hash for e in events[1:])
    services.app.seal()
    report = services.app.verify()
    assert report.ok, report.findings
