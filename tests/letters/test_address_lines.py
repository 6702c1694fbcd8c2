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
