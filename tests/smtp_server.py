"""A real SMTP server on 127.0.0.1 for the digest tests (aiosmtpd), with switches for what a real
mail server does: refuse a message (4xx/5xx), require STARTTLS or implicit TLS, require a login."""

from __future__ import annotations

import email
import email.policy
import socket
import ssl
import warnings
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

TLS = Path(__file__).resolve().parent / "data" / "tls"
CA = TLS / "ca.pem"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_tls() -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(TLS / "server.pem", TLS / "server.key")
    return ctx


class Inbox:
    """The handler: keeps every accepted message; `refuse` makes DATA fail with that reply."""

    def __init__(self):
        self.envelopes = []
        self.refuse: str | None = None
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server, session, envelope):
        if self.refuse:
            return self.refuse
        self.envelopes.append(envelope)
        return "250 OK queued"

    @property
    def messages(self) -> list[email.message.EmailMessage]:
        return [email.message_from_bytes(e.original_content or e.content,
                                         policy=email.policy.default) for e in self.envelopes]


class SmtpServer:
    def __init__(self, mode: str = "none", login: tuple[str, str] | None = None):
        self.inbox = Inbox()
        self.port = free_port()
        kwargs = {}
        if mode == "starttls":
            kwargs.update(tls_context=server_tls(), require_starttls=True)
        elif mode == "ssl":
            kwargs.update(ssl_context=server_tls(), server_hostname="127.0.0.1")
        if login:
            def authenticator(server, session, envelope, mechanism, data):
                ok = isinstance(data, LoginPassword) and (
                    data.login.decode(), data.password.decode()) == login
                self.inbox.logins.append((data.login.decode(), "ok" if ok else "refused"))
                return AuthResult(success=ok, handled=False)   # handled=True: no reply at all
            # implicit TLS: aiosmtpd cannot tell the socket is already encrypted (issue #281)
            kwargs.update(authenticator=authenticator, auth_required=True,
                          auth_require_tls=mode != "ssl")
        # implicit TLS with AUTH: aiosmtpd warns that AUTH is allowed "without TLS" (it cannot
        # see the socket is already encrypted); here it is.
        warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port,
                                     **kwargs)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()
