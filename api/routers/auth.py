"""Sign in, refresh, sign out, and who am I."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ledgerdesk.api.deps import CurrentCaller, KnownQuery, ServicesDep, client_ip
from ledgerdesk.api.errors import Problem
from ledgerdesk.api.schemas import LoginIn, RefreshIn, TokensOut, UserOut
from ledgerdesk.domain.errors import AuthenticationError, DomainError
from ledgerdesk.domain.session import Session
from ledgerdesk.domain.user import User

router = APIRouter(prefix="/auth", tags=["auth"], dependencies=[KnownQuery])


@router.post("/login", response_model=TokensOut)
def login(body: LoginIn, request: Request, services: ServicesDep) -> TokensOut:
    """Exchange email and password for an access token and a refresh token."""
    ip = client_ip(request)
    wait = services.throttle.check(body.email, ip)
    if wait is not None:
        raise Problem(
            429,
            f"too many failed sign-ins; try again in {int(wait) + 1} seconds",
            headers={"Retry-After": str(int(wait) + 1)},
        )
    try:
        session = services.app.sign_in(
            body.email,
            body.password,
            hasher=services.passwords,
            user_agent=request.headers.get("user-agent", "")[:200],
            ip=ip,
        )
    except AuthenticationError:
        services.throttle.failed(body.email, ip)
        raise Problem(401, "wrong email or password") from None
    services.throttle.succeeded(body.email, ip)
    return _tokens(services, session)


@router.post("/refresh", response_model=TokensOut)
def refresh(body: RefreshIn, services: ServicesDep, request: Request) -> TokensOut:
    """Trade a refresh token for new tokens; each refresh token works once."""
    from ledgerdesk.adapters.tokens import InvalidToken

    try:
        claims = services.tokens.verify_refresh(body.refresh_token)
    except InvalidToken as error:
        raise Problem(401, f"the refresh token is not valid: {error}") from None
    try:
        session = services.app.refresh(claims.session_id, claims.generation)
    except DomainError as error:
        request.app.state.callers.forget(claims.session_id)  # a reuse ended the session
        raise Problem(401, f"the refresh token is not valid: {error}") from None
    return _tokens(services, session)


@router.post("/logout", status_code=204)
def logout(caller: CurrentCaller, services: ServicesDep, request: Request) -> Response:
    """End this sign-in: its refresh token and access tokens stop working."""
    services.app.sign_out(caller.session_id, actor=caller.actor)
    request.app.state.callers.forget(caller.session_id)
    return Response(status_code=204)


@router.get("/me", response_model=UserOut)
def me(caller: CurrentCaller) -> User:
    """The signed-in user."""
    return caller.user


def _tokens(services: ServicesDep, session: Session) -> TokensOut:
    user = services.app.user(session.user_id)
    pair = services.tokens.issue(session, user)
    return TokensOut(
        access_token=pair.access, refresh_token=pair.refresh, expires_in=pair.expires_in
    )
