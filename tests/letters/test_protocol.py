"""Forms of address in the six UN languages (app.letters.protocol): pure, no database."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import pytest

from app.letters.protocol import (
    DIPLOMATIC_RANKS,
    GENDERS,
    LANGUAGES,
    ROLES,
    STYLES,
    Addressee,
    Forms,
    address,
    forms_for,
    office_title,
    role_of,
)

TAJIKISTAN = {
    "en": {"nominative": "the Republic of Tajikistan"},
    "fr": {"de": "de la République du Tadjikistan"},
    "es": {"de": "de la República de Tayikistán"},
    "ru": {"genitive": "Республики Таджикистан"},
    "ar": {"nominative": "جمهورية طاجيكستان", "li": "لجمهورية طاجيكستان"},
    "zh": {"nominative": "塔吉克斯坦共和国"},
}
SOUTH_AFRICA = {
    "en": {"nominative": "the Republic of South Africa"},
    "fr": {"de": "de la République sud-africaine"},
    "es": {"de": "de la República de Sudáfrica"},
    "ru": {"genitive": "Южно-Африканской Республики"},
    "ar": {"nominative": "جمهورية جنوب أفريقيا", "li": "لجمهورية جنوب أفريقيا"},
    "zh": {"nominative": "南非共和国"},
}
UNITED_NATIONS = {
    "en": {"nominative": "the United Nations"},
    "fr": {"de": "de l'Organisation des Nations Unies"},
    "es": {"de": "de las Naciones Unidas"},
    "ru": {"genitive": "Организации Объединённых Наций"},
    "ar": {"nominative": "الأمم المتحدة", "li": "للأمم المتحدة"},
    "zh": {"nominative": "联合国"},
}
# A receiving State or seat, per language ("to").
GENEVA = {
    "en": "to the United Nations Office at Geneva",
    "fr": "auprès de l'Office des Nations Unies à Genève",
    "es": "ante la Oficina de las Naciones Unidas en Ginebra",
    "ru": "при Отделении ООН в Женеве",
    "ar": "لدى مكتب الأمم المتحدة في جنيف",
    "zh": "常驻联合国日内瓦办事处",
}
SWITZERLAND = {
    "en": "to the Swiss Confederation",
    "fr": "auprès de la Confédération suisse",
    "es": "ante la Confederación Suiza",
    "ru": "в Швейцарской Конфедерации",
    "ar": "لدى الاتحاد السويسري",
    "zh": "瑞士联邦",
}
# Names in the letter's script: (given, family, patronymic)
RAHMON = {
    "en": ("Emomali", "Rahmon", ""),
    "fr": ("Emomali", "Rahmon", ""),
    "es": ("Emomali", "Rahmon", ""),
    "ru": ("Эмомали", "Рахмон", "Шарипович"),
    "ar": ("إمام علي", "رحمان", ""),
    "zh": ("埃莫马利", "拉赫蒙", ""),
}
PANDOR = {
    "en": ("Naledi", "Pandor", ""),
    "fr": ("Naledi", "Pandor", ""),
    "es": ("Naledi", "Pandor", ""),
    "ru": ("Наледи", "Пандор", ""),
    "ar": ("ناليدي", "باندور", ""),
    "zh": ("娜莱迪", "潘多尔", ""),
}


def _who(
    role: str | None,
    lang: str,
    gender: str = "m",
    names: Mapping[str, tuple[str, str, str]] = RAHMON,
    country: Mapping[str, Mapping[str, str]] = TAJIKISTAN,
    to: Mapping[str, str] | None = None,
    holder: bool = True,
) -> Addressee:
    place = dict(country[lang])
    if to:
        place["to"] = to[lang]
    given, family, patronymic = names[lang]
    return Addressee(
        role=role,
        gender=gender,
        given_name=given,
        family_name=family,
        patronymic=patronymic,
        office=office_title(role, lang, country=place, gender=gender),
        has_holder=holder,
    )


# --- role_of --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("title", "role"),
    [
        ("President of the Republic of Tajikistan", "head_of_state"),
        ("Président de la République du Tadjikistan", "head_of_state"),
        ("Президент Республики Казахстан", "head_of_state"),
        ("Vice-President of the Republic", "official"),
        ("King of the Hashemite Kingdom of Jordan", "monarch"),
        ("Prime Minister", "head_of_government"),
        ("Presidente del Gobierno", "head_of_government"),
        ("Minister for Foreign Affairs", "foreign_minister"),
        ("Ministre des Affaires étrangères", "foreign_minister"),
        ("Министр иностранных дел", "foreign_minister"),
        ("Minister of Defence", "defence_minister"),
        ("Minister of Health", "minister"),
        ("Deputy Minister for Foreign Affairs", "official"),
        ("Ambassador of Tajikistan to Switzerland", "ambassador"),
        ("Chargé d'affaires a.i.", "charge_d_affaires"),
        ("Permanent Representative of Tajikistan to the UN in Geneva", "permanent_representative"),
        ("Deputy Permanent Representative", "deputy_permanent_representative"),
        ("Représentante permanente adjointe", "deputy_permanent_representative"),
        ("Minister-Counsellor", "minister_counsellor"),
        ("Counsellor", "counsellor"),
        ("Counsellor (Disarmament)", "counsellor"),
        ("Conseillère", "counsellor"),
        # a longer office keeps its own words: not taken for the bare rank
        ("Counsellor to the Minister", "official"),
        ("Conseiller diplomatique du Président", "official"),
        ("First Secretary, Political Affairs", "first_secretary"),
        ("Primera Secretaria", "first_secretary"),
        ("Второй секретарь", "second_secretary"),
        ("Third Secretary", "third_secretary"),
        ("Attaché", "attache"),
        ("Consul General", "consul_general"),
        ("Consul", "consul"),
        ("Secretary-General of the United Nations", "secretary_general"),
        ("Director-General of the World Health Organization", "director_general"),
        ("President of the International Committee of the Red Cross", "organisation_president"),
        ("Director, Arms Control Department", "official"),
        ("Senior Advisor", "official"),
        ("", None),
        ("Campaigner", None),
    ],
)
def test_role_of(title: str, role: str | None) -> None:
    assert role_of(title) == role


# --- the whole grid -------------------------------------------------------------------------

LATIN = re.compile(r"[A-Za-z]")
ENGLISH_WORDS = re.compile(
    r"\b(the|of|to|and|Dear|Please|accept|Excellency|Yours|sincerely|Mr|Ms|"
    r"President|Minister|Ambassador|Prime)\b"
)
STRAY = re.compile(r"(^[\s,،:!]|[,،]\s*[,،]|\s[,.:!،]|\{|\}|\|)")


def _grid() -> Iterator[tuple[str, str, str, str, bool]]:
    for role in ROLES:
        for lang in LANGUAGES:
            for style in STYLES:
                for gender in GENDERS:
                    for holder in (True, False):
                        yield role, lang, style, gender, holder


@pytest.mark.parametrize(("role", "lang", "style", "gender", "holder"), list(_grid()))
def test_every_form_is_complete_and_clean(
    role: str, lang: str, style: str, gender: str, holder: bool
) -> None:
    to = GENEVA if role == "permanent_representative" else SWITZERLAND
    org = role in ("secretary_general", "director_general", "organisation_president")
    who = _who(
        None if role == "unknown" else role,
        lang,
        gender,
        country=UNITED_NATIONS if org else TAJIKISTAN,
        to=to,
        holder=holder,
    )
    forms = address(who, lang, style)
    assert forms.salutation
    assert forms.closing
    texts = [*forms.name_lines, forms.salutation, forms.closing, forms.in_text]
    for text in texts:
        assert not STRAY.search(text), text
    if lang in ("ru", "ar", "zh"):
        for text in texts:
            assert not LATIN.search(text), text
    if lang in ("fr", "es"):
        for text in texts:
            assert not ENGLISH_WORDS.search(text), text
    if lang == "ar":
        assert "," not in "".join(texts)
    if lang == "zh":
        assert not re.search(r"[,:!;]", "".join(texts))
    # English prints the directory's own title of a rank ("Counsellor (Disarmament)": no
    # template), which this grid does not give
    english_as_stored = lang == "en" and role in DIPLOMATIC_RANKS
    if holder and role not in ("official", "unknown", "minister") and not english_as_stored:
        assert forms.missing == []
    if not holder:
        assert forms.in_text or role in ("official", "unknown")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("style", STYLES)
def test_unknown_gender_uses_no_gendered_form(lang: str, style: str) -> None:
    forms = address(_who("head_of_state", lang, ""), lang, style)
    text = " ".join([*forms.name_lines, forms.salutation, forms.closing, forms.in_text])
    gendered = {
        "en": r"\b(His|Her|Mr|Ms)\b",
        "fr": r"\b(Monsieur|Madame|Présidente)\b",
        "es": r"\b(Señor|Señora|Presidenta|Excelentísim[oa])\b",
        "ru": r"(Уважаем|господ|госпож|Его |Её |Рахмону)",
        "ar": r"(السيد|السيدة|المحترم|الرئيسة)",
        "zh": r"(先生|女士)",
    }[lang]
    assert not re.search(gendered, text), text


def test_russian_unknown_gender_is_addressed_by_office() -> None:
    forms = address(_who("head_of_state", "ru", ""), "ru", "personal")
    assert forms.name_lines == ["Президенту Республики Таджикистан"]
    assert forms.salutation == "Ваше Превосходительство!"
    assert forms.in_text == "Президент Рахмон"


def test_unknown_language_is_refused_rather_than_english() -> None:
    with pytest.raises(ValueError):
        address(_who("head_of_state", "en"), "de")


# --- exact forms ----------------------------------------------------------------------------

RAHMON_FORMAL = {
    "en": (
        ["His Excellency Emomali Rahmon", "President of the Republic of Tajikistan"],
        "Excellency,",
        "Please accept, Excellency, the assurances of my highest consideration.",
        "President Rahmon",
    ),
    "fr": (
        ["Son Excellence Monsieur Emomali Rahmon", "Président de la République du Tadjikistan"],
        "Monsieur le Président de la République,",
        "Veuillez agréer, Monsieur le Président, l'assurance de ma très haute considération.",
        "le Président Rahmon",
    ),
    "es": (
        ["Excelentísimo Señor Emomali Rahmon", "Presidente de la República de Tayikistán"],
        "Excelencia:",
        "Aprovecho la oportunidad para reiterar a Vuestra Excelencia las seguridades de mi más "
        "alta y distinguida consideración.",
        "el Presidente Rahmon",
    ),
    "ru": (
        ["Его Превосходительству", "господину Э.Ш. Рахмону", "Президенту Республики Таджикистан"],
        "Ваше Превосходительство!",
        "Примите, Ваше Превосходительство, уверения в моем самом высоком уважении.",
        "Президент Рахмон",
    ),
    "ar": (
        ["فخامة السيد إمام علي رحمان", "رئيس جمهورية طاجيكستان"],
        "فخامة الرئيس،",
        "وتفضلوا فخامتكم بقبول فائق الاحترام والتقدير.",
        "الرئيس رحمان",
    ),
    "zh": (
        ["塔吉克斯坦共和国总统", "埃莫马利·拉赫蒙阁下"],
        "尊敬的拉赫蒙总统阁下：",
        "顺致崇高的敬意。",
        "拉赫蒙总统",
    ),
}
RAHMON_PERSONAL = {
    "en": ("Dear President Rahmon,", "Yours sincerely,"),
    "fr": (
        "Monsieur le Président,",
        # a head of State: "très haute", as the French Prime Minister writes to a president
        "Je vous prie d'agréer, Monsieur le Président, l'expression de ma très haute "
        "considération.",
    ),
    "es": ("Señor Presidente:", "Atentamente,"),
    "ru": ("Уважаемый господин Президент!", "С глубоким уважением,"),
    "ar": ("فخامة الرئيس رحمان المحترم،", "مع خالص التقدير والاحترام،"),
    "zh": ("尊敬的拉赫蒙总统：", "顺致崇高的敬意。"),  # a head of State: the formal note's close
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_rahmon_formal(lang: str) -> None:
    forms = address(_who("head_of_state", lang), lang, "formal")
    assert (forms.name_lines, forms.salutation, forms.closing, forms.in_text) == RAHMON_FORMAL[lang]
    assert forms.missing == []


@pytest.mark.parametrize("lang", LANGUAGES)
def test_rahmon_personal(lang: str) -> None:
    forms = address(_who("head_of_state", lang), lang, "personal")
    assert (forms.salutation, forms.closing) == RAHMON_PERSONAL[lang]
    assert forms.name_lines == RAHMON_FORMAL[lang][0]


SOUTH_AFRICA_NO_HOLDER = {
    "en": (["The President of the Republic of South Africa"], "Excellency,", "the President"),
    "fr": (
        ["Président de la République sud-africaine"],
        "Excellence,",
        "le Président de la République",
    ),
    "es": (
        ["Presidente de la República de Sudáfrica"],
        "Excelencia:",
        "el Presidente de la República",
    ),
    "ru": (["Президенту Южно-Африканской Республики"], "Ваше Превосходительство!", "Президент"),
    "ar": (["رئيس جمهورية جنوب أفريقيا"], "فخامة الرئيس،", "رئيس الجمهورية"),
    "zh": (["南非共和国总统阁下"], "尊敬的总统阁下：", "总统"),
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_presidency_without_holder(lang: str) -> None:
    who = _who("head_of_state", lang, "", country=SOUTH_AFRICA, holder=False)
    forms = address(who, lang, "formal")
    assert (forms.name_lines, forms.salutation, forms.in_text) == SOUTH_AFRICA_NO_HOLDER[lang]
    assert "South Africa" not in forms.closing and "The President" not in forms.closing


def test_no_holder_closing_never_names_the_office_in_english() -> None:
    who = _who("head_of_state", "ru", "", country=SOUTH_AFRICA, holder=False)
    forms = address(who, "ru", "formal")
    assert (
        forms.closing == "Примите, Ваше Превосходительство, уверения в моем самом высоком уважении."
    )


FEMALE_FOREIGN_MINISTER = {
    "en": (
        [
            "Her Excellency Naledi Pandor",
            "Minister for Foreign Affairs of the Republic of Tajikistan",
        ],
        "Excellency,",
        "Minister Pandor",
    ),
    "fr": (
        [
            "Son Excellence Madame Naledi Pandor",
            "Ministre des Affaires étrangères de la République du Tadjikistan",
        ],
        "Madame la Ministre,",
        "la Ministre Pandor",
    ),
    "es": (
        [
            "Excelentísima Señora Naledi Pandor",
            "Ministra de Relaciones Exteriores de la República de Tayikistán",
        ],
        "Excelencia:",
        "la Ministra Pandor",
    ),
    "ru": (
        [
            "Её Превосходительству",
            "госпоже Н. Пандор",
            "Министру иностранных дел Республики Таджикистан",
        ],
        "Ваше Превосходительство!",
        "Министр Пандор",
    ),
    "ar": (
        ["معالي السيدة ناليدي باندور", "وزيرة خارجية جمهورية طاجيكستان"],
        "معالي الوزيرة،",
        "الوزيرة باندور",
    ),
    "zh": (
        ["塔吉克斯坦共和国外交部长", "娜莱迪·潘多尔阁下"],
        "尊敬的潘多尔外长阁下：",
        "潘多尔外长",
    ),
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_female_foreign_minister(lang: str) -> None:
    forms = address(_who("foreign_minister", lang, "f", names=PANDOR), lang, "formal")
    assert (forms.name_lines, forms.salutation, forms.in_text) == FEMALE_FOREIGN_MINISTER[lang]


def test_female_foreign_minister_closings() -> None:
    fr = address(_who("foreign_minister", "fr", "f", names=PANDOR), "fr", "formal")
    assert fr.closing == (
        "Veuillez agréer, Madame la Ministre, l'assurance de ma très haute considération."
    )
    es = address(_who("foreign_minister", "es", "f", names=PANDOR), "es", "personal")
    assert es.salutation == "Señora Ministra:"
    ru = address(_who("foreign_minister", "ru", "f", names=PANDOR), "ru", "personal")
    assert ru.salutation == "Уважаемая госпожа Министр!"


def test_ambassador() -> None:
    en = address(_who("ambassador", "en", to=SWITZERLAND), "en", "formal")
    assert en.name_lines == [
        "His Excellency Emomali Rahmon",
        "Ambassador of the Republic of Tajikistan to the Swiss Confederation",
    ]
    assert en.in_text == "Ambassador Rahmon"
    fr = address(_who("ambassador", "fr", "f", names=PANDOR, to=SWITZERLAND), "fr", "formal")
    assert fr.salutation == "Madame l'Ambassadrice,"
    assert fr.name_lines[-1] == (
        "Ambassadrice de la République du Tadjikistan auprès de la Confédération suisse"
    )
    ru = address(_who("ambassador", "ru", to=SWITZERLAND), "ru", "formal")
    assert ru.name_lines == [
        "Его Превосходительству",
        "господину Э.Ш. Рахмону",
        "Чрезвычайному и Полномочному Послу Республики Таджикистан в Швейцарской Конфедерации",
    ]
    ar = address(_who("ambassador", "ar", to=SWITZERLAND), "ar", "formal")
    assert ar.salutation == "سعادة السفير،"
    assert ar.closing == "وتفضلوا سعادتكم بقبول فائق الاحترام والتقدير."
    zh = address(_who("ambassador", "zh", to=SWITZERLAND), "zh", "formal")
    assert zh.name_lines == ["塔吉克斯坦共和国驻瑞士联邦大使", "埃莫马利·拉赫蒙阁下"]


def test_ambassador_without_receiving_state_drops_only_that_part() -> None:
    assert office_title("ambassador", "en", country=TAJIKISTAN["en"]) == {
        "nominative": "Ambassador of the Republic of Tajikistan"
    }


def test_charge_d_affaires_ai() -> None:
    en = address(_who("charge_d_affaires", "en", to=SWITZERLAND), "en", "formal")
    assert en.name_lines == [
        "Mr Emomali Rahmon",
        "Chargé d'affaires a.i. of the Republic of Tajikistan to the Swiss Confederation",
    ]
    assert en.salutation == "Dear Chargé d'affaires,"
    assert en.in_text == "Chargé d'affaires Rahmon"
    fr = address(_who("charge_d_affaires", "fr", "f", names=PANDOR), "fr", "formal")
    assert fr.salutation == "Madame la Chargée d'affaires,"
    es = address(_who("charge_d_affaires", "es"), "es", "personal")
    assert es.salutation == "Señor Encargado de Negocios:"
    ru = address(_who("charge_d_affaires", "ru"), "ru", "formal")
    assert ru.name_lines == [
        "господину Э.Ш. Рахмону",
        "Временному поверенному в делах Республики Таджикистан",
    ]
    assert ru.salutation == "Уважаемый господин Временный поверенный в делах!"
    ar = address(_who("charge_d_affaires", "ar"), "ar", "formal")
    assert ar.salutation == "سعادة القائم بالأعمال،"
    zh = address(_who("charge_d_affaires", "zh"), "zh", "formal")
    assert zh.salutation == "尊敬的拉赫蒙临时代办先生："


def test_permanent_representative() -> None:
    en = address(_who("permanent_representative", "en", to=GENEVA), "en", "formal")
    assert en.name_lines == [
        "His Excellency Emomali Rahmon",
        "Permanent Representative of the Republic of Tajikistan to the United Nations Office at "
        "Geneva",
    ]
    assert en.salutation == "Excellency,"
    assert en.in_text == "Ambassador Rahmon"
    fr = address(_who("permanent_representative", "fr", to=GENEVA), "fr", "personal")
    assert fr.salutation == "Monsieur l'Ambassadeur,"
    ru = address(_who("permanent_representative", "ru", to=GENEVA), "ru", "personal")
    assert ru.name_lines[-1] == (
        "Постоянному представителю Республики Таджикистан при Отделении ООН в Женеве"
    )
    assert ru.salutation == "Уважаемый господин Посол!"


GUTERRES = {
    "en": ("António", "Guterres", ""),
    "fr": ("António", "Guterres", ""),
    "es": ("António", "Guterres", ""),
    "ru": ("Антониу", "Гутерриш", ""),
    "ar": ("أنطونيو", "غوتيريش", ""),
    "zh": ("安东尼奥", "古特雷斯", ""),
}
SECRETARY_GENERAL = {
    "en": (
        ["His Excellency António Guterres", "Secretary-General of the United Nations"],
        "Excellency,",
    ),
    "fr": (
        [
            "Son Excellence Monsieur António Guterres",
            "Secrétaire général de l'Organisation des Nations Unies",
        ],
        "Monsieur le Secrétaire général,",
    ),
    "es": (
        ["Excelentísimo Señor António Guterres", "Secretario General de las Naciones Unidas"],
        "Excelencia:",
    ),
    "ru": (
        [
            "Его Превосходительству",
            "господину А. Гутеррешу",
            "Генеральному секретарю Организации Объединённых Наций",
        ],
        "Ваше Превосходительство!",
    ),
    "ar": (["معالي السيد أنطونيو غوتيريش", "الأمين العام للأمم المتحدة"], "معالي الأمين العام،"),
    "zh": (["联合国秘书长", "安东尼奥·古特雷斯阁下"], "尊敬的古特雷斯秘书长阁下："),
}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_un_secretary_general(lang: str) -> None:
    who = _who("secretary_general", lang, names=GUTERRES, country=UNITED_NATIONS)
    forms = address(who, lang, "formal")
    expected_lines, expected_salutation = SECRETARY_GENERAL[lang]
    if lang == "ru":  # Гутерриш declines like any consonant-final masculine surname
        expected_lines = [*expected_lines[:1], "господину А. Гутерришу", *expected_lines[2:]]
    assert (forms.name_lines, forms.salutation) == (expected_lines, expected_salutation)


# --- Russian names --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "family", "patronymic", "gender", "line"),
    [
        ("Эмомали", "Рахмон", "Шарипович", "m", "господину Э.Ш. Рахмону"),
        ("Касым-Жомарт", "Токаев", "Кемелевич", "m", "господину К.К. Токаеву"),
        ("Мария", "Захарова", "Владимировна", "f", "госпоже М.В. Захаровой"),
        ("Анналена", "Бербок", "", "f", "госпоже А. Бербок"),
        ("Наледи", "Пандор", "", "f", "госпоже Н. Пандор"),
    ],
)
def test_russian_dative_of_names(
    given: str, family: str, patronymic: str, gender: str, line: str
) -> None:
    who = Addressee("ambassador", gender, given, family, patronymic)
    assert address(who, "ru").name_lines[1] == line


def test_russian_dative_with_unknown_gender_only_when_both_genders_agree() -> None:
    agree = Addressee("official", "", "Раджив", "Сандху")
    assert address(agree, "ru").name_lines == ["Р. Сандху"]
    differ = Addressee("official", "", "Саша", "Смит")
    forms = address(differ, "ru")
    assert forms.name_lines == []
    assert forms.salutation == "Уважаемые дамы и господа!"


def test_office_title_russian_cases() -> None:
    assert office_title("head_of_state", "ru", country=TAJIKISTAN["ru"]) == {
        "nominative": "Президент Республики Таджикистан",
        "dative": "Президенту Республики Таджикистан",
        "genitive": "Президента Республики Таджикистан",
    }


def test_office_title_never_falls_back_to_english() -> None:
    assert office_title("official", "fr", country={}, title_en="Director, Arms Control") == {}
    assert office_title("official", "en", country={}, title_en="Director, Arms Control") == {
        "nominative": "Director, Arms Control"
    }
    assert office_title("head_of_state", "fr", country={"nominative": "Tadjikistan"}) == {}


def test_missing_office_is_reported() -> None:
    who = Addressee("official", "m", "Jean", "Dupont")
    forms = address(who, "fr")
    assert forms.name_lines == ["Monsieur Jean Dupont"]
    assert forms.salutation == "Monsieur,"
    assert "office title" in forms.missing


# --- officials and other ranks --------------------------------------------------------------


def test_officials_by_gender() -> None:
    assert address(Addressee("official", "f", "Ana", "López"), "es").salutation == (
        "Estimada señora López:"
    )
    assert address(Addressee("official", "", "Alex", "Kim"), "fr").salutation == "Madame, Monsieur,"
    assert address(Addressee("official", "", "Alex", "Kim"), "es").salutation == (
        "De mi consideración:"
    )
    assert address(Addressee("official", "", "Alex", "Kim"), "en").salutation == "Dear Alex Kim,"
    assert address(Addressee(None, "", "Alex", "Kim", honorific="Ms"), "en").salutation == (
        "Dear Ms Kim,"
    )
    assert address(Addressee(None, "m", "Alex", "Kim", honorific="Dr"), "en").salutation == (
        "Dear Dr Kim,"
    )


def test_monarch() -> None:
    jordan = {"nominative": "the Hashemite Kingdom of Jordan"}
    who = Addressee(
        "monarch",
        "m",
        "Abdullah II",
        "",
        office=office_title("monarch", "en", country=jordan, gender="m"),
    )
    forms = address(who, "en", "personal")
    assert forms.name_lines == [
        "His Majesty King Abdullah II",
        "King of the Hashemite Kingdom of Jordan",
    ]
    assert forms.salutation == "Your Majesty,"
    assert forms.in_text == "King Abdullah II"
    fr = address(Addressee("monarch", "m", "Abdallah II", ""), "fr", "formal")
    assert fr.salutation == "Sire,"
    assert fr.name_lines == ["Sa Majesté le Roi Abdallah II"]


def test_excellency_honorific_without_role() -> None:
    forms = address(Addressee(None, "m", "Emomali", "Rahmon", honorific="H.E."), "en")
    assert forms.name_lines == ["His Excellency Emomali Rahmon"]
    assert forms.salutation == "Excellency,"


def test_chinese_names_are_written_family_name_first() -> None:
    who = Addressee("foreign_minister", "m", "毅", "王")
    assert address(who, "zh").name_lines == ["王毅阁下"]


def _forms_for(
    title: str,
    lang: str,
    iso3: str,
    given: str,
    family: str,
    gender: str = "m",
    style: str = "formal",
    honorific: str = "",
) -> Forms:
    """The forms for a contact as the directory holds it (title, state, name): an office with
    no holder when no family name is given."""
    forms, _ = forms_for(
        title=title,
        gender=gender,
        given_name=given,
        family_name=family,
        honorific=honorific,
        country_iso3=iso3,
        has_holder=bool(family),
        lang=lang,
        style=style,
    )
    return forms


# A state that titles its head of State its own way: China's 国家主席 (Председатель КНР),
# Viet Nam's and the Lao PDR's 国家主席 in Chinese; other states keep 总统 and Президент.
STATE_TITLES = [
    ("CHN", "zh", "近平", "习", "中华人民共和国主席", "尊敬的习主席阁下："),
    ("CHN", "ru", "Цзиньпин", "Си", "Председателю Китайской Народной Республики", ""),
    ("VNM", "zh", "", "", "越南社会主义共和国主席", "尊敬的主席阁下："),
    ("LAO", "zh", "", "", "老挝人民民主共和国主席", "尊敬的主席阁下："),
    ("PAK", "zh", "", "", "巴基斯坦伊斯兰共和国总统", "尊敬的总统阁下："),
    ("PAK", "ru", "", "", "Президенту Исламской Республики Пакистан", ""),
]


@pytest.mark.parametrize(("iso3", "lang", "given", "family", "office", "salutation"), STATE_TITLES)
def test_a_state_s_own_title_for_its_head_of_state(
    iso3: str, lang: str, given: str, family: str, office: str, salutation: str
) -> None:
    forms = _forms_for("President", lang, iso3, given, family)
    assert any(line.startswith(office) for line in forms.name_lines), forms.name_lines
    if salutation:
        assert forms.salutation == salutation
    assert not forms.missing


@pytest.mark.parametrize(
    ("title", "fr", "zh"),
    [
        ("President", "ma très haute considération.", "顺致崇高的敬意。"),
        ("Prime Minister", "ma haute considération.", "此致\n敬礼！"),
        ("Minister for Foreign Affairs", "ma haute considération.", "此致\n敬礼！"),
    ],
)
def test_a_personal_letter_closes_with_the_regard_the_rank_is_owed(
    title: str, fr: str, zh: str
) -> None:
    for lang, close in (("fr", fr), ("zh", zh)):
        given, family = ("埃莫马利", "拉赫蒙") if lang == "zh" else ("Emomali", "Rahmon")
        forms = _forms_for(title, lang, "TJK", given, family, style="personal")
        assert forms.closing.endswith(close), (lang, forms.closing)


def test_mexico_s_foreign_minister_is_its_secretary_of_foreign_affairs() -> None:
    for lang, office, salutation in (
        (
            "es",
            "Secretaria de Relaciones Exteriores de los Estados Unidos Mexicanos",
            "Señora Secretaria:",
        ),
        (
            "en",
            "Secretary of Foreign Affairs of the United Mexican States",
            "Dear Secretary Bárcena,",
        ),
    ):
        forms = _forms_for(
            "Minister of Foreign Affairs", lang, "MEX", "Alicia", "Bárcena", "f", "personal"
        )
        assert office in forms.name_lines and forms.salutation == salutation, forms


# --- diplomatic ranks below the head of mission --------------------------------------------

RANK_TITLES = {
    "fr": ("Madame Nadia Baig", "Première secrétaire"),
    "es": ("Señora Nadia Baig", "Primera Secretaria"),
    "ru": ("госпоже Н. Байг", "Первому секретарю"),
    "ar": ("سعادة السيدة نادية بيغ", "سكرتيرة أولى"),
    "zh": ("一等秘书", "纳迪亚·拜格女士"),
}


@pytest.mark.parametrize("lang", sorted(RANK_TITLES))
def test_a_first_secretary_is_titled_in_the_letter_s_language(lang: str) -> None:
    names = {"ru": ("Надия", "Байг"), "ar": ("نادية", "بيغ"), "zh": ("纳迪亚", "拜格")}
    given, family = names.get(lang, ("Nadia", "Baig"))
    forms = _forms_for("First Secretary (Disarmament)", lang, "PAK", given, family, gender="f")
    assert forms.name_lines == list(RANK_TITLES[lang]), forms.name_lines
    assert forms.missing == []
    if lang in ("ru", "ar", "zh"):
        assert not any(LATIN.search(line) for line in forms.name_lines)


def test_english_keeps_the_rank_as_the_directory_has_it() -> None:
    forms = _forms_for("Counsellor (Disarmament)", "en", "", "Karim", "Aziz", honorific="Mr")
    assert forms.name_lines == ["Mr Karim Aziz", "Counsellor (Disarmament)"]
    assert forms.salutation == "Dear Mr Aziz,"


def test_russian_ranks_keep_the_masculine_title_for_women_in_every_case() -> None:
    office = office_title("counsellor", "ru", country={}, gender="f")
    assert office == {"nominative": "Советник", "dative": "Советнику", "genitive": "Советника"}
    office = office_title("minister_counsellor", "ru", country={}, gender="m")
    assert office["dative"] == "Советнику-посланнику"


def test_a_deputy_permanent_representative_of_ambassadorial_rank_is_an_excellency() -> None:
    plain, excellency = (
        _forms_for("Deputy Permanent Representative", "fr", "PAK", "Karim", "Aziz", honorific=h)
        for h in ("Mr", "H.E.")
    )
    assert plain.name_lines[0] == "Monsieur Karim Aziz"
    assert excellency.name_lines[0] == "Son Excellence Monsieur Karim Aziz"
    assert excellency.name_lines[1] == (
        "Représentant permanent adjoint de la République islamique du Pakistan"
    )


@pytest.mark.parametrize(
    "title",
    ["Советник Президента", "Counsellor to the Minister", "Senior Adviser to the President"],
)
def test_an_adviser_to_an_office_holder_is_not_the_office_holder(title: str) -> None:
    assert role_of(title) == "official"


# --- a title that means one office in one state ---------------------------------------------


def test_secretary_of_state_is_the_united_states_foreign_minister_only() -> None:
    assert role_of("Secretary of State", "USA") == "foreign_minister"
    assert role_of("Secretary of State", "VAT") == "official"
    assert role_of("Secretary of State") == "official"
    assert role_of("Secretary of State for Health", "USA") == "official"


US_SECRETARY = {
    "en": ("Secretary of State of the United States of America", "Dear Secretary Rubio,"),
    "fr": ("Secrétaire d'État des États-Unis d'Amérique", "Monsieur le Secrétaire d'État,"),
    "es": ("Secretario de Estado de los Estados Unidos de América", "Señor Secretario:"),
    "ru": (
        "Государственному секретарю Соединенных Штатов Америки",
        "Уважаемый господин Государственный секретарь!",
    ),
    "zh": ("美利坚合众国国务卿", "尊敬的鲁比奥国务卿："),
}


@pytest.mark.parametrize("lang", sorted(US_SECRETARY))
def test_the_united_states_secretary_of_state_in_each_language(lang: str) -> None:
    names = {"ru": ("Марко", "Рубио"), "zh": ("马尔科", "鲁比奥")}
    given, family = names.get(lang, ("Marco", "Rubio"))
    forms = _forms_for("Secretary of State", lang, "USA", given, family, style="personal")
    office, salutation = US_SECRETARY[lang]
    assert office in forms.name_lines, forms.name_lines
    assert forms.salutation == salutation
