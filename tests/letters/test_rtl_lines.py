"""Right-to-left lines are laid out once (``app.letters.rtl_lines``) and land exactly where
WeasyPrint's own two passes put them: every library letter and a page of floats beside tall
right-to-left lines come out byte for byte the same either way."""

from __future__ import annotations

import pytest
from weasyprint import HTML
from weasyprint.layout import inline

from app.letters import rtl_lines, service
from app.letters.context import sample_context
from app.letters.render import LetterJob, render_pdf

LIBRARY = service.read_library()
LANGUAGES = ("ar", "en", "fr", "es", "ru")


def test_the_rewrite_applies_to_the_installed_weasyprint() -> None:
    # a new WeasyPrint that changes the comparison fails here, to be looked at again
    assert rtl_lines.patched() is not None
    assert inline.get_next_linebox is not rtl_lines.ORIGINAL  # applied on import of render


def _library_pdfs() -> dict[tuple[str, str], bytes]:
    pdfs = {}
    for entry in LIBRARY:
        for lang in LANGUAGES:
            subject, body = entry["variants"][lang]
            job = LetterJob(
                body=body,
                subject=subject,
                context=sample_context(lang),
                language=lang,
                layout=entry["layout"],
            )
            pdfs[entry["slug"], lang] = render_pdf(job).pdf
    return pdfs


def test_library_letters_are_the_same_with_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    once = _library_pdfs()
    monkeypatch.setattr(inline, "get_next_linebox", rtl_lines.ORIGINAL)
    twice = _library_pdfs()
    assert len(once) == len(LIBRARY) * len(LANGUAGES)
    assert [key for key in once if once[key] != twice[key]] == []


FLOATS = """
<html lang="ar" dir="rtl"><body style="font-family: 'Noto Naskh Arabic', 'Noto Sans'; width: 120mm">
<div style="float: right; width: 30mm; height: 18mm; background: #ccc"></div>
<div style="float: left; width: 45mm; height: 40mm; background: #999"></div>
{paragraphs}
</body></html>
"""
PARAGRAPH = (
    "<p>تقتل الذخائر العنقودية <span style='font-size: {size}pt'>المدنيين</span> وتشوههم "
    "بعد انتهاء النزاعات بوقت طويل (Convention on Cluster Munitions) وكل دولة تنضم "
    "تعزز القاعدة التي تحظر استخدامها.</p>"
)


def test_tall_lines_beside_floats_land_where_two_passes_put_them(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Lines taller than their strut next to floats on both sides: the case where the place
    of a line changes once its height is known."""
    html = FLOATS.format(paragraphs="".join(PARAGRAPH.format(size=s) for s in (10, 24, 40, 16)))
    once = HTML(string=html).write_pdf()
    monkeypatch.setattr(inline, "get_next_linebox", rtl_lines.ORIGINAL)
    assert HTML(string=html).write_pdf() == once
