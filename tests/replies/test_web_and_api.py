"""Logging replies in the web UI and the API: suggestions, validation, roles, CSRF, escaping."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import LetterStatus, PositionEntry, Reply, Role
from tests.factories import api_headers, login, make_organisation, make_user
from tests.replies.helpers import log_reply, make_letter

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n"


def test_suggestions_fragment_updates_as_the_form_is_filled(
    client: TestClient, db: Session
) -> None:
    mfa = make_organisation(db, "MFA (web test)", type="ministry", country="PAK")
    embassy = make_organisation(
        db, "Embassy (web test)", type="embassy", country="PAK", parent_id=mfa.id
    )
    letter = make_letter(db, reference="CMC/2009/PAK/0001", organisation=mfa)
    login(client, make_user(db, Role.campaigner))
    resp = client.get(
        "/replies/suggest",
        params={
            "sender_organisation_id": str(embassy.id),
            "full_text": "your letter dated 30 January 2009",
        },
        headers={"HX-Request": "true"},
    )
    assert resp.status_code == 200 and "<html" not in resp.text
    assert "CMC/2009/PAK/0001" in resp.text
    assert f'value="{letter.id}"' in resp.text
    assert "Cites our letter of 30 January 2009." in resp.text
    junk = client.get(
        "/replies/suggest", params={"sender_organisation_id": "abc", "cited_letter_date": "x"}
    )
    assert junk.status_code == 200 and "No suggestion yet" in junk.text


def test_log_a_reply_with_position_and_attachment(client: TestClient, db: Session) -> None:
    mfa = make_organisation(db, "MFA (form test)", type="ministry", country="PAK")
    letter = make_letter(db, organisation=mfa)
    token = login(client, make_user(db, Role.campaigner))
    form = client.get(f"/replies/new?letter_id={letter.id}")
    assert form.status_code == 200 and letter.reference in form.text
    resp = client.post(
        "/replies",
        data={
            "csrf_token": token,
            "received_on": "2009-03-02",
            "channel": "post",
            "sender_organisation_id": str(mfa.id),
            "sender_reference": "No.Pol.9/4/09",
            "summary": XSS,
            "full_text": "Reference your letter dated 30 January 2009.",
            "letter_ids": str(letter.id),
            "stance_CCM": "opposes",
            "quote_CCM": XSS,
        },
        files={"attachments": ("scan.pdf", PDF, "application/pdf")},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    db.expire_all()
    reply = db.scalar(select(Reply).where(Reply.sender_reference == "No.Pol.9/4/09"))
    assert reply is not None
    db.refresh(letter)
    assert letter.status is LetterStatus.replied
    entry = db.scalar(select(PositionEntry).where(PositionEntry.reply_id == reply.id))
    assert entry is not None and entry.stance.value == "opposes"
    page = client.get(resp.headers["location"])
    assert "<script>alert" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;" in page.text
    assert "scan.pdf" in page.text
    listing = client.get("/replies?q=Pol.9")
    assert "No.Pol.9/4/09" in listing.text and "<script>alert" not in listing.text


def test_invalid_form_shows_messages_and_writes_nothing(client: TestClient, db: Session) -> None:
    draft = make_letter(db, status=LetterStatus.draft)
    token = login(client, make_user(db, Role.campaigner))
    count = len(db.scalars(select(Reply.id)).all())
    resp = client.post("/replies", data={"csrf_token": token, "received_on": "", "channel": "post"})
    assert resp.status_code == 422 and "valid date" in resp.text
    resp = client.post("/replies", data={"csrf_token": token, "received_on": "2009-03-02"})
    assert resp.status_code == 422 and "Say who sent the reply" in resp.text
    resp = client.post(
        "/replies",
        data={
            "csrf_token": token,
            "received_on": "2009-03-02",
            "sender_name": "X",
            "letter_ids": str(draft.id),
        },
    )
    assert resp.status_code == 422 and "has not been sent" in resp.text
    resp = client.post(
        "/replies",
        data={
            "csrf_token": token,
            "received_on": "2009-03-02",
            "sender_name": "X",
            "letter_refs": "CMC/1999/XXX/0001",
        },
    )
    assert resp.status_code == 422 and "No letter has the reference" in resp.text
    resp = client.post(
        "/replies",
        data={"csrf_token": token, "received_on": "2009-03-02", "sender_name": "X"},
        files={"attachments": ("a.pdf", b"<html></html>", "application/pdf")},
    )
    assert resp.status_code == 422 and "only PDF scans and images" in resp.text
    db.expire_all()
    assert len(db.scalars(select(Reply.id)).all()) == count


def test_csrf_and_sign_in_required(client: TestClient, db: Session) -> None:
    assert client.get("/replies", follow_redirects=False).status_code in {302, 303, 401}
    login(client, make_user(db, Role.campaigner))
    resp = client.post("/replies", data={"received_on": "2009-03-02", "sender_name": "X"})
    assert resp.status_code == 403


def test_coordinator_only_actions(client: TestClient, db: Session) -> None:
    letter = make_letter(db)
    campaigner = make_user(db, Role.campaigner)
    headers = api_headers(db, campaigner)
    created = client.post(
        "/api/v1/replies",
        json={"received_on": "2009-03-02", "sender_name": "MFA", "letter_ids": [letter.id]},
        headers=headers,
    )
    assert created.status_code == 201
    reply_id = created.json()["id"]
    assert client.delete(f"/api/v1/replies/{reply_id}", headers=headers).status_code == 403
    token = login(client, campaigner)
    assert client.post(f"/replies/{reply_id}/delete", data={"csrf_token": token}).status_code == 403
    coordinator = api_headers(db, make_user(db, Role.coordinator))
    assert client.delete(f"/api/v1/replies/{reply_id}", headers=coordinator).status_code == 204
    db.refresh(letter)
    assert letter.status is LetterStatus.sent


def test_api_create_suggest_and_errors(client: TestClient, db: Session) -> None:
    letter = make_letter(db, reference="CMC/2009/AFG/0001", iso3="AFG")
    headers = api_headers(db, make_user(db, Role.campaigner))
    sug = client.post(
        "/api/v1/replies/suggest", json={"subject": "Re: CMC/2009/AFG/0001"}, headers=headers
    )
    assert sug.status_code == 200
    assert sug.json()[0]["letter_id"] == letter.id and sug.json()[0]["score"] >= 90
    body = {
        "received_on": "2009-03-09",
        "sender_name": "MFA of Afghanistan",
        "letter_ids": [letter.id],
        "positions": [{"treaty": "CCM", "stance": "will_consider", "quote": XSS}],
    }
    created = client.post("/api/v1/replies", json=body, headers=headers)
    assert created.status_code == 201, created.text
    data = created.json()
    assert data["country"] == "AFG" and data["letters"][0]["matched_by"] == "manual"
    assert data["positions"][0]["stance"] == "will_consider"
    for bad in (
        {**body, "letter_ids": [999999]},
        {**body, "positions": [{"treaty": "NOPE", "stance": "supports"}]},
        {**body, "sender_name": ""},
        {**body, "sender_organisation_id": 999999},
    ):
        resp = client.post("/api/v1/replies", json=bad, headers=headers)
        assert resp.status_code == 422, (bad, resp.text)
        assert resp.headers["content-type"].startswith("application/problem+json")
    listed = client.get(f"/api/v1/replies?letter_id={letter.id}", headers=headers).json()
    assert listed["total"] == 1
    assert client.get("/api/v1/replies/999999", headers=headers).status_code == 404


def test_edit_a_reply_with_optimistic_locking(client: TestClient, db: Session) -> None:
    letter = make_letter(db)
    user = make_user(db, Role.campaigner)
    headers = api_headers(db, user)
    created = client.post(
        "/api/v1/replies",
        json={"received_on": "2009-03-02", "sender_name": "MFA", "letter_ids": [letter.id]},
        headers=headers,
    ).json()
    body = {"received_on": "2009-03-03", "sender_name": "MFA", "summary": "Corrected", "version": 1}
    resp = client.put(f"/api/v1/replies/{created['id']}", json=body, headers=headers)
    assert resp.status_code == 200 and resp.json()["summary"] == "Corrected"
    stale = client.put(f"/api/v1/replies/{created['id']}", json=body, headers=headers)
    assert stale.status_code == 409
    token = login(client, user)
    form = client.get(f"/replies/{created['id']}/edit")
    assert 'name="version" value="2"' in form.text
    resp = client.post(
        f"/replies/{created['id']}/edit",
        data={"csrf_token": token, "received_on": "2009-03-04", "summary": XSS, "version": "2"},
        follow_redirects=False,
    )
    assert resp.status_code == 303
    page = client.get(f"/replies/{created['id']}")
    assert "4 Mar 2009" in page.text and "<script>alert" not in page.text
    stale_form = client.post(
        f"/replies/{created['id']}/edit",
        data={"csrf_token": token, "received_on": "2009-03-04", "version": "2"},
    )
    assert stale_form.status_code == 422 and "Someone else changed this reply" in stale_form.text


def test_api_reply_list_loads_replies_together(client: TestClient, db: Session) -> None:
    """The list costs the same few queries for 2 replies as for 12 (no queries per reply), and
    each reply still carries its letters, country and positions."""
    from sqlalchemy import event

    headers = api_headers(db, make_user(db, Role.campaigner))
    org = make_organisation(db, "Ministry of Foreign Affairs of Chile", country="CHL")

    def log(n: int) -> None:
        for i in range(n):
            letter = make_letter(db, iso3="CHL")
            body = {
                "received_on": "2009-03-09",
                "sender_name": f"MFA {i}",
                "sender_organisation_id": org.id,
                "letter_ids": [letter.id],
                "positions": [{"treaty": "CCM", "stance": "supports", "quote": f"quote {i}"}],
            }
            assert client.post("/api/v1/replies", json=body, headers=headers).status_code == 201

    def listing() -> tuple[int, dict[str, Any]]:
        statements: list[str] = []

        def count(*args: object) -> None:
            statements.append(str(args[2]))

        conn = db.connection()
        event.listen(conn, "before_cursor_execute", count)
        try:
            resp = client.get("/api/v1/replies?q=MFA&per_page=50", headers=headers)
        finally:
            event.remove(conn, "before_cursor_execute", count)
        assert resp.status_code == 200
        return len(statements), resp.json()

    log(2)
    few, first = listing()
    log(10)
    many, data = listing()
    assert data["total"] == 12
    assert many == few
    item = data["items"][0]
    assert item["country"] == "CHL" and item["letters"] and item["positions"]
    assert {i["positions"][0]["quote"] for i in data["items"]} == {
        f"quote {i}" for i in range(10)
    } | {"quote 0", "quote 1"}


# --- reading, positions from the reply page, senders, triage, timelines, scans ----------------

STATEMENT = (
    "With reference to your letter dated 30 January 2009, the Government of Pakistan "
    "supports the Convention on Cluster Munitions."
)


def _reply(db: Session, **values: object) -> Reply:
    from tests.replies.helpers import log_reply

    return db.get_one(Reply, log_reply(db, **values))


def test_positions_accepted_corrected_and_added_from_the_reply_page(
    client: TestClient, db: Session
) -> None:
    mfa = make_organisation(db, "MFA (positions page)", country="PAK")
    letter = make_letter(db, organisation=mfa)
    reply = _reply(
        db,
        sender_organisation_id=mfa.id,
        dated_on="2009-02-20",
        full_text=STATEMENT,
        letter_ids=[letter.id],
    )
    campaigner = make_user(db, Role.campaigner)
    token = login(client, campaigner)
    page = client.get(f"/replies/{reply.id}")
    assert "Suggested from the text" not in page.text  # coordinators record positions
    refused = client.post(
        f"/replies/{reply.id}/positions",
        data={"csrf_token": token, "treaty": "CCM", "stance": "supports"},
    )
    assert refused.status_code == 403

    token = login(client, make_user(db, Role.coordinator))
    page = client.get(f"/replies/{reply.id}")
    assert 'class="suggested-position" data-treaty="CCM"' in page.text
    assert "supports the Convention on Cluster Munitions" in page.text
    accept = {
        "csrf_token": token,
        "treaty": "CCM",
        "stance": "supports",
        "quote": "the Government of Pakistan supports the Convention on Cluster Munitions.",
    }
    for _ in range(2):  # a double click records it once
        resp = client.post(f"/replies/{reply.id}/positions", data=accept, follow_redirects=False)
        assert resp.status_code == 303, resp.text
    entries = db.scalars(select(PositionEntry).where(PositionEntry.reply_id == reply.id)).all()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.stance.value == "supports" and entry.stated_on == date(2009, 2, 20)
    assert entry.country_id == reply.country_id
    page = client.get(f"/replies/{reply.id}")
    assert 'class="suggested-position"' not in page.text  # accepted: no longer suggested
    assert 'class="activity recorded-positions"' in page.text

    # corrected: another treaty, another stance, the quote as the coordinator reads it
    corrected = client.post(
        f"/replies/{reply.id}/positions",
        data={**accept, "treaty": "MBT", "stance": "will_consider", "quote": XSS},
        follow_redirects=False,
    )
    assert corrected.status_code == 303
    added = client.post(
        f"/replies/{reply.id}/positions",
        data={"csrf_token": token, "treaty": "CCM", "stance": "opposes", "stated_on": "2009-03-01"},
        follow_redirects=False,
    )
    assert added.status_code == 303
    db.expire_all()
    got = {
        (e.stance.value, e.stated_on.isoformat())
        for e in db.scalars(select(PositionEntry).where(PositionEntry.reply_id == reply.id))
    }
    assert got == {
        ("supports", "2009-02-20"),
        ("will_consider", "2009-02-20"),
        ("opposes", "2009-03-01"),
    }
    page = client.get(f"/replies/{reply.id}")
    assert "<script>alert" not in page.text
    bad = client.post(
        f"/replies/{reply.id}/positions",
        data={"csrf_token": token, "treaty": "NOPE", "stance": "supports"},
    )
    assert bad.status_code == 422 and "NOPE is not a treaty" in bad.text
    stranger = _reply(db, sender_name="Somebody", full_text=STATEMENT)
    no_state = client.post(
        f"/replies/{stranger.id}/positions",
        data={"csrf_token": token, "treaty": "CCM", "stance": "supports"},
    )
    assert no_state.status_code == 422 and "needs the state" in no_state.text


def test_api_positions_and_the_reply_read(client: TestClient, db: Session) -> None:
    mfa = make_organisation(db, "MFA (API positions)", country="PAK")
    letter = make_letter(db, organisation=mfa)
    reply = _reply(
        db,
        sender_organisation_id=mfa.id,
        dated_on="2009-02-21",
        language="en",
        kind="acknowledgement",
        letter_ids=[letter.id],
    )
    body = [{"treaty": "CCM", "stance": "already_party", "quote": "Pakistan is a party."}]
    campaigner = api_headers(db, make_user(db, Role.campaigner))
    url = f"/api/v1/replies/{reply.id}/positions"
    assert client.post(url, json=body, headers=campaigner).status_code == 403
    coordinator = api_headers(db, make_user(db, Role.coordinator))
    resp = client.post(url, json=body, headers=coordinator)
    assert resp.status_code == 201, resp.text
    [entry] = resp.json()
    assert entry["reply_id"] == reply.id and entry["stated_on"] == "2009-02-21"
    assert entry["country"] == "PAK" and entry["stance"] == "already_party"
    for bad in ([], [{"treaty": "CCM", "stance": "maybe"}], body * 21):
        resp = client.post(url, json=bad, headers=coordinator)
        assert resp.status_code == 422, resp.text
    assert (
        client.post("/api/v1/replies/999999/positions", json=body, headers=coordinator).status_code
        == 404
    )
    data = client.get(f"/api/v1/replies/{reply.id}", headers=campaigner).json()
    assert data["dated_on"] == "2009-02-21" and data["kind"] == "acknowledgement"
    assert data["language"] == "en"
    assert data["positions"][0]["stance"] == "already_party"
    assert data["letters"][0]["reasons"]  # who linked it, when not from a suggestion


def test_sender_search_and_names_resolved_without_the_script(
    client: TestClient, db: Session
) -> None:
    embassy = make_organisation(db, "Embassy of Pakistan in Berne", type="embassy", country="PAK")
    make_organisation(db, "Embassy of Pakistan in Brussels", type="embassy", country="PAK")
    make_organisation(db, "Twin Office", country="PAK")
    make_organisation(db, "Twin Office", country="AFG")
    token = login(client, make_user(db, Role.campaigner))
    found = client.get("/replies/senders", params={"kind": "organisation", "q": "embassy pakistan"})
    assert found.status_code == 200
    names = {i["name"]: i for i in found.json()["items"]}
    assert {"Embassy of Pakistan in Berne", "Embassy of Pakistan in Brussels"} <= set(names)
    assert names["Embassy of Pakistan in Berne"]["id"] == embassy.id
    assert "Pakistan" in names["Embassy of Pakistan in Berne"]["detail"]
    twins = client.get("/replies/senders", params={"kind": "organisation", "q": "Twin Office"})
    labels = sorted(i["label"] for i in twins.json()["items"])
    assert len(labels) == 2 and all(label.startswith("Twin Office (#") for label in labels)
    assert client.get("/replies/senders", params={"q": "a"}).json() == {"items": []}
    assert client.get("/replies/senders", params={"kind": "letter", "q": "ab"}).status_code == 422

    base = {"csrf_token": token, "received_on": "2009-03-02", "channel": "post"}
    resp = client.post(
        "/replies",
        data={**base, "sender_organisation_id_name": "embassy of pakistan in berne"},
        follow_redirects=False,
    )
    assert resp.status_code == 303, resp.text
    reply = db.get(Reply, int(resp.headers["location"].rsplit("/", 1)[1]))
    assert reply is not None and reply.sender_organisation_id == embassy.id
    assert reply.country_id is not None
    ambiguous = client.post(
        "/replies", data={**base, "sender_organisation_id_name": "Embassy of Pakistan"}
    )
    assert ambiguous.status_code == 422 and "Several entries match" in ambiguous.text
    twin = client.post(
        "/replies",
        data={**base, "sender_organisation_id_name": labels[0]},
        follow_redirects=False,
    )
    assert twin.status_code == 303, twin.text
    chosen = db.get(Reply, int(twin.headers["location"].rsplit("/", 1)[1]))
    assert chosen is not None and f"(#{chosen.sender_organisation_id})" in labels[0]
    unknown = client.post(
        "/replies", data={**base, "sender_organisation_id_name": "Nowhere Ministry"}
    )
    assert unknown.status_code == 422 and "No organisation in the directory" in unknown.text
    # an id the script set, then the name changed by hand: the name wins
    changed = client.post(
        "/replies",
        data={
            **base,
            "sender_organisation_id": str(embassy.id),
            "sender_organisation_id_name": "Embassy of Pakistan in Brussels",
        },
        follow_redirects=False,
    )
    assert changed.status_code == 303
    moved = db.get(Reply, int(changed.headers["location"].rsplit("/", 1)[1]))
    assert moved is not None and moved.sender_organisation_id != embassy.id


def test_triage_one_click_link_keeps_the_reasons_and_drops_the_guesses(
    client: TestClient, db: Session
) -> None:
    from app.models import ReplyStatus
    from app.replies import service
    from app.replies.schemas import ReplyCreate

    mfa = make_organisation(db, "MFA (triage)", country="AFG")
    right = make_letter(db, iso3="AFG", reference="CMC/2009/AFG/0101", organisation=mfa)
    other = make_letter(db, iso3="AFG", reference="CMC/2009/AFG/0102", organisation=mfa)
    quoted = service.create(
        db,
        data=ReplyCreate(
            received_on="2009-03-01",
            sender_name="MFA",
            sender_email="mfa@example.af",
            subject="Re: CMC/2009/AFG/0101",
        ),
        actor=None,
        status=ReplyStatus.triage,
    )
    tied = service.create(
        db,
        data=ReplyCreate(
            received_on="2009-03-01",
            sender_organisation_id=mfa.id,
            full_text="Your letter of 30 January 2009 has been received.",
        ),
        actor=None,
        status=ReplyStatus.triage,
    )
    token = login(client, make_user(db, Role.coordinator))
    listing = client.get("/replies?status=triage")
    assert "Link to CMC/2009/AFG/0101" in listing.text
    assert "2 letters fit equally: CMC/2009/AFG/0101" in listing.text
    assert "Link to CMC/2009/AFG/0102" not in listing.text  # a tie has no one-click guess
    page = client.get(f"/replies/{tied.id}")
    assert "2 letters fit equally" in page.text and "best-guess" not in page.text
    for letter in (right, other):  # both listed, neither ticked
        assert f'name="letter_ids" value="{letter.id}" >' in page.text

    resp = client.post(
        f"/replies/{quoted.id}/link",
        data={"csrf_token": token, "letter_ids": str(right.id), "back": "triage"},
        follow_redirects=False,
    )
    assert resp.status_code == 303 and resp.headers["location"] == "/replies?status=triage"
    db.expire_all()
    link = db.get_one(Reply, quoted.id).links[0]
    assert link.letter_id == right.id and "Quotes our reference CMC/2009/AFG/0101." in link.reasons
    page = client.get(f"/replies/{quoted.id}")
    assert "Quotes our reference CMC/2009/AFG/0101." in page.text
    assert "CMC/2009/AFG/0102" not in page.text  # the other guesses are gone once linked
    assert "best-guess" not in page.text
    listing = client.get("/replies?status=triage")
    assert "Link to CMC/2009/AFG/0101" not in listing.text
    campaigner_token = login(client, make_user(db, Role.campaigner))
    assert (
        client.post(
            f"/replies/{tied.id}/link",
            data={"csrf_token": campaigner_token, "letter_ids": str(other.id)},
        ).status_code
        == 403
    )


def test_timelines_show_letters_sent_and_replies_received(client: TestClient, db: Session) -> None:
    from tests.factories import make_person, make_position

    mfa = make_organisation(db, "MFA (timeline)", country="PAK")
    embassy = make_organisation(
        db, "Embassy (timeline)", type="embassy", country="PAK", parent_id=mfa.id
    )
    minister = make_person(db, given_name="Shah", family_name="Qureshi")
    make_position(db, minister, mfa, title="Minister")
    letter = make_letter(db, reference="CMC/2009/PAK/0707", organisation=mfa, person=minister)
    later = make_letter(
        db, reference="CMC/2009/PAK/0708", organisation=mfa, sent_on=date(2009, 6, 1)
    )
    forwarded = _reply(
        db,
        sender_organisation_id=embassy.id,
        sender_reference="EMB/77",
        subject="Your letter on cluster munitions",
        received_on="2009-03-05",
        letter_ids=[letter.id],
    )
    own = _reply(
        db, sender_person_id=minister.id, subject="From the minister", received_on="2009-04-01"
    )
    login(client, make_user(db, Role.campaigner))
    page = client.get(f"/contacts/organisations/{mfa.id}")
    assert page.status_code == 200, page.text
    timeline = page.text.split('class="activity timeline"')[1].split("</ul>")[0]
    assert "Letter sent: CMC/2009/PAK/0707" in timeline
    assert f'href="/correspondence/letters/{letter.id}"' in timeline
    assert f'href="/replies/{forwarded.id}"' in timeline and "from Embassy (timeline)" in timeline
    # newest first
    assert timeline.index("CMC/2009/PAK/0708") < timeline.index(f"/replies/{forwarded.id}")
    assert timeline.index(f"/replies/{forwarded.id}") < timeline.index("CMC/2009/PAK/0707")
    embassy_page = client.get(f"/contacts/organisations/{embassy.id}").text
    assert (
        f'href="/replies/{forwarded.id}"' in embassy_page
        and "CMC/2009/PAK/0707" not in embassy_page
    )
    person = client.get(f"/contacts/people/{minister.id}").text
    assert f'href="/replies/{own.id}"' in person and "Letter sent: CMC/2009/PAK/0707" in person
    assert "CMC/2009/PAK/0708" not in person  # sent to the ministry, not to him
    headers = api_headers(db, make_user(db, Role.campaigner))
    events = client.get(f"/api/v1/organisations/{mfa.id}/timeline", headers=headers).json()
    kinds = [(e["kind"], e["url"]) for e in events if e["kind"] in {"letter", "reply"}]
    assert kinds[:3] == [
        ("letter", f"/correspondence/letters/{later.id}"),
        ("reply", f"/replies/{forwarded.id}"),
        ("letter", f"/correspondence/letters/{letter.id}"),
    ]


def test_scan_reading_progress_and_reading_again(client: TestClient, db: Session) -> None:
    from app.models import ReplyAttachment
    from app.replies import service

    reply = _reply(db, sender_name="MFA")
    attachment = service.add_attachment(
        db, reply_id=reply.id, filename="scan.pdf", content=PDF, actor=None
    )
    assert attachment.ocr_status == "queued"
    attachment.ocr_status, attachment.ocr_pages, attachment.ocr_pages_done = "running", 5, 1
    db.flush()
    token = login(client, make_user(db, Role.campaigner))
    page = client.get(f"/replies/{reply.id}")
    assert "Reading scan: page 2 of 5" in page.text
    assert f'hx-get="http://testserver/replies/attachments/{attachment.id}/ocr"' in page.text
    poll = client.get(f"/replies/attachments/{attachment.id}/ocr", headers={"HX-Request": "true"})
    assert (
        poll.status_code == 200 and "page 2 of 5" in poll.text and "HX-Refresh" not in poll.headers
    )
    attachment.ocr_status, attachment.ocr_error = "failed", "The PDF is damaged."
    db.flush()
    poll = client.get(f"/replies/attachments/{attachment.id}/ocr", headers={"HX-Request": "true"})
    assert poll.headers.get("HX-Refresh") == "true"  # finished: the page reloads
    page = client.get(f"/replies/{reply.id}")
    assert (
        "The scan could not be read: The PDF is damaged." in page.text
        and "Read again as" in page.text
    )
    bad = client.post(
        f"/replies/attachments/{attachment.id}/ocr", data={"csrf_token": token, "language": "xx"}
    )
    assert bad.status_code == 422 and "Scans can be read in" in bad.text
    again = client.post(
        f"/replies/attachments/{attachment.id}/ocr",
        data={"csrf_token": token, "language": "fr"},
        follow_redirects=False,
    )
    assert again.status_code == 303
    db.expire_all()
    stored = db.get(ReplyAttachment, attachment.id)
    assert stored is not None and (stored.ocr_status, stored.ocr_language) == ("queued", "fr")
    assert client.get("/replies/attachments/999999/ocr").status_code == 404


def test_replies_are_found_by_their_text_in_any_script(client: TestClient, db: Session) -> None:
    coordinator = make_user(db, Role.coordinator)
    log_reply(
        db,
        sender_name="Посольство",
        full_text="— Текст из скана —\nПравительство изучает Конвенцию по кассетным боеприпасам.",
    )
    log_reply(db, sender_name="Another sender", full_text="Nothing about it.")
    headers = api_headers(db, coordinator)
    for q in ("конвенцию", "КОНВЕНЦИЮ", "кассетным"):
        found = client.get("/api/v1/replies", params={"q": q}, headers=headers).json()
        assert [r["sender_name"] for r in found["items"]] == ["Посольство"], q
    login(client, coordinator)
    assert "Посольство" in client.get("/replies", params={"q": "конвенцию"}).text
