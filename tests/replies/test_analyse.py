"""Reading a reply for the coordinator: POST /api/v1/replies/analyse (JSON and a scan), the
form's JSON call with the session, and the form's "Read text" button without the script."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Letter, Organisation, PositionEntry, Reply, ReplyKind, Role
from app.replies import service
from tests.factories import api_headers, login, make_organisation, make_user
from tests.replies.helpers import make_letter

MISSION = "Permanent Mission of the Republic of Tajikistan to the United Nations Office at Geneva"
REPLY = """PERMANENT MISSION OF THE REPUBLIC OF TAJIKISTAN
TO THE UNITED NATIONS OFFICE AT GENEVA

No.Pol.9/4/10
Geneva, 14 June 2010

The Permanent Mission of the Republic of Tajikistan presents its compliments to the Cluster
Munition Coalition and, with reference to your letter CMC/2010/TJK/0001 dated 1 May 2010, has
the honour to inform that the Government of the Republic of Tajikistan supports the Convention
on Cluster Munitions and intends to sign it.
"""
ACKNOWLEDGEMENT = """Embassy of the Republic of Tajikistan

Geneva, 3 June 2010

The Embassy acknowledges receipt of your letter dated 1 May 2010 and has forwarded it to the
Ministry of Foreign Affairs in Dushanbe for consideration.
"""
ANSWER_KEYS = {"extracted", "letters", "tie_note", "positions", "acknowledgement", "text"}
EXTRACTED_KEYS = {
    "sender_organisation_id",
    "sender_reference",
    "dated_on",
    "cited_letter_date",
    "our_reference",
    "language",
}
FONT = Path("/usr/share/fonts/truetype/noto/NotoSans-Regular.ttf")


@dataclass
class Tajikistan:
    ministry: Organisation
    mission: Organisation
    letter: Letter


@pytest.fixture
def tajikistan(db: Session) -> Tajikistan:
    ministry = make_organisation(
        db, "Ministry of Foreign Affairs of the Republic of Tajikistan", country="TJK"
    )
    mission = make_organisation(
        db, MISSION, type="permanent_mission", country="TJK", parent_id=ministry.id
    )
    letter = make_letter(
        db,
        iso3="TJK",
        reference="CMC/2010/TJK/0001",
        sent_on=date(2010, 5, 1),
        organisation=ministry,
    )
    return Tajikistan(ministry, mission, letter)


def scan_png(text: str) -> bytes:
    """The reply as a page image at about 200 dpi, as a scanner would give it."""
    font = ImageFont.truetype(str(FONT), 34)
    lines = text.splitlines()
    image = Image.new("L", (1700, 120 + 52 * len(lines)), 255)
    draw = ImageDraw.Draw(image)
    for number, line in enumerate(lines):
        draw.text((90, 60 + 52 * number), line, fill=0, font=font)
    out = io.BytesIO()
    image.save(out, format="PNG", dpi=(200, 200))
    return out.getvalue()


def test_api_reads_the_reply_and_ranks_the_letters(
    client: TestClient, db: Session, tajikistan: Tajikistan
) -> None:
    headers = api_headers(db, make_user(db, Role.campaigner))
    resp = client.post("/api/v1/replies/analyse", json={"text": REPLY}, headers=headers)
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert set(data) == ANSWER_KEYS
    assert set(data["extracted"]) >= EXTRACTED_KEYS
    extracted = data["extracted"]
    assert extracted["sender_organisation_id"] == tajikistan.mission.id
    assert extracted["sender_reference"] == "No.Pol.9/4/10"
    assert extracted["dated_on"] == "2010-06-14"
    assert extracted["cited_letter_date"] == "2010-05-01"
    assert extracted["our_reference"] == "CMC/2010/TJK/0001"
    assert extracted["language"] == "en"
    best = data["letters"][0]
    assert best["letter_id"] == tajikistan.letter.id and best["tied"] is False
    assert "Quotes our reference CMC/2010/TJK/0001." in best["reasons"]
    assert data["tie_note"] is None
    assert {"treaty": "CCM", "stance": "supports"} in [
        {"treaty": p["treaty"], "stance": p["stance"]} for p in data["positions"]
    ]
    ccm = next(p for p in data["positions"] if p["treaty"] == "CCM")
    assert "supports the Convention" in ccm["quote"] and 0 < ccm["confidence"] <= 1
    assert data["acknowledgement"] is False
    assert data["text"] == REPLY
    # nothing is stored
    assert db.scalar(select(Reply.id).where(Reply.sender_reference == "No.Pol.9/4/10")) is None


def test_api_says_when_letters_tie_and_when_it_only_acknowledges(
    client: TestClient, db: Session, tajikistan: Tajikistan
) -> None:
    twin = make_letter(
        db,
        iso3="TJK",
        reference="CMC/2010/TJK/0002",
        sent_on=date(2010, 5, 1),
        organisation=tajikistan.ministry,
    )
    headers = api_headers(db, make_user(db, Role.campaigner))
    resp = client.post(
        "/api/v1/replies/analyse",
        json={"text": ACKNOWLEDGEMENT, "sender_organisation_id": tajikistan.ministry.id},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    data = resp.json()
    top = [s for s in data["letters"] if s["tied"]]
    assert {s["letter_id"] for s in top} == {tajikistan.letter.id, twin.id}
    assert data["tie_note"].startswith("2 letters fit equally: ")
    assert "CMC/2010/TJK/0001" in data["tie_note"] and "CMC/2010/TJK/0002" in data["tie_note"]
    assert data["acknowledgement"] is True
    assert data["positions"] == []


def test_api_analyse_refuses_bad_input(
    client: TestClient, db: Session, tajikistan: Tajikistan
) -> None:
    headers = api_headers(db, make_user(db, Role.campaigner))
    url = "/api/v1/replies/analyse"
    assert client.post(url, json={"text": REPLY}).status_code == 401
    cases = [
        (client.post(url, json={"text": "x", "country": "ZZZ"}, headers=headers), 422),
        (client.post(url, json={"text": "x" * 500_001}, headers=headers), 422),
        (client.post(url, json={"sender_organisation_id": 2**31 - 1}, headers=headers), 422),
        (client.post(url, json={"cited_letter_date": "1 May"}, headers=headers), 422),
        (client.post(url, json=["text"], headers=headers), 422),
        (
            client.post(
                url,
                content=b"{not json",
                headers={**headers, "Content-Type": "application/json"},
            ),
            422,
        ),
        (
            client.post(url, content=b"text", headers={**headers, "Content-Type": "text/plain"}),
            415,
        ),
        (
            client.post(
                url,
                data={"text": "x"},
                files={"file": ("letter.html", b"<html>hi</html>", "text/html")},
                headers=headers,
            ),
            422,
        ),
        (
            client.post(
                url,
                data={"text": "x"},
                files={"file": ("scan.png", b"", "image/png")},
                headers=headers,
            ),
            422,
        ),
        (
            client.post(
                url,
                files={
                    "file": (
                        "huge.pdf",
                        b"%PDF-1.4\n" + b"0" * service.MAX_ATTACHMENT_BYTES,
                        "application/pdf",
                    )
                },
                headers=headers,
            ),
            413,
        ),
        (
            client.post(
                url,
                data={"language": "xx"},
                files={"file": ("scan.png", scan_png("Hello"), "image/png")},
                headers=headers,
            ),
            422,
        ),
    ]
    for resp, status in cases:
        assert resp.status_code == status, resp.text
        assert resp.headers["content-type"].startswith("application/problem+json"), resp.text


def test_api_reads_a_scan_sent_as_a_form(
    client: TestClient, db: Session, tajikistan: Tajikistan
) -> None:
    headers = api_headers(db, make_user(db, Role.campaigner))
    resp = client.post(
        "/api/v1/replies/analyse",
        data={"country": "TJK"},
        files={"file": ("scan.png", scan_png(REPLY), "image/png")},
        headers=headers,
    )
    assert resp.status_code == 200, resp.text
    data = resp.json()
    assert "Convention on Cluster Munitions" in " ".join(data["text"].split())
    extracted = data["extracted"]
    assert extracted["sender_organisation_id"] == tajikistan.mission.id
    assert extracted["dated_on"] == "2010-06-14"
    assert extracted["our_reference"] == "CMC/2010/TJK/0001"
    assert extracted["language"] == "en"
    assert data["letters"][0]["letter_id"] == tajikistan.letter.id
    assert any(p["treaty"] == "CCM" and p["stance"] == "supports" for p in data["positions"])


def test_the_form_reads_with_the_session(
    client: TestClient, db: Session, tajikistan: Tajikistan
) -> None:
    """The form's script calls /replies/analyse with the session and the CSRF header; a scan's
    text comes back with the heading the worker will write it under."""
    token = login(client, make_user(db, Role.campaigner))
    assert client.post("/replies/analyse", data={"text": REPLY}).status_code == 403
    resp = client.post(
        "/replies/analyse",
        data={"text": REPLY},
        headers={"X-CSRF-Token": token},
    )
    assert resp.status_code == 200, resp.text
    assert resp.json()["extracted"]["sender_reference"] == "No.Pol.9/4/10"
    assert "scan" not in resp.json()
    scanned = client.post(
        "/replies/analyse",
        files={"file": ("Reply scan.png", scan_png(REPLY), "image/png")},
        headers={"X-CSRF-Token": token},
    )
    assert scanned.status_code == 200, scanned.text
    assert scanned.json()["scan"]["heading"] == "— Text read from Reply scan.png —"
    bad = client.post(
        "/replies/analyse",
        data={"country": "ZZZ"},
        headers={"X-CSRF-Token": token},
    )
    assert bad.status_code == 422 and bad.json()["detail"] == "ZZZ is not a country code."


def test_read_text_button_fills_the_form_without_the_script(
    client: TestClient, db: Session, tajikistan: Tajikistan
) -> None:
    token = login(client, make_user(db, Role.campaigner))
    form = {
        "csrf_token": token,
        "received_on": "2010-06-20",
        "channel": "post",
        "kind": "reply",
        "full_text": REPLY,
        "read": "1",
    }
    page = client.post("/replies", data=form)
    assert page.status_code == 200, page.text
    html = page.text
    assert "Read: " in html
    assert f'name="sender_organisation_id" value="{tajikistan.mission.id}"' in html
    assert f'value="{MISSION}"' in html
    assert 'name="sender_reference" value="No.Pol.9/4/10"' in html
    assert 'name="dated_on" value="2010-06-14"' in html
    assert 'name="cited_letter_date" value="2010-05-01"' in html
    assert 'name="our_reference" value="CMC/2010/TJK/0001"' in html
    # the letter quoted by reference is ticked; the position waits to be accepted
    assert f'name="letter_ids" value="{tajikistan.letter.id}" checked' in html
    assert '<option value="supports" selected>' in html
    assert 'name="accept_CCM" value="1" >' in html
    assert db.scalar(select(Reply.id).where(Reply.sender_reference == "No.Pol.9/4/10")) is None

    # logged as read, the suggested position accepted
    filled = {
        **form,
        "read": "",
        "sender_organisation_id": str(tajikistan.mission.id),
        "sender_organisation_id_name": MISSION,
        "sender_reference": "No.Pol.9/4/10",
        "dated_on": "2010-06-14",
        "cited_letter_date": "2010-05-01",
        "letter_ids": str(tajikistan.letter.id),
        "stance_CCM": "supports",
        "quote_CCM": "supports the Convention on Cluster Munitions",
        "suggested_CCM": "0.90",
        "accept_CCM": "1",
        "stance_MBT": "opposes",
        "suggested_MBT": "0.40",
    }
    filled.pop("read")
    resp = client.post("/replies", data=filled, follow_redirects=False)
    assert resp.status_code == 303, resp.text
    reply = db.scalar(select(Reply).where(Reply.sender_reference == "No.Pol.9/4/10"))
    assert reply is not None and reply.dated_on == date(2010, 6, 14)
    assert reply.kind is ReplyKind.reply and reply.sender_organisation_id == tajikistan.mission.id
    entries = db.scalars(select(PositionEntry).where(PositionEntry.reply_id == reply.id)).all()
    # the MBT suggestion was not accepted: only the CCM position is recorded
    assert [(e.stance.value, e.stated_on) for e in entries] == [("supports", date(2010, 6, 14))]


def test_read_text_button_marks_an_acknowledgement_and_reads_a_scan(
    client: TestClient, db: Session, tajikistan: Tajikistan
) -> None:
    token = login(client, make_user(db, Role.campaigner))
    page = client.post(
        "/replies",
        data={
            "csrf_token": token,
            "received_on": "2010-06-20",
            "kind": "reply",
            "read": "1",
        },
        files={"attachments": ("ack.png", scan_png(ACKNOWLEDGEMENT), "image/png")},
    )
    assert page.status_code == 200, page.text
    assert '<option value="acknowledgement" selected>' in page.text
    assert "— Text read from ack.png —" in page.text
    assert "Choose the scan again" in page.text
    refused = client.post(
        "/replies",
        data={"csrf_token": token, "received_on": "2010-06-20", "read": "1"},
        files={"attachments": ("notes.txt", b"plain text", "text/plain")},
    )
    assert refused.status_code == 422 and "Only PDF scans and images" in refused.text
