"""Bounds on an incoming email, checked on the raw bytes before any parsing and again on the
parsed tree.

Python's email package is quadratic in places: the memory it takes to read a header grows far
faster than the header's RFC 2047 encoded words, so a small message can exhaust a worker.
Anyone can mail the replies mailbox, so a message is first scanned here (regular expressions
over the bytes, a stack of MIME boundaries, no email objects), and only a message within every
bound is parsed, in a child process with a memory and time limit of its own
(``app.mail.reader``).

This module uses the standard library only: the child process imports it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    """What an incoming email may hold. The defaults leave room for any real reply: a few
    dozen headers, a Subject of a few encoded words, a scan or two attached."""

    max_bytes: int = 25 * 1024 * 1024
    max_header_fields: int = 500  # in any one header block (the message's or a part's)
    max_header_bytes: int = 64 * 1024  # one header field, folded lines included
    max_header_block_bytes: int = 1024 * 1024
    max_encoded_words: int = 5_000  # in all the headers of the message
    max_encoded_words_per_field: int = 500  # memory grows faster than their count
    max_parts: int = 1_000
    max_depth: int = 20  # multiparts and attached messages inside each other
    max_boundary_bytes: int = 200
    # The child process that parses: address space and wall-clock time.
    memory_bytes: int = 768 * 1024 * 1024
    timeout_seconds: float = 30.0


DEFAULT_LIMITS = Limits()


class BoundExceeded(Exception):
    """The message breaks a bound; ``too_large`` when it is its size (HTTP 413)."""

    def __init__(self, reason: str, *, too_large: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.too_large = too_large


def megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.0f} MB"


# An RFC 2047 encoded word: =?charset?B|Q?text?= (charset may carry *language).
ENCODED_WORD = re.compile(rb"=\?[^?\s]{1,75}\?[bBqQ]\?[^?\s]*\?=")
# The first line that is not a header line (the blank separator, or body text): feedparser's
# rule, a header line is "From ", "name:", or a continuation starting with a space or tab.
_HEADER_END = re.compile(rb"^(?![\x21-\x39\x3b-\x7e]*:|[ \t]|From )", re.MULTILINE)
_FIELD_START = re.compile(rb"^[^ \t]", re.MULTILINE)
_CONTENT_TYPE = re.compile(rb"^content-type[ \t]*:((?:[^\r\n]|\r?\n[ \t])*)", re.I | re.M)
_BOUNDARY = re.compile(rb"""boundary[ \t]*=[ \t]*(?:"((?:[^"\\\r\n]|\\.)*)"|([^\s;"]+))""", re.I)
_BLANK_LINE = re.compile(rb"\r?\n")


def prescan(raw: bytes, limits: Limits = DEFAULT_LIMITS) -> None:
    """Raise BoundExceeded when the raw message breaks a bound. Linear in the size of the
    message: every search runs in the regular expression engine, none builds email objects."""
    if len(raw) > limits.max_bytes:
        raise BoundExceeded(
            f"The email is larger than {megabytes(limits.max_bytes)} ({megabytes(len(raw))}).",
            too_large=True,
        )
    _Scan(raw, limits).run()


class _Scan:
    """Walks the message as the parser would: a header block, then a body in which the
    boundaries of the open multiparts are looked for."""

    def __init__(self, raw: bytes, limits: Limits) -> None:
        self.raw = raw
        self.limits = limits
        self.words = 0
        self.parts = 1
        # Boundaries of the open multiparts, outermost first; None for an attached message.
        self.stack: list[bytes | None] = []
        self._patterns: dict[tuple[bytes, ...], re.Pattern[bytes]] = {}

    def run(self) -> None:
        pos = 0
        expect_headers = True
        while True:
            if expect_headers:
                pos, kind, boundary = self._headers(pos)
                if kind == "multipart" and boundary:
                    self._push(boundary)
                elif kind == "message":
                    self._push(None)
                    continue  # the attached message's own headers follow at once
            found = self._next_boundary(pos)
            if found is None:
                return
            pos, index, closing = found
            del self.stack[index + 1 :]
            if closing:
                self.stack.pop()
                expect_headers = False
            else:
                self.parts += 1
                if self.parts > self.limits.max_parts:
                    raise BoundExceeded(
                        f"The email has more than {self.limits.max_parts} MIME parts."
                    )
                expect_headers = True

    def _push(self, boundary: bytes | None) -> None:
        self.stack.append(boundary)
        if len(self.stack) > self.limits.max_depth:
            raise BoundExceeded(
                f"The email nests parts more than {self.limits.max_depth} levels deep."
            )

    def _headers(self, pos: int) -> tuple[int, str, bytes | None]:
        """Check the header block at ``pos``; (where its body starts, kind, boundary)."""
        limit = self.limits.max_header_block_bytes
        match = _HEADER_END.search(self.raw, pos, pos + limit + 1)
        end = match.start() if match else min(len(self.raw), pos + limit + 1)
        if end - pos > limit:
            raise BoundExceeded(f"A header block of the email is longer than {limit} bytes.")
        block = self.raw[pos:end]
        self._check_fields(block)
        blank = _BLANK_LINE.match(self.raw, end)
        body = blank.end() if blank else end
        content_type = _CONTENT_TYPE.search(block)
        if content_type is None:
            return body, "", None
        value = re.sub(rb"\r?\n[ \t]", b" ", content_type.group(1)).strip().lower()
        if value.startswith(b"multipart/"):
            found = _BOUNDARY.search(content_type.group(1))
            boundary = (found.group(1) or found.group(2)) if found else None
            if boundary is not None and len(boundary) > self.limits.max_boundary_bytes:
                raise BoundExceeded("A MIME boundary of the email is too long.")
            return body, "multipart", boundary.replace(b"\\", b"") if boundary else None
        if value.startswith((b"message/rfc822", b"message/global")):
            return body, "message", None
        return body, "", None

    def _check_fields(self, block: bytes) -> None:
        starts = [m.start() for m in _FIELD_START.finditer(block)]
        if len(starts) > self.limits.max_header_fields:
            raise BoundExceeded(
                f"A header block of the email has more than {self.limits.max_header_fields} fields."
            )
        for start, stop in zip(starts, [*starts[1:], len(block)], strict=False):
            if stop - start > self.limits.max_header_bytes:
                name = block[start : block.find(b":", start, start + 80)].decode("ascii", "replace")
                raise BoundExceeded(
                    f"The email's {name or 'header'} field is longer than "
                    f"{self.limits.max_header_bytes} bytes."
                )
            words = sum(1 for _ in ENCODED_WORD.finditer(block, start, stop))
            self._count_words(words, block[start : block.find(b":", start, start + 80)])

    def _count_words(self, words: int, name: bytes) -> None:
        if words > self.limits.max_encoded_words_per_field:
            label = name.decode("ascii", "replace") or "header"
            raise BoundExceeded(
                f"The email's {label} field holds {words} encoded words "
                f"(at most {self.limits.max_encoded_words_per_field})."
            )
        self.words += words
        if self.words > self.limits.max_encoded_words:
            raise BoundExceeded(
                f"The email's headers hold more than {self.limits.max_encoded_words} encoded words."
            )

    def _next_boundary(self, pos: int) -> tuple[int, int, bool] | None:
        """The next delimiter line of an open multipart: (position after it, index of that
        multipart in the stack, whether it closes it)."""
        boundaries = tuple(b for b in self.stack if b is not None)
        if not boundaries:
            return None
        pattern = self._patterns.get(boundaries)
        if pattern is None:
            alternatives = b"|".join(re.escape(b) for b in dict.fromkeys(boundaries))
            pattern = re.compile(
                rb"^--(" + alternatives + rb")(--)?[ \t]*(?:\r?\n|\r|$)", re.MULTILINE
            )
            self._patterns[boundaries] = pattern
        match = pattern.search(self.raw, pos)
        if match is None:
            return None
        found = match.group(1)
        index = max(i for i, b in enumerate(self.stack) if b == found)
        return match.end(), index, match.group(2) is not None


def count_words(value: str) -> int:
    """Encoded words in a header value already split off by the parser (the second check)."""
    return sum(1 for _ in ENCODED_WORD.finditer(value.encode("utf-8", "surrogateescape")))
