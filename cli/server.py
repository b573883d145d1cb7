"""`ledgerdesk migrate` and `ledgerdesk serve`."""

from __future__ import annotations

import typer

from ledgerdesk.bootstrap import bootstrap, migrate
from ledgerdesk.cli.common import console, err_console
from ledgerdesk.settings import Settings


def register(app: typer.Typer) -> None:
    app.command("migrate")(migrate_command)
    app.command("serve")(serve_command)


def migrate_command() -> None:
    """Create the event store's tables (once; safe to run again)."""
    settings = Settings.from_env()
    migrate(settings)
    where = settings.sqlite_path if settings.is_embedded else "PostgreSQL"
    console.print(f"migrated: the event store in {where} is ready")


def serve_command(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, help="Port to listen on."),
) -> None:
    """Serve the API (and, on the embedded default, everything else) until stopped."""
    import uvicorn

    from ledgerdesk.api.app import create_app

    settings = Settings.from_env()
    if settings.is_embedded:
        migrate(settings)
    services = bootstrap(settings)
    base = f"http://{host}:{port}"
    users = services.app.user_ids(limit=1)
    err_console.print(f"[bold green]ledgerdesk[/] serving at {base}  (API docs: {base}/docs)")
    if not users:
        err_console.print(
            "No users yet. Create an admin to sign in with:\n"
            "  .venv/bin/ledgerdesk users add admin@example.com --role admin --password-prompt\n"
            "or seed a demo with `.venv/bin/ledgerdesk demo` (admin@demo.ledgerdesk.test / demo)."
        )
    uvicorn.run(create_app(services), host=host, port=port, log_level="info")
