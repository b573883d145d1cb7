"""JSON Web Tokens (pyjwt, HS256): short-lived access tokens and rotating refresh tokens.

Times are checked against the Clock port rather than pyjwt's own `datetime.now()`, so tests
can move time. The signing key is derived from the installation's secret key (HMAC with a
label), so a leaked token key says nothing about the key that signs audit seals.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import jwt

from ledgerdesk.domain.errors import AuthenticationError
from ledgerdesk.domain.ports import Clock
from ledgerdesk.domain.session import Session
from ledgerdesk.domain.user import User

ALGORITHM = "HS256"
AUDIENCE = "ledgerdesk-api"
ACCESS, REFRESH = "access", "refresh"
MAX_TOKEN = 4096  # characters; ours are about 400
COMMON_CLAIMS = ["iss", "aud", "sub", "sid", "typ", "iat", "nbf", "exp", "jti"]
REQUIRED = {ACCESS: [*COMMON_CLAIMS, "role"], REFRESH: [*COMMON_CLAIMS, "gen"]}
KINDS = {ACCESS: "an access token", REFRESH: "a refresh token"}
KEY_LABEL = b"ledgerdesk/jwt-hs256"


class InvalidToken(AuthenticationError):
    """A token was refused; `reason` says why in words (expired, wrong signature, ...)."""

    code = "invalid_token"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TokenPair:
    access: str
    refresh: str
    expires_in: int  # seconds until the access token expires


@dataclass(frozen=True)
class AccessClaims:
    user_id: UUID
    session_id: UUID
    role: str
    token_id: str
    issued_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class RefreshClaims:
    user_id: UUID
    session_id: UUID
    generation: int
    token_id: str
    issued_at: datetime
    expires_at: datetime


class TokenService:
    """Issues and checks the tokens of one session: an access token and a refresh token."""

    def __init__(
        self,
        secret_key: str,
        *,
        access_ttl: timedelta = timedelta(minutes=15),
        refresh_ttl: timedelta = timedelta(days=14),
        issuer: str = "ledgerdesk",
        clock: Clock,
        leeway: timedelta = timedelta(seconds=5),
    ) -> None:
        if not secret_key:
            raise ValueError("a secret key is needed to sign tokens")
        if access_ttl <= timedelta(0) or refresh_ttl <= timedelta(0):
            raise ValueError("token lifetimes must be positive")
        self._key = signing_key(secret_key)
        self.access_ttl, self.refresh_ttl = access_ttl, refresh_ttl
        self.issuer = issuer
        self._clock = clock
        self._leeway = leeway.total_seconds()

    def issue(self, session: Session, user: User) -> TokenPair:
        """An access token for the user's role and a refresh token for the session's generation."""
        if session.user_id != user.id:
            raise ValueError("the session belongs to another user")
        if not session.active:
            raise ValueError("an ended session gets no tokens")
        now = int(self._clock.now().timestamp())
        common = {
            "iss": self.issuer,
            "aud": AUDIENCE,
            "sub": str(user.id),
            "sid": str(session.id),
            "iat": now,
            "nbf": now,
        }
        access_seconds = int(self.access_ttl.total_seconds())
        access = {
            **common,
            "typ": ACCESS,
            "role": user.role,
            "exp": now + access_seconds,
            "jti": secrets.token_hex(16),
        }
        refresh = {
            **common,
            "typ": REFRESH,
            "gen": session.generation,
            "exp": now + int(self.refresh_ttl.total_seconds()),
            "jti": secrets.token_hex(16),
        }
        return TokenPair(
            access=jwt.encode(access, self._key, algorithm=ALGORITHM),
            refresh=jwt.encode(refresh, self._key, algorithm=ALGORITHM),
            expires_in=access_seconds,
        )

    def verify_access(self, token: str) -> AccessClaims:
        """The claims of a valid access token; InvalidToken otherwise."""
        claims = self._decode(token, ACCESS)
        role = claims["role"]
        if not isinstance(role, str) or not role:
            raise InvalidToken("the token's role claim is malformed")
        return AccessClaims(
            user_id=_uuid(claims, "sub"),
            session_id=_uuid(claims, "sid"),
            role=role,
            token_id=claims["jti"],
            issued_at=_time(claims["iat"]),
            expires_at=_time(claims["exp"]),
        )

    def verify_refresh(self, token: str) -> RefreshClaims:
        """The claims of a valid refresh token; InvalidToken otherwise."""
        claims = self._decode(token, REFRESH)
        generation = claims["gen"]
        if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
            raise InvalidToken("the token's gen claim is malformed")
        return RefreshClaims(
            user_id=_uuid(claims, "sub"),
            session_id=_uuid(claims, "sid"),
            generation=generation,
            token_id=claims["jti"],
            issued_at=_time(claims["iat"]),
            expires_at=_time(claims["exp"]),
        )

    def _decode(self, token: str, kind: str) -> dict[str, Any]:
        if not isinstance(token, str) or not token:
            raise InvalidToken("no token was given")
        if len(token) > MAX_TOKEN:
            raise InvalidToken("the token is too long")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=AUDIENCE,
                issuer=self.issuer,
                # Times are checked below against our clock, not pyjwt's datetime.now().
                options={
                    "require": REQUIRED[kind],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "strict_aud": True,
                },
            )
        except jwt.InvalidAlgorithmError:
            raise InvalidToken(f"the token is not signed with {ALGORITHM}") from None
        except jwt.InvalidSignatureError:
            raise InvalidToken("the token's signature does not match") from None
        except jwt.MissingRequiredClaimError as error:
            raise InvalidToken(f"the token has no {error.claim} claim") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("the token was not issued by this server") from None
        except jwt.InvalidAudienceError:
            raise InvalidToken("the token is not meant for this API") from None
        except jwt.DecodeError:
            raise InvalidToken("the token is malformed") from None
        except jwt.InvalidTokenError as error:
            raise InvalidToken(f"the token is invalid ({error})") from None
        if claims["typ"] != kind:
            given = KINDS.get(claims["typ"]) if isinstance(claims["typ"], str) else None
            raise InvalidToken(
                f"{given or 'a token of another kind'} was given where {KINDS[kind]} belongs"
            )
        self._check_times(claims)
        return claims

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self._clock.now().timestamp()
        for name in ("iat", "nbf", "exp"):
            if isinstance(claims[name], bool) or not isinstance(claims[name], int | float):
                raise InvalidToken(f"the token's {name} claim is not a time")
        if claims["exp"] <= now - self._leeway:
            raise InvalidToken("the token has expired")
        if claims["nbf"] > now + self._leeway or claims["iat"] > now + self._leeway:
            raise InvalidToken("the token is not valid yet")


def signing_key(secret_key: str) -> bytes:
    """The HS256 key: derived from the secret key, never the secret key itself."""
    return hmac.new(secret_key.encode("utf-8"), KEY_LABEL, hashlib.sha256).digest()


def _uuid(claims: dict[str, Any], name: str) -> UUID:
    try:
        return UUID(str(claims[name]))
    except ValueError:
        raise InvalidToken(f"the token's {name} claim is not an id") from None


def _time(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)
