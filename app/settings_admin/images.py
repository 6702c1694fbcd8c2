"""The organisation's own letterhead logo and signature: PNG or JPEG images uploaded in Settings.

Each is one file under ``<data dir>/files/letterhead/`` named after its kind (``logo``,
``signature``), so every process that renders letters (web, worker, the isolated renderer) finds
the current one without the database. An upload is checked from its bytes — the PNG or JPEG
signature, the pixel dimensions in its header, then a full decode — before it replaces the
stored file in one rename. SVG is refused: it can carry scripts and links to other resources.
Co-signers' logos (``app.cosigners``) are checked and stored the same way, in the same folder.
"""

from __future__ import annotations

import base64
import io
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from app.config import get_settings
from app.errors import InvalidInput

KINDS = ("logo", "signature")
KIND_LABELS = {"logo": "letterhead logo", "signature": "signature"}
MAX_BYTES = 1024 * 1024
MAX_SIDE = 4000
SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
PILLOW_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}
# Formats people try, named in the refusal.
OTHER_FORMATS = (
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"RIFF", "a WebP image"),
    (b"BM", "a BMP image"),
    (b"%PDF", "a PDF document"),
    (b"II*\x00", "a TIFF image"),
    (b"MM\x00*", "a TIFF image"),
)
ACCEPTED = "Upload a PNG or JPEG image."


@dataclass(frozen=True)
class StoredImage:
    kind: str
    path: Path
    content_type: str
    width: int
    height: int
    size: int

    def data_url(self) -> str:
        """The image inside a ``data:`` URL (for pages whose CSP allows no other images)."""
        payload = base64.b64encode(self.path.read_bytes()).decode()
        return f"data:{self.content_type};base64,{payload}"


@dataclass(frozen=True)
class CheckedImage:
    content_type: str
    width: int
    height: int


def directory() -> Path:
    return get_settings().files_dir / "letterhead"


def path_of(kind: str) -> Path:
    if kind not in KINDS:
        raise ValueError(f"unknown image kind {kind!r}")
    return directory() / kind


def sniff(head: bytes) -> str | None:
    """The content type a file's first bytes announce, if PNG or JPEG."""
    for magic, content_type in SIGNATURES.items():
        if head.startswith(magic):
            return content_type
    return None


def _what_else(data: bytes) -> str:
    start = data[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<svg", b"<?xml", b"<!doctype svg")) or b"<svg" in start:
        return "SVG images are not accepted (they can carry scripts and links)."
    for magic, name in OTHER_FORMATS:
        if data.startswith(magic):
            return f"This file is {name}, which letters do not take."
    return "This file is not a PNG or JPEG image."


def check(data: bytes) -> CheckedImage:
    """The image's type and size, or InvalidInput saying what is wrong with the file."""
    from PIL import Image

    if not data:
        raise InvalidInput("The file is empty. " + ACCEPTED)
    if len(data) > MAX_BYTES:
        raise InvalidInput(
            f"The file is larger than the limit of {MAX_BYTES // 1024:,} kB; "
            "a logo or signature needs far less (save it smaller, or as a JPEG)."
        )
    announced = sniff(data)
    if announced is None:
        raise InvalidInput(f"{_what_else(data)} {ACCEPTED}")
    kind = "PNG" if announced == "image/png" else "JPEG"
    damaged = InvalidInput(
        f"The file starts like a {kind} image but cannot be read as one (it is damaged or "
        f"not an image). {ACCEPTED}"
    )
    too_large = InvalidInput(
        f"The image has more pixels than letters take; the limit is {MAX_SIDE:,}×{MAX_SIDE:,}."
    )
    try:
        with Image.open(io.BytesIO(data), formats=list(PILLOW_FORMATS)) as image:
            width, height = image.size
            if PILLOW_FORMATS.get(image.format or "") != announced:
                raise damaged
            # The header's dimensions, before decoding: a small file may unpack to gigabytes.
            if not (0 < width <= MAX_SIDE and 0 < height <= MAX_SIDE):
                raise InvalidInput(
                    f"The image is {width:,}×{height:,} pixels; the limit is "
                    f"{MAX_SIDE:,}×{MAX_SIDE:,}."
                )
            # WeasyPrint lets Pillow load truncated images; verify() still checks a PNG's
            # chunks and checksums to the end.
            image.verify()
        with Image.open(io.BytesIO(data), formats=list(PILLOW_FORMATS)) as image:
            image.load()  # a full decode
    except InvalidInput:
        raise
    except Image.DecompressionBombError:  # refused by Pillow itself, before our check
        raise too_large from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise damaged from None
    return CheckedImage(content_type=announced, width=width, height=height)


def stored(kind: str) -> StoredImage | None:
    """The uploaded image of this kind, or None (letters then use the built-in logo, or no
    signature image)."""
    return stored_at(path_of(kind), kind)


def stored_at(path: Path, kind: str) -> StoredImage | None:
    """The PNG or JPEG image stored at ``path`` (any upload checked here), or None."""
    try:
        if path.is_symlink() or not path.is_file():
            return None
        data = path.read_bytes()
    except OSError:
        return None
    content_type = sniff(data[:8])
    if content_type is None:
        return None
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data), formats=list(PILLOW_FORMATS)) as image:
            width, height = image.size
    except (OSError, SyntaxError, ValueError):
        return None
    return StoredImage(kind, path, content_type, width, height, len(data))


def save(kind: str, data: bytes) -> StoredImage:
    """Check and store an upload in place of the current one (readers see the old file or the
    new one, never part of one)."""
    return save_at(path_of(kind), kind, data)


def save_at(target: Path, kind: str, data: bytes) -> StoredImage:
    """Check an upload and write it to ``target`` in one rename (InvalidInput when refused)."""
    checked = check(data)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-", suffix=".upload")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return StoredImage(kind, target, checked.content_type, checked.width, checked.height, len(data))


def remove(kind: str) -> bool:
    """Delete the uploaded image; False when there was none."""
    path = path_of(kind)
    if not path.exists() and not path.is_symlink():
        return False
    path.unlink()
    return True
