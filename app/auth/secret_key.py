"""The key that signs session cookies: DEMARCHE_SECRET_KEY, or one generated for this install.

Outside production an install without DEMARCHE_SECRET_KEY gets a random key on its first start,
kept in ``<data dir>/secret_key`` (mode 0600). Every process of the install (web workers, the
worker, the command line) reads that one file, so a cookie signed by one is accepted by all; the
file is created atomically, so two processes starting together still agree on one key.
Production never generates a key (Settings refuses to load without a strong one).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from pathlib import Path

from app.config import MIN_SECRET_KEY_LENGTH, Settings

KEY_BYTES = 48
FILE_MODE = 0o600
_READ_ATTEMPTS = 50  # x 20 ms: how long to wait for another process still writing its key


def session_secret(settings: Settings) -> str:
    """The configured key, else the install's generated key (made on the first call)."""
    if settings.secret_key:
        return settings.secret_key
    return load_or_create(settings.secret_key_path)


def load_or_create(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        _create(path)
    return _read(path)


def _create(path: Path) -> None:
    """Write a new key to a private temporary file, then link it into place: the link either
    makes the complete file appear under its name or fails because another process won."""
    key = secrets.token_urlsafe(KEY_BYTES)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    _write_new(temporary, key)
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass  # another process created it first: its key is the install's
    except OSError:
        # A file system without hard links: exclusive creation still lets one process win; the
        # others wait in _read until the winner's key is complete.
        with contextlib.suppress(FileExistsError):
            _write_new(path, key)
    finally:
        temporary.unlink(missing_ok=True)


def _write_new(path: Path, key: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)  # whatever the umask
        os.write(fd, key.encode("ascii") + b"\n")
        os.fsync(fd)
    finally:
        os.close(fd)


def _read(path: Path) -> str:
    if path.stat().st_mode & 0o077:
        os.chmod(path, FILE_MODE)  # readable by others: only its owner should sign sessions
    for _ in range(_READ_ATTEMPTS):
        key = path.read_text(encoding="ascii").strip()
        if len(key) >= MIN_SECRET_KEY_LENGTH:
            return key
        time.sleep(0.02)
    raise RuntimeError(
        f"{path} does not hold a session key of at least {MIN_SECRET_KEY_LENGTH} characters; "
        "delete it to have a new one generated (every signed-in user is signed out), "
        "or set DEMARCHE_SECRET_KEY."
    )
