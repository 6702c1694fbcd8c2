"""Institutions named in running text and the formulas of a note verbale (language/notes.py)."""

from __future__ import annotations

import pytest

from app.letters.language.notes import institution_forms, note_formulas


@pytest.mark.parametrize(
    ("name", "lang", "to"),
    [
        ("Ministère des Affaires étrangères", "fr", "au Ministère des Affaires étrangères"),
        ("Ambassade de la République d'Ouzbékistan", "fr", "à l'Ambassade de la République"),
        ("Mission permanente du Pakistan", "fr", "à la Mission permanente du Pakistan"),
        ("Haut-Commissariat des Nations Unies", "fr", "au Haut-Commissariat des Nations Unies"),
        ("La Mission permanente du Mexique", "fr", "à la Mission permanente du Mexique"),
        ("Human Rights Watch", "fr", "à Human Rights Watch"),
        ("Ministerio de Relaciones Exteriores", "es", "al Ministerio de Relaciones Exteriores"),
        ("Embajada de Noruega", "es", "a la Embajada de Noruega"),
        ("Alto Comisionado de las Naciones Unidas", "es", "al Alto Comisionado de las Naciones"),
        ("Ministry of Foreign Affairs of Norway", "en", "to the Ministry of Foreign Affairs"),
        ("Norwegian Helsinki Committee", "en", "to the Norwegian Helsinki Committee"),
        ("Human Rights Watch", "en", "to Human Rights Watch"),
        (
            "Министерство иностранных дел Республики Таджикистан",
            "ru",
            "Министерству иностранных дел Республики Таджикистан",
        ),
        ("Посольство Республики Узбекистан", "ru", "Посольству Республики Узбекистан"),
        ("وزارة خارجية النرويج", "ar", "لوزارة خارجية النرويج"),
        ("البعثة الدائمة لباكستان", "ar", "للبعثة الدائمة لباكستان"),
        ("挪威外交部", "zh", "挪威外交部"),
    ],
)
def test_the_institution_after_to(name: str, lang: str, to: str) -> None:
    assert institution_forms(name, lang)["to"].startswith(to)


def test_formulas_slot_the_names_in_the_language_s_form() -> None:
    fr = note_formulas("Coalition contre les sous-munitions", "Ambassade de Norvège", "fr")
    assert fr["opening"] == (
        "La Coalition contre les sous-munitions présente ses compliments à l'Ambassade de "
        "Norvège et a l'honneur"
    )
    assert fr["closing"].startswith(
        "La Coalition contre les sous-munitions saisit cette occasion pour renouveler à "
        "l'Ambassade de Norvège les assurances de sa très haute considération."
    )
    ru = note_formulas("Коалиция", "Министерство иностранных дел Норвегии", "ru")
    assert ru["opening"] == (
        "Коалиция свидетельствует своё уважение Министерству иностранных дел Норвегии и имеет честь"
    )
    assert "возобновить Министерству иностранных дел Норвегии уверения" in ru["closing"]
    es = note_formulas("Coalición contra las Municiones en Racimo", "Ministerio de Defensa", "es")
    assert es["opening"].startswith("La Coalición contra las Municiones en Racimo saluda")
    assert "reiterar al Ministerio de Defensa las seguridades" in es["closing"]
    zh = note_formulas("集束弹药联盟", "挪威外交部", "zh")
    assert zh == {
        "opening": "集束弹药联盟向挪威外交部致意，并谨",
        "closing": "集束弹药联盟顺致崇高敬意。",
    }


def test_arabic_verbs_agree_with_the_sender() -> None:
    masculine = note_formulas("التحالف المناهض للذخائر العنقودية", "وزارة خارجية النرويج", "ar")
    assert masculine["opening"].startswith("يهدي التحالف")
    assert "أطيب تحياته إلى وزارة خارجية النرويج، ويتشرف" in masculine["opening"]
    assert "ليعرب لوزارة خارجية النرويج مجددًا عن فائق احترامه وتقديره." in masculine["closing"]
    feminine = note_formulas("البعثة الدائمة للمكسيك", "وزارة خارجية النرويج", "ar")
    assert feminine["opening"].startswith("تهدي البعثة الدائمة للمكسيك أطيب تحياتها")
    assert feminine["closing"].startswith("وتغتنم البعثة الدائمة للمكسيك هذه الفرصة لتعرب")


@pytest.mark.parametrize("lang", ["en", "fr", "es", "ru", "ar", "zh"])
def test_no_formula_without_both_names(lang: str) -> None:
    assert note_formulas("", "Ministry", lang) == {"opening": "", "closing": ""}
    assert note_formulas("Coalition", "", lang) == {"opening": "", "closing": ""}
    assert institution_forms("", lang) == {"subject": "", "to": ""}
