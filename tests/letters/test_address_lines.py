"""Which lines name a recipient in the address block: a title the protocol forms with the state
it serves stands for the organisation; any other title is followed by the organisation."""

from __future__ import annotations

from dataclasses import replace

import pytest

from app.contacts.recipients import Recipient
from app.letters.addressee import recipient_group
from app.letters.context import sample_recipient


def _at(title: str, organisation: str, kind: str) -> Recipient:
    return replace(
        sample_recipient(),
        title=title,
        office_title="",
        organisation_name=organisation,
        organisation_name_forms={},
        organisation_type=kind,
        country_iso3="PAK",
    )


@pytest.mark.parametrize(
    ("title", "organisation", "kind", "organisation_line"),
    [
        ("Counsellor", "Embassy of Pakistan in the United States", "embassy", True),
        ("First Secretary", "Permanent Mission of Pakistan to the UN", "permanent_mission", True),
        ("Ambassador", "Embassy of Pakistan in the United States", "embassy", False),
        (
            "Minister of Foreign Affairs",
            "Ministry of Foreign Affairs of Pakistan",
            "ministry",
            False,
        ),
        ("Director", "Ministry of Foreign Affairs of Pakistan", "ministry", True),
    ],
)
@pytest.mark.parametrize("lang", ["en", "fr", "ru"])
def test_the_organisation_has_a_line_unless_the_title_names_the_post(
    title: str, organisation: str, kind: str, organisation_line: bool, lang: str
) -> None:
    lines = recipient_group(_at(title, organisation, kind), language=lang)["address_block"]
    assert (organisation in lines) is organisation_line, (lang, lines)


def test_chinese_names_the_organisation_before_the_office_and_the_person() -> None:
    recipient = replace(
        _at("Counsellor", "Embassy of Pakistan in the United States", "embassy"),
        organisation_name_forms={"zh": "巴基斯坦驻美国大使馆"},
    )
    lines = recipient_group(recipient, language="zh")["address_block"]
    assert lines[:2] == ["巴基斯坦驻美国大使馆", "参赞"], lines


@pytest.mark.parametrize(
    ("title", "organisation", "line"),
    [
        (
            "First Secretary",
            "Постоянное представительство Республики Казахстан при Отделении ООН в Женеве",
            "Первому секретарю Постоянного представительства Республики Казахстан при Отделении"
            " ООН в Женеве",
        ),
        (
            "Counsellor",
            "Посольство Исламской Республики Пакистан в Соединённых Штатах Америки",
            "Советнику Посольства Исламской Республики Пакистан в Соединённых Штатах Америки",
        ),
    ],
)
def test_russian_names_the_office_with_its_organisation_in_the_genitive(
    title: str, organisation: str, line: str
) -> None:
    recipient = replace(
        _at(title, "Embassy", "embassy"), organisation_name_forms={"ru": organisation}
    )
    lines = recipient_group(recipient, language="ru")["address_block"]
    assert line in lines, lines
    assert organisation not in lines  # no line of its own in the nominative


def test_russian_keeps_two_lines_without_the_organisation_s_russian_name() -> None:
    lines = recipient_group(_at("Counsellor", "Embassy of Pakistan", "embassy"), language="ru")[
        "address_block"
    ]
    assert "Советнику" in lines and "Embassy of Pakistan" in lines, lines


def test_a_title_that_names_its_state_is_not_followed_by_the_ministry() -> None:
    recipient = replace(
        _at("Minister for Foreign Affairs", "Ministry", "ministry"),
        organisation_name_forms={
            "ru": "Министерство иностранных дел Исламской Республики Пакистан"
        },
    )
    lines = recipient_group(recipient, language="ru")["address_block"]
    assert not any("Министерства" in line for line in lines), lines
