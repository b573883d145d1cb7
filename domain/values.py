"""Values and their validation: priorities, statuses, roles, and the limits on every text field."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ledgerdesk.domain.errors import ValidationError


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class Status(StrEnum):
    NEW = "new"
    IN_PROGRESS = "in_progress"
    WAITING = "waiting"
    RESOLVED = "resolved"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return self.value.replace("_", " ").title()


class Role(StrEnum):
    ADMIN = "admin"
    AGENT = "agent"
    CUSTOMER = "customer"


class MessageKind(StrEnum):
    REPLY = "reply"  # public: the requester sees it
    NOTE = "note"  # internal: agents only


CHANNELS = ("email", "portal", "api", "cli", "phone", "chat", "system")

MAX_SUBJECT = 250
MAX_NAME = 120
MAX_CATEGORY = 80
MAX_TAG = 40
MAX_TAGS = 30
MAX_TEXT = 1_000_000  # a message body, in characters
MAX_EMAIL = 254

EMAIL_PATTERN = re.compile(r"^[^\s@<>()\[\],;:\"]+@[^\s@<>()\[\],;:\"]+\.[^\s@<>()\[\],;:\"]+$")
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.:-]*$")
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
LOCALE_PATTERN = re.compile(r"^[a-z]{2,3}(-[A-Z]{2})?$")
ROLE_PATTERN = re.compile(r"^[a-z][a-z0-9_-]{1,31}$")
ACTOR_PATTERN = re.compile(
    r"^(user:[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}"
    r"|system:[a-z0-9_.-]{1,64}|email:[^\s@]+@[^\s@]+)$"
)
SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
CONTROL_PATTERN = re.compile("[\x00-\x1f\x7f-\x9f]")  # Unicode category Cc


def text(field: str, value: object, *, max_length: int, required: bool = True) -> str:
    """A one-line text: stripped, control characters refused, length checked."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(field, "must be text")
    cleaned = " ".join(value.split())
    if required and not cleaned:
        raise ValidationError(field, "must not be empty")
    if len(cleaned) > max_length:
        raise ValidationError(
            field, f"is {len(cleaned)} characters long; the limit is {max_length}"
        )
    if CONTROL_PATTERN.search(cleaned):
        raise ValidationError(field, "must not contain control characters")
    _check_encodable(field, cleaned)
    return cleaned


def body(field: str, value: object, *, required: bool = True) -> str:
    """A multi-line message text: line breaks kept, NUL refused, length checked."""
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise ValidationError(field, "must be text")
    if "\x00" in value:
        raise ValidationError(field, "must not contain NUL characters")
    value = value.replace("\r\n", "\n")
    if required and not value.strip():
        raise ValidationError(field, "must not be empty")
    if len(value) > MAX_TEXT:
        raise ValidationError(field, f"is {len(value)} characters long; the limit is {MAX_TEXT}")
    _check_encodable(field, value)
    return value


def _check_encodable(field: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(
            field, "contains characters that are not valid Unicode text"
        ) from None


def email(value: object, field: str = "email") -> str:
    address = text(field, value, max_length=MAX_EMAIL).lower()
    if not EMAIL_PATTERN.fullmatch(address):
        raise ValidationError(field, f"{address!r} is not an email address")
    return address


def priority(value: object) -> Priority:
    try:
        return Priority(str(value).strip().lower())
    except ValueError:
        choices = ", ".join(p.value for p in Priority)
        raise ValidationError("priority", f"{value!r} is not one of {choices}") from None


def status(value: object) -> Status:
    try:
        return Status(str(value).strip().lower().replace(" ", "_").replace("-", "_"))
    except ValueError:
        choices = ", ".join(s.value for s in Status)
        raise ValidationError("status", f"{value!r} is not one of {choices}") from None


def role(value: object) -> str:
    name = str(value).strip().lower()
    if not ROLE_PATTERN.fullmatch(name):
        raise ValidationError("role", f"{value!r} is not a role name (a-z, 0-9, _ and -)")
    return name


def tag(value: object) -> str:
    name = text("tag", value, max_length=MAX_TAG).lower().replace(" ", "-")
    if not TAG_PATTERN.fullmatch(name):
        raise ValidationError("tag", f"{value!r} may use only a-z, 0-9, '-', '_', '.' and ':'")
    return name


def slug(value: object, field: str = "slug") -> str:
    name = str(value).strip().lower()
    if not SLUG_PATTERN.fullmatch(name):
        raise ValidationError(field, f"{value!r} must be 1-63 characters of a-z, 0-9 and '-'")
    return name


def time_zone(value: object) -> str:
    name = str(value).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError("time_zone", f"{value!r} is not a known time zone") from None
    return name


def locale(value: object) -> str:
    language, _, region = str(value).strip().replace("_", "-").partition("-")
    name = language.lower() + (f"-{region.upper()}" if region else "")
    if not LOCALE_PATTERN.fullmatch(name):
        raise ValidationError("locale", f"{value!r} is not a locale such as 'en' or 'de-AT'")
    return name


def actor(value: object) -> str:
    name = str(value)
    if not ACTOR_PATTERN.fullmatch(name):
        raise ValidationError(
            "actor", f"{value!r} must be user:<id>, system:<job> or email:<address>"
        )
    return name


def aware(field: str, value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime):
        raise ValidationError(field, "must be a date and time")
    if value.tzinfo is None:
        raise ValidationError(field, "must carry a time zone (for example 2026-12-01T17:00Z)")
    return value


def sha256_hex(field: str, value: object) -> str:
    digest = str(value).lower()
    if not SHA256_PATTERN.fullmatch(digest):
        raise ValidationError(field, f"{value!r} is not a sha256 hex digest")
    return digest
