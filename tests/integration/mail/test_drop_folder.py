"""The drop folder of the embedded default: a file dropped in becomes a ticket in seconds."""

from __future__ import annotations

import time

from ledgerdesk.tests.integration.mail.mails import mail


def wait_for(condition, timeout: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


def test_a_dropped_file_becomes_a_ticket_within_seconds_and_moves_to_processed(services):
    folder = services.drop_folder
    folder.start(interval=0.2)
    try:
        folder.inbox.mkdir(parents=True, exist_ok=True)
        tmp = folder.inbox / ".incoming.eml"
        tmp.write_bytes(mail(message_id="<drop1@customer.test>"))
        tmp.rename(folder.inbox / "drop1.eml")  # writers rename into the folder when done
        started = time.monotonic()
        assert wait_for(lambda: services.app.ticket_ids() != [])
        assert time.monotonic() - started < 10  # about a second when the machine is idle
        assert wait_for(lambda: not (folder.inbox / "drop1.eml").exists())
        [kept] = list(folder.processed.glob("*/drop1.eml.opened"))
        assert kept.read_bytes().startswith(b"From:") or b"Message-ID" in kept.read_bytes()
    finally:
        folder.stop()


def test_a_file_still_being_written_waits_and_garbage_is_quarantined_not_lost(services):
    folder = services.drop_folder
    folder.inbox.mkdir(parents=True, exist_ok=True)
    (folder.inbox / "growing.eml").write_bytes(mail())
    assert folder.scan_once() == []  # modified just now: maybe still being written
    (folder.inbox / "junk.bin").write_bytes(b"\x00\x01 not a mail")
    time.sleep(0.6)
    receipts = sorted(folder.scan_once(), key=lambda r: r.source)
    assert [r.outcome.value for r in receipts] == ["opened", "quarantined"]
    assert list(folder.inbox.iterdir()) == []
    assert len(services.app.quarantined()) == 1
