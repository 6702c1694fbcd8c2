"""docs/letters.md documents every merge field the registry offers (and nothing it lacks)."""

from __future__ import annotations

import re
from pathlib import Path

from app.letters.fields import FIELDS

DOC = Path(__file__).parents[2] / "docs" / "letters.md"


def test_every_merge_field_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    # the merge-field table's rows (the filter table's first column holds filters, not fields)
    table = text.split("## Merge fields", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z0-9_.]+)` \|", table, flags=re.M))
    assert documented == set(FIELDS)
