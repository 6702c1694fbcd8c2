"""French and Spanish articles and their contractions with prepositions."""

import pytest

from app.letters.language import (
    country_article,
    country_gender,
    country_name,
    meeting_name,
    treaty_grammar,
    treaty_name,
    with_article,
)

CCM_FR = "Convention sur les armes à sous-munitions"
CCM_ES = "Convención sobre Municiones en Racimo"


@pytest.mark.parametrize(
    ("text", "preposition", "expected"),
    [
        ("Tadjikistan", None, "le Tadjikistan"),
        ("Tadjikistan", "de", "du Tadjikistan"),
        ("Tadjikistan", "à", "au Tadjikistan"),
        ("Tadjikistan", "en", "au Tadjikistan"),
        ("France", None, "la France"),
        ("France", "en", "en France"),
        ("France", "de", "de la France"),
        ("Afghanistan", None, "l'Afghanistan"),
        ("Afghanistan", "de", "de l'Afghanistan"),
        ("Afghanistan", "en", "en Afghanistan"),
        ("Philippines", None, "les Philippines"),
        ("Philippines", "de", "des Philippines"),
        ("Philippines", "à", "aux Philippines"),
        ("Philippines", "en", "aux Philippines"),
        ("Cuba", None, "Cuba"),
        ("Cuba", "en", "à Cuba"),
        ("Israël", None, "Israël"),
        ("Israël", "de", "d'Israël"),
        ("Israël", "en", "en Israël"),
        ("Madagascar", "en", "à Madagascar"),
        ("Laos", "en", "au Laos"),
        ("États-Unis", "à", "aux États-Unis"),
        ("République du Tadjikistan", "à", "à la République du Tadjikistan"),
        (CCM_FR, None, f"la {CCM_FR}"),
        (CCM_FR, "de", f"de la {CCM_FR}"),
        (CCM_FR, "à", f"à la {CCM_FR}"),
        (
            "Traité d'interdiction des mines antipersonnel",
            "de",
            "du Traité d'interdiction des mines antipersonnel",
        ),
        ("Genève", "de", "de Genève"),
    ],
)
def test_french(text: str, preposition: str | None, expected: str) -> None:
    assert with_article(text, "fr", preposition) == expected


@pytest.mark.parametrize(
    ("text", "preposition", "expected"),
    [
        ("Pakistán", None, "el Pakistán"),
        ("Pakistán", "de", "del Pakistán"),
        ("Pakistán", "a", "al Pakistán"),
        ("Argentina", None, "la Argentina"),
        ("Brasil", "de", "del Brasil"),
        ("India", "a", "a la India"),
        ("Tayikistán", "de", "de Tayikistán"),
        ("Estados Unidos", "de", "de los Estados Unidos"),
        (CCM_ES, None, f"la {CCM_ES}"),
        (CCM_ES, "de", f"de la {CCM_ES}"),
        (
            "Tratado de Prohibición de Minas Antipersona",
            "a",
            "al Tratado de Prohibición de Minas Antipersona",
        ),
    ],
)
def test_spanish(text: str, preposition: str | None, expected: str) -> None:
    assert with_article(text, "es", preposition) == expected


def test_meeting_names_are_feminine() -> None:
    first = meeting_name("CCM", "msp", 1, "fr")
    assert with_article(first, "fr", "à") == f"à la {first}"
    later = meeting_name("CCM", "msp", 30, "fr")
    assert later.startswith("trentième Assemblée")
    assert with_article(later, "fr", "de") == f"de la {later}"
    reunion = meeting_name("MBT", "msp", 25, "es")
    assert with_article(reunion, "es", "de") == f"de la {reunion}"


def test_other_languages_unchanged() -> None:
    assert with_article("Tajikistan", "en", "of") == "Tajikistan"
    assert with_article("Таджикистан", "ru", "de") == "Таджикистан"


def test_country_grammar_from_the_data() -> None:
    assert (country_article("TJK", "fr"), country_gender("TJK", "fr")) == ("le", "m")
    assert (country_article("FRA", "fr"), country_gender("FRA", "fr")) == ("la", "f")
    assert (country_article("PHL", "fr"), country_gender("PHL", "fr")) == ("les", "p")
    assert country_article("AFG", "fr") == "l'"
    assert country_article("CUB", "fr") == ""
    assert (country_article("PAK", "es"), country_gender("PAK", "es")) == ("el", "m")
    assert country_article("ARG", "es") == "la"
    assert country_article("TJK", "es") == ""
    assert country_article("TJK", "fr", "formal") == "la"


def test_cldr_short_and_un_formal_names_differ_where_usage_does() -> None:
    assert country_name("LAO", "fr") == "Laos"
    assert country_name("LAO", "fr", "formal") == "République démocratique populaire lao"
    assert with_article("Laos", "fr", "de") == "du Laos"
    assert with_article("République démocratique populaire lao", "fr", "de") == (
        "de la République démocratique populaire lao"
    )


def test_treaty_grammar() -> None:
    assert treaty_grammar("CCM", "fr") == {"gender": "f", "article": "la"}
    assert treaty_grammar("MBT", "es", "full") == {"gender": "f", "article": "la"}
    assert treaty_grammar("CCM", "ru") == {"gender": "f", "article": ""}
    assert treaty_name("CCM", "fr", "short") == CCM_FR
