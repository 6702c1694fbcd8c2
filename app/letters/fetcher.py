"""The only way a letter can load a resource: ``data:`` URLs, the letterhead assets folder and
the organisation's uploaded logo and signature images and its co-signers' logos.

No network, no redirects, no other files. Anything else raises, and WeasyPrint renders the
letter without the resource.
"""

from __future__ import annotations

import base64
import mimetypes
from pathlib import Path
from urllib.parse import unquote, unquote_to_bytes, urlsplit
from urllib.request import url2pathname

from weasyprint.urls import URLFetcher, URLFetcherResponse, path2url

from app.letters.uploads import UPLOADED_PATTERN

MAX_DATA_URL_BYTES = 5 * 1024 * 1024
MAX_ASSET_BYTES = 5 * 1024 * 1024
# The uploaded images a letter may show (``app.settings_admin.images``): these names in the
# uploads folder, PNG or JPEG by their first bytes.
UPLOADED_NAMES = frozenset({"logo", "signature"})
UPLOADED_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


class BlockedResource(PermissionError):
    pass


class LetterheadFetcher(URLFetcher):
    def __init__(self, assets_dir: Path, uploads_dir: Path | None = None) -> None:
        super().__init__(
            timeout=1,
            allowed_protocols=("data", "file"),
            allow_redirects=False,
            fail_on_errors=False,
        )
        self.root = assets_dir.resolve()
        self.uploads = uploads_dir.resolve() if uploads_dir is not None else None
        self.base_url = path2url(str(self.root)) + "/"

    def fetch(self, url: str, headers: object = None) -> URLFetcherResponse:
        scheme = url.split(":", 1)[0].lower() if ":" in url else ""
        if scheme == "data":
            return self._data(url)
        if scheme == "file":
            return self._asset(url)
        raise BlockedResource(f"letters may not load {scheme or 'relative'} URLs: {url[:80]}")

    def _data(self, url: str) -> URLFetcherResponse:
        header, sep, payload = url[5:].partition(",")
        if not sep:
            raise BlockedResource("malformed data: URL")
        if len(payload) > MAX_DATA_URL_BYTES * 2:
            raise BlockedResource("data: URL too large")
        parts = header.split(";")
        mime = parts[0] or "text/plain"
        body = (
            base64.b64decode(unquote(payload))
            if "base64" in parts[1:]
            else unquote_to_bytes(payload)
        )
        return URLFetcherResponse(url, body, {"Content-Type": mime})

    def _asset(self, url: str) -> URLFetcherResponse:
        parsed = urlsplit(url)
        if parsed.netloc not in ("", "localhost"):
            raise BlockedResource("remote file URL")
        path = Path(url2pathname(unquote(parsed.path))).resolve()
        if self._uploaded(path):
            return self._upload(path)
        if not path.is_relative_to(self.root) or not path.is_file():
            raise BlockedResource("only letterhead assets may be loaded")
        if path.stat().st_size > MAX_ASSET_BYTES:
            raise BlockedResource("letterhead asset too large")
        mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(path2url(str(path)), path.read_bytes(), {"Content-Type": mime})

    def _uploaded(self, path: Path) -> bool:
        # ``path`` is resolved: a link planted in the uploads folder points elsewhere and fails.
        return (
            self.uploads is not None
            and path.parent == self.uploads
            and (path.name in UPLOADED_NAMES or UPLOADED_PATTERN.fullmatch(path.name) is not None)
        )

    def _upload(self, path: Path) -> URLFetcherResponse:
        if not path.is_file():
            raise BlockedResource("no such uploaded image")
        if path.stat().st_size > MAX_ASSET_BYTES:
            raise BlockedResource("uploaded image too large")
        body = path.read_bytes()
        mime = next((t for magic, t in UPLOADED_TYPES.items() if body.startswith(magic)), None)
        if mime is None:
            raise BlockedResource("uploaded images must be PNG or JPEG")
        return URLFetcherResponse(path2url(str(path)), body, {"Content-Type": mime})
