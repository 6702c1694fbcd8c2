"""The sender block from the organisation profile: the city beside the letter's date is the
address's city, not its last line (which is usually the country or a postal code)."""

from __future__ import annotations

import pytest

from app.letters.context import city_of, sender_from_profile


@pytest.mark.parametrize(
    ("lines", "country", "city"),
    [
        (
            ["Maison de la Paix, Chemin Eugène-Rigot 2C", "1202 Geneva", "Switzerland"],
            "CH",
            "Geneva",
        ),
        (["1 Rue de Varembé", "Geneva"], "CH", "Geneva"),
        (["CH-1211 Genève 10"], "CH", "Genève"),
        (["10 Downing Street", "London", "SW1A 2AA", "United Kingdom"], "GB", "London"),
        (["1 Main St", "Washington, DC 20008", "USA"], "US", "Washington, DC"),
        (["Rue de la Loi 16", "1000 Bruxelles", "Belgique"], "BE", "Bruxelles"),
        (["37 Quai d'Orsay", "75700 Paris Cedex 07", "France"], "FR", "Paris"),
        (["ул. Тверская, 13", "Москва", "Россия", "125009"], "RU", "Москва"),
        (["PO Box 12", "Nairobi"], "", "Nairobi"),
        ([], "CH", ""),
    ],
)
def test_city_of_an_address(lines: list[str], country: str, city: str) -> None:
    assert city_of(lines, country) == city


def test_sender_block_names_the_city() -> None:
    sender, signatory = sender_from_profile(
        {
            "name": "Cluster Munition Coalition",
            "address": "Maison de la Paix\n1202 Geneva\nSwitzerland\n",
            "country_code": "CH",
            "signatory_name": "Thomas Nash",
        }
    )
    assert sender["city"] == "Geneva"
    assert sender["address_lines"] == ["Maison de la Paix", "1202 Geneva", "Switzerland"]
    assert signatory["name"] == "Thomas Nash"
