"""A local SMTP relay for tests (aiosmtpd) that checks every mail it accepts.

It records each envelope and parses the message; ``problems`` lists what is wrong with a mail
(not multipart/alternative with a text/plain and a text/html part, a missing header, a
non-UTF-8 part). Recipients whose local part starts with ``tempfail`` get ``451``, ``reject``
get ``550``. It offers STARTTLS when given a TLS context, speaks TLS from the first byte when
``implicit`` is set, and accepts AUTH for one user (only over TLS, as aiosmtpd requires).
It must not be used outside the test suite.
"""

from __future__ import annotations

import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.fault_cluster import free_port

REQUIRED_HEADERS = ("From", "To", "Subject", "Date", "Message-ID", "List-Unsubscribe")


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    raw: bytes
    message: EmailMessage
    tls: bool
    user: str | None
    problems: list[str] = field(default_factory=list)

    def part(self, subtype: str) -> str:
        for part in self.message.walk():
            if part.get_content_type() == f"text/{subtype}":
                return str(part.get_content())
        return ""


def mime_problems(message: EmailMessage) -> list[str]:
    problems = [f"missing {name}" for name in REQUIRED_HEADERS if not message.get(name)]
    if message.get_content_type() != "multipart/alternative":
        problems.append(f"top part is {message.get_content_type()}, not multipart/alternative")
    kinds = [part.get_content_type() for part in message.iter_parts()]
    if kinds != ["text/plain", "text/html"]:
        problems.append(f"parts are {kinds}, not text/plain then text/html")
    for part in message.iter_parts():
        if (part.get_content_charset() or "").lower() != "utf-8":
            problems.append(f"{part.get_content_type()} is not UTF-8")
    return problems


class _Handler:
    def __init__(self, relay: MailRelay) -> None:
        self.relay = relay

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        local = address.split("@", 1)[0]
        if local.startswith("tempfail"):
            return "451 4.7.1 Try again later"
        if local.startswith("reject"):
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = bytes(envelope.original_content or envelope.content or b"")
        message = message_from_bytes(raw, policy=policy.default)
        assert isinstance(message, EmailMessage)
        login = getattr(session, "login_data", None)
        user = login.decode() if isinstance(login, bytes) else None
        secured = server.transport.get_extra_info("ssl_object") is not None  # implicit TLS
        received = Received(
            str(envelope.mail_from), list(envelope.rcpt_tos), raw, message,
            tls=session.ssl is not None or secured, user=user, problems=mime_problems(message),
        )  # fmt: skip
        with self.relay.lock:
            self.relay.mails.append(received)
        return "250 2.0.0 Queued as test"


class MailRelay:
    """Listens on ``host`` (127.0.0.1) and ``port``; ``mails`` holds what it accepted."""

    def __init__(
        self,
        *,
        starttls: ssl.SSLContext | None = None,
        implicit: ssl.SSLContext | None = None,
        login: tuple[str, str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.mails: list[Received] = []
        self.host = host
        self.lock = threading.Lock()
        self.port = free_port()
        self.login = login
        kwargs: dict[str, Any] = {}
        if starttls is not None:
            kwargs["tls_context"] = starttls
        if implicit is not None:
            kwargs["ssl_context"] = implicit
        if login is not None:
            kwargs["authenticator"] = self._authenticate
        self.controller = Controller(
            _Handler(self), hostname=host, port=self.port, server_hostname="localhost",
            **kwargs,
        )  # fmt: skip

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and self.login is not None
        ok = ok and (data.login.decode(), data.password.decode()) == self.login
        return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

    def start(self) -> MailRelay:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()


def self_signed(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A certificate for localhost and 127.0.0.1 (its own CA file) and a server context."""
    cert, key = directory / "relay.pem", directory / "relay.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return cert, context
