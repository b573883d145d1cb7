"""The file transport: one .eml per mail, named from its key, written atomically."""

from __future__ import annotations

import email
from email.policy import default
from pathlib import Path

from ledgerdesk.adapters.mail_out.file_transport import FileTransport
from ledgerdesk.adapters.mail_out.transports import mail_transport_for
from ledgerdesk.settings import Settings
from ledgerdesk.tests.integration.mail_out.samples import sample_mail


def test_the_default_writes_one_eml_per_mail_under_the_data_directory(tmp_path: Path) -> None:
    transport = mail_transport_for(Settings(data_dir=tmp_path / "var"))
    mails = [sample_mail(n) for n in range(3)]
    assert all(r.ok for r in transport.send_many(mails))
    files = sorted((tmp_path / "var" / "mail" / "out").iterdir())
    assert len(files) == 3 and all(f.suffix == ".eml" for f in files)
    ids = {email.message_from_bytes(f.read_bytes(), policy=default)["Message-ID"] for f in files}
    assert ids == {mail.message_id for mail in mails}


def test_the_same_key_twice_overwrites_the_same_file(tmp_path: Path) -> None:
    transport = mail_transport_for(Settings(mail_out=f"file:{tmp_path / 'out'}"))
    assert isinstance(transport, FileTransport)
    first = sample_mail(1, subject="first")
    second = sample_mail(1, subject="second")
    transport.send_many([first])
    transport.send_many([second])
    [path] = (tmp_path / "out").iterdir()
    assert path == transport.path_of(first.key)
    assert email.message_from_bytes(path.read_bytes(), policy=default)["Subject"] == "second"


def test_no_temporary_file_is_left_behind_and_a_bad_mail_is_permanent(tmp_path: Path) -> None:
    transport = FileTransport(tmp_path / "out", fsync=True)
    ok, bad = transport.send_many([sample_mail(1), sample_mail(2, to=("broken",))])
    assert ok.ok and not bad.ok and bad.permanent
    assert [p.name.startswith(".tmp-") for p in (tmp_path / "out").iterdir()] == [False]


def test_an_unwritable_directory_is_a_temporary_failure(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    [result] = FileTransport(blocker / "out").send_many([sample_mail(1)])
    assert not result.ok and not result.permanent and "cannot write" in result.error
