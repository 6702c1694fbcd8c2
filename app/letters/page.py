"""Where things sit on a letter's first page: the envelope window, fold and punch marks.

Every figure is in millimetres from the top-left corner of the paper. The layouts read them
through ``layout_geometry()`` (render.py puts it in the layout context), so the page and
``address_fits()`` share one set of numbers.

- A4, DIN 5008 form B (``a4``): address field 45 mm from the top and 20 mm from the left edge,
  85 × 45 mm: a 17.7 mm zone for the return address and remarks above 27.3 mm of address. It
  shows in the window of C5, C6/5 and DL envelopes (window 90 × 45 mm, 20 mm from the left and
  15 mm from the top of a DL envelope) once the sheet is folded at 105 and 210 mm.
- A4, DIN 5008 form A (``a4-form-a``): the same field 27 mm from the top; folds at 87 and 192 mm.
- US Letter (``us-letter``): the #10 window envelope (4 1/8 × 9 1/2 in) has a 1 1/8 × 4 1/2 in
  window 7/8 in from its left edge and 1/2 in from its bottom edge. A sheet folded in thirds
  (3 2/3 in panels) resting at the bottom of the envelope shows, through it, the band from
  2 1/24 in to 3 1/6 in below its top edge; the sheet may slide 1/2 in either way across, so the
  field is 3 1/2 in wide from 7/8 in.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

PT_MM = 25.4 / 72  # one point in millimetres
INCH = 25.4


@dataclass(frozen=True)
class Window:
    """The address field of one layout and the marks printed on the page's left edge."""

    page_width: float
    page_height: float
    left: float
    top: float
    width: float
    height: float
    return_zone: float  # the top part of the field that holds the return-address line
    folds: tuple[float, ...]
    punch: float | None
    padding: float = 5.0  # the address starts this far inside the field's left edge

    @property
    def address_top(self) -> float:
        return self.top + self.return_zone

    @property
    def address_height(self) -> float:
        return self.height - self.return_zone

    @property
    def text_width(self) -> float:
        return self.width - self.padding


WINDOWS: dict[str, Window] = {
    "a4": Window(210, 297, 20, 45, 85, 45, 17.7, folds=(105, 210), punch=148.5),
    "a4-form-a": Window(210, 297, 20, 27, 85, 45, 17.7, folds=(87, 192), punch=148.5),
    "us-letter": Window(
        8.5 * INCH,
        11 * INCH,
        left=7 / 8 * INCH,
        top=49 / 24 * INCH,
        width=3.5 * INCH,
        height=1.125 * INCH,
        return_zone=3.2,
        folds=(11 / 3 * INCH, 22 / 3 * INCH),
        punch=None,
        padding=1.5,
    ),
}
# A note verbale travels in the same DIN 5008 form B window envelope as the A4 letter; a memo
# prints no window but keeps the A4 letterhead's measures.
WINDOWS["note-verbale"] = WINDOWS["memo"] = WINDOWS["a4"]
# A co-signed letter is the A4 letter with more logos and signatories.
WINDOWS["co-signed"] = WINDOWS["a4"]

# Type sizes the address steps down through, largest first; the line height is 1.2 of the size.
ADDRESS_SIZES = (10.0, 9.0, 8.5, 8.0, 7.5, 7.0, 6.5)
LINE_HEIGHT = 1.2
# Arabic and Chinese glyphs reach below a 1.2 line: the last line keeps this much (of the size)
# free under it.
DESCENT_RESERVE = 0.2
RETURN_SIZES = (7.0, 6.5, 6.0)
# Widths are measured glyph by glyph without shaping or kerning; keep this much in reserve.
WIDTH_RESERVE = 0.95


@dataclass(frozen=True)
class AddressSize:
    font_pt: float
    line_pt: float
    fits: bool


# ----------------------------------------------------------------------------- text widths

_FONT_DIRS = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path("/Library/Fonts"),
    Path("/System/Library/Fonts"),
)
# The address font stack (print.css .address-window): Latin and Cyrillic, Arabic, Chinese.
_FONT_FILES = ("NotoSans-Regular.ttf", "NotoSansArabic-Regular.ttf", "NotoSansCJK-Regular.ttc")


@lru_cache(maxsize=1)
def _advance_tables() -> tuple[tuple[dict[int, str], dict[str, tuple[int, int]], int], ...]:
    """(cmap, horizontal metrics, units per em) of each font of the stack that is installed."""
    from fontTools.ttLib import TTFont

    tables = []
    for name in _FONT_FILES:
        path = next((p for d in _FONT_DIRS if d.is_dir() for p in d.rglob(name)), None)
        if path is None:
            continue
        font = TTFont(str(path), fontNumber=0, lazy=True)
        tables.append((font.getBestCmap(), dict(font["hmtx"].metrics), font["head"].unitsPerEm))
    return tuple(tables)


def _char_em(char: str) -> float:
    """A character's advance in em: from the first font of the stack that has it."""
    code = ord(char)
    for cmap, metrics, units in _advance_tables():
        glyph = cmap.get(code)
        if glyph is not None:
            return metrics[glyph][0] / units
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Cf"):
        return 0.0
    return 1.0 if unicodedata.east_asian_width(char) in ("W", "F") else 0.6


def text_width_mm(text: str, font_pt: float) -> float:
    """How wide ``text`` sets at ``font_pt`` in the address font, in millimetres."""
    return sum(_char_em(c) for c in text) * font_pt * PT_MM


def text_dir(text: str) -> str:
    """ "rtl" or "ltr" from the first strong character, as ``dir="auto"`` decides (WeasyPrint
    does not resolve ``auto`` itself, so the layouts write the result)."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind == "L":
            return "ltr"
        if kind in ("R", "AL"):
            return "rtl"
    return "ltr"


# ----------------------------------------------------------------------------- the address


def _wrapped(line: str, size: float, width: float) -> list[str]:
    """``line`` broken at spaces into lines no wider than ``width`` mm at ``size`` (a word wider
    than that stays whole, and is then too wide)."""
    out: list[str] = []
    current = ""
    for word in line.split(" "):
        trial = f"{current} {word}" if current else word
        if current and text_width_mm(trial, size) > width:
            out.append(current)
            current = word
        else:
            current = trial
    return [*out, current] if current else out


def address_layout(lines: Sequence[str], layout: str) -> tuple[list[str], AddressSize]:
    """The address lines as printed and their type size: the largest size at which every line
    fits the field; else the largest at which it fits with the lines too long broken at spaces
    (a mission's long name over two lines, not cut off at the window's edge); else the smallest
    size with ``fits=False`` (too many lines, or a word too long)."""
    window = WINDOWS[layout]
    height_pt = window.address_height / PT_MM
    width = window.text_width * WIDTH_RESERVE

    def fits(printed: Sequence[str], size: float) -> bool:
        tall_enough = max(len(printed), 1) * size * LINE_HEIGHT + DESCENT_RESERVE * size
        return tall_enough <= height_pt and all(text_width_mm(x, size) <= width for x in printed)

    for size in ADDRESS_SIZES:
        if fits(lines, size):
            return list(lines), AddressSize(size, size * LINE_HEIGHT, True)
    for size in ADDRESS_SIZES:
        broken = [part for line in lines for part in _wrapped(line, size, width)]
        if fits(broken, size):
            return broken, AddressSize(size, size * LINE_HEIGHT, True)
    smallest = ADDRESS_SIZES[-1]
    return list(lines), AddressSize(smallest, smallest * LINE_HEIGHT, False)


def address_fits(lines: list[str], layout: str) -> bool:
    """Whether an address can be printed in the layout's envelope window at all."""
    return address_layout(lines, layout)[1].fits


def _without_building(line: str) -> str:
    """A postal line without a leading building name ("Maison de la Paix, Chemin Eugène-Rigot
    2C" -> "Chemin Eugène-Rigot 2C"): the post delivers to the numbered street after it."""
    head, comma, rest = line.partition(",")
    if comma and not any(c.isdigit() for c in head) and any(c.isdigit() for c in rest):
        return rest.strip()
    return line


def return_lines(sender: Mapping[str, Any]) -> list[str]:
    """ "Sender · street · postcode city", from the sender's name and postal address (as the
    post reads it, whatever the letter's language; the city alone when there is no address),
    then shorter forms for a field too narrow for it: without a building's name before a
    numbered street, then by the sender's short name."""
    lines = [str(x).strip() for x in sender.get("address_lines") or [] if str(x).strip()]
    city = str(sender.get("city") or "").strip()
    if city and not lines:
        lines.append(city)
    name = str(sender.get("own_name") or sender.get("name") or "").strip()
    short = str(sender.get("short_name") or "").strip()
    trimmed = [_without_building(x) for x in lines]
    forms = [(name, lines), (name, trimmed)]
    if short and short != name:
        forms += [(short, lines), (short, trimmed)]
    out: list[str] = []
    for who, where in forms:
        text = " · ".join(p for p in (who, *where) if p)
        if text and text not in out:
            out.append(text)
    return out


def return_line(sender: Mapping[str, Any], layout: str) -> tuple[str, float]:
    """The return line and its size: the first form that fits the field's width at one of the
    sizes, largest first; else the shortest form at the smallest size (clipped, never
    wrapped: the field holds one line)."""
    forms = return_lines(sender) or [""]
    width = WINDOWS[layout].text_width * WIDTH_RESERVE
    for text in forms:
        for size in RETURN_SIZES:
            if text_width_mm(text, size) <= width:
                return text, size
    return min(forms, key=len), RETURN_SIZES[-1]


def layout_geometry(layout: str, context: Mapping[str, Any], margin_left: float) -> dict[str, Any]:
    """The numbers and lines the layout places on the first page, positions relative to the
    first page's top edge and its left margin."""
    window = WINDOWS[layout]
    recipient = context.get("recipient") or {}
    lines, size = address_layout([str(x) for x in recipient.get("address_block") or []], layout)
    sender_line, sender_size = return_line(context.get("sender") or {}, layout)
    return {
        "page_width": window.page_width,
        "margin_left": margin_left,
        "window": {
            "left": round(window.left - margin_left, 2),
            "top": window.top,
            "width": window.width,
            "height": window.height,
            "padding": window.padding,
            "return_zone": window.return_zone,
            "address_height": round(window.address_height, 2),
            "bottom": round(window.top + window.height, 2),
        },
        "address": {
            "lines": [{"text": x, "dir": text_dir(x)} for x in lines],
            "font_pt": size.font_pt,
            "line_pt": round(size.line_pt, 2),
            "fits": size.fits,
        },
        "return_line": {
            "text": sender_line,
            "dir": text_dir(sender_line),
            "font_pt": sender_size,
        },
        "marks": [
            {"kind": "fold", "top": round(y, 2), "left": round(4 - margin_left, 2)}
            for y in window.folds
        ]
        + (
            [{"kind": "punch", "top": window.punch, "left": round(4 - margin_left, 2)}]
            if window.punch is not None
            else []
        ),
    }
