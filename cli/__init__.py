"""The `ledgerdesk` command: serve, migrate, users, departments, tickets, mail, audit, demo."""

from __future__ import annotations

import sys
import traceback
from datetime import UTC, datetime

import typer

from ledgerdesk.cli import audit, demo, directory, mail, projections, server, tickets
from ledgerdesk.cli.common import EXIT_CONFIG, EXIT_SOFTWARE, EXIT_TEMPFAIL, err_console
from ledgerdesk.domain.errors import DomainError, StoreUnavailableError
from ledgerdesk.settings import Settings, SettingsError

app = typer.Typer(
    name="ledgerdesk",
    help="ledgerdesk: an email-first help desk whose every change is a verifiable event.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
server.register(app)
app.add_typer(directory.users, name="users")
app.add_typer(directory.departments, name="departments")
app.add_typer(tickets.app, name="tickets")
app.add_typer(mail.app, name="mail")
app.add_typer(audit.app, name="audit")
app.add_typer(projections.app, name="projections")
demo.register(app)


def main(argv: list[str] | None = None) -> int:
    """Run the CLI; every failure is one readable line on stderr and a meaningful exit code."""
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    except DomainError as error:
        err_console.print(f"[red]error:[/red] {error}", highlight=False)
        return 1
    except StoreUnavailableError as error:
        err_console.print(f"[red]error:[/red] {error}", highlight=False)
        return EXIT_TEMPFAIL
    except SettingsError as error:
        err_console.print(f"[red]configuration error:[/red] {error}", highlight=False)
        return EXIT_CONFIG
    except KeyboardInterrupt:
        err_console.print("interrupted")
        return 130
    except Exception as error:  # a bug: one line here, the traceback in the log
        log_path = _log_crash()
        err_console.print(
            f"[red]internal error:[/red] {type(error).__name__}: {error} (details in {log_path})",
            highlight=False,
        )
        return EXIT_SOFTWARE
    return 0


def _log_crash() -> str:
    try:
        directory_ = Settings.from_env().data_dir / "logs"
        directory_.mkdir(parents=True, exist_ok=True)
        path = directory_ / "cli-errors.log"
        with path.open("a") as fh:
            fh.write(f"--- {datetime.now(UTC).isoformat()} {' '.join(sys.argv)}\n")
            fh.write(traceback.format_exc())
        return str(path)
    except Exception:
        return "stderr"


if __name__ == "__main__":
    sys.exit(main())
