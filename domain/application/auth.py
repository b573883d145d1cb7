"""Sign-in commands: password sign-in, refresh-token rotation with reuse detection, sign-out."""

from __future__ import annotations

import secrets
from uuid import UUID

from ledgerdesk.domain import session as s
from ledgerdesk.domain import values as v
from ledgerdesk.domain.application.core import Core
from ledgerdesk.domain.application.unit_of_work import UnitOfWork
from ledgerdesk.domain.errors import AuthenticationError, ValidationError
from ledgerdesk.domain.ports import PasswordHasher
from ledgerdesk.domain.session import Session
from ledgerdesk.domain.user import EmailIndex, User

WRONG_CREDENTIALS = "wrong email or password"
TOKEN_REUSED_MESSAGE = (
    "this refresh token was already used, so the session has been ended for safety; sign in again"
)
AUTH_ACTOR = "system:auth"  # who ends a session on its own: a reused token, a deactivated user
MAX_PASSWORD = 4096


class AuthCommands(Core):
    _decoy: tuple[PasswordHasher, str] | None = None

    def sign_in(
        self,
        email: str,
        password: str,
        *,
        hasher: PasswordHasher,
        user_agent: str = "",
        ip: str = "",
    ) -> Session:
        """Start a session for an active user whose password matches; one error for any miss."""
        agent, address = s.user_agent(user_agent), s.ip_address(ip)
        if not isinstance(password, str) or not password or len(password) > MAX_PASSWORD:
            raise AuthenticationError(WRONG_CREDENTIALS)
        user = self._user_signing_in(email)
        stored = user.password_hash if user is not None else ""
        # A password is checked even when there is no user or no hash, against a decoy hash,
        # so the time taken does not tell which addresses have accounts.
        matches = hasher.verify(stored or self._decoy_hash(hasher), password)
        if user is None or not stored or not matches or not user.active:
            raise AuthenticationError(WRONG_CREDENTIALS)
        user_id = user.id

        def command(unit: UnitOfWork) -> Session:
            current = unit.find(User, user_id)
            # Deactivated, or given a new password while this one was being checked.
            if current is None or not current.active or current.password_hash != stored:
                raise AuthenticationError(WRONG_CREDENTIALS)
            session = Session.start(
                Session.Started,
                id=self.new_id(),
                actor=current.actor,
                at=self.now(),
                user_id=current.id,
                user_agent=agent,
                ip=address,
            )
            unit.add(session)
            return session

        return self.execute(command)

    def refresh(self, session_id: UUID, generation: int) -> Session:
        """Move a session to its next refresh generation; an old generation ends the session."""
        if isinstance(generation, bool) or not isinstance(generation, int) or generation < 0:
            raise AuthenticationError(s.ENDED_MESSAGE)

        def command(unit: UnitOfWork) -> Session | str:
            session = unit.find(Session, session_id)
            if session is None:
                raise AuthenticationError(s.ENDED_MESSAGE)
            session.check_active()
            # Refusals that end the session return their message instead of raising, so the
            # Revoked event is saved; the refusal is raised once it is.
            if not session.is_current(generation):
                session.revoke(s.TOKEN_REUSED, actor=AUTH_ACTOR, at=self.now())
                unit.add(session)
                return TOKEN_REUSED_MESSAGE
            user = unit.find(User, session.user_id)
            if user is None or not user.active:
                session.revoke(s.USER_INACTIVE, actor=AUTH_ACTOR, at=self.now())
                unit.add(session)
                return s.ENDED_MESSAGE
            session.refresh(generation, actor=user.actor, at=self.now())
            unit.add(session)
            return session

        result = self.execute(command)
        if isinstance(result, str):
            raise AuthenticationError(result)
        return result

    def sign_out(self, session_id: UUID, actor: str) -> None:
        """End a session; its refresh tokens are refused from then on."""
        actor = self.check_actor(actor)

        def command(unit: UnitOfWork) -> None:
            session = unit.get(Session, session_id, "session")
            session.revoke(s.SIGNED_OUT, actor=actor, at=self.now())
            unit.add(session)

        self.execute(command)

    def session(self, session_id: UUID) -> Session:
        """A session by its id (ended ones too: check `active`)."""
        return self.execute(lambda unit: unit.get(Session, session_id, "session"))

    # Internals -----------------------------------------------------------------------------

    def _user_signing_in(self, email: str) -> User | None:
        try:
            address = v.email(email)
        except ValidationError:
            return None

        def query(unit: UnitOfWork) -> User | None:
            index = unit.find(EmailIndex, EmailIndex.id_for(address))
            if index is None or index.user_id is None:
                return None
            return unit.find(User, index.user_id)

        return self.execute(query)

    def _decoy_hash(self, hasher: PasswordHasher) -> str:
        decoy = self._decoy
        if decoy is None or decoy[0] is not hasher:
            decoy = (hasher, hasher.hash(secrets.token_urlsafe(16)))
            self._decoy = decoy
        return decoy[1]
