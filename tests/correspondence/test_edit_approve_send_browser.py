"""In a browser, the workflow as people share it: a campaigner drafts a letter by email and edits
it, a coordinator approves it, the campaigner sends it to a loopback SMTP server. The PDF
attached and the PDF downloaded both carry the edit, and the email comes from the organisation."""

from __future__ import annotations

import email.policy
import io
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.demo import DEMO_LOGIN
from app.models import ContactKind, ContactPoint
from tests.support.browser import browser_page, reload_until, screenshot, sign_in
from tests.support.live import DemoSite
from tests.support.smtp import payload

EDIT = "We would also welcome a meeting with your delegation in Geneva in June."


def _text(pdf: bytes) -> str:
    reader = PdfReader(io.BytesIO(pdf))
    return " ".join(" ".join((p.extract_text() or "") for p in reader.pages).split())


def _person_id(site: DemoSite) -> int:
    """Ms Nadia Baig of the Embassy of Pakistan, as the demo has her."""
    with site.session() as session:
        person_id = session.scalar(
            select(ContactPoint.person_id).where(
                ContactPoint.kind == ContactKind.email,
                ContactPoint.value == "n.baig@embassy-pk.example",
            )
        )
    assert person_id is not None
    return person_id


@pytest.mark.browser
def test_draft_edit_approve_and_send_as_the_organisation(site: DemoSite, artifacts: Path) -> None:
    base, box, person_id = site.base, site.mailbox, _person_id(site)
    with browser_page(base) as page:  # the campaigner drafts and edits
        page.on("dialog", lambda dialog: dialog.accept())
        sign_in(page, "campaigner@demarche.example", "demarche-demo")
        page.goto(f"/contacts/people/{person_id}")
        page.click("a.write-letter")
        page.select_option(
            "select[name=template_id]", label="Request to a ministry for its policy position"
        )
        page.select_option("select[name=treaty]", "CCM")
        page.select_option("select[name=channel]", "email")
        page.fill("input[name=letter_date]", "2024-01-15")  # she is counsellor; a meeting ahead
        page.fill("input[name=name]", "Position request, Pakistan embassy")
        page.wait_for_selector("#merge-preview .recipient-count")
        page.wait_for_selector("#merge-preview table.recipients")
        gaps = page.locator("#merge-preview table.empty-fields")
        assert gaps.count() == 0, gaps.inner_text()
        page.click("text=Draft the letters")
        page.wait_for_selector("h1:has-text('Position request, Pakistan embassy')")
        reload_until(page, "done", ".merge-status", timeout=90)
        page.click("table a[href*='/letters/']")
        letter_url = page.url
        letter_id = int(letter_url.rstrip("/").split("/")[-1])
        page.goto(f"/correspondence/letters/{letter_id}")
        page.click("text=Edit the subject and text")
        body = page.input_value("textarea[name=body_html]")
        page.fill("textarea[name=body_html]", body.replace("</p>", f"</p><p>{EDIT}</p>", 1))
        page.click("button:has-text('Save text')")
        page.wait_for_selector(".flash:has-text('Letter text saved.')")
        assert "Approve" not in page.inner_text(".letter-actions")  # a coordinator approves

    with browser_page(base) as page:  # the coordinator approves
        page.on("dialog", lambda dialog: dialog.accept())
        sign_in(page, DEMO_LOGIN, "demarche-demo")
        page.goto(f"/correspondence/letters/{letter_id}")
        page.click(".letter-actions >> button:has-text('Approve')")
        page.wait_for_selector(".flash:has-text('Letter approved.')")

    with browser_page(base) as page:  # the campaigner sends it
        page.on("dialog", lambda dialog: dialog.accept())
        sign_in(page, "campaigner@demarche.example", "demarche-demo")
        page.goto(f"/correspondence/letters/{letter_id}")
        assert page.locator("text=Edit the subject and text").count() == 0  # approved
        page.click(".letter-actions >> button:has-text('Send by email')")
        page.wait_for_selector(".flash:has-text('Sending by email to n.baig@embassy-pk.example')")
        reload_until(page, "Status: sent", ".letter-actions h2", timeout=90)
        screenshot(page, artifacts / "edit-send-sent.png")
        downloaded = page.request.get(f"/letters/{letter_id}/pdf")
        assert downloaded.ok
        assert EDIT in _text(downloaded.body())

    with box.lock:
        assert len(box.messages) == 1
        raw = box.messages[0].as_bytes()
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert message["From"] == "Cluster Munition Coalition <info@cmc.example>"
    attached = next(p for p in message.walk() if p.get_content_type() == "application/pdf")
    assert EDIT in _text(payload(attached))
    plain = next(p for p in message.walk() if p.get_content_type() == "text/plain")
    assert EDIT in plain.get_content()
