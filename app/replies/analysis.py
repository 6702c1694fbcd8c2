"""Reading a reply for the coordinator, in one call: who sent it, its references and dates, the
letters it probably answers (with reasons and ties), the positions it states and whether it only
acknowledges receipt.

The API (``POST /api/v1/replies/analyse``), the new-reply form's script and the form's "Read
text" button all come here, so the three never disagree. A scan is read in bounded child
processes (``ocr.recognise``), its first pages only: the whole scan is read again by the worker
once the reply is logged with it attached.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from app.countries import service as countries_service
from app.errors import InvalidInput, NotFound, PayloadTooLarge
from app.models import Organisation, Person
from app.replies import langdetect, matching, ocr, reading, service, stance

SCAN_PAGES = 3  # enough to find the letterhead, the references, the dates and the positions
MAX_TEXT = 500_000


@dataclass
class Analysis:
    extracted: reading.Extracted
    suggestions: list[matching.Suggestion]
    tie_note: str | None
    positions: list[stance.StanceSuggestion]
    acknowledgement: bool
    text: str  # what was read: the text given, then the scan's
    scan_text: str = ""  # the scan's part of it (the form keeps it under the scan's heading)

    def as_dict(self) -> dict[str, Any]:
        return {
            "extracted": self.extracted.as_dict(),
            "letters": [suggestion_dict(s) for s in self.suggestions],
            "tie_note": self.tie_note,
            "positions": [p.as_dict() for p in self.positions],
            "acknowledgement": self.acknowledgement,
            "text": self.text,
        }


def suggestion_dict(s: matching.Suggestion) -> dict[str, Any]:
    """A suggestion as ``/suggest`` gives it, and whether another letter ties with it."""
    return {
        "letter_id": s.letter_id,
        "reference": s.reference,
        "recipient_name": s.recipient_name,
        "country": s.country,
        "letter_date": s.letter_date.isoformat() if s.letter_date else None,
        "sent_on": s.sent_on.isoformat() if s.sent_on else None,
        "status": s.status,
        "score": s.score,
        "reasons": list(s.reasons),
        "certain": s.certain,
        "tied": s.tied,
    }


def read_scan(content: bytes, *, language: str = "") -> ocr.OcrResult:
    """The text of a scan's first pages; refused as an attachment would be (size, type)."""
    if len(content) > service.MAX_ATTACHMENT_BYTES:
        raise PayloadTooLarge(
            f"The scan is larger than {service.MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB."
        )
    if not content:
        raise InvalidInput(
            "The scan is empty.", errors=[{"field": "file", "message": "empty file"}]
        )
    kind = service.sniff(content)
    if kind is None:
        raise InvalidInput(
            "Only PDF scans and images (PNG, JPEG, TIFF, GIF, WebP) can be read.",
            errors=[{"field": "file", "message": "file type not accepted"}],
        )
    return ocr.recognise(content, content_type=kind, language=language, max_pages=SCAN_PAGES)


def _country_id(session: Session, code: str | None) -> int | None:
    if not code:
        return None
    try:
        return countries_service.get_by_code(session, code).id
    except NotFound:
        raise InvalidInput(
            f"{code} is not a country code.",
            errors=[{"field": "country", "message": "unknown country"}],
        ) from None


def _check_sender(session: Session, model: type[Any], ident: int | None, field: str) -> None:
    if ident is not None and session.get(model, ident) is None:
        raise InvalidInput(
            f"No {'person' if model is Person else 'organisation'} has the id {ident}.",
            errors=[{"field": field, "message": "unknown id"}],
        )


def analyse(
    session: Session,
    *,
    subject: str = "",
    text: str = "",
    country: str | None = None,
    sender_person_id: int | None = None,
    sender_organisation_id: int | None = None,
    cited_letter_date: date | None = None,
    scan: bytes | None = None,
    scan_language: str = "",
) -> Analysis:
    """Everything the reply's text (and scan) says that the coordinator would otherwise type."""
    country_id = _country_id(session, country)
    _check_sender(session, Person, sender_person_id, "sender_person_id")
    _check_sender(session, Organisation, sender_organisation_id, "sender_organisation_id")
    scanned_language = scan_text = ""
    if scan is not None:
        result = read_scan(scan, language=scan_language)
        scanned_language, scan_text = result.language, result.text.strip()
        text = f"{text.rstrip()}\n\n{scan_text}" if text.strip() else scan_text
    text = text[:MAX_TEXT]
    extracted = reading.read_reply(
        session,
        subject=subject,
        text=text,
        country_id=country_id,
        sender_organisation_id=sender_organisation_id,
        sender_person_id=sender_person_id,
    )
    if not extracted.language:
        extracted.language = scanned_language or langdetect.detect(f"{subject}\n{text}")
    # what the reading found stands in for what the coordinator has not said yet
    reference = extracted.our_reference
    suggestions = matching.suggest(
        session,
        matching.MatchInput(
            subject=subject,
            text=text if not reference or reference in text else f"{text}\n{reference}",
            sender_person_id=sender_person_id,
            sender_organisation_id=sender_organisation_id or extracted.sender_organisation_id,
            country_id=country_id,
            cited_letter_date=cited_letter_date or extracted.cited_letter_date,
            reply_date=extracted.dated_on,
        ),
    )
    language = extracted.language
    return Analysis(
        extracted=extracted,
        suggestions=suggestions,
        tie_note=matching.tie_note(suggestions),
        positions=stance.suggest_positions(text, language=language),
        acknowledgement=stance.is_acknowledgement(text, language=language),
        text=text,
        scan_text=scan_text,
    )
