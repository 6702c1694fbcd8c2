"""A memo's From line: given with the merge (API and web form), kept with the batch, printed in
the memo; a memo template is merged as one letter to all its addressees by default."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.letters import service as letters_service
from app.mailmerge import rendering
from app.models import Letter, MergeBatch, Role
from tests.factories import api_headers, login, make_user

FROM_LINE = "citizens of Tajikistan from around the world"


def _memo(db: Session) -> int:
    template = letters_service.get_by_slug(db, "joint-appeal-memo")
    assert template is not None and template.layout == "memo"
    return template.id


def _payload(db: Session, world: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "template_id": _memo(db),
        "source": {"kind": "segment", "segment_id": world["segment"].id},
        "treaty": "CCM",
        "letter_date": "2010-05-01",
        "mode": "one_letter",
        "language": "en",
        **extra,
    }


def test_the_api_keeps_the_from_line_and_the_memo_prints_it(
    db: Session, world: dict[str, Any], client: TestClient
) -> None:
    headers = api_headers(db, make_user(db, Role.campaigner))
    resp = client.post(
        "/api/v1/merges", headers=headers, json=_payload(db, world, from_line=f"  {FROM_LINE} ")
    )
    assert resp.status_code == 201, resp.text
    batch = db.get(MergeBatch, resp.json()["id"])
    assert batch is not None and batch.source["from_line"] == FROM_LINE
    letter = db.scalars(select(Letter).where(Letter.batch_id == batch.id)).one()
    assert letter.context["memo"]["from"] == FROM_LINE
    names = [o["name"] for o in letter.context["organisations"]]
    assert len(names) == 6 and all(n in letter.context["memo"]["to"] for n in names)
    page = rendering.letter_html(db, letter)
    head = page.split('<table class="memo-head">', 1)[1].split("</table>", 1)[0]
    assert FROM_LINE in head and names[0] in head

    for bad in ("two\nlines", "x" * 301):
        resp = client.post(
            "/api/v1/merges", headers=headers, json=_payload(db, world, from_line=bad)
        )
        assert resp.status_code == 422, resp.text
        assert "from_line" in resp.text


def test_without_a_from_line_the_memo_speaks_for_the_organisation(
    db: Session, world: dict[str, Any], client: TestClient
) -> None:
    headers = api_headers(db, make_user(db, Role.campaigner))
    resp = client.post("/api/v1/merges", headers=headers, json=_payload(db, world))
    assert resp.status_code == 201, resp.text
    letter = db.scalars(select(Letter).where(Letter.batch_id == resp.json()["id"])).one()
    assert letter.context["memo"]["from"] == "Cluster Munition Coalition"


def test_the_web_form_takes_the_from_line(
    db: Session, world: dict[str, Any], client: TestClient
) -> None:
    token = login(client, make_user(db, Role.campaigner))
    form = client.get(f"/merges/new?template_id={_memo(db)}")
    assert 'name="from_line"' in form.text
    assert '<option value="one_letter" selected' in form.text  # a memo: one letter for all
    fields = {
        "csrf_token": token,
        "template_id": str(_memo(db)),
        "source_kind": "segment",
        "segment_id": str(world["segment"].id),
        "treaty": "CCM",
        "letter_date": "2010-05-01",
        "mode": "one_letter",
        "language": "ru",
        "from_line": "граждане Таджикистана со всего мира",
    }
    resp = client.post("/merges", data=fields, follow_redirects=False)
    assert resp.status_code in (200, 303), resp.text
    batch = db.scalars(select(MergeBatch).order_by(MergeBatch.id.desc())).first()
    assert batch is not None and batch.source["from_line"] == fields["from_line"]
    letter = db.scalars(select(Letter).where(Letter.batch_id == batch.id)).one()
    assert letter.context["memo"]["from"] == fields["from_line"]
    bad = client.post("/merges", data={**fields, "from_line": "x" * 301})
    assert bad.status_code in (200, 422) and "300" in bad.text
