"""Mail merge web UI: the form and its recipient preview, roles, CSRF, batch and letter pages."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from app.mailmerge import service
from app.mailmerge.schemas import MergeCreate
from app.models import Role
from tests.factories import login, make_person, make_user


def _form(world: dict[str, Any], token: str, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": token,
        "template_id": str(world["template"].id),
        "source_kind": "segment",
        "segment_id": str(world["segment"].id),
        "treaty": "CCM",
        "letter_date": "2010-03-25",
        "reference_pattern": "{campaign_code}/{year}/{iso3}/{seq:04d}",
        "channel": "post",
        **extra,
    }


def test_coordinator_drafts_a_merge_from_the_form(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    token = login(client, make_user(db, Role.coordinator))
    page = client.get("/merges/new")
    assert page.status_code == 200 and world["segment"].name in page.text
    preview = client.post("/merges/preview", data=_form(world, token))
    assert preview.status_code == 200
    assert "Executive Office of the President of the Republic of Tajikistan" not in preview.text
    assert "Emomali Rahmon" in preview.text and ">6<" in preview.text
    resp = client.post("/merges", data=_form(world, token), follow_redirects=False)
    assert resp.status_code == 303
    url = resp.headers["location"]
    detail = client.get(url)
    assert detail.status_code == 200
    assert "CMC/2010/TJK/0001" in detail.text
    assert 'hx-trigger="every 1s"' in detail.text  # live progress while queued
    assert "Cancel merge" in detail.text
    progress = client.get(f"{url}/progress")
    assert "0 of 6 rendered" in progress.text


def test_form_errors_are_shown_inline(
    client: TestClient, db: Session, world: dict[str, Any]
) -> None:
    token = login(client, make_user(db, Role.coordinator))
    resp = client.post("/merges", data=_form(world, token, reference_pattern="{year}"))
    assert resp.status_code == 422 and "{seq}" in resp.text
    quiet = make_person(db, family_name="Nopost", no_post=True)
    form = _form(world, token, source_kind="contacts", person_ids=str(quiet.id))
    preview = client.post("/merges/preview", data=form)
    assert "Excluded" in preview.text and "no post" in preview.text
    refused = client.post("/merges", data=form)
    assert refused.status_code == 422 and "No recipient can receive" in refused.text


def test_roles_and_csrf(client: TestClient, db: Session, world: dict[str, Any]) -> None:
    assert client.get("/merges/new", follow_redirects=False).status_code in (303, 401)
    token = login(client, make_user(db))
    assert client.get("/merges").status_code == 200
    # Campaigners draft merges; approving the letters is a coordinator's.
    assert client.get("/merges/new").status_code == 200
    created = client.post("/merges", data=_form(world, token), follow_redirects=False)
    assert created.status_code == 303
    login(client, make_user(db, Role.coordinator))
    no_token = _form(world, "")
    del no_token["csrf_token"]
    assert client.post("/merges", data=no_token).status_code == 403


def test_batch_page_report_downloads_and_letter_page(
    client: TestClient, db: Session, world: dict[str, Any], pool: ProcessPoolExecutor
) -> None:
    data = MergeCreate.model_validate(
        {
            "template_id": world["template"].id,
            "source": {"kind": "segment", "segment_id": world["segment"].id},
            "treaty": "CCM",
            "letter_date": "2010-03-25",
        }
    )
    batch = service.create_merge(db, data=data, actor=None)
    letter = service.list_letters(db, batch_id=batch.id, q="rahmon")[0][0]
    assert client.get(f"/letters/{letter.id}/pdf", follow_redirects=False).status_code in (
        303,
        401,
    )
    service.run_batch(batch.id, pool=pool)
    token = login(client, make_user(db, Role.coordinator))
    detail = client.get(f"/merges/{batch.id}")
    assert "every 1s" not in detail.text and "Combined PDF" in detail.text
    assert "Run again" in detail.text
    polled = client.get(f"/merges/{batch.id}/progress", headers={"HX-Request": "true"})
    assert polled.headers["HX-Refresh"] == "true"  # the finished merge reloads its page once
    pdf = client.get(f"/merges/{batch.id}/combined.pdf")
    assert pdf.status_code == 200 and "attachment" in pdf.headers["content-disposition"]
    assert client.get(f"/merges/{batch.id}/letters.zip").status_code == 200
    page = client.get(f"/letters/{letter.id}")
    assert page.status_code == 200
    assert "CMC/2010/TJK/0001" in page.text and "H.E. Emomali Rahmon" in page.text
    assert "version 1 (ru" in page.text
    framed = client.get(f"/letters/{letter.id}/preview")
    assert "CMC/2010/TJK/0001" in framed.text and "Э.Ш. Рахмону" in framed.text
    assert "frame-ancestors 'self'" in framed.headers["content-security-policy"]
    assert "sandbox" in framed.headers["content-security-policy"]
    assert framed.headers["x-frame-options"] == "SAMEORIGIN"
    one = client.get(f"/letters/{letter.id}/pdf")
    assert one.headers["content-type"] == "application/pdf"
    assert "CMC-2010-TJK-0001" in one.headers["content-disposition"]
    listing = client.get(f"/letters?batch_id={batch.id}&q=rahmon")
    assert "CMC/2010/TJK/0001" in listing.text and "CMC/2010/PAK" not in listing.text
    assert "No letter matches" in client.get("/letters?q=zzzz-nothing").text
    rerun = client.post(
        f"/merges/{batch.id}/rerun", data={"csrf_token": token}, follow_redirects=False
    )
    assert rerun.status_code == 303
    assert service.list_letters(db, batch_id=batch.id)[1] == 6
