"""The event store: eventsourcing's SQLite or PostgreSQL recorders, configured from settings."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from ledgerdesk.settings import Settings, SettingsError


def store_env(settings: Settings, *, create_tables: bool = False) -> dict[str, str]:
    """The eventsourcing environment for the configured store (tables made only by migrate)."""
    env = {"CREATE_TABLE": "y" if create_tables else "n"}
    if settings.is_embedded:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        env.update(
            PERSISTENCE_MODULE="ledgerdesk.adapters.sqlite_store",
            SQLITE_DBNAME=str(Path(settings.sqlite_path).resolve()),
            SQLITE_LOCK_TIMEOUT="30",
            SQLITE_SYNCHRONOUS=settings.sqlite_synchronous,
        )
        return env
    env.update(postgres_env(settings.database_url))
    return env


def postgres_env(url: str) -> dict[str, str]:
    parsed = urlparse(url)
    if parsed.scheme not in ("postgresql", "postgres") or not parsed.path.strip("/"):
        raise SettingsError(f"{url!r} is not a postgresql://user@host:port/dbname URL")
    query = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    return {
        "PERSISTENCE_MODULE": "ledgerdesk.adapters.postgres_store",
        "POSTGRES_DBNAME": unquote(parsed.path.strip("/")),
        "POSTGRES_HOST": parsed.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(parsed.port or 5432),
        "POSTGRES_USER": unquote(parsed.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parsed.password or ""),
        "POSTGRES_SCHEMA": query.get("schema", "public"),
        "POSTGRES_CONNECT_TIMEOUT": query.get("connect_timeout", "5"),
        "POSTGRES_POOL_SIZE": query.get("pool_size", "5"),
        "POSTGRES_MAX_OVERFLOW": query.get("max_overflow", "10"),
        "POSTGRES_LOCK_TIMEOUT": query.get("lock_timeout", "10"),
    }
