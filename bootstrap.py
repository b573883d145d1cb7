"""The composition root: the only place adapters are built and wired together."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import PersistenceError

from ledgerdesk.adapters.blob_store import FileBlobStore
from ledgerdesk.adapters.casbin_access import AccessControl
from ledgerdesk.adapters.clock import SystemClock
from ledgerdesk.adapters.event_store import postgres_env, store_env
from ledgerdesk.adapters.log_reader import PostgresLogReader, log_reader_for
from ledgerdesk.adapters.mail_in.drop_folder import DropFolder
from ledgerdesk.adapters.mail_in.intake import MailIntake
from ledgerdesk.adapters.mail_out.templates import MailTemplates
from ledgerdesk.adapters.mail_out.transports import mail_transport_for
from ledgerdesk.adapters.passwords import Argon2Hasher
from ledgerdesk.adapters.read_ahead import PostgresReadAhead
from ledgerdesk.adapters.redis_throttle import RedisLoginThrottle
from ledgerdesk.adapters.sms import sms_transport_for
from ledgerdesk.adapters.throttle import LoginThrottle
from ledgerdesk.adapters.ticket_numbers import SequenceNumbers
from ledgerdesk.adapters.tokens import TokenService
from ledgerdesk.domain.application import LedgerDesk
from ledgerdesk.domain.application.core import describe_store_error
from ledgerdesk.domain.application.numbers import NumberAllocator
from ledgerdesk.domain.errors import StoreUnavailableError
from ledgerdesk.domain.outgoing import Intent, MailTransport, SmsTransport
from ledgerdesk.domain.ports import BlobStore, Clock, PasswordHasher, SignInThrottle
from ledgerdesk.manifest import MANIFEST
from ledgerdesk.policies.mail.identity import MailIdentity
from ledgerdesk.policies.preferences import channels_for
from ledgerdesk.projections.outbox.projection import OutboxProjection
from ledgerdesk.projections.outbox.view import OutboxView
from ledgerdesk.projections.runtime import ProjectionRuntime
from ledgerdesk.projections.ticket_index.projection import TicketIndexProjection
from ledgerdesk.projections.ticket_index.view import TicketIndexView
from ledgerdesk.settings import Settings
from ledgerdesk.utils import resolve


@dataclass
class Services:
    settings: Settings
    app: LedgerDesk
    blobs: BlobStore
    passwords: PasswordHasher
    tokens: TokenService
    throttle: SignInThrottle
    access: AccessControl
    ticket_index: TicketIndexView
    projections: ProjectionRuntime  # not started here: `serve` and the API start it
    outbox: OutboxView
    intake: MailIntake
    identity: MailIdentity
    mail_transport: MailTransport  # LEDGERDESK_MAIL_OUT: files by default
    sms_transport: SmsTransport | None  # LEDGERDESK_SMS_URL: off by default
    templates: MailTemplates
    drop_folder: DropFolder  # started by `serve` on the embedded default

    def close(self) -> None:
        self.drop_folder.stop()
        self.intake.close()
        self.projections.stop()
        self.throttle.close()
        self.app.close()


def bootstrap(
    settings: Settings | None = None, *, create_tables: bool = False, **overrides: Any
) -> Services:
    """Build everything from settings; keyword overrides replace any part (tests, the demo)."""
    settings = settings or Settings.from_env()
    app = overrides.pop("app", None)
    if app is None:
        with _store_errors():
            app = LedgerDesk(
                store_env(settings, create_tables=create_tables),
                clock=overrides.pop("clock", None) or SystemClock(),
                snapshot_interval=settings.snapshot_interval,
                reopen_closed=settings.reopen_closed,
                secret_key=settings.resolved_secret_key(),
                **({"new_id": overrides.pop("new_id")} if "new_id" in overrides else {}),
            )
    if app.log_reader is None:
        app.log_reader = log_reader_for(app.recorder)
    if not settings.is_embedded and type(app.numbers) is NumberAllocator:
        app.numbers = SequenceNumbers(app.number_taken, app.factory.datastore)
        if create_tables:  # `migrate`: the sequence is made with the tables
            with _store_errors():
                app.numbers.prepare()
    if (
        app.read_ahead is None
        and isinstance(app.numbers, SequenceNumbers)
        and isinstance(app.log_reader, PostgresLogReader)
    ):
        app.read_ahead = PostgresReadAhead(app, app.factory.datastore, app.log_reader)
    blobs = overrides.pop("blobs", None) or FileBlobStore(
        settings.data_dir / "blobs",
        durable=not settings.is_embedded or settings.sqlite_synchronous == "full",
    )
    identity = MailIdentity(settings.resolved_secret_key(), settings.support_address)
    services = Services(
        settings=settings,
        app=app,
        blobs=blobs,
        intake=(intake := overrides.pop("intake", None) or MailIntake(app, blobs, identity)),
        identity=identity,
        mail_transport=overrides.pop("mail_transport", None) or mail_transport_for(settings),
        sms_transport=overrides.pop("sms_transport", None) or sms_transport_for(settings),
        templates=overrides.pop("templates", None) or MailTemplates.in_data_dir(settings.data_dir),
        drop_folder=DropFolder(intake, settings.data_dir / "mail"),
        passwords=overrides.pop("passwords", None) or Argon2Hasher(),
        tokens=overrides.pop("tokens", None)
        or TokenService(settings.resolved_secret_key(), clock=app.clock),
        throttle=overrides.pop("throttle", None) or _throttle(settings, app.clock),
        access=overrides.pop("access", None) or AccessControl(app),
        **_read_models(app, settings, create_tables),
    )
    if overrides:
        raise TypeError(f"unknown overrides: {', '.join(sorted(overrides))}")
    return services


def _throttle(settings: Settings, clock: Clock) -> SignInThrottle:
    """Failed sign-ins counted for every process in the queue's Redis when there is one (the
    production shape: several API processes), else in this process's memory."""
    if not settings.queue_url.startswith(("redis://", "rediss://", "unix://")):
        return LoginThrottle(clock)
    # One namespace per store: desks sharing a Redis do not share their counts.
    store = settings.database_url.split("@")[-1] or str(settings.data_dir.resolve())
    namespace = hashlib.sha256(store.encode()).hexdigest()[:12]
    return RedisLoginThrottle.connect(settings.queue_url, clock, namespace=namespace)


def _read_models(app: LedgerDesk, settings: Settings, create_tables: bool) -> dict[str, Any]:
    """The read models live beside the events (same SQLite file or PostgreSQL schema)."""
    datastore: Any = app.factory.datastore  # type: ignore[attr-defined]
    ticket_index: TicketIndexView
    if settings.is_embedded:
        from ledgerdesk.projections.ticket_index.sqlite import SQLiteTicketIndexView

        ticket_index = SQLiteTicketIndexView(
            datastore,
            events_table=app.recorder.events_table_name,  # type: ignore[attr-defined]
        )
    else:
        from ledgerdesk.projections.ticket_index.postgres import PostgresTicketIndexView

        ticket_index = PostgresTicketIndexView(datastore)
    if create_tables:
        with _store_errors():
            ticket_index.create_table()
    outbox = _outbox_view(app, settings, datastore)
    if create_tables:
        with _store_errors():
            outbox.create_table()
    runtime = ProjectionRuntime(
        app,
        [
            TicketIndexProjection(ticket_index, app.name),
            OutboxProjection(
                outbox,
                app.name,
                react=reactions_from_manifest(),
                channels=lambda role, kind, prefs, phone: channels_for(
                    role, kind, prefs, has_phone=phone
                ),
                load_ticket=lambda ticket_id, version: app.repository.get(
                    ticket_id, version=version
                ),
                origin=app.outbox_origin,
            ),
        ],
        poll_interval=0.5 if settings.is_embedded else 2.0,
        listener=None if settings.is_embedded else _listener(datastore),
    )
    return {"ticket_index": ticket_index, "outbox": outbox, "projections": runtime}


def _listener(datastore: Any) -> Any:
    from ledgerdesk.adapters.pg_listen import PostgresListener

    return PostgresListener(datastore)


def _outbox_view(app: LedgerDesk, settings: Settings, datastore: Any) -> OutboxView:
    if settings.is_embedded:
        from ledgerdesk.projections.outbox.sqlite import SQLiteOutboxView

        return SQLiteOutboxView(
            datastore,
            events_table=app.recorder.events_table_name,  # type: ignore[attr-defined]
        )
    from ledgerdesk.projections.outbox.postgres import PostgresOutboxView

    return PostgresOutboxView(datastore)


def reactions_from_manifest() -> Callable[[Any, Any], list[Intent]]:
    """One function applying the manifest's reaction rules to a ticket event."""
    rules: dict[type, list[Callable[[Any, Any], list[Intent]]]] = {}
    for entry in MANIFEST["reactions"]:
        rules.setdefault(resolve(entry["event"]), []).append(resolve(entry["policy"]))

    def react(ticket: Any, event: Any) -> list[Intent]:
        return [intent for rule in rules.get(type(event), ()) for intent in rule(ticket, event)]

    return react


def migrate(settings: Settings) -> None:
    """Create the tables once. On PostgreSQL an advisory lock keeps concurrent migrations apart."""
    with _store_errors(), _migration_lock(settings):
        services = bootstrap(settings, create_tables=True)
        try:
            services.access.seed()  # the default access policy, stored once as an event
            services.app.start_outbox()  # notifications begin here, not with the history
        finally:
            services.close()


@contextmanager
def _store_errors() -> Iterator[None]:
    """Connecting to a store that is down is one clear error, not a driver's traceback."""
    try:
        yield
    except StoreUnavailableError:
        raise
    except PersistenceError as error:
        raise StoreUnavailableError(describe_store_error(error)) from error
    except Exception as error:
        if type(error).__module__.split(".")[0] not in ("psycopg", "psycopg_pool", "sqlite3"):
            raise
        raise StoreUnavailableError(describe_store_error(error)) from error


@contextmanager
def _migration_lock(settings: Settings) -> Iterator[None]:
    if settings.is_embedded:
        yield
        return
    import psycopg

    env = postgres_env(settings.database_url)
    with psycopg.connect(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"] or None,
        connect_timeout=int(env["POSTGRES_CONNECT_TIMEOUT"]),
        autocommit=True,
    ) as conn:
        schema = env["POSTGRES_SCHEMA"]
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        conn.execute("SELECT pg_advisory_lock(hashtext('ledgerdesk-migrate'))")
        try:
            yield
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext('ledgerdesk-migrate'))")
