"""PDFs read back with pypdf: pages, text, metadata; limits stop runaway templates."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PdfReader
from pypdf.generic import ArrayObject, StreamObject

from app.letters import service
from app.letters.context import build_context, local_date, sample_context
from app.letters.render import (
    LetterJob,
    RenderError,
    RenderLimits,
    RenderTimeout,
    harfbuzz_subset_available,
    render_html,
    render_isolated,
    render_pdf,
)

LIBRARY = {entry["slug"]: entry for entry in service.read_library()}


def _job(slug: str, lang: str, **overrides: object) -> LetterJob:
    subject, body = LIBRARY[slug]["variants"][lang]
    return LetterJob(
        body=body,
        subject=subject,
        context=sample_context(lang, overrides or None, style=LIBRARY[slug]["style"]),
        language=lang,
        layout=LIBRARY[slug]["layout"],
    )


def _text(pdf: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(pdf))
    return reader, "\n".join(page.extract_text() for page in reader.pages)


def test_appeal_pdf_has_recipient_salutation_reference_countdown_and_metadata() -> None:
    rendered = render_pdf(_job("appeal-head-of-state", "en"))
    reader, text = _text(rendered.pdf)
    text = " ".join(text.split())  # lines joined; no-break spaces read as spaces
    assert rendered.pages == len(reader.pages) == 1
    assert "His Excellency Emomali Rahmon" in text
    assert "Dear President Rahmon," in text  # the built-in appeal is in the personal style
    assert "CMC/2010/TJK/0001" in text
    assert "In the 92 days counting down to entry into force" in text
    assert "(1MSP) in Vientiane from 9 to 12 November 2010, 192 days from" in text
    assert "1 August 2010" in text and "Geneva, 1 May 2010" in text
    meta = reader.metadata
    assert meta is not None
    assert meta.title == "Joining the Convention on Cluster Munitions before 9\xa0November 2010"
    assert meta.author == "Cluster Munition Coalition"
    assert meta.subject is not None and "CMC/2010/TJK/0001" in meta.subject


def test_long_letter_numbers_pages_and_repeats_reference_on_continuation_pages() -> None:
    job = _job("appeal-head-of-state", "en")
    long_body = job.body + "<p>{{ campaign.goal }}. " + "More text. " * 60 + "</p>" * 1
    job = LetterJob(body=long_body * 4, subject=job.subject, context=job.context, language="en")
    rendered = render_pdf(job)
    reader, _ = _text(rendered.pdf)
    assert rendered.pages >= 2
    first = reader.pages[0].extract_text()
    second = reader.pages[1].extract_text()
    assert f"Page 1 of {rendered.pages}" in first
    assert f"Page 2 of {rendered.pages}" in second
    assert "CMC/2010/TJK/0001" in second  # running reference on continuation pages
    assert "Emomali Rahmon" not in second.split("Page 2")[0][:40]


@pytest.mark.parametrize("lang", ["fr", "es", "ru", "ar", "zh"])
def test_language_variants_render_with_local_dates(lang: str) -> None:
    rendered = render_pdf(_job("appeal-head-of-state", lang))
    _, text = _text(rendered.pdf)
    assert "CMC/2010/TJK/0001" in text
    date_line = {
        "fr": "Genève, le 1er\xa0mai 2010",
        "es": "Ginebra, 1\xa0de\xa0mayo de 2010",
        "ru": "Женева, 1\xa0мая 2010\xa0г.",
        "ar": "مايو",
        "zh": "2010年5月1日于日内瓦",
    }[lang]
    assert date_line in text


def test_arabic_letter_is_right_to_left() -> None:
    html = render_html(_job("appeal-head-of-state", "ar"))
    assert '<html lang="ar" dir="rtl">' in html
    ltr = render_html(_job("appeal-head-of-state", "ru"))
    assert '<html lang="ru" dir="ltr">' in ltr


def test_us_letter_layout_uses_letter_paper() -> None:
    rendered = render_pdf(_job("joint-open-letter", "en"))
    reader, text = _text(rendered.pdf)
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (612, 792)
    assert "Ministry of Defence" in text  # every addressed organisation is listed
    assert "To:" in text


def test_pdf_a_variant() -> None:
    job = _job("thank-you-ratification", "en")
    job = LetterJob(**{**job.__dict__, "pdf_variant": "pdf/a-3b"})
    reader = PdfReader(io.BytesIO(render_pdf(job).pdf))
    metadata = reader.root_object["/Metadata"].get_object()
    intents = reader.root_object["/OutputIntents"].get_object()
    assert isinstance(metadata, StreamObject) and isinstance(intents, ArrayObject)
    xmp = metadata.get_data()
    assert b"pdfaid:part" in xmp and b"3" in xmp.split(b"pdfaid:part")[1][:5]
    assert intents[0].get_object()["/S"] == "/GTS_PDFA1"


def test_dates_are_written_the_local_way() -> None:
    day = date(2010, 8, 1)
    # no-break spaces where a line must not break ("1 août", "2010 г.")
    assert local_date(day, "en") == "1\xa0August 2010"
    assert local_date(day, "fr") == "1er\xa0août 2010"
    assert local_date(day, "es") == "1\xa0de\xa0agosto de 2010"
    assert local_date(day, "ru") == "1\xa0августа 2010\xa0г."
    assert local_date(day, "zh") == "2010年8月1日"


def test_build_context_is_plain_data_with_countdown() -> None:
    ctx = build_context(
        language="fr",
        letter_date=date(2010, 3, 25),
        reference="CMC/2010/TJK/0001",
        recipient={"name": "Emomali Rahmon", "address_block": ["A", "B"]},
        milestone={"treaty": "CCM", "kind": "msp", "number": 1, "date": "2010-11-09"},
        treaty={"key": "CCM", "eif_date": "2010-08-01", "status": "non_signatory"},
        country_iso3="TJK",
    )
    assert ctx["milestone"]["days_left"] == 229
    assert ctx["milestone"]["date"] == "9\xa0novembre 2010"
    assert ctx["milestone"]["name"].startswith("première Assemblée des États parties")
    assert ctx["treaty"]["eif_date"] == "1er\xa0août 2010"
    assert ctx["treaty"]["name"] == "Convention sur les armes à sous-munitions"
    assert ctx["treaty"]["status"] == "non signataire"
    assert ctx["treaty"]["days_to_eif"] == 129
    assert ctx["country"]["name_with_article"] == "le Tadjikistan"
    assert ctx["recipient"]["address_block"] == ["A", "B"]

    def plain(value: object) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return isinstance(value, (str, int))

    assert plain(ctx)


# Within the sandbox's bound on loop turns, each turn slow: only the time limit stops it.
SLOW_LOOP = (
    "{% for a in 'x' * 90000 %}{% if ('x' * 90000)|list|sort|length %}{% endif %}{% endfor %}"
)


def test_page_limit_stops_a_letter_with_too_many_pages() -> None:
    job = LetterJob(
        body="{% for a in 'x' * 30 %}<p style='break-after: page'>{{ a }}</p>{% endfor %}",
        subject="Pages",
        context=sample_context(),
        limits=RenderLimits(max_pages=5),
    )
    with pytest.raises(RenderError, match="more than the limit of 5"):
        render_pdf(job)


def test_runaway_loop_without_output_is_stopped_by_the_time_limit() -> None:
    job = LetterJob(
        body=SLOW_LOOP,
        subject="Loop",
        context=sample_context(),
        limits=RenderLimits(seconds=1),
    )
    with pytest.raises(RenderTimeout, match="longer than 1 s"):
        render_pdf(job)


def test_huge_output_is_refused_before_typesetting() -> None:
    job = LetterJob(
        body="{% for a in 'x' * 50000 %}<p>{{ recipient.name }}</p>{% endfor %}",
        subject="Big",
        context=sample_context(),
    )
    with pytest.raises(RenderError, match="character limit"):
        render_pdf(job)


def test_isolated_renderer_stops_runaway_and_keeps_working() -> None:
    stuck = LetterJob(
        body=SLOW_LOOP,
        subject="Loop",
        context=sample_context(),
        limits=RenderLimits(seconds=1),
    )
    with pytest.raises(RenderTimeout):
        render_isolated(stuck)
    ok = render_isolated(_job("follow-up-reminder", "es"))
    assert ok.pages >= 1


def test_harfbuzz_subsetting_is_available() -> None:
    assert harfbuzz_subset_available()


def test_ten_thousand_pages_fail_fast_instead_of_blocking_the_worker() -> None:
    job = LetterJob(
        body="{% for a in 'x' * 10000 %}<p style='break-after: page'>{{ a }}</p>{% endfor %}",
        subject="Pages",
        context=sample_context(),
        limits=RenderLimits(seconds=2),
    )
    # Whichever limit trips first (time on a slow machine, pages on a fast one), the render stops
    # with a message that says why.
    with pytest.raises(RenderError, match=r"longer than 2 s|more than the limit of 40"):
        render_pdf(job)


@pytest.mark.parametrize("title", ["Coordinator", "Coordinator, Cluster Munition Coalition"])
def test_the_signature_names_the_organisation_once(title: str) -> None:
    job = _job("ministry-policy-request", "en", signatory={"name": "Thomas Nash", "title": title})
    _, text = _text(render_pdf(job).pdf)
    # up to the letterhead, which the PDF holds after the body
    after = " ".join(text.split("Thomas Nash", 1)[1].split())
    signature = after.split("Cluster Munition Coalition 1 Rue de Varembé", 1)[0]
    assert signature.startswith(title)
    assert signature.count("Cluster Munition Coalition") == 1, signature
