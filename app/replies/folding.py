"""Reply text as it is read: folded for dates and words, plain for references, and no more of
it than ``MAX_TEXT``.

Dates are read on a folded copy of the text (compatibility forms, accents, Arabic hamza and
vowel marks, invisible marks removed; Arabic-Indic and full-width digits as ASCII; lower case),
so "Février", "fevrier", "أيار" and "ايار", "٢٠١٠" and "2010" read alike.
"""

from __future__ import annotations

import re
import unicodedata

# Untrusted text: only so much of it is read (a reply's letterhead, body and signature fit).
MAX_TEXT = 60_000
# --- folding ---------------------------------------------------------------------------------

DIGITS = str.maketrans(
    "٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹",  # Arabic-Indic, then Eastern Arabic-Indic (Persian/Urdu) digits
    "01234567890123456789",
)
_ARABIC = str.maketrans({"ى": "ي", "ـ": None})  # alif maqsura as ya; tatweel (stretching)
# A word hyphenated across a line break by OCR or a narrow column ("Decem-\nber").
_HYPHENATED = re.compile(r"(?<=[^\W\d_])[-\u00ad]\s*\n\s*(?=[^\W\d_])")


def fold(text: str) -> str:
    """The text as dates and cue words are read: see the module docstring."""
    text = _HYPHENATED.sub("", text[:MAX_TEXT])
    decomposed = unicodedata.normalize("NFKD", text)
    kept = "".join(c for c in decomposed if unicodedata.category(c) not in ("Mn", "Cf"))
    return kept.translate(DIGITS).translate(_ARABIC).casefold()


_FULLWIDTH = {cp: cp - 0xFEE0 for cp in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}
WIDE_DIGITS = {cp: cp - 0xFEE0 for cp in range(0xFF10, 0xFF1A)}


def plain_text(text: str) -> str:
    """Digits and full-width forms as ASCII, one character for one, case kept (references are
    read on this and quoted as written)."""
    return text[:MAX_TEXT].translate(DIGITS).translate(_FULLWIDTH)


# --- month names -----------------------------------------------------------------------------
WORD = re.compile(r"[^\W\d_]{2,}")


def is_cjk(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)
