"""Who is left out of an export and why, counted as the rows go by: do-not-contact flags unless
the request includes them, no postal address for postal formats, and an office's holder listed
again in person. Every format and both ways of reading rows (``rows`` and ``flat``) ask here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.exports.batches import NO_EMAIL_BIT, NO_POST_BIT, POSTAL_BIT
from app.exports.rows import ExportRow
from app.exports.schemas import Excluded, ExportRequest

SAMPLE = 100  # the excluded rows shown by name; the rest are counted

DO_NOT_POST = "do not post"
DO_NOT_EMAIL = "do not email"
NO_ADDRESS = "no postal address"
TWICE = "already listed (holds an office in the list)"


@dataclass
class Tally:
    exported: int = 0
    processed: int = 0
    merged: int = 0
    excluded: dict[str, int] = field(default_factory=dict)
    sample: list[Excluded] = field(default_factory=list)

    def exclude(self, row: ExportRow, reason: str) -> None:
        self.excluded[reason] = self.excluded.get(reason, 0) + 1
        if len(self.sample) < SAMPLE:
            name = row.display_name or row.organisation or row.native_name
            self.sample.append(
                Excluded(
                    kind=row.kind,
                    id=row.id,
                    name=name,
                    organisation=row.organisation,
                    reason=reason,
                )
            )

    @property
    def samples_wanted(self) -> int:
        return SAMPLE - len(self.sample)

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())


def exclusion(req: ExportRequest, *, no_post: bool, no_email: bool, has_postal: bool) -> str | None:
    """Why a row stays out of this export, or None. Do-not-contact flags count unless the
    request includes them; postal formats need a postal address."""
    if req.is_postal:
        if no_post and not req.include_do_not_contact:
            return DO_NOT_POST
        if not has_postal:
            return NO_ADDRESS
        return None
    if not req.include_do_not_contact:
        if no_post:
            return DO_NOT_POST
        if no_email:
            return DO_NOT_EMAIL
    return None


class Gate:
    """Counts each row and says why it stays out, if it does; an office addressed to its
    holder and the holder listed in person go out once."""

    def __init__(
        self, req: ExportRequest, tally: Tally, progress: Callable[[int], None] | None
    ) -> None:
        self.req = req
        self.tally = tally
        self.progress = progress
        self.seen: set[tuple[int, int | None]] = set()
        # the request's rule for every combination of flags, looked up by code
        self.by_code: list[str | None] = [
            exclusion(
                req,
                no_post=bool(code & NO_POST_BIT),
                no_email=bool(code & NO_EMAIL_BIT),
                has_postal=bool(code & POSTAL_BIT),
            )
            for code in range(8)
        ]

    def count(self, rows: int) -> None:
        """``rows`` more rows seen (progress every thousand)."""
        before = self.tally.processed
        self.tally.processed += rows
        if self.progress is not None and before // 1000 != self.tally.processed // 1000:
            self.progress(self.tally.processed - self.tally.processed % 1000)

    def reason(
        self,
        *,
        no_post: bool,
        no_email: bool,
        has_postal: bool,
        person_id: int | None,
        organisation_id: int | None,
    ) -> str | None:
        self.count(1)
        reason = exclusion(self.req, no_post=no_post, no_email=no_email, has_postal=has_postal)
        if reason is None and person_id is not None:
            reason = self.twice(person_id, organisation_id)
        return reason

    def twice(self, person_id: int, organisation_id: int | None) -> str | None:
        key = (person_id, organisation_id)
        if key in self.seen:
            return TWICE
        self.seen.add(key)
        return None
