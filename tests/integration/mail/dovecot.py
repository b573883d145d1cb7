"""A real Dovecot for the IMAP tests and the benchmark, started from Debian's packages.

One instance per test module: its own config, a temporary mail dir, passwd-file users, a
self-signed certificate made here, IMAP (STARTTLS) and IMAPS listeners on free loopback ports.
XOAUTH2 logins are checked by Dovecot's oauth2 passdb against a small token-introspection
server in the test process (`grant_token`). Every Dovecot process runs as one unprivileged
user (the current one, or `dovecot` when the tests run as root), so no system configuration
is read or changed.

Without Dovecot (`apt-get install dovecot-imapd`) the tests skip, except under CI=true.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

import pytest
from imapclient import IMAPClient

from ledgerdesk.tests.conftest_helpers import IN_CI

DOVECOT = "/usr/sbin/dovecot"


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or (DOVECOT if Path(DOVECOT).exists() else None)


def need_dovecot() -> str:
    binary = dovecot_binary()
    if binary is None:
        message = "Dovecot is not installed (apt-get install -y dovecot-imapd)"
        if IN_CI:
            pytest.fail(f"CI=true and {message}")
        pytest.skip(message)
    return binary


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Introspection(BaseHTTPRequestHandler):
    """RFC 7662 token introspection for Dovecot's oauth2 passdb: the tokens the test granted."""

    tokens: dict[str, str] = {}

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        user = self.tokens.get(parse_qs(body).get("token", [""])[0])
        answer = {"active": True, "username": user} if user else {"active": False}
        data = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Dovecot:
    def __init__(self, binary: str) -> None:
        self.binary = binary
        self.dir = Path(tempfile.mkdtemp(prefix="ledgerdesk-dovecot-"))
        self.host = "127.0.0.1"
        self.imap_port = free_port()
        self.imaps_port = free_port()
        self.cert = self.dir / "cert.pem"
        self.users_dir = self.dir / "users"
        self.process: subprocess.Popen[bytes] | None = None
        self.tokens: dict[str, str] = {}  # OAuth2 access token -> user (for XOAUTH2)
        handler = type("Introspection", (_Introspection,), {"tokens": self.tokens})
        self.introspection = ThreadingHTTPServer((self.host, 0), handler)
        if os.geteuid() == 0:
            self.account = pwd.getpwnam("dovecot" if _has_user("dovecot") else "nobody")
        else:
            self.account = pwd.getpwuid(os.geteuid())

    # Lifecycle -----------------------------------------------------------------------------

    def start(self) -> Dovecot:
        for sub in ("run", "mail", "state", "users"):
            (self.dir / sub).mkdir()
        self._make_certificate()
        (self.dir / "dovecot.conf").write_text(self._config())
        (self.dir / "oauth2.conf.ext").write_text(
            "introspection_mode = post\n"
            f"introspection_url = http://{self.host}:{self.introspection.server_port}/introspect\n"
            "username_attribute = username\nactive_attribute = active\nactive_value = true\n"
        )
        self._hand_over()
        threading.Thread(target=self.introspection.serve_forever, daemon=True).start()
        self.resume()
        return self

    def resume(self) -> None:
        """Start the server processes (again, after halt(): same ports, same mail)."""
        log = (self.dir / "stdout.log").open("ab")
        self.process = subprocess.Popen(
            [self.binary, "-F", "-c", str(self.dir / "dovecot.conf")],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            **self._as_account(),
        )
        log.close()
        self._wait_ready()

    def halt(self) -> None:
        """Stop the server processes, keeping the mail: the server is down until resume()."""
        if self.process is not None and self.process.poll() is None:
            # The whole process group: imap processes would go on serving open sessions.
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            with suppress(ProcessLookupError):  # stragglers of the group, if any
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process = None
        # Wait until the port is free, so that resume() can listen on it again.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _listening(self.host, self.imap_port):
            time.sleep(0.05)

    def stop(self) -> None:
        self.halt()
        self.introspection.shutdown()
        self.introspection.server_close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def log_tail(self, lines: int = 20) -> str:
        texts = []
        for name in ("stdout.log", "dovecot.log"):
            path = self.dir / name
            if path.exists():
                texts.extend(path.read_text(errors="replace").splitlines()[-lines:])
        return "\n".join(texts)

    # Users and URLs ------------------------------------------------------------------------

    def add_user(self, name: str | None = None, password: str | None = None) -> tuple[str, str]:
        name = name or f"u{secrets.token_hex(4)}@example.test"
        password = password or secrets.token_urlsafe(12)
        # One passwd-file per user: Dovecot re-reads a changed file only when its mtime moves,
        # which two additions within one second would not do.
        path = self.users_dir / name
        path.write_text(f"{name}:{{PLAIN}}{password}::::\n")
        if os.geteuid() == 0:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)
        return name, password

    def grant_token(self, user: str) -> str:
        """An OAuth2 access token that the server accepts for `user` over XOAUTH2."""
        token = f"ya29.{secrets.token_urlsafe(24)}"
        self.tokens[token] = user
        return token

    def url(
        self,
        user: str,
        password: str,
        folder: str = "INBOX",
        *,
        security: str = "ssl",
        **params: str,
    ) -> str:
        """A mailbox URL for the IMAP channel, trusting this instance's certificate."""
        if security == "ssl":
            scheme, port = "imaps", self.imaps_port
        else:
            scheme, port = "imap", self.imap_port
            params.setdefault("starttls", "1" if security == "starttls" else "0")
        if security != "none":
            params.setdefault("cafile", str(self.cert))
        query = f"?{urlencode(params)}" if params else ""
        userinfo = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
        return f"{scheme}://{userinfo}@{self.host}:{port}/{quote(folder)}{query}"

    @contextmanager
    def client(self, user: str, password: str) -> Iterator[IMAPClient]:
        """A plain loopback session as the user, to APPEND mail and look at flags."""
        client = IMAPClient(self.host, port=self.imap_port, ssl=False, timeout=30)
        try:
            client.login(user, password)
            yield client
        finally:
            try:
                client.logout()
            except Exception:
                client.shutdown()

    # Internals -----------------------------------------------------------------------------

    def _config(self) -> str:
        d, name = self.dir, self.account.pw_name
        uid, gid = self.account.pw_uid, self.account.pw_gid
        return f"""\
base_dir = {d}/run
state_dir = {d}/state
log_path = {d}/dovecot.log
protocols = imap
listen = {self.host}
ssl = yes
ssl_cert = <{self.cert}
ssl_key = <{d}/key.pem
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = no
auth_mechanisms = plain login xoauth2
auth_failure_delay = 0
default_internal_user = {name}
default_internal_group = {self._group()}
default_login_user = {name}
first_valid_uid = {uid}
last_valid_uid = {uid}
mail_location = maildir:~/Maildir
mail_fsync = never
namespace inbox {{
  inbox = yes
  separator = /
}}
passdb {{
  driver = oauth2
  mechanisms = xoauth2
  args = {d}/oauth2.conf.ext
}}
passdb {{
  mechanisms = plain login
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {self.users_dir}/%u
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={d}/mail/%u
}}
protocol imap {{
  mail_max_userip_connections = 200
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = {self.host}
    port = {self.imap_port}
  }}
  inet_listener imaps {{
    address = {self.host}
    port = {self.imaps_port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
  # No penalty socket: tests log in with wrong passwords on purpose, and the auth penalty
  # would then slow every later login from 127.0.0.1 by seconds.
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
service auth {{
  user = {name}
}}
service auth-worker {{
  user = {name}
}}
"""

    def _group(self) -> str:
        import grp

        return grp.getgrgid(self.account.pw_gid).gr_name

    def _make_certificate(self) -> None:
        subprocess.run(
            [
                "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                "-keyout", str(self.dir / "key.pem"), "-out", str(self.cert),
                "-subj", "/CN=localhost",
                "-addext", f"subjectAltName=DNS:localhost,IP:{self.host}",
            ],
            check=True,
            capture_output=True,
        )  # fmt: skip

    def _hand_over(self) -> None:
        """As root, give the instance's files to the unprivileged account that runs it."""
        if os.geteuid() != 0:
            return
        self.dir.chmod(0o755)
        for path in [self.dir, *self.dir.rglob("*")]:
            os.chown(path, self.account.pw_uid, self.account.pw_gid)

    def _as_account(self) -> dict[str, Any]:
        if os.geteuid() != 0:
            return {}
        return {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                break
            try:
                with socket.create_connection((self.host, self.imap_port), timeout=1) as s:
                    if s.recv(100).startswith(b"* OK"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        tail = self.log_tail()
        self.halt()
        raise RuntimeError(f"Dovecot did not start:\n{tail}")


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def sample_mail(
    n: int,
    *,
    sender: str = "customer@example.com",
    subject: str | None = None,
    message_id: str | None = None,
    size: int = 0,
) -> bytes:
    """A plausible customer mail: text and HTML alternatives, an attachment when `size` > 0."""
    message = EmailMessage()
    message["From"] = f"Customer {n} <{sender}>"
    message["To"] = "support@ledgerdesk.localhost"
    message["Subject"] = subject or f"Invoice {10000 + n} was charged twice"
    message["Date"] = formatdate(1_790_000_000 + n * 60, localtime=False)
    message["Message-ID"] = message_id or f"<{n}.{secrets.token_hex(6)}@mail.example.com>"
    text = (
        f"Hello,\n\nmy card was charged twice for invoice {10000 + n}. Could you refund one "
        "of the payments?\n\nThanks,\nA customer\n"
    )
    message.set_content(text)
    message.add_alternative(
        f"<html><body><p>{text.replace(chr(10), '<br>')}</p></body></html>", subtype="html"
    )
    if size:
        message.add_attachment(
            secrets.token_bytes(size), maintype="application", subtype="pdf", filename="receipt.pdf"
        )
    return message.as_bytes(policy=SMTP)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


@contextmanager
def running_dovecot() -> Iterator[Dovecot]:
    server = Dovecot(need_dovecot()).start()
    try:
        yield server
    finally:
        server.stop()
