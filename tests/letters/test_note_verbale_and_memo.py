"""The note verbale and the memo / joint appeal, in every language, for recipients in nine
states: a note verbale is third person and unsigned, names the recipient's institution in the
language's form and ends with its place and date; a memo's To/From/Date/RE block names every
addressee and who the appeal speaks for."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from pypdf import PdfReader

from app.contacts import recipients as contacts_recipients
from app.letters import language as lx
from app.letters.addressee import addressee_item, collective_group, recipient_group
from app.letters.context import LABELS, SAMPLE_TRANSLATIONS, build_context
from app.letters.fields import with_placeholders
from app.letters.render import LetterJob, render_parts, render_pdf
from app.letters.sandbox import required_fields
from tests.letters.test_library_languages import (
    LANGUAGES,
    LETTER_DATE,
    LIBRARY,
    MEETING,
    RECIPIENTS,
    REFERENCE,
    SENDER,
    SIGNATORY,
    STRAY,
    TREATY,
    _english_names,
    _text,
)

NOTE = "note-verbale-position"
MEMO = "joint-appeal-memo"
SIGNATORY_NAMES = ["Thomas Nash"] + [
    f["signatory_name"] for f in SAMPLE_TRANSLATIONS.values() if "signatory_name" in f
]
FROM_LINE = "citizens of Tajikistan from around the world"


def _job(slug: str, lang: str, context: dict[str, Any]) -> LetterJob:
    entry = LIBRARY[slug]
    subject, body = entry["variants"][lang]
    marked = with_placeholders(context, required_fields(subject) + required_fields(body))
    return LetterJob(
        body=body, subject=subject, context=marked, language=lang, layout=entry["layout"]
    )


def _note_context(lang: str, rec: contacts_recipients.Recipient) -> dict[str, Any]:
    return build_context(
        language=lang,
        letter_date=LETTER_DATE,
        reference=REFERENCE,
        recipient=recipient_group(rec, language=lang, style=LIBRARY[NOTE]["style"]),
        treaty=TREATY,
        milestone=MEETING,
        sender=SENDER,
        signatory=SIGNATORY,
        country_iso3=rec.country_iso3,
    )


def _check_language(where: str, lang: str, text: str) -> None:
    assert "«" not in text, f"{where}: an empty field in {text!r}"
    assert not STRAY.search(text), f"{where}: stray separator in {text!r}"
    if lang != "en":
        for name in _english_names(lang):
            assert not re.search(rf"\b{re.escape(name)}\b", text), f"{where}: {name!r}"
    if lang in ("ru", "ar", "zh"):
        latin = re.findall(r"[A-Za-z]+", text.replace(REFERENCE, ""))
        assert not latin, f"{where}: Latin words {latin} in {text!r}"


def _after_letterhead(page: str) -> str:
    """The note's own text: what follows the first page's fixed parts, tags removed."""
    return _text(page.split('<div class="meta', 1)[1].split(">", 1)[1])


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_note_verbale_is_third_person_unsigned_and_ends_with_place_and_date(lang: str) -> None:
    for who, rec in RECIPIENTS.items():
        where = f"{lang} {who}"
        context = _note_context(lang, rec)
        subject, body, page = render_parts(_job(NOTE, lang, context))
        text = _after_letterhead(page)
        _check_language(where, lang, subject + " " + text)
        subject_line = LABELS[lang]["subject"] + ("：" if lang == "zh" else ":")
        assert '<p class="subject"' not in page and subject_line not in text, where
        assert '<section class="signature-block"' not in page, where
        for name in SIGNATORY_NAMES:
            assert name not in page, f"{where}: signed by {name}"
        note = context["note"]
        assert note["opening"] and note["closing"], where
        assert _text(body).startswith(note["opening"]), where
        closing = text.index(note["closing"])
        date_line = _text(context["letter"]["date_line"])
        assert text.endswith(date_line), f"{where}: {text[-80:]!r}"
        assert closing < text.index(date_line), where


# The recipient named by the formulas, in the form each language needs.
FORMS = {
    ("fr", "Pakistan's foreign ministry, no holder"): (
        "présente ses compliments au Ministère des Affaires étrangères du Pakistan et a "
        "l'honneur de",
        "renouveler au Ministère des Affaires étrangères du Pakistan les assurances",
    ),
    ("fr", "Uzbekistan's ambassador"): (
        "présente ses compliments à l'Ambassade de la République d'Ouzbékistan",
        "renouveler à l'Ambassade de la République d'Ouzbékistan",
    ),
    ("fr", "South Africa's presidency, no holder"): (
        "présente ses compliments à la Présidence de la République sud-africaine",
        "renouveler à la Présidence de la République sud-africaine",
    ),
    ("es", "Pakistan's foreign ministry, no holder"): (
        "saluda atentamente al Ministerio de Relaciones Exteriores del Pakistán y tiene el honor",
        "reiterar al Ministerio de Relaciones Exteriores del Pakistán las seguridades",
    ),
    ("es", "Uzbekistan's ambassador"): (
        "saluda atentamente a la Embajada de la República de Uzbekistán",
        "reiterar a la Embajada de la República de Uzbekistán",
    ),
    ("ru", "Rahmon (TJK, president, Cyrillic name)"): (
        "свидетельствует своё уважение Исполнительному аппарату Президента Республики "
        "Таджикистан и имеет честь",
        "возобновить Исполнительному аппарату Президента Республики Таджикистан уверения",
    ),
    ("ru", "Norway's foreign minister, a woman"): (
        "свидетельствует своё уважение Министерству иностранных дел Норвегии",
        "возобновить Министерству иностранных дел Норвегии уверения в своём весьма высоком",
    ),
    ("ru", "Tokayev (KAZ, president)"): (
        "свидетельствует своё уважение Администрации Президента Республики Казахстан",
        "просит Администрацию Президента Республики Казахстан сообщить",
    ),
    ("en", "Norway's foreign minister, a woman"): (
        "The Cluster Munition Coalition presents its compliments to the Office of the Minister "
        "of Foreign Affairs and has the honour to refer",
        "renew to the Office of the Minister of Foreign Affairs the assurances of its highest",
    ),
    ("ar", "Pakistan's foreign ministry, no holder"): (
        "يهدي التحالف المناهض للذخائر العنقودية أطيب تحياته إلى وزارة خارجية باكستان، ويتشرف",
        "ليعرب لوزارة خارجية باكستان مجددًا عن فائق احترامه وتقديره.",
    ),
    ("zh", "Mexico's foreign minister, a woman"): (
        "集束弹药联盟向墨西哥外交部致意，并谨提及",
        "集束弹药联盟顺致崇高敬意。",
    ),
}


@pytest.mark.parametrize(("lang", "who"), list(FORMS))
def test_the_formulas_name_the_institution_in_the_language_s_form(lang: str, who: str) -> None:
    _, body, _ = render_parts(_job(NOTE, lang, _note_context(lang, RECIPIENTS[who])))
    for expected in FORMS[(lang, who)]:
        assert expected in _text(body), f"{expected!r} not in {_text(body)!r}"


def test_a_note_verbale_without_the_institution_s_name_in_the_language_shows_the_gap() -> None:
    rec = RECIPIENTS["Pakistan's foreign ministry, no holder"]
    bare = contacts_recipients.Recipient(**{**rec.__dict__, "organisation_name_forms": {}})
    context = _note_context("fr", bare)
    assert context["note"]["opening"] == "" and context["note"]["institution"] == ""
    _, body, _ = render_parts(_job(NOTE, "fr", context))
    assert "«note.opening»" in body and "Ministry" not in body


def _memo_context(lang: str, from_line: str = FROM_LINE) -> dict[str, Any]:
    recs = list(RECIPIENTS.values())
    return build_context(
        language=lang,
        letter_date=LETTER_DATE,
        reference=REFERENCE,
        recipient=collective_group(lang, []),
        treaty=TREATY,
        milestone=MEETING,
        sender=SENDER,
        signatory=SIGNATORY,
        organisations=[addressee_item(r, lang) for r in recs],
        memo_from=from_line,
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_memo_heads_with_every_addressee_and_who_it_speaks_for(lang: str) -> None:
    context = _memo_context(lang)
    subject, body, page = render_parts(_job(MEMO, lang, context))
    head = _text(page.split('<table class="memo-head">', 1)[1].split("</table>", 1)[0])
    labels = LABELS[lang]
    # French sets a no-break space before the colon ("À :")
    colon = {"zh": "：", "fr": " :"}.get(lang, ":")  # _text reads the no-break space as a space
    rows = [labels[k] + colon for k in ("to", "from", "date", "re")]
    assert [head.index(r) for r in rows] == sorted(head.index(r) for r in rows), head
    for org in context["organisations"]:
        assert org["name"] and org["name"] in head, f"{lang}: {org['name']!r} missing"
    assert len(context["organisations"]) == len(RECIPIENTS)
    assert FROM_LINE in head and _text(context["letter"]["date"]) in head
    if lang == "ru":  # the names stand in the nominative: labels that take it
        assert head.startswith("Адресаты:") and "Отправитель:" in head, head
    assert subject in head
    assert '<p class="subject"' not in page and '<section class="signature-block"' not in page
    text = _text(body)
    _check_language(f"memo {lang}", lang, subject + " " + text.replace(FROM_LINE, ""))
    # The From line defaults to the organisation's name in the letter's language.
    default = _memo_context(lang, from_line="")["memo"]["from"]
    assert default == (SAMPLE_TRANSLATIONS[lang].get("name") or SENDER["name"])


def test_addressees_sharing_a_name_are_told_apart_by_their_state() -> None:
    context = build_context(
        language="en",
        letter_date=LETTER_DATE,
        reference=REFERENCE,
        organisations=[
            {"name": "Ministry of Foreign Affairs", "country": "Norway"},
            {"name": "Ministry of Foreign Affairs", "country": "Mexico"},
            {"name": "OSCE", "country": ""},
        ],
    )
    assert context["memo"]["to"] == (
        "Ministry of Foreign Affairs (Norway), Ministry of Foreign Affairs (Mexico), OSCE"
    )


def _lowest_line(pdf: bytes) -> str:
    """The text lowest on the last page (pypdf's visitor gives each run's position)."""
    page = PdfReader(io.BytesIO(pdf)).pages[-1]
    runs: list[tuple[float, str]] = []

    def visit(text: str, cm: list[float], tm: list[float], *_: Any) -> None:
        if text.strip():
            runs.append((round(tm[5] * cm[3] + cm[5], 1), text))

    page.extract_text(visitor_text=visit)
    low = min(y for y, _ in runs)
    return " ".join("".join(t for y, t in runs if y == low).split())


@pytest.mark.parametrize("lang", ["en", "ru", "ar", "zh"])  # Latin, Cyrillic, Arabic, Han
def test_the_pdf_of_a_note_verbale_ends_with_its_place_and_date(lang: str) -> None:
    rec = RECIPIENTS["Pakistan's foreign ministry, no holder"]
    context = _note_context(lang, rec)
    rendered = render_pdf(_job(NOTE, lang, context))
    assert rendered.pages == 1
    last = _lowest_line(rendered.pdf)
    city = lx.city_name("Geneva", lang)
    assert city in last and "2010" in last, last
    # Arabic runs come back in visual order: every word is there, not necessarily in order.
    for word in context["letter"]["date_line"].split():
        assert word in last, f"{word!r} not in {last!r}"


@pytest.mark.parametrize("lang", ["en", "ru", "ar", "zh"])
def test_the_memo_fits_on_one_page(lang: str) -> None:
    rendered = render_pdf(_job(MEMO, lang, _memo_context(lang)))
    assert rendered.pages == 1


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_joint_open_letter_has_no_empty_window(lang: str) -> None:
    """A letter to several addressees has no address to show: no window, its text starting
    below the letterhead, as the memo's does (in English, on one page)."""
    job = _job("joint-open-letter", lang, _memo_context(lang))
    assert 'class="address-window"' not in render_parts(job)[2]
    if lang == "en":
        assert render_pdf(job).pages == 1
