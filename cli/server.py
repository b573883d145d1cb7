"""`ledgerdesk migrate` and `ledgerdesk serve`."""

from __future__ import annotations

import typer

from ledgerdesk.bootstrap import bootstrap, migrate
from ledgerdesk.cli.common import console, err_console
from ledgerdesk.settings import Settings, SettingsError


def register(app: typer.Typer) -> None:
    app.command("migrate")(migrate_command)
    app.command("serve")(serve_command)
    app.command("worker")(worker_command)


def migrate_command() -> None:
    """Create the event store's tables (once; safe to run again)."""
    settings = Settings.from_env()
    migrate(settings)
    where = settings.sqlite_path if settings.is_embedded else "PostgreSQL"
    console.print(f"migrated: the event store in {where} is ready")


def serve_command(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
    workers: int = typer.Option(
        1,
        min=1,
        max=64,
        help="API processes (PostgreSQL only). Each saves its own requests; this process "
        "keeps the read models current for all of them.",
    ),
    access_log: bool = typer.Option(
        True,
        help="Log each request (uvicorn's access log). Behind nginx, which logs them too, "
        "--no-access-log saves about a twentieth of the API's CPU.",
    ),
    pin: bool = typer.Option(
        True,
        help="With --workers equal to the number of CPUs: run each API process on a CPU of "
        "its own (p99 12-16 % lower, measured under `make bench` with 2 on 2 CPUs).",
    ),
) -> None:
    """Serve the API (and, on the embedded default, everything else) until stopped."""
    import uvicorn

    from ledgerdesk.api.app import create_app, settle_memory
    from ledgerdesk.api.processes import APP, ApiProcesses, balanced_by_kernel

    settings = Settings.from_env()
    if workers > 1 and settings.is_embedded:
        raise SettingsError(
            "--workers needs PostgreSQL (LEDGERDESK_DATABASE_URL): the embedded SQLite store "
            "is served from one process"
        )
    if settings.is_embedded:
        migrate(settings)
    services = bootstrap(settings)
    base = f"http://{host}:{port}"
    users = services.app.user_ids(limit=1)
    err_console.print(f"[bold green]ledgerdesk[/] serving at {base}  (API docs: {base}/docs)")
    err_console.print(
        f"Sign in: POST {base}/auth/login with your email and password (see docs/api.md), "
        f"or try it from {base}/docs.",
        soft_wrap=True,
    )
    if not users:
        err_console.print(
            "No users yet. Create an admin to sign in with:\n"
            "  .venv/bin/ledgerdesk users add admin@example.com --role admin --password-prompt\n"
            "or seed a demo with `.venv/bin/ledgerdesk demo` "
            "(admin@demo.ledgerdesk.test / demo1234).",
            soft_wrap=True,
        )
    consumer = None
    if not settings.queue_url:  # embedded default: the scheduler runs inside this process
        from ledgerdesk.jobs.queue import build_queue, start_embedded

        consumer = start_embedded(build_queue(services).huey)
    from ledgerdesk.jobs.outbox import dispatcher_for

    dispatcher = dispatcher_for(services)
    if not settings.queue_url:  # with a queue, `ledgerdesk worker` dispatches (one process)
        dispatcher.start()  # notifications go out within a second of the event causing them
    if settings.is_embedded:
        services.drop_folder.start()
        err_console.print(
            f"Mail intake: drop .eml files into {services.drop_folder.inbox} "
            f"(or pipe them to `ledgerdesk mail ingest`).",
            soft_wrap=True,
        )
    out_dir = getattr(services.mail_transport, "directory", None)
    if out_dir is not None:
        err_console.print(
            f"Outgoing mail: written as .eml files to {out_dir} "
            "(LEDGERDESK_MAIL_OUT=smtp://… or sendgrid: to send it for real).",
            soft_wrap=True,
        )
    try:
        if workers == 1:
            uvicorn.run(
                create_app(services, server=True),
                host=host,
                port=port,
                log_level="info",
                access_log=access_log,
            )
        else:
            # The API processes save and read; this one projects for all of them (they follow
            # its progress through the read models' tracking channel: read your writes).
            services.projections.start(background=not settings.queue_url)
            settle_memory()
            err_console.print(f"Serving from {workers} API processes; this one projects.")
            if balanced_by_kernel():  # each process its own socket: connections spread evenly
                try:
                    ApiProcesses(host, port, workers, access_log=access_log, pin=pin).run()
                except RuntimeError as error:
                    err_console.print(f"[red]error:[/] {error}")
                    raise typer.Exit(1) from None
            else:
                uvicorn.run(
                    APP,
                    factory=True,
                    host=host,
                    port=port,
                    workers=workers,
                    log_level="info",
                    access_log=access_log,
                )
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)
        dispatcher.stop()
        if workers > 1:
            services.close()


WORKER_NICENESS = 19


def worker_command(
    workers: int = typer.Option(2, min=1, max=64, help="Worker threads."),
    niceness: int = typer.Option(
        WORKER_NICENESS,
        min=0,
        max=19,
        help="CPU priority, as `nice`: 19 (the lowest, the default) lets the API processes "
        "and PostgreSQL on the same machine go first; 0 to compete with them as equals.",
    ),
) -> None:
    """Run the job queue's consumer and scheduler (production: one per deployment)."""
    import logging

    from ledgerdesk.jobs.queue import build_queue

    # The worker's work can come a moment later than an answer: the outbox it keeps, its mail
    # and its sweeps. At the default priority its bursts (the outbox applies a hundred events
    # at a time) took a core from requests in flight: under the HTTP bench on PostgreSQL, p99
    # 60 ms at niceness 0 against 49 at 19 in the same run. Its work still gets done whenever
    # a core is free (its outbox stayed under a second behind); the few requests that wait for
    # the outbox (marking notifications read, retrying a delivery) wait that much longer.
    lower_priority(niceness)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    from ledgerdesk.jobs.outbox import dispatcher_for

    services = bootstrap(Settings.from_env())
    dispatcher = dispatcher_for(services)
    try:
        # The outbox follows the log here, for the dispatcher; the read models clients read
        # back are the API's (`serve`) to keep current.
        services.projections.start(read_back=False)
        dispatcher.start()
        huey = build_queue(services).huey
        queue = "Redis" if services.settings.queue_url else "SQLite"
        err_console.print(
            f"[bold green]ledgerdesk worker[/] consuming the {queue} queue "
            f"with {workers} threads; Ctrl-C stops"
        )
        huey.create_consumer(workers=workers, worker_type="thread", periodic=True).run()
    finally:
        dispatcher.stop()
        services.close()


def lower_priority(niceness: int) -> None:
    """Set this process's niceness, for every thread it has and will have (Linux sets it per
    thread; threads started later inherit it). Never raises the priority."""
    import os

    if not hasattr(os, "setpriority") or niceness <= 0:
        return
    from ledgerdesk.utils import thread_ids

    for thread_id in thread_ids():
        try:
            if os.getpriority(os.PRIO_PROCESS, thread_id) < niceness:
                os.setpriority(os.PRIO_PROCESS, thread_id, niceness)
        except OSError:  # a thread that has just ended
            continue
