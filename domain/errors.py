"""Domain errors: each says what was wrong in words a user can act on."""

from __future__ import annotations


class DomainError(Exception):
    """Base class: a command was refused. The message is shown to the user as is."""

    code = "refused"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ValidationError(DomainError):
    """A value given to a command is malformed, missing or too long."""

    code = "invalid"

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.reason = message


class NotFoundError(DomainError):
    """The ticket, user or department named does not exist."""

    code = "not_found"


class IllegalTransitionError(DomainError):
    """A ticket cannot move from its current status to the one asked for."""

    code = "illegal_transition"

    def __init__(self, number: str, current: str, target: str, reason: str) -> None:
        super().__init__(
            f"cannot move {number} from {current.replace('_', ' ').title()} to "
            f"{target.replace('_', ' ').title()}: {reason}"
        )
        self.current = current
        self.target = target


class ConflictError(DomainError):
    """The command clashes with existing state (a taken email, a duplicate, a concurrent edit)."""

    code = "conflict"


class StoreUnavailableError(Exception):
    """The event store cannot be reached; nothing was written."""


class AuthenticationError(DomainError):
    """Sign-in or a session was refused: wrong credentials, an ended session, a reused token."""

    code = "unauthenticated"
