"""SMTP with a split DATA phase, so the outbox knows whether the server can have the message.

``smtp://user:password@host:port`` (STARTTLS when the server offers it and ``?starttls=required``
insists), or ``smtps://`` for implicit TLS.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlparse

from app.errors import InvalidInput


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: str  # "auto", "required" or "never"


class TemporaryFailure(Exception):
    """Try again later: 4xx replies, refused or dropped connections, timeouts."""


class PermanentFailure(Exception):
    """Do not retry: 5xx replies (bad recipient, message refused)."""


def parse_url(url: str) -> SmtpConfig:
    parsed = urlparse(url)
    if parsed.scheme not in {"smtp", "smtps"} or not parsed.hostname:
        raise InvalidInput(
            f"SMTP URL {url!r} is not of the form smtp://user:password@host:port or smtps://..."
        )
    query = parse_qs(parsed.query)
    starttls = query.get("starttls", ["auto"])[0]
    if starttls not in {"auto", "required", "never"}:
        raise InvalidInput("starttls must be auto, required or never.")
    implicit = parsed.scheme == "smtps"
    return SmtpConfig(
        host=parsed.hostname,
        port=parsed.port or (465 if implicit else 25),
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        implicit_tls=implicit,
        starttls=starttls,
    )


def _dot_stuffed(raw: bytes) -> bytes:
    body = re.sub(rb"(?:\r\n|\n|\r(?!\n))", b"\r\n", raw)
    body = re.sub(rb"(?m)^\.", b"..", body)
    if not body.endswith(b"\r\n"):
        body += b"\r\n"
    return body


def send(
    config: SmtpConfig,
    *,
    sender: str,
    recipients: list[str],
    raw: bytes,
    timeout: float,
    before_commit: Callable[[], None],
) -> str:
    """Send one message; ``before_commit`` runs just before the final dot (the point after which
    the server may hold the message). Returns the server's reply to the message."""
    try:
        client: smtplib.SMTP
        if config.implicit_tls:
            client = smtplib.SMTP_SSL(
                config.host, config.port, timeout=timeout, context=ssl.create_default_context()
            )
        else:
            client = smtplib.SMTP(config.host, config.port, timeout=timeout)
        with client:
            client.ehlo()
            if not config.implicit_tls and config.starttls != "never":
                if client.has_extn("starttls"):
                    client.starttls(context=ssl.create_default_context())
                    client.ehlo()
                elif config.starttls == "required":
                    raise PermanentFailure("The SMTP server does not offer STARTTLS.")
            if config.username:
                client.login(config.username, config.password or "")
            _check(*client.mail(sender))
            accepted = 0
            refusals = []
            for rcpt in recipients:
                code, message = client.rcpt(rcpt)
                if 200 <= code < 300:
                    accepted += 1
                else:
                    refusals.append((code, message))
            if not accepted:
                _check(*refusals[0])
            code, message = client.docmd("DATA")
            if code != 354:
                _check(code, message)
            client.send(_dot_stuffed(raw))
            before_commit()
            client.send(b".\r\n")
            code, message = client.getreply()
            _check(code, message)
            return f"{code} {message.decode(errors='replace')}"[:200]
    except (TemporaryFailure, PermanentFailure):
        raise
    except smtplib.SMTPAuthenticationError as exc:
        raise PermanentFailure(f"SMTP authentication failed: {exc.smtp_code}") from exc
    except smtplib.SMTPResponseException as exc:
        _check(exc.smtp_code, exc.smtp_error)
        raise
    except (OSError, smtplib.SMTPException) as exc:
        raise TemporaryFailure(f"{type(exc).__name__}: {exc}") from exc


def _check(code: int, message: bytes | str) -> None:
    text = message.decode(errors="replace") if isinstance(message, bytes) else message
    if 200 <= code < 400:
        return
    if 400 <= code < 500:
        raise TemporaryFailure(f"{code} {text}")
    raise PermanentFailure(f"{code} {text}")
