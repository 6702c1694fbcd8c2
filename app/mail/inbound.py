"""Reading incoming email (.eml uploads or an IMAP mailbox) into plain data for reply logging.

Every message is scanned against the bounds of ``app.mail.limits`` on its raw bytes, then
parsed in a child process (``app.mail.reader``) whose address space and time are capped: the
web process and the mailbox poller never run the email package on a message from outside.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from dataclasses import asdict
from pathlib import Path

import app
from app.errors import InvalidInput
from app.mail.limits import DEFAULT_LIMITS, BoundExceeded, Limits, megabytes, prescan
from app.mail.reader import (
    REPLY_ADDRESS,
    DeliveryReport,
    InboundAttachment,
    InboundEmail,
    decode,
    html_to_text,
)

__all__ = [
    "MAX_EML_BYTES",
    "REPLY_ADDRESS",
    "DeliveryReport",
    "EmailTooLarge",
    "InboundAttachment",
    "InboundEmail",
    "UnreadableEmail",
    "html_to_text",
    "parse",
]

log = logging.getLogger(__name__)

MAX_EML_BYTES = DEFAULT_LIMITS.max_bytes
# The directory holding the ``app`` package, put on the child's path (it runs isolated, -I).
_ROOT = str(Path(app.__file__).resolve().parent.parent)
_CHILD = "import sys; sys.path.insert(0, sys.argv.pop(1)); from app.mail.reader import main; main()"


class UnreadableEmail(InvalidInput):
    """The email breaks a bound (structure, memory or time): it is not parsed. The mailbox
    poller keeps such a message raw in triage; an upload is answered with this error."""


class EmailTooLarge(UnreadableEmail):
    status = 413
    title = "Payload too large"


def _refusal(exc: BoundExceeded) -> UnreadableEmail:
    if exc.too_large:
        return EmailTooLarge(exc.reason)
    return UnreadableEmail(exc.reason, errors=[{"field": "file", "message": exc.reason}])


def parse(raw: bytes, *, limits: Limits = DEFAULT_LIMITS) -> InboundEmail:
    """Parse an RFC 5322 message within ``limits``; refuses what is not one with a clear
    message (InvalidInput) and what breaks a bound with UnreadableEmail."""
    if not raw.strip():
        raise InvalidInput("The file is empty.")
    try:
        prescan(raw, limits)
    except BoundExceeded as exc:
        raise _refusal(exc) from None
    out = _run_child(raw, limits)
    try:
        result = decode(out)
    except (ValueError, KeyError, TypeError) as exc:  # a child killed while it wrote
        raise UnreadableEmail(f"The email could not be read within the limits ({exc}).") from exc
    if isinstance(result, InboundEmail):
        return result
    kind, reason = result
    if kind == "not_email":
        raise InvalidInput(reason)
    raise _refusal(BoundExceeded(reason, too_large=kind == "too_large"))


def _run_child(raw: bytes, limits: Limits) -> bytes:
    """Run the reader in a child process; its stdout, or UnreadableEmail when it was killed
    (address space exhausted, CPU or wall-clock time over)."""
    command = [
        sys.executable,
        "-I",
        "-c",
        _CHILD,
        _ROOT,
        str(os.getpid()),
        json.dumps(asdict(limits)),
    ]
    try:
        done = subprocess.run(  # noqa: S603 - our own interpreter and module, no shell
            command,
            input=raw,
            capture_output=True,
            timeout=limits.timeout_seconds,
            check=False,
        )
    except subprocess.TimeoutExpired:
        # subprocess.run has killed the child and reaped it.
        raise UnreadableEmail(
            f"Reading the email took longer than {limits.timeout_seconds:g} seconds."
        ) from None
    if done.returncode != 0 or len(done.stdout) < 8:
        ended = (
            f"signal {signal.Signals(-done.returncode).name}"
            if done.returncode < 0
            else f"exit {done.returncode}"
        )
        log.warning(
            "email reader ended (%s): %s", ended, done.stderr[-500:].decode(errors="replace")
        )
        raise UnreadableEmail(
            "Reading the email needs more than the "
            f"{megabytes(limits.memory_bytes)} and {limits.timeout_seconds:g} seconds allowed."
        )
    return done.stdout
