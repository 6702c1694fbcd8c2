"""The co-signed layout: the sender's and every co-signer's logo in the letterhead, their
signatories side by side, each in the letter's language, on one page."""

from __future__ import annotations

import io
from datetime import date

import pytest
from pypdf import PageObject, PdfReader
from pypdf.generic import DictionaryObject
from sqlalchemy.orm import Session

from app.cosigners import service
from app.letters.context import SAMPLE_TRANSLATIONS, build_context, sample_context
from app.letters.fetcher import BlockedResource
from app.letters.render import LetterJob, fetcher, render_html, render_pdf
from app.settings_admin import images
from tests.cosigners.conftest import HI, HRW, make_cosigner, png

SENDER = {
    "name": "Cluster Munition Coalition",
    "address_lines": ["1 Rue de Varembé", "1202 Geneva", "Switzerland"],
    "city": "Geneva",
    "email": "info@stopclustermunitions.org",
    "translations": SAMPLE_TRANSLATIONS,
}
SIGNATORY = {"name": "Thomas Nash", "title": "Coordinator", "translations": SAMPLE_TRANSLATIONS}
EXPECTED = {
    "en": [
        "Thomas Nash",
        "Cluster Munition Coalition",
        "Marion Libertucci",
        "Handicap International",
        "Steve Goose",
        "Human Rights Watch",
    ],
    "ru": [
        "Томас Нэш",
        "Коалиция против кассетных боеприпасов",
        "Марион Либертуччи",
        "Хандикап Интернэшнл",
        "Стив Гуз",
        "Хьюман Райтс Вотч",
    ],
    "ar": [
        "توماس ناش",
        "التحالف المناهض للذخائر العنقودية",
        "ماريون ليبرتوتشي",
        "منظمة الإعاقة الدولية",
        "ستيف غوس",
        "هيومن رايتس ووتش",
    ],
}


def _images_on(page: PageObject) -> int:
    resources = page["/Resources"].get_object()
    assert isinstance(resources, DictionaryObject)
    xobjects = resources.get("/XObject")
    if xobjects is None:
        return 0
    return sum(1 for x in xobjects.get_object().values() if x.get_object()["/Subtype"] == "/Image")


def _letter(db: Session, lang: str) -> LetterJob:
    images.save("logo", png((300, 100), (31, 78, 121)))
    hi = make_cosigner(db, HI)
    hrw = make_cosigner(db, HRW)
    service.upload_logo(db, cosigner_id=hi.id, data=png(), actor=None)
    service.upload_logo(db, cosigner_id=hrw.id, data=png((400, 100), (30, 160, 30)), actor=None)
    context = build_context(
        language=lang,
        letter_date=date(2010, 5, 1),
        reference="CMC/2010/TJK/0001",
        recipient={"name": "Emomali Rahmon", "address_block": ["Rudaki Avenue 80", "Dushanbe"]},
        sender=SENDER,
        signatory=SIGNATORY,
        cosigners=service.cosigners_context(db, [hi.id, hrw.id], lang),
    )
    return LetterJob(
        body="<p>" + "We write jointly. " * 40 + "</p>",
        subject="CCM",
        context=context,
        language=lang,
        layout="co-signed",
    )


@pytest.mark.parametrize("lang", ["en", "ru", "ar"])
def test_co_signed_letter_names_every_signatory_and_shows_three_logos(
    db: Session, lang: str
) -> None:
    rendered = render_pdf(_letter(db, lang))
    reader = PdfReader(io.BytesIO(rendered.pdf))
    assert rendered.pages == 1 and len(reader.pages) == 1
    text = reader.pages[0].extract_text()
    squeezed = "".join(text.split())
    for expected in EXPECTED[lang]:
        assert "".join(expected.split()) in squeezed, (lang, expected, text)
    assert _images_on(reader.pages[0]) == 3


def test_html_preview_embeds_the_logos_and_orders_the_signatories(db: Session) -> None:
    html = render_html(_letter(db, "ru"))
    assert html.count('src="data:image/png;base64,') == 3 and "file:" not in html
    assert html.index("Томас Нэш") < html.index("Марион Либертуччи") < html.index("Стив Гуз")
    assert 'class="signature-block cosigned-signatures"' in html


def test_a_cosigner_without_a_russian_name_leaves_an_empty_field(db: Session) -> None:
    latin = make_cosigner(db, {"name": "Mines Action Canada", "signatory_name": "Paul Hannon"})
    context = sample_context("ru")
    context["cosigners"] = service.cosigners_context(db, [latin.id], "ru")
    assert context["cosigners"] == [
        {"name": "", "signatory_name": "", "signatory_title": "", "logo": ""}
    ]
    job = LetterJob(
        body="<p>{% for c in cosigners %}[{{ c.name }}]{% endfor %}</p>",
        subject="CCM",
        context=context,
        language="ru",
        layout="co-signed",
    )
    html = render_html(job)
    assert "[]" in html and "Mines Action Canada" not in html


def test_the_fetcher_serves_cosigner_logos_and_nothing_else_there(db: Session) -> None:
    hi = make_cosigner(db, HI)
    logo = service.upload_logo(db, cosigner_id=hi.id, data=png(), actor=None)
    assert fetcher().fetch(logo.path.as_uri()).content_type == "image/png"
    for name in (f"cosigner-{hi.id}", "cosigner-x-0123456789abcdef", "other.png"):
        planted = images.directory() / name
        planted.write_bytes(png())
        with pytest.raises(BlockedResource):
            fetcher().fetch(planted.as_uri())
