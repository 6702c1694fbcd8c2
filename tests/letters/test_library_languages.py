"""Every built-in template, in every language, for recipients in nine states (offices with and
without a holder, men and women, Latin and Cyrillic names): the letter is in its language
throughout. No English name in another language, no Latin word in a Russian, Arabic or Chinese
text other than the reference, no empty field, no stray separator."""

from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import pytest

from app.contacts import addressing
from app.contacts import recipients as contacts_recipients
from app.letters import language as lx
from app.letters import localise
from app.letters.addressee import recipient_group
from app.letters.context import (
    SAMPLE_MEETING,
    SAMPLE_TRANSLATIONS,
    SAMPLE_TREATY,
    build_context,
)
from app.letters.fields import with_placeholders
from app.letters.render import LetterJob, render_parts
from app.letters.sandbox import required_fields
from app.letters.service import read_library

LIBRARY = {entry["slug"]: entry for entry in read_library()}
LANGUAGES = ("en", "fr", "es", "ru", "ar", "zh")
LETTER_DATE = date(2010, 5, 1)
REFERENCE = "CMC/2010/XXX/0001"


def _recipient(
    iso3: str,
    office: str,
    org_type: str,
    *,
    given: str = "",
    family: str = "",
    gender: str = "",
    forms: dict[str, dict[str, str]] | None = None,
    postal: addressing.Postal | None = None,
) -> contacts_recipients.Recipient:
    """An office holder (or an office without one); the office's own name in every language
    comes from ``ORGANISATIONS`` (notes verbales are addressed to it)."""
    holder = bool(family)
    return contacts_recipients.Recipient(
        person_id=1 if holder else None,
        organisation_id=2,
        display_name=f"{given} {family}".strip() or f"The {office}",
        honorific="H.E." if holder else "",
        given_name=given,
        family_name=family,
        native_name="",
        title=office,
        organisation_name=f"Office of the {office}",
        country_iso3=iso3,
        country_name=iso3,
        language="en",
        salutation="",
        address_lines=(),
        email="",
        no_email=False,
        no_post=False,
        gender=gender,
        organisation_type=org_type,
        has_holder=holder,
        office_title=office,
        postal=postal,
        name_forms=forms or {},
        organisation_name_forms=ORGANISATIONS.get(iso3, {}),
    )


# The offices' names in the letter languages, as a directory holds them (English is the
# organisation's stored name, "Office of the …").
ORGANISATIONS: dict[str, dict[str, str]] = {
    "TJK": {
        "fr": "Cabinet du Président de la République du Tadjikistan",
        "es": "Oficina Ejecutiva del Presidente de la República de Tayikistán",
        "ru": "Исполнительный аппарат Президента Республики Таджикистан",
        "ar": "المكتب التنفيذي لرئيس جمهورية طاجيكستان",
        "zh": "塔吉克斯坦共和国总统执行办公室",
    },
    "KAZ": {
        "fr": "Administration du Président de la République du Kazakhstan",
        "es": "Administración del Presidente de la República de Kazajstán",
        "ru": "Администрация Президента Республики Казахстан",
        "ar": "إدارة رئيس جمهورية كازاخستان",
        "zh": "哈萨克斯坦共和国总统办公厅",
    },
    "ZAF": {
        "fr": "Présidence de la République sud-africaine",
        "es": "Presidencia de la República de Sudáfrica",
        "ru": "Администрация Президента Южно-Африканской Республики",
        "ar": "رئاسة جمهورية جنوب أفريقيا",
        "zh": "南非共和国总统府",
    },
    "PAK": {
        "fr": "Ministère des Affaires étrangères du Pakistan",
        "es": "Ministerio de Relaciones Exteriores del Pakistán",
        "ru": "Министерство иностранных дел Пакистана",
        "ar": "وزارة خارجية باكستان",
        "zh": "巴基斯坦外交部",
    },
    "NOR": {
        "fr": "Ministère des Affaires étrangères du Royaume de Norvège",
        "es": "Ministerio de Asuntos Exteriores de Noruega",
        "ru": "Министерство иностранных дел Норвегии",
        "ar": "وزارة خارجية النرويج",
        "zh": "挪威外交部",
    },
    "MEX": {
        "fr": "Secrétariat aux Relations extérieures du Mexique",
        "es": "Secretaría de Relaciones Exteriores de México",
        "ru": "Министерство иностранных дел Мексики",
        "ar": "وزارة خارجية المكسيك",
        "zh": "墨西哥外交部",
    },
    "LAO": {
        "fr": "Cabinet du Premier Ministre de la République démocratique populaire lao",
        "es": "Oficina del Primer Ministro de la República Democrática Popular Lao",
        "ru": "Аппарат Премьер-министра Лаосской Народно-Демократической Республики",
        "ar": "مكتب رئيس وزراء جمهورية لاو الديمقراطية الشعبية",
        "zh": "老挝人民民主共和国总理府",
    },
    "UZB": {
        "fr": "Ambassade de la République d'Ouzbékistan",
        "es": "Embajada de la República de Uzbekistán",
        "ru": "Посольство Республики Узбекистан",
        "ar": "سفارة جمهورية أوزبكستان",
        "zh": "乌兹别克斯坦共和国大使馆",
    },
    "EGY": {
        "fr": "Présidence de la République arabe d'Égypte",
        "es": "Presidencia de la República Árabe de Egipto",
        "ru": "Администрация Президента Арабской Республики Египет",
        "ar": "رئاسة جمهورية مصر العربية",
        "zh": "阿拉伯埃及共和国总统府",
    },
}


RECIPIENTS = {
    "Rahmon (TJK, president, Cyrillic name)": _recipient(
        "TJK",
        "President of the Republic of Tajikistan",
        "head_of_state_office",
        given="Emomali",
        family="Rahmon",
        gender="m",
        forms={
            "ru": {"given": "Эмомали", "patronymic": "Шарипович", "family": "Рахмон"},
            "ar": {"given": "إمام علي", "family": "رحمان"},
            "zh": {"given": "埃莫马利", "family": "拉赫蒙"},
        },
        postal=addressing.Postal("Rudaki Avenue 80", "Dushanbe", "", "734023", "", "TJ"),
    ),
    "Tokayev (KAZ, president)": _recipient(
        "KAZ",
        "President of the Republic of Kazakhstan",
        "head_of_state_office",
        given="Kassym-Jomart",
        family="Tokayev",
        gender="m",
        forms={
            "ru": {"given": "Касым-Жомарт", "patronymic": "Кемелевич", "family": "Токаев"},
            "ar": {"given": "قاسم جومارت", "family": "توكاييف"},
            "zh": {"given": "卡西姆-若马尔特", "family": "托卡耶夫"},
        },
        postal=addressing.Postal("Akorda", "Astana", "", "010000", "", "KZ"),
    ),
    "South Africa's presidency, no holder": _recipient(
        "ZAF", "President of the Republic of South Africa", "head_of_state_office"
    ),
    "Pakistan's foreign ministry, no holder": _recipient(
        "PAK", "Minister of Foreign Affairs", "ministry"
    ),
    "Norway's foreign minister, a woman": _recipient(
        "NOR",
        "Minister of Foreign Affairs",
        "ministry",
        given="Anniken",
        family="Huitfeldt",
        gender="f",
        forms={
            "ru": {"given": "Анникен", "family": "Хуитфельдт"},
            "ar": {"given": "أنيكين", "family": "هويتفيلدت"},
            "zh": {"given": "安妮肯", "family": "怀特费尔德"},
        },
        postal=addressing.Postal("7. juni-plassen 1", "Oslo", "", "0032", "", "NO"),
    ),
    "Mexico's foreign minister, a woman": _recipient(
        "MEX",
        "Secretary of Foreign Affairs",
        "ministry",
        given="Alicia",
        family="Bárcena",
        gender="f",
        forms={
            "ru": {"given": "Алисия", "family": "Барсена"},
            "ar": {"given": "أليسيا", "family": "بارسينا"},
            "zh": {"given": "艾丽西亚", "family": "巴尔塞纳"},
        },
    ),
    "Laos's prime minister": _recipient(
        "LAO",
        "Prime Minister of the Lao People's Democratic Republic",
        "government",
        given="Bouasone",
        family="Bouphavanh",
        gender="m",
        forms={
            "ru": {"given": "Буасон", "family": "Буппхаван"},
            "ar": {"given": "بواسون", "family": "بوفافان"},
            "zh": {"given": "波松", "family": "布帕万"},
        },
    ),
    "Uzbekistan's ambassador": _recipient(
        "UZB",
        "Ambassador of the Republic of Uzbekistan",
        "embassy",
        given="Bakhtiyor",
        family="Saidov",
        gender="m",
        forms={
            "ru": {"given": "Бахтиёр", "family": "Саидов"},
            "ar": {"given": "بختيار", "family": "سعيدوف"},
            "zh": {"given": "巴赫季约尔", "family": "赛义多夫"},
        },
    ),
    "Egypt's presidency, no holder": _recipient(
        "EGY", "President of the Arab Republic of Egypt", "head_of_state_office"
    ),
}

TREATY = SAMPLE_TREATY
MEETING = SAMPLE_MEETING
SENDER = {
    "name": "Cluster Munition Coalition",
    "short_name": "CMC",
    "address_lines": ["Maison de la Paix", "1202 Geneva", "Switzerland"],
    "city": "Geneva",
    "email": "info@cmc.example",
    "website": "https://www.stopclustermunitions.example",
    "translations": SAMPLE_TRANSLATIONS,
}
SIGNATORY = {"name": "Thomas Nash", "title": "Coordinator", "translations": SAMPLE_TRANSLATIONS}

# English words that name something: none may appear in a letter in another language.
ENGLISH_NAMES = (
    "Convention on Cluster Munitions",
    "Meeting of States Parties",
    "Cluster Munition Coalition",
    "President",
    "Minister",
    "Excellency",
    "Geneva",
    "Dear",
    "Please accept",
)
COUNTRIES = ("TJK", "KAZ", "ZAF", "PAK", "NOR", "MEX", "UZB", "EGY", "LAO")


def _english_names(lang: str) -> list[str]:
    """The English names, less a state's name where the language writes it the same way
    (le Kazakhstan)."""
    same = {
        lx.country_name(code, "en")
        for code in COUNTRIES
        if lx.country_name(code, "en") == lx.country_name(code, lang)
    }
    states = [lx.country_name(code, "en") for code in COUNTRIES]
    return [n for n in (*ENGLISH_NAMES, *states) if n not in same]


STRAY = re.compile(r"\(\s*\)|\s,|,,|,\s*\.|\.\.|\s{2,}|«|»\s*$|\bNone\b|^\s*[,;:]")


def _text(markup: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", markup)).split())


def _letter(
    slug: str,
    lang: str,
    rec: contacts_recipients.Recipient,
    letter_date: date = LETTER_DATE,
    treaty: dict[str, Any] = TREATY,
) -> tuple[str, str]:
    entry = LIBRARY[slug]
    subject, body = entry["variants"][lang]
    recipient = recipient_group(rec, language=lang, style=entry["style"])
    context = build_context(
        language=lang,
        letter_date=letter_date,
        reference=REFERENCE,
        recipient=recipient,
        treaty=treaty,
        milestone=MEETING,
        sender=SENDER,
        signatory=SIGNATORY,
        country_iso3=rec.country_iso3,
    )
    marked = with_placeholders(context, required_fields(subject) + required_fields(body))
    job = LetterJob(body=body, subject=subject, context=marked, language=lang)
    filled_subject, filled_body, _ = render_parts(job)
    return filled_subject, _text(filled_body)


def test_every_template_has_all_six_languages() -> None:
    for slug, entry in LIBRARY.items():
        assert sorted(entry["variants"]) == sorted(LANGUAGES), slug


@pytest.mark.parametrize(("slug", "lang"), [(s, lang) for s in LIBRARY for lang in LANGUAGES])
def test_the_letter_is_in_its_language_for_every_recipient(slug: str, lang: str) -> None:
    for who, rec in RECIPIENTS.items():
        subject, body = _letter(slug, lang, rec)
        where = f"{slug} {lang} {who}"
        for text in (subject, body):
            assert "«" not in text, f"{where}: an empty field in {text!r}"
            assert not STRAY.search(text), f"{where}: stray separator in {text!r}"
        if lang != "en":
            for name in _english_names(lang):
                found = re.search(rf"\b{re.escape(name)}\b", subject + " " + body)
                assert not found, f"{where}: {name!r} in {body!r}"
        if lang in ("ru", "ar", "zh"):
            latin = re.findall(r"[A-Za-z]+", (subject + " " + body).replace(REFERENCE, ""))
            assert not latin, f"{where}: Latin words {latin} in {body!r}"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_named_holder_is_addressed_in_person_and_an_office_by_its_title(lang: str) -> None:
    appeal = "appeal-head-of-state"  # the personal style: "Dear President Rahmon,"
    formal = "ministry-policy-request"  # formal protocol: "Excellency,"
    rahmon = RECIPIENTS["Rahmon (TJK, president, Cyrillic name)"]
    nobody = RECIPIENTS["South Africa's presidency, no holder"]
    _, personal = _letter(appeal, lang, rahmon)
    opening = {
        "en": "Dear President Rahmon,",
        "fr": "Monsieur le Président,",
        "es": "Señor Presidente:",
        "ru": "Уважаемый господин Президент!",
        "ar": "فخامة الرئيس رحمان المحترم،",
        "zh": "尊敬的拉赫蒙总统：",
    }[lang]
    assert personal.startswith(opening), personal[:80]
    _, office = _letter(formal, lang, nobody)
    # an office without a holder is never written to as "The President of …"
    assert "The President" not in office and "Президент Южно" not in office
    woman = RECIPIENTS["Norway's foreign minister, a woman"]
    _, to_her = _letter(appeal, lang, woman)
    feminine = {
        "en": "Dear Minister Huitfeldt",
        "fr": "Madame la Ministre",
        "es": "Señora Ministra",
        "ru": "Уважаемая госпожа Министр",
        "ar": "معالي الوزيرة",
        "zh": "尊敬的怀特费尔德外长",
    }[lang]
    assert feminine in to_her, to_her[:200]


# The entry into force told in the tense of the letter's date (the treaty's is 1 August 2010).
EIF_SAID = {
    "en": ("enters into force on", "entered into force on"),
    "fr": ("entrera en vigueur", "est entrée en vigueur"),
    "es": ("entrará en vigor", "entró en vigor"),
    "ru": ("Конвенция вступает в силу", "Конвенция вступила в силу"),
    "ar": ("وستدخل الاتفاقية حيز النفاذ", "وقد دخلت الاتفاقية حيز النفاذ"),
    "zh": ("该公约将于", "该公约已于"),
}


@pytest.mark.parametrize("slug", ["appeal-head-of-state", "joint-open-letter"])
@pytest.mark.parametrize("lang", LANGUAGES)
def test_entry_into_force_is_told_in_the_tense_of_the_letter_date(slug: str, lang: str) -> None:
    rec = next(iter(RECIPIENTS.values()))
    will, did = EIF_SAID[lang]
    before = _letter(slug, lang, rec)[1]
    assert will in before and did not in before, before
    after = _letter(slug, lang, rec, letter_date=date(2025, 6, 2))[1]
    assert did in after and will not in after, after


@pytest.mark.parametrize(
    ("lang", "period", "said"),
    [
        ("en", "from 9 to 12 November 2010", "in Vientiane from 9 to 12 November 2010,"),
        ("fr", "du 9 au 12 novembre 2010", "Du 9 au 12 novembre 2010 se tiendra"),
        ("es", "del 9 al 12 de noviembre de 2010", "Del 9 al 12 de noviembre de 2010 se celebrará"),
        ("ru", "с 9 по 12 ноября 2010 г.", ""),
    ],
)
def test_a_meeting_s_dates_are_said_as_the_language_says_them(
    lang: str, period: str, said: str
) -> None:
    """ "from 9 to 12 November" (never "from 9–12"), "du 9 au 12 novembre", with the month and
    year once; across months only the year once."""
    said_period = localise.date_period(date(2010, 11, 9), date(2010, 11, 12), lang)
    assert said_period.replace("\xa0", " ") == period
    if said:
        body = _letter("appeal-head-of-state", lang, next(iter(RECIPIENTS.values())))[1]
        assert said in body.replace("\xa0", " "), body
    across = localise.date_period(date(2026, 11, 30), date(2026, 12, 4), "en").replace("\xa0", " ")
    assert across == "from 30 November to 4 December 2026"


def test_chinese_text_puts_the_treaty_in_a_meeting_s_name_in_book_title_marks() -> None:
    body = _letter("appeal-head-of-state", "zh", next(iter(RECIPIENTS.values())))[1]
    assert "《集束弹药公约》缔约国第一次会议" in body, body
    assert "《《" not in body and "》》" not in body


# What the policy request asks a State Party (implementation) and any other state (joining).
POLICY_ASKS = {
    "en": ("to implement the Convention", "towards signature, ratification or accession"),
    "fr": ("mettre en œuvre la Convention", "de la ratification ou de l'adhésion"),
    "es": ("para aplicar la Convención", "la ratificación o la adhesión"),
    "ru": ("для её осуществления", "ратификации или присоединения"),
    "ar": ("لتنفيذ الاتفاقية", "التصديق أو الانضمام"),
    "zh": ("为履行公约", "批准或加入公约"),
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_policy_request_asks_a_state_party_about_implementation(lang: str) -> None:
    rec = next(iter(RECIPIENTS.values()))
    implement, join = POLICY_ASKS[lang]
    party = _letter(
        "ministry-policy-request", lang, rec, treaty={**TREATY, "status": "state_party"}
    )
    assert implement in party[1] and join not in party[1], party[1]
    other = _letter("ministry-policy-request", lang, rec, treaty={**TREATY, "status": "signatory"})
    assert join in other[1] and implement not in other[1], other[1]
