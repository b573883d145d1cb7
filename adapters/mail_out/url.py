"""Small helpers for the transport URLs: query parameters, flags, numbers, masked display.

Every error is a SettingsError (or the error the caller names) naming the setting and showing
the URL with its secrets masked.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import NoReturn
from urllib.parse import SplitResult, parse_qs, urlsplit, urlunsplit

from ledgerdesk.settings import SettingsError

TRUE, FALSE = {"1", "yes", "true", "on"}, {"0", "no", "false", "off"}
SECRET_PARAMETERS = frozenset(
    {"api_key", "apikey", "key", "token", "password", "auth_token", "secret", "access_token"}
)


def masked(url: str) -> str:
    """The URL as it may appear in an error message or a log: password and keys masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<a malformed URL>"
    netloc = parts.netloc
    userinfo, at, hostinfo = netloc.rpartition("@")
    if at and ":" in userinfo:
        netloc = f"{userinfo.partition(':')[0]}:***@{hostinfo}"
    query = "&".join(
        f"{name}=***" if name.lower() in SECRET_PARAMETERS else pair
        for pair in parts.query.split("&")
        if pair
        for name in [pair.partition("=")[0]]
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def split_url(url: str, setting: str) -> tuple[SplitResult, int | None, str]:
    """The URL's parts, its port and its masked form; a malformed URL or port is a
    SettingsError naming the setting, never a ValueError from deep inside."""
    shown = masked(url)
    try:
        parts = urlsplit(url)
    except ValueError as error:
        raise SettingsError(f"{setting}={shown}: the URL is malformed ({error})") from None
    try:
        port = parts.port
    except ValueError:
        raise SettingsError(f"{setting}={shown}: the port is not a number") from None
    return parts, port, shown


class Query:
    """The query parameters of one URL, checked against the names a transport knows."""

    def __init__(
        self,
        text: str,
        known: frozenset[str],
        setting: str,
        shown: str,
        *,
        error: Callable[[str], Exception] = SettingsError,
    ) -> None:
        self.setting, self.shown, self.error = setting, shown, error
        values = parse_qs(text, keep_blank_values=True)
        unknown = set(values) - known
        if unknown:
            self.fail(
                f"unknown parameter {', '.join(sorted(unknown))} "
                f"(known: {', '.join(sorted(known)) or 'none'})"
            )
        for name, given in values.items():
            if len(given) > 1:
                self.fail(f"{name} is given twice")
        self.values = {name: given[0] for name, given in values.items()}

    def fail(self, problem: str) -> NoReturn:
        where = f"{self.setting}={self.shown}" if self.setting else self.shown
        raise self.error(f"{where}: {problem}")

    def get(self, name: str, default: str = "") -> str:
        return self.values.get(name, default)

    def __contains__(self, name: str) -> bool:
        return name in self.values

    def flag(self, name: str, default: bool) -> bool:
        value = self.values.get(name)
        if value is None:
            return default
        if value.lower() in TRUE:
            return True
        if value.lower() in FALSE:
            return False
        self.fail(f"{name} must be 1 or 0, not {value!r}")

    def number(self, name: str, default: float, *, low: float, high: float) -> float:
        value = self.values.get(name)
        if value is None:
            return default
        try:
            number = float(value)
        except ValueError:
            self.fail(f"{name} must be a number of seconds, not {value!r}")
        if not low <= number <= high:
            self.fail(f"{name} must be between {low:g} and {high:g}")
        return number

    def whole(self, name: str, default: int, *, low: int, high: int) -> int:
        value = self.values.get(name)
        if value is None:
            return default
        try:
            number = int(value)
        except ValueError:
            self.fail(f"{name} must be a whole number")
        if not low <= number <= high:
            self.fail(f"{name} must be between {low} and {high}")
        return number

    def path(self, name: str) -> Path | None:
        value = self.values.get(name)
        return Path(value).expanduser() if value else None


def read_secret_file(path: Path, what: str, setting: str, shown: str) -> str:
    """A key or token kept in a file (one line); read when needed, as tokens expire."""
    try:
        secret = path.read_text().strip()
    except OSError as error:
        raise SettingsError(
            f"{setting}={shown}: cannot read the {what} file {path}: {error.strerror or error}"
        ) from None
    if not secret or any(c.isspace() or ord(c) < 32 for c in secret):
        raise SettingsError(f"{setting}={shown}: the file {path} holds no usable {what}")
    return secret
