"""Settings: the only reader of the environment. Read once, frozen, passed in."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

PREFIX = "LEDGERDESK_"


class SettingsError(ValueError):
    """A configuration value is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("var")
    database_url: str = ""  # empty: the embedded SQLite file under data_dir
    queue_url: str = ""  # empty: SqliteHuey under data_dir
    secret_key: str = ""
    base_url: str = "http://127.0.0.1:8000"
    support_address: str = "support@ledgerdesk.localhost"
    mail_out: str = "file:"
    mail_in: str = ""
    inbound_secret: str = ""  # the inbound mail webhook's password; empty: the webhook is off
    timezone: str = "UTC"
    snapshot_interval: int = 50
    reopen_closed: bool = True
    sqlite_synchronous: str = "normal"
    telemetry: bool = False  # FastAPI's OpenTelemetry spans, metrics and logs (needs an SDK)
    extra: Mapping[str, str] = field(default_factory=dict)

    @property
    def is_embedded(self) -> bool:
        return not self.database_url

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "ledgerdesk.sqlite3"

    def with_changes(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Build settings from LEDGERDESK_* variables (and a .env file in the working dir)."""
        env: dict[str, str] = {}
        env.update(_read_dotenv(Path(".env")))
        env.update(os.environ if environ is None else environ)

        def get(name: str, default: str = "") -> str:
            return env.get(PREFIX + name, default).strip()

        data_dir = Path(get("DATA_DIR", "var")).expanduser()
        database_url = get("DATABASE_URL")
        if database_url and not database_url.startswith(("postgresql://", "postgres://")):
            raise SettingsError(
                f"{PREFIX}DATABASE_URL must be a postgresql:// URL, got {database_url!r}"
            )
        secret_key = get("SECRET_KEY")
        if not secret_key and database_url:
            raise SettingsError(
                f"{PREFIX}SECRET_KEY is required when {PREFIX}DATABASE_URL is set "
                "(the embedded default keeps a generated key under the data directory)"
            )
        try:
            snapshot_interval = int(get("SNAPSHOT_INTERVAL", "50"))
        except ValueError:
            raise SettingsError(f"{PREFIX}SNAPSHOT_INTERVAL must be a whole number") from None
        if snapshot_interval < 2:
            raise SettingsError(f"{PREFIX}SNAPSHOT_INTERVAL must be at least 2")
        reopen_closed = _yes(get("REOPEN_CLOSED", "yes"))
        sqlite_synchronous = get("SQLITE_SYNCHRONOUS", "normal").lower()
        if sqlite_synchronous not in ("normal", "full", "extra"):
            raise SettingsError(f"{PREFIX}SQLITE_SYNCHRONOUS must be normal, full or extra")
        known = {
            "DATA_DIR",
            "DATABASE_URL",
            "QUEUE_URL",
            "SECRET_KEY",
            "BASE_URL",
            "SUPPORT_ADDRESS",
            "MAIL_OUT",
            "MAIL_IN",
            "INBOUND_SECRET",
            "TIMEZONE",
            "SNAPSHOT_INTERVAL",
            "REOPEN_CLOSED",
            "SQLITE_SYNCHRONOUS",
            "TELEMETRY",
        }
        extra = {
            k[len(PREFIX) :]: v
            for k, v in env.items()
            if k.startswith(PREFIX) and k[len(PREFIX) :] not in known
        }
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            queue_url=get("QUEUE_URL"),
            secret_key=secret_key,
            base_url=get("BASE_URL", cls.base_url).rstrip("/"),
            support_address=get("SUPPORT_ADDRESS", cls.support_address),
            mail_out=get("MAIL_OUT", cls.mail_out),
            mail_in=get("MAIL_IN"),
            inbound_secret=get("INBOUND_SECRET"),
            timezone=get("TIMEZONE", "UTC"),
            snapshot_interval=snapshot_interval,
            reopen_closed=reopen_closed,
            sqlite_synchronous=sqlite_synchronous,
            telemetry=_yes(get("TELEMETRY", "no")),
            extra=extra,
        )

    def resolved_secret_key(self) -> str:
        """The signing key; the embedded default keeps a generated one in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if path.exists():
            return path.read_text().strip()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return path.read_text().strip()
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        return key


def _read_dotenv(path: Path) -> dict[str, str]:
    if not path.is_file():
        return {}
    values: dict[str, str] = {}
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        values[key.strip()] = value.strip().strip("'\"")
    return values


def _yes(value: str) -> bool:
    return value.lower() in ("1", "y", "yes", "true", "on")
