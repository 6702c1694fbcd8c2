"""In a browser: log the reply to a sent letter with its position; the tracker and map follow.
A scanned reply from an embassy fills the form by itself; accepted, it shows on the tracker, the
position register and the timelines."""

from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Page, expect
from weasyprint import HTML

from tests.support.browser import screenshot, sign_in


@pytest.mark.browser
def test_log_a_reply_and_see_the_tracker_and_map_update(page: Page, artifacts: Path) -> None:
    sign_in(page, "coordinator@demarche.example", "demarche-demo")
    page.click("nav.mainnav >> text=Campaigns")
    page.click("text=CCM signature drive 2009")
    page.click("text=Reply tracker")
    expect(page.locator('[data-count="replied"]')).to_have_text("5")
    expect(page.locator('tr[data-iso3="KAZ"]')).to_have_attribute("data-category", "overdue")
    assert page.locator('.tracker-map path[data-iso2="KZ"]').get_attribute("data-category") == (
        "overdue"
    )
    # the Pakistan reply of the demo: forwarded by the embassy, opposes the CCM
    expect(page.locator('tr[data-iso3="PAK"] .badge.stance-opposes')).to_have_text("Opposes")

    page.click('tr[data-iso3="KAZ"] >> text=log reply')
    page.wait_for_selector("h1:has-text('Log a reply')")
    suggestions = page.locator("#suggestions")
    expect(suggestions).to_contain_text("CMC/2009/KAZ/0001")
    page.fill("input[name=sender_name]", "Embassy of Kazakhstan")
    page.fill(
        "textarea[name=full_text]",
        "With reference to your letter dated 30 January 2009, the Government of Kazakhstan "
        "will consider accession to the Convention on Cluster Munitions.",
    )
    expect(suggestions).to_contain_text("Cites our letter of 30 January 2009.")
    checkbox = page.locator("#suggestions input[name=letter_ids]").first
    expect(checkbox).to_be_checked()
    page.select_option("select[name=stance_CCM]", "will_consider")
    page.fill("textarea[name=quote_CCM]", "will consider accession")
    page.fill("input[name=sender_reference]", "No. 12-3/456")
    page.click("button:has-text('Log the reply')")
    page.wait_for_selector("text=Reply logged.")
    expect(page.locator("body")).to_contain_text("CMC/2009/KAZ/0001")
    expect(page.locator("body")).to_contain_text("Will consider")

    page.click("nav.mainnav >> text=Campaigns")
    page.click("text=CCM signature drive 2009")
    page.click("text=Reply tracker")
    expect(page.locator('[data-count="replied"]')).to_have_text("6")
    expect(page.locator('tr[data-iso3="KAZ"]')).to_have_attribute("data-category", "replied")
    assert page.locator('.tracker-map path[data-iso2="KZ"]').get_attribute("data-category") == (
        "replied"
    )
    screenshot(page, artifacts / "reply-tracker.png")
    page.click(".tracker-map >> xpath=.. >> text=Position")
    assert page.locator('.tracker-map path[data-iso2="KZ"]').get_attribute("data-category") == (
        "will_consider"
    )
    assert page.locator('.tracker-map path[data-iso2="PK"]').get_attribute("data-category") == (
        "opposes"
    )
    # filter the table without reloading the page (htmx)
    page.select_option("select[name=status]", "waiting")
    expect(page.locator('tr[data-iso3="KAZ"]')).to_have_count(0)
    screenshot(page, artifacts / "reply-tracker-positions.png")


EMBASSY_LETTER = """
<html><head><style>
  @page { size: A4; margin: 25mm 22mm; }
  body { font-family: "Noto Serif", serif; font-size: 12pt; line-height: 1.45; }
  .head { text-align: center; font-weight: bold; letter-spacing: .04em; }
  .meta { display: flex; justify-content: space-between; margin: 14mm 0 8mm; }
</style></head><body>
<div class="head">EMBASSY OF KAZAKHSTAN<br>WASHINGTON, D.C.</div>
<div class="meta"><span>No. 12-3/456</span><span>2 March 2009</span></div>
<p>Cluster Munition Coalition<br>London</p>
<p>Dear Mr Nash,</p>
<p>With reference to your letter CMC/2009/KAZ/0001 dated 30 January 2009 addressed to the
Minister of Foreign Affairs regarding the Convention on Cluster Munitions, the Embassy has the
honour to convey the following.</p>
<p>The Government of the Republic of Kazakhstan will consider accession to the Convention on
Cluster Munitions once the inter-agency review is completed.</p>
<p>Please accept the assurances of our highest consideration.</p>
<p>Political Section<br>Embassy of Kazakhstan, Washington D.C.</p>
</body></html>
"""


def scanned_reply(folder: Path) -> Path:
    """The embassy's letter as a scanner gives it: printed (WeasyPrint), scanned at 200 dpi
    (pdftoppm) and the page image wrapped as a PDF with no text layer (Pillow)."""
    printed = folder / "printed.pdf"
    HTML(string=EMBASSY_LETTER).write_pdf(printed)
    subprocess.run(
        [
            "pdftoppm",
            "-r",
            "200",
            "-gray",
            "-png",
            "-singlefile",
            str(printed),
            str(folder / "page"),
        ],
        check=True,
        timeout=60,
    )
    image = Image.open(folder / "page.png")
    out = io.BytesIO()
    image.save(out, format="PDF", resolution=200)
    scan = folder / "Embassy reply.pdf"
    scan.write_bytes(out.getvalue())
    return scan


@pytest.mark.browser
def test_a_scanned_reply_fills_the_form_and_is_logged(
    page: Page, tmp_path: Path, artifacts: Path
) -> None:
    scan = scanned_reply(tmp_path)
    assert b"/Font" not in scan.read_bytes()  # an image only: the text must be recognised
    sign_in(page, "coordinator@demarche.example", "demarche-demo")
    page.goto("/replies/new")
    page.set_input_files("input[name=attachments]", str(scan))
    status = page.locator("#analyse-status")
    expect(status).to_contain_text("Filled in", timeout=60_000)
    # the sender, the references and the dates as the letter gives them
    expect(page.locator("input[name=sender_organisation_id_name]")).to_have_value(
        "Embassy of Kazakhstan in the United States"
    )
    expect(page.locator("#sender-reason")).to_contain_text("Kazakhstan")
    expect(page.locator("input[name=sender_reference]")).to_have_value("12-3/456")
    expect(page.locator("input[name=dated_on]")).to_have_value("2009-03-02")
    expect(page.locator("input[name=cited_letter_date]")).to_have_value("2009-01-30")
    expect(page.locator("input[name=our_reference]")).to_have_value("CMC/2009/KAZ/0001")
    expect(page.locator("select[name=language]")).to_have_value("en")
    expect(page.locator("select[name=kind]")).to_have_value("reply")
    text = page.locator("textarea[name=full_text]")
    expect(text).to_have_value(re.compile(r"^— Text read from Embassy reply\.pdf —\n"))
    expect(text).to_have_value(re.compile(r"will consider accession"))
    # the letter it answers, ticked, with its reasons
    best = page.locator("#suggestions li.suggestion").first
    expect(best).to_contain_text("CMC/2009/KAZ/0001")
    expect(best).to_contain_text("Quotes our reference CMC/2009/KAZ/0001.")
    expect(best.locator("input[name=letter_ids]")).to_be_checked()
    # the position it states, to accept
    ccm = page.locator('fieldset[data-treaty="CCM"]')
    expect(ccm.locator(".position-suggestion")).to_be_visible()
    expect(ccm.locator("select[name=stance_CCM]")).to_have_value("will_consider")
    expect(ccm.locator("textarea[name=quote_CCM]")).to_have_value(
        re.compile("will consider accession")
    )
    accept = ccm.locator("input[name=accept_CCM]")
    expect(accept).not_to_be_checked()
    screenshot(page, artifacts / "reply-read-from-scan.png")
    accept.check()
    page.click("button:has-text('Log the reply')")
    page.wait_for_selector("text=Reply logged.")
    reply_url = page.url
    body = page.locator("body")
    expect(body).to_contain_text("their reference 12-3/456")
    expect(body).to_contain_text("dated 2 Mar 2009")
    expect(page.locator("ul.letters")).to_contain_text("CMC/2009/KAZ/0001")
    expect(page.locator("ul.link-reasons")).to_contain_text("Quotes our reference")
    expect(page.locator("ul.recorded-positions")).to_contain_text("Will consider")
    # the worker reads the whole scan; the page follows its progress, then shows the text
    expect(page.locator(".ocr-done")).to_contain_text("Scan read: 1 page", timeout=90_000)
    assert page.locator("pre.reply-text").inner_text().count("— Text read from") == 1
    screenshot(page, artifacts / "reply-logged-from-scan.png")

    page.click("nav.mainnav >> text=Campaigns")
    page.click("text=CCM signature drive 2009")
    page.click("text=Reply tracker")
    expect(page.locator('[data-count="replied"]')).to_have_text("6")
    kaz = page.locator('tr[data-iso3="KAZ"]')
    expect(kaz).to_have_attribute("data-category", "replied")
    expect(kaz.locator(".badge.stance-will_consider")).to_have_text("Will consider")

    page.goto("/positions?treaty=CCM")
    row = page.locator("table.positions tr", has_text="Kazakhstan")
    expect(row).to_contain_text("Will consider")
    expect(row).to_contain_text("2 Mar 2009")
    reply_id = reply_url.rstrip("/").rsplit("/", 1)[1]
    expect(row.locator("a:has-text('reply')")).to_have_attribute(
        "href", re.compile(rf"/replies/{reply_id}$")
    )

    page.goto("/contacts?q=Embassy of Kazakhstan")
    page.click("text=Embassy of Kazakhstan in the United States")
    timeline = page.locator("ul.timeline")
    expect(timeline).to_contain_text("Reply received")
    expect(timeline).to_contain_text("their reference 12-3/456")
    page.goto("/contacts?q=Ministry of Foreign Affairs of Kazakhstan")
    page.locator("a", has_text=re.compile("^Ministry of Foreign Affairs.*Kazakhstan")).first.click()
    timeline = page.locator("ul.timeline")
    expect(timeline).to_contain_text("Letter sent: CMC/2009/KAZ/0001")
    expect(timeline).to_contain_text("from Embassy of Kazakhstan in the United States")
    screenshot(page, artifacts / "reply-timeline.png")
