"""IMAP channel figures against a real Dovecot (started as the tests start it).

`python -m ledgerdesk.bench.imap [--mails 2000] [--runs 3]` appends N plausible customer mails
(text + HTML, one in ten with a 40 KB attachment) to a fresh mailbox per run, then prints:

- imap_fetch_mails_per_s: the poller over IMAPS with an intake that stores nothing (search,
  sizes, BODY.PEEK[] in batches, \\Seen + keyword flags, cursor saves): what Dovecot and the
  channel can deliver;
- imap_poll_end_to_end_mails_per_s.sqlite: the same poll into the real intake on a fresh
  SQLite store (parse, classify, thread, store, commit, then flag).

Each figure is the median of the runs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ledgerdesk.adapters.mail_in.imap import ImapPoller, PollReport
from ledgerdesk.adapters.mail_in.imap_config import parse_mailbox
from ledgerdesk.bench.run import emit, fresh_store
from ledgerdesk.bootstrap import bootstrap, migrate
from ledgerdesk.domain.application import LedgerDesk
from ledgerdesk.settings import Settings
from ledgerdesk.tests.integration.mail.dovecot import Dovecot, dovecot_binary, sample_mail

ATTACHMENT_EVERY = 10
ATTACHMENT_BYTES = 40_000


@dataclass(frozen=True)
class Stored:
    source: str
    outcome: str = "opened"


def null_intake(items: Sequence[tuple[bytes, str]], channel: str) -> list[Stored]:
    return [Stored(source) for _, source in items]


def fill(server: Dovecot, mails: int) -> str:
    """A new account with `mails` messages in its INBOX; returns its IMAPS URL."""
    user, password = server.add_user()
    with server.client(user, password) as client:
        client.select_folder("INBOX")
        for n in range(mails):
            client.append(
                "INBOX",
                sample_mail(
                    n,
                    sender=f"customer{n % 400}@example.com",
                    size=ATTACHMENT_BYTES if n % ATTACHMENT_EVERY == 0 else 0,
                ),
            )
    return server.url(user, password)


def timed_poll(poller: ImapPoller, url: str, mails: int) -> float:
    started = time.perf_counter()
    report: PollReport = poller.poll(parse_mailbox(url))
    elapsed = time.perf_counter() - started
    assert report.acknowledged == mails and not report.error, report
    return mails / elapsed


def bench_fetch(server: Dovecot, tmp: Path, mails: int, runs: int) -> None:
    rates = []
    for run in range(runs):
        url = fill(server, mails)
        app = LedgerDesk({"PERSISTENCE_MODULE": "eventsourcing.popo"})  # cursors in memory
        rates.append(timed_poll(ImapPoller([], app=app, ingest=null_intake), url, mails))
        print(f"# fetch run {run + 1}: {rates[-1]:.0f} mails/s", flush=True)
    emit("imap_fetch_mails_per_s", statistics.median(rates))


def bench_end_to_end(
    server: Dovecot, tmp: Path, mails: int, runs: int, store: str, pg: str
) -> None:
    rates = []
    for run in range(runs):
        url = fill(server, mails)
        with fresh_store(store, pg, tmp / f"e2e-{run}") as settings:
            migrate(settings)
            services = bootstrap(settings)
            try:
                poller = ImapPoller([], app=services.app, ingest=services.intake.ingest_many)
                rates.append(timed_poll(poller, url, mails))
            finally:
                services.close()
        print(f"# end-to-end run {run + 1} ({store}): {rates[-1]:.0f} mails/s", flush=True)
    emit(f"imap_poll_end_to_end_mails_per_s.{store}", statistics.median(rates))


def run(
    mails: int = 2000, runs: int = 3, stores: Sequence[str] = ("sqlite",), pg_url: str = ""
) -> None:
    """Print the IMAP figures (bench/run.py calls this too)."""
    binary = dovecot_binary()
    if binary is None:
        print("# imap: skipped (Dovecot is not installed: apt-get install dovecot-imapd)")
        return
    server = Dovecot(binary).start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            bench_fetch(server, Path(tmp), mails, runs)
            for store in stores:
                if store == "postgres" and not pg_url:
                    print("# imap postgres: skipped (set LEDGERDESK_BENCH_DATABASE_URL)")
                    continue
                (Path(tmp) / store).mkdir()
                bench_end_to_end(server, Path(tmp) / store, mails, runs, store, pg_url)
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="sqlite")
    args = parser.parse_args()
    extra = Settings.from_env().extra
    pg_url = extra.get("BENCH_DATABASE_URL") or extra.get("TEST_DATABASE_URL", "")
    stores = ["sqlite", "postgres"] if args.store == "both" else [args.store]
    run(args.mails, args.runs, stores, pg_url)


if __name__ == "__main__":
    main()
