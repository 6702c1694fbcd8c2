"""A letter's reference in an email address: replies+CMC-2010-TJK-0001@domain, and back."""

from __future__ import annotations

import re
from email.utils import parseaddr

from app.config import get_settings

ADDRESS_REFERENCE = re.compile(r"^[^+@\s]+\+([A-Za-z0-9][A-Za-z0-9._-]{2,110})@", re.ASCII)


def address_token(reference: str) -> str:
    """A reference as it travels in an address: ``CMC/2010/TJK/0001`` → ``CMC-2010-TJK-0001``."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", reference).strip("-")


def reply_address(reference: str) -> str:
    """The Reply-To for a letter: the configured pattern with the reference plus-addressed."""
    return get_settings().reply_to.replace("{reference}", address_token(reference))


def reference_from_address(address: str) -> str | None:
    """The reference token carried by a reply address (``replies+CMC-2010-TJK-0001@x`` →
    ``CMC-2010-TJK-0001``), or None. Accepts ``Name <addr>`` forms. Compare it with a letter's
    reference through ``address_token`` (``/`` in print becomes ``-`` in addresses), or use
    ``get_by_address_token``."""
    addr = parseaddr(address)[1] or address.strip()
    match = ADDRESS_REFERENCE.match(addr)
    return match.group(1) if match else None
