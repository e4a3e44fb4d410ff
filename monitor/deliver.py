"""Delivery of a finished email: SMTP (smtplib), or an .eml file in the outbox directory.

Delivered means accepted: by the SMTP server (every recipient), or written to the outbox
atomically (temp file, fsync, rename, directory fsync). Anything else raises DeliveryError, and
the caller records nothing as delivered. The password comes from the environment variable the
config names and is never logged or put in an error message.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import tempfile
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from pathlib import Path

from monitor.config import DigestConfig, SmtpConfig
from monitor.errors import DeliveryError


def deliver(msg: EmailMessage, config: DigestConfig, name: str) -> tuple[str, str]:
    """Deliver `msg`; returns (transport, destination) for the record."""
    if config.smtp is None:
        path = write_outbox(msg, config.outbox, name)
        return "outbox", str(path)
    send_smtp(msg, config.smtp, config.sender, config.to)
    return "smtp", f"{config.smtp.host}:{config.smtp.port}"


def write_outbox(msg: EmailMessage, outbox: Path, name: str) -> Path:
    """Write `msg` as `outbox/name.eml`; a second write of the same name replaces the first (a
    resend after a crash is the same file, not a second one)."""
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        target = outbox / f"{name}.eml"
        fd, tmp = tempfile.mkstemp(dir=outbox, prefix=".tmp-", suffix=".eml")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(msg.as_bytes(policy=SMTP_POLICY))
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        dfd = os.open(outbox, os.O_RDONLY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)
        return target
    except OSError as e:
        raise DeliveryError(f"cannot write the digest to the outbox {outbox}: {e}") from e


def _password(cfg: SmtpConfig) -> str | None:
    if not cfg.password_env:
        return None
    value = os.environ.get(cfg.password_env)
    if not value:
        raise DeliveryError(f"the SMTP password is read from the environment variable "
                            f"{cfg.password_env} (digest.smtp.password_env), which is not set")
    return value


def _tls_context(cfg: SmtpConfig) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    if cfg.ca_file:
        try:
            ctx.load_verify_locations(cafile=str(cfg.ca_file))
        except (OSError, ssl.SSLError) as e:
            raise DeliveryError(f"cannot load digest.smtp.ca_file {cfg.ca_file}: {e}") from e
    return ctx


def send_smtp(msg: EmailMessage, cfg: SmtpConfig, sender: str, to: tuple[str, ...]) -> None:
    password = _password(cfg)
    where = f"SMTP server {cfg.host}:{cfg.port}"
    try:
        if cfg.security == "ssl":
            client = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=cfg.timeout,
                                      context=_tls_context(cfg))
        else:
            client = smtplib.SMTP(cfg.host, cfg.port, timeout=cfg.timeout)
        with client:
            client.ehlo()
            if cfg.security == "starttls":
                if not client.has_extn("starttls"):
                    raise DeliveryError(f"{where} does not offer STARTTLS (digest.smtp.security "
                                        "is starttls); refusing to send in clear text")
                client.starttls(context=_tls_context(cfg))
                client.ehlo()
            if cfg.username:
                client.login(cfg.username, password or "")
            refused = client.send_message(msg, from_addr=sender, to_addrs=list(to))
            if refused:
                raise DeliveryError(f"{where} refused recipients: "
                                    + ", ".join(f"{a} ({c} {m!r})" for a, (c, m) in refused.items()))
    except DeliveryError:
        raise
    except smtplib.SMTPAuthenticationError as e:
        raise DeliveryError(f"{where} refused the login for {cfg.username!r}: "
                            f"{e.smtp_code} {_text(e.smtp_error)}") from None
    except smtplib.SMTPResponseException as e:
        raise DeliveryError(f"{where} refused the digest: {e.smtp_code} {_text(e.smtp_error)}") from None
    except smtplib.SMTPRecipientsRefused as e:
        raise DeliveryError(f"{where} refused every recipient: "
                            + ", ".join(f"{a} ({c})" for a, (c, _) in e.recipients.items())) from None
    except ssl.SSLError as e:
        raise DeliveryError(f"{where}: TLS failed: {e.reason or e}") from None
    except (smtplib.SMTPException, OSError) as e:
        raise DeliveryError(f"{where}: {type(e).__name__}: {e}" if str(e) else
                            f"{where}: {type(e).__name__}") from None


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
