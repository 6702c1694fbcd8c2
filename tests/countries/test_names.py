"""Country names in their common and UN forms, in the six UN languages, resolve to the country;
imports and the API accept them."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.contacts.imports.csvfile import write_csv
from app.contacts.imports.schemas import ImportOptions
from app.contacts.imports.service import run
from app.countries import names
from app.countries import service as countries
from app.errors import NotFound
from app.models import Country, Organisation
from tests.factories import api_headers, make_user


@pytest.mark.parametrize(
    ("name", "iso3"),
    [
        ("Lao PDR", "LAO"),
        ("Laos", "LAO"),
        ("Lao People's Democratic Republic", "LAO"),
        ("Brasil", "BRA"),
        ("Brazil", "BRA"),
        ("Kosovo", "XKX"),
        ("Palestine", "PSE"),
        ("State of Palestine", "PSE"),
        ("État de Palestine", "PSE"),
        ("Türkiye", "TUR"),
        ("Turkiye", "TUR"),
        ("Turkey", "TUR"),
        ("Turquía", "TUR"),
        ("Côte d'Ivoire", "CIV"),
        ("Côte d’Ivoire", "CIV"),
        ("cote d ivoire", "CIV"),
        ("Ivory Coast", "CIV"),
        ("Россия", "RUS"),
        ("Российская Федерация", "RUS"),
        ("Китай", "CHN"),
        ("الصين", "CHN"),
        ("中国", "CHN"),
        ("Таджикистан", "TJK"),
        ("Estados Unidos", "USA"),
        ("Allemagne", "DEU"),
        ("The Netherlands", "NLD"),
        ("Bolivia (Plurinational State of)", "BOL"),
        ("Korea, Republic of", "KOR"),
        ("DPRK", "PRK"),
        ("  czech REPUBLIC ", "CZE"),
    ],
)
def test_names_resolve(name: str, iso3: str) -> None:
    assert names.resolve(name) == iso3


def test_unknown_and_bounded() -> None:
    assert names.resolve("Atlantis") is None
    assert names.resolve("") is None
    assert names.resolve("x" * 10_000) is None
    assert "No country is known by 'Atlantis'" in names.explain("Atlantis")


def test_no_name_means_two_countries() -> None:
    exact, folded = names._index()
    assert all(len(v) == 1 for v in exact.values())
    assert all(len(v) == 1 for v in folded.values())
    # "Congo" alone is the Republic of the Congo (UNTERM's short name), never the DRC
    assert names.resolve("Congo") == "COG" and names.resolve("DR Congo") == "COD"


def test_kosovo_is_held_under_its_name(db: Session) -> None:
    kosovo = db.scalar(select(Country).where(Country.iso3 == "XKX"))
    assert kosovo is not None and kosovo.name == "Kosovo" and kosovo.iso2 == "XK"
    assert countries.get_by_code(db, "Kosovo").iso3 == "XKX"


def test_lookup_by_code_or_name(db: Session) -> None:
    assert countries.get_by_code(db, "la").iso3 == "LAO"
    assert countries.get_by_code(db, "LAO").iso3 == "LAO"
    assert countries.get_by_code(db, "Lao PDR").iso3 == "LAO"
    brazil = countries.find(db, "Brasil")
    assert brazil is not None and brazil.iso3 == "BRA"
    assert countries.find(db, "Atlantis") is None
    with pytest.raises(NotFound, match="No country has the code 'QQ'"):
        countries.get_by_code(db, "qq")
    with pytest.raises(NotFound, match="No country is known by 'Atlantis'"):
        countries.get_by_code(db, "Atlantis")


def test_import_accepts_names(db: Session) -> None:
    headers = ["Organisation", "Country"]
    rows = [
        ["Ministry of Foreign Affairs of Laos", "Lao PDR"],
        ["Itamaraty", "Brasil"],
        ["Ministry of Foreign Affairs of Kosovo", "Kosovo"],
        ["Ministry of Foreign Affairs of Palestine", "Palestine"],
        ["МИД России", "Россия"],
        ["Ministère des Affaires étrangères de Côte d'Ivoire", "Ivory Coast"],
        ["外交部", "中国"],
        ["Atlantis Foreign Office", "Atlantis"],
    ]

    def do(rows: list[list[str]], dry_run: bool) -> list[int]:
        report = run(
            db,
            data=write_csv(headers, rows, ",").encode(),
            filename="orgs.csv",
            options=ImportOptions.model_validate({}),
            dry_run=dry_run,
            actor=None,
        )
        return [b.row for b in report.bad_rows]

    assert do(rows, dry_run=True) == [9]  # Atlantis, the header being row 1
    assert do(rows[:-1], dry_run=False) == []
    rows_read = db.execute(
        select(Organisation.name, Country.iso3).join(Country, Country.id == Organisation.country_id)
    )
    got = {row[0]: row[1] for row in rows_read}
    assert got == {
        "Ministry of Foreign Affairs of Laos": "LAO",
        "Itamaraty": "BRA",
        "Ministry of Foreign Affairs of Kosovo": "XKX",
        "Ministry of Foreign Affairs of Palestine": "PSE",
        "МИД России": "RUS",
        "Ministère des Affaires étrangères de Côte d'Ivoire": "CIV",
        "外交部": "CHN",
    }


def test_api_accepts_a_country_name(client: TestClient, db: Session) -> None:
    headers = api_headers(db, make_user(db))
    resp = client.post(
        "/api/v1/organisations",
        json={"name": "MOFA Türkiye", "type": "ministry", "country": "Turkey"},
        headers=headers,
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["country"] == "TUR"
    bad = client.post(
        "/api/v1/organisations",
        json={"name": "Atlantis", "type": "ministry", "country": "Atlantis"},
        headers=headers,
    )
    assert bad.status_code == 422
