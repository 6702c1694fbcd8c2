"""What a new password must be: long enough, not the user's email, not a common password.

Sign-in never applies these rules (an older, weaker password still signs in); every way of setting
a password does: the settings form, the API, the account page and the command line.
"""

from __future__ import annotations

import string
from functools import cache
from pathlib import Path

MIN_LENGTH = 12
MAX_LENGTH = 1024
MIN_DISTINCT = 5
COMMON_PASSWORDS = Path(__file__).parent / "data" / "common_passwords.txt"
_ENDS = string.digits + string.punctuation + string.whitespace
# Runs a password must not be a piece of, forwards or backwards: digits, alphabet, keyboard rows.
_SEQUENCES = ("0123456789" * 4, string.ascii_lowercase * 2, "qwertyuiopasdfghjklzxcvbnm" * 2)

RULES = f"At least {MIN_LENGTH} characters; not your email address or a common password"


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list (see data/README.md), lower-cased; read once per process."""
    with COMMON_PASSWORDS.open(encoding="utf-8") as lines:
        return frozenset(line.strip().lower() for line in lines if line.strip())


def _is_sequence(lowered: str) -> bool:
    return any(lowered in run or lowered in run[::-1] for run in _SEQUENCES)


def problem(password: str, email: str = "") -> str | None:
    """Why this password is refused for the account with this email, or None if it is fine."""
    if len(password) < MIN_LENGTH:
        return f"The password must have at least {MIN_LENGTH} characters."
    if len(password) > MAX_LENGTH:
        return f"The password must have at most {MAX_LENGTH} characters."
    lowered = password.lower()
    core = lowered.strip(_ENDS)  # "Password2024!" is "password" with a year and a mark added
    address = email.strip().lower()
    own = {address, address.split("@", 1)[0]} - {""}
    if lowered in own or core in own:
        return "The password must not be your email address or the part before the @."
    if len(set(password)) < MIN_DISTINCT or _is_sequence(lowered):
        return (
            "The password is too predictable (a repeated character or a run such as 123456 or "
            "qwerty); choose another, e.g. a few unrelated words."
        )
    common = common_passwords()
    if lowered in common or core in common:
        return (
            "The password is one of the 10,000 most common passwords (or one with digits or "
            "punctuation added); choose another, e.g. a few unrelated words."
        )
    return None
