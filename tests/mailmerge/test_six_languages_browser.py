"""In a browser: a campaigner merges the appeal to six states, each in its own language, and
opens every letter's PDF: each is in its language, English names nowhere else."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.contacts import service as contacts_service
from app.contacts.schemas import ContactPointCreate, OrganisationCreate
from app.countries import service as countries_service
from app.letters.context import SAMPLE_TRANSLATIONS
from app.models import Organisation
from tests.mailmerge.conftest import pdf_text
from tests.support.browser import browser_page, screenshot, sign_in
from tests.support.live import DemoSite

# state, demo office (or one made here), the date line each letter must carry
STATES = {
    "PAK": ("Office of the President of Pakistan", "Geneva, 1 May 2010"),
    "LAO": ("Office of the President of the Lao PDR", "Genève, le 1er mai 2010"),
    "MEX": ("Office of the President of Mexico", "Ginebra, 1 de mayo de 2010"),
    "TJK": (
        "Executive Office of the President of the Republic of Tajikistan",
        "Женева, 1 мая 2010 г.",
    ),
    "EGY": ("Presidency of the Arab Republic of Egypt", "جنيف"),
    "CHN": ("Office of the President of the People's Republic of China", "2010年5月1日于日内瓦"),
}
LANGUAGE = {"PAK": "en", "LAO": "fr", "MEX": "es", "TJK": "ru", "EGY": "ar", "CHN": "zh"}


@pytest.fixture
def offices(site: DemoSite) -> list[int]:
    """The six head-of-state offices: the demo's, and those it lacks made here."""
    ids: list[int] = []
    with site.session() as session, session.begin():
        for iso3, (name, _) in STATES.items():
            office = session.scalar(select(Organisation).where(Organisation.name == name))
            if office is None:  # the demo has no Arabic- or Chinese-speaking state
                country = countries_service.get_by_code(session, iso3)
                office = contacts_service.create_organisation(
                    session,
                    data=OrganisationCreate(
                        name=name,
                        type="head_of_state_office",
                        country=iso3,
                        office_title="President",
                        preferred_language=LANGUAGE[iso3],
                    ),
                    actor=None,
                )
                contacts_service.create_contact_point(
                    session,
                    data=ContactPointCreate(
                        kind="postal",
                        organisation_id=office.id,
                        street_address={
                            "EGY": "Al Orouba Palace, Heliopolis",
                            "CHN": "Zhongnanhai, Xichang'an Avenue",
                        }[iso3],
                        city={"EGY": "Cairo", "CHN": "Xicheng Qu"}[iso3],
                        postal_code={"EGY": "11757", "CHN": "100017"}[iso3],
                        country_area={"EGY": "", "CHN": "Beijing Shi"}[iso3],
                        country_code=country.iso2,
                    ),
                    actor=None,
                )
            ids.append(office.id)
    return ids


@pytest.mark.browser
def test_a_campaigner_merges_to_six_states_in_six_languages(
    site: DemoSite, offices: list[int], artifacts: Path
) -> None:
    base, ids = site.base, offices
    with browser_page(base) as page:
        sign_in(page, "campaigner@demarche.example", "demarche-demo")
        page.goto("/merges/new")
        page.select_option(
            "select[name=template_id]", label="Appeal to a head of state to join a treaty"
        )
        page.select_option("select[name=treaty]", "CCM")
        page.fill("input[name=letter_date]", "2010-05-01")
        page.fill("input[name=name]", "Appeal in six languages")
        page.select_option("select[name=source_kind]", "contacts")
        page.fill("input[name=organisation_ids]", ",".join(str(i) for i in ids))
        page.locator("input[name=organisation_ids]").dispatch_event("change")
        expect(page.locator(".recipient-count")).to_have_text("6", timeout=20_000)
        languages = page.locator("#merge-preview table.recipients tbody tr td:nth-child(3)")
        expect(languages).to_have_count(6)
        seen = {text.split()[0] for text in languages.all_inner_texts()}
        assert seen == set(LANGUAGE.values())
        screenshot(page, artifacts / "six-languages-new.png")
        page.click("text=Draft the letters")
        page.wait_for_selector("h1:has-text('Appeal in six languages')")
        expect(page.locator(".merge-status")).to_have_text("done", timeout=240_000)
        expect(page.locator(".merge-counts")).to_contain_text("6 of 6 rendered")
        references = page.locator("table a[href*='/letters/']").all_inner_texts()
        assert len(references) == 6
        _open_each(page, references, artifacts)


def _open_each(page: Page, references: list[str], artifacts: Path) -> None:
    for reference in references:
        iso3 = reference.split("/")[2]
        page.click(f"text={reference}")
        page.wait_for_selector(f"h1:has-text('Letter {reference}')")
        href = page.locator("a.letter-pdf").get_attribute("href")
        assert href
        resp = page.request.get(href)
        assert resp.ok and resp.headers["content-type"] == "application/pdf"
        reader, text = pdf_text(resp.body())
        assert len(reader.pages) == 1, reference
        lang = LANGUAGE[iso3]
        date_line = STATES[iso3][1]
        assert date_line in text or date_line[::-1] in text, (reference, text[:300])
        if lang != "en":
            assert "Convention on Cluster Munitions" not in text, reference
            assert "Dear" not in text and "President of" not in text, reference
        if lang in ("ru", "zh"):
            # the text from the date line to the signatory (the letterhead and the address
            # window, placed absolutely, come after it in the PDF's text)
            body = text.split(date_line, 1)[-1].split(SAMPLE_TRANSLATIONS[lang]["signatory_title"])[
                0
            ]
            assert len(body) > 200
            latin = re.findall(r"[A-Za-z]{3,}", body.replace(reference, ""))
            assert not latin, (reference, latin)
        screenshot(page, artifacts / f"six-languages-{lang}.png")
        page.go_back()
