"""Mail intake end to end: parse, classify, thread, store, and the ticket index updated.

10,000 mails by default: 60 % new conversations, 35 % replies (quoted history, threaded by
In-Reply-To), 5 % bounces and automatic replies, from 2,000 customers. Printed figure:
`intake_mails_per_s.<store>` from the first byte handed over until the read model shows all.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from ledgerdesk.bench.run import chosen_stores, emit, fresh_store
from ledgerdesk.bootstrap import bootstrap, migrate
from ledgerdesk.policies.mail.identity import MailIdentity
from ledgerdesk.settings import Settings

SUPPORT = "support@bench.example"
BODY = (
    "Hello support,\n\nsince this morning the {thing} in room {room} does not work any more. "
    "It shows error E-{code} and then restarts.\nCould someone have a look today?\n\n"
    "Thanks a lot,\n{name}\n-- \n{name}, Example Corp\n+1 555 0100\n"
)


def corpus(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    identity = MailIdentity("bench", SUPPORT)
    mails: list[bytes] = []
    opened: list[tuple[str, str, int]] = []  # (message id, sender, index)
    for i in range(n):
        roll = rng.random()
        customer = rng.randrange(2000)
        sender = f"customer{customer}@client{customer % 97}.example"
        name = f"Customer {customer}"
        body = BODY.format(
            thing=rng.choice(["printer", "VPN", "laptop"]),
            room=i % 400,
            code=rng.randrange(999),
            name=name,
        )
        head = (
            f"From: {name} <{sender}>\r\nTo: {SUPPORT}\r\nDate: Fri, 27 Nov 2026 10:00:00 +0000\r\n"
            f"Message-ID: <m{i}.{seed}@client.example>\r\nMIME-Version: 1.0\r\n"
        )
        if roll < 0.60 or not opened:
            subject = f"Problem {i}: the {rng.choice(['printer', 'VPN', 'laptop'])} is broken"
            mails.append(
                (
                    head
                    + f"Subject: {subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                    + body
                ).encode()
            )
            opened.append((f"<m{i}.{seed}@client.example>", sender, i))
        elif roll < 0.95:
            parent, parent_sender, j = rng.choice(opened)
            head = head.replace(sender, parent_sender)
            quoted = "\n".join("> " + line for line in body.splitlines())
            mails.append(
                (
                    head + f"Subject: Re: Problem {j}\r\nIn-Reply-To: {parent}\r\n"
                    f"References: {parent}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
                    f"Any news on this? It happened again.\n\nOn Thu, 26 Nov 2026, {name} wrote:\n"
                    + quoted
                ).encode()
            )
        elif roll < 0.975:
            ours = identity.message_id("T-1", f"{i:032x}")
            mails.append(
                (
                    f"From: MAILER-DAEMON@mx.example\r\nTo: {SUPPORT}\r\n"
                    "Subject: Undelivered Mail Returned to Sender\r\n"
                    f"Message-ID: <b{i}@mx.example>\r\n"
                    "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
                    'report-type=delivery-status; boundary="B"\r\n\r\n--B\r\n'
                    "Content-Type: text/plain\r\n\r\nDelivery failed.\r\n--B\r\n"
                    "Content-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example"
                    f"\r\n\r\nFinal-Recipient: rfc822; {sender}\r\nAction: failed\r\n"
                    "Status: 5.1.1\r\n\r\n--B\r\nContent-Type: text/rfc822-headers\r\n\r\n"
                    f"Message-ID: {ours}\r\nSubject: [T-1] x\r\n\r\n--B--\r\n"
                ).encode()
            )
        else:
            mails.append(
                (
                    head + "Subject: Out of Office: Problem\r\nAuto-Submitted: auto-replied\r\n"
                    "Content-Type: text/plain\r\n\r\nI am away until Monday.\r\n"
                ).encode()
            )
    return mails


def bench_intake(
    settings: Settings, store: str, n: int, chunk: int, *, outbox_here: bool = True
) -> None:
    """With `outbox_here`, the outbox (acknowledgements to send) follows the log in this
    process too, as on the embedded default; otherwise elsewhere, as with a worker."""
    mails = corpus(n)
    settings = settings.with_changes(support_address=SUPPORT)
    migrate(settings)
    svc = bootstrap(settings)
    svc.projections.start(only=None if outbox_here else ["ticket_index"])
    suffix = "" if outbox_here else ".outbox_in_worker"
    try:
        started, cpu = time.perf_counter(), time.process_time()
        for start in range(0, n, chunk):
            svc.intake.ingest_many(
                [(raw, f"bench:{start + k}") for k, raw in enumerate(mails[start : start + chunk])],
                "pipe",
            )
        stored = time.perf_counter()
        head = svc.app.read(svc.app.recorder.max_notification_id)
        assert svc.projections.wait(head, timeout=600), "the read model did not catch up"
        done = time.perf_counter()
        emit(f"intake_mails_per_s.{store}{suffix}", n / (done - started))
        # This process's CPU (all threads: intake and projection), robust to a busy machine.
        emit(f"intake_cpu_ms_per_mail.{store}{suffix}", (time.process_time() - cpu) / n * 1000)
        emit(f"intake_stored_mails_per_s.{store}{suffix}", n / (stored - started))
        emit(f"intake_read_model_lag_s.{store}{suffix}", done - stored)
    finally:
        svc.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--mails", type=int, default=10_000)
    parser.add_argument("--chunk", type=int, default=1000, help="mails handed over at once")
    args = parser.parse_args()
    for store, pg_url in chosen_stores(args.store):
        for outbox_here in (True, False):
            with tempfile.TemporaryDirectory() as tmp, fresh_store(store, pg_url, Path(tmp)) as s:
                bench_intake(s, store, args.mails, args.chunk, outbox_here=outbox_here)


if __name__ == "__main__":
    main()
