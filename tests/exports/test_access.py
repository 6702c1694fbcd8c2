"""Who may export, who may download, what is left out, and what the audit log keeps."""

from __future__ import annotations

import csv
import io

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.exports import jobs as export_jobs
from app.exports import service
from app.exports.schemas import ExportRequest
from app.models import AuditEntry, ExportStatus, Role, User
from tests.exports.conftest import Directory
from tests.factories import api_headers, login, make_user


def _req(directory: Directory, **values: object) -> ExportRequest:
    return ExportRequest.model_validate(
        {"source": "segment", "segment_id": directory.segment.id, **values}
    )


def test_do_not_contact_left_out_with_counts_and_reasons(db: Session, directory: Directory) -> None:
    preview = service.preview(db, req=_req(directory))
    assert preview.excluded["do not post"] == 1
    assert preview.excluded["do not email"] == 1
    names = {(e.name, e.reason) for e in preview.excluded_sample}
    assert ("Paul Nopost", "do not post") in names
    assert ("Ella Noemail", "do not email") in names
    included = service.preview(db, req=_req(directory, include_do_not_contact=True))
    assert "do not post" not in included.excluded
    assert included.exported == preview.exported + 2


def test_postal_formats_leave_out_contacts_without_an_address(
    db: Session, directory: Directory
) -> None:
    from tests.factories import make_person

    make_person(db, given_name="No", family_name="Address", tags=[directory.tag])
    preview = service.preview(db, req=_req(directory, format="labels"))
    assert preview.excluded["no postal address"] == 1
    assert preview.excluded["do not post"] == 1
    assert "do not email" not in preview.excluded  # paper mail is still fine


def test_merge_contacts_at_the_same_address(
    db: Session, directory: Directory, coordinator: User
) -> None:
    req = _req(
        directory, merge_same_address=True, columns=["display_name", "street_address", "merged"]
    )
    preview = service.preview(db, req=req)
    assert preview.merged == 1
    download = service.start(db, req=req, user=coordinator)
    assert isinstance(download, service.Download)  # a CSV streams, it is not queued
    rows = list(csv.DictReader(io.StringIO(b"".join(download.body).decode())))
    moscow = [r for r in rows if r["Street address"] == "ул. Тверская, 13"]
    assert len(moscow) == 1
    assert moscow[0]["Name"] == "Мария Иванова; Anna Colleague"
    assert moscow[0]["Contacts at this address"] == "2"


def test_campaigner_may_not_export(
    client: TestClient, db: Session, directory: Directory, campaigner: User
) -> None:
    resp = client.post(
        "/api/v1/exports",
        headers=api_headers(db, campaigner),
        json={"source": "segment", "segment_id": directory.segment.id},
    )
    assert resp.status_code == 403
    assert resp.headers["content-type"] == "application/problem+json"
    login(client, campaigner)
    assert client.get("/exports").status_code == 403
    assert "/exports" not in client.get("/").text


def test_an_export_is_audited_with_who_what_and_how_many(
    client: TestClient, db: Session, directory: Directory, coordinator: User
) -> None:
    resp = client.post(
        "/api/v1/exports",
        headers=api_headers(db, coordinator),
        json={"source": "segment", "segment_id": directory.segment.id},
    )
    assert resp.status_code == 200
    entry = db.scalars(select(AuditEntry).where(AuditEntry.action == "export")).one()
    assert entry.user_id == coordinator.id
    assert entry.details["exported"] == 5
    assert entry.details["format"] == "csv"
    assert entry.details["excluded"]["do not post"] == 1
    assert entry.details["complete"] is True
    assert "segment Export test segment" in entry.summary


def test_background_job_progress_and_owner_only_download(
    client: TestClient, db: Session, directory: Directory, coordinator: User
) -> None:
    other = make_user(db, Role.coordinator)
    resp = client.post(
        "/api/v1/exports",
        headers=api_headers(db, coordinator),
        json={
            "source": "segment",
            "segment_id": directory.segment.id,
            "format": "xlsx",
            "background": True,
        },
    )
    assert resp.status_code == 202
    job_id = resp.json()["id"]
    assert resp.json()["status"] == "queued"
    assert resp.json()["download_url"] is None
    job = export_jobs.run_job(job_id)
    assert job is not None and job.status == ExportStatus.done
    assert job.percent == 100 and job.exported == 5
    mine = client.get(f"/api/v1/exports/jobs/{job_id}", headers=api_headers(db, coordinator))
    assert mine.json()["download_url"].endswith(f"/api/v1/exports/jobs/{job_id}/download")
    got = client.get(
        f"/api/v1/exports/jobs/{job_id}/download", headers=api_headers(db, coordinator)
    )
    assert got.status_code == 200
    assert got.headers["content-type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert got.headers["content-disposition"].startswith("attachment;")
    assert got.content[:2] == b"PK"
    # someone else: the job does not exist for them
    for path in (f"/api/v1/exports/jobs/{job_id}", f"/api/v1/exports/jobs/{job_id}/download"):
        assert client.get(path, headers=api_headers(db, other)).status_code == 404
    listing = client.get("/api/v1/exports/jobs", headers=api_headers(db, other)).json()
    assert listing["total"] == 0
    login(client, other)
    assert client.get(f"/exports/jobs/{job_id}/download").status_code == 404


def test_web_form_downloads_a_csv_and_checks_csrf(
    client: TestClient, db: Session, directory: Directory, coordinator: User
) -> None:
    token = login(client, coordinator)
    page = client.get("/exports")
    assert page.status_code == 200
    assert "Export test segment" in page.text
    form = {
        "source": "segment",
        "segment_id": str(directory.segment.id),
        "format": "csv",
        "column_1": "family_name",
        "column_2": "email",
        "excel": "on",
        "delimiter": "semicolon",
    }
    refused = client.post("/exports/download", data=form)
    assert refused.status_code == 403
    resp = client.post("/exports/download", data={**form, "csrf_token": token})
    assert resp.status_code == 200
    assert resp.headers["content-disposition"].startswith("attachment;")
    text = resp.content.decode("utf-8-sig")
    assert text.splitlines()[0] == "Family name;Email"
    assert "Иванова;maria@example.org" in text


def test_web_preview_shows_who_is_left_out(
    client: TestClient, db: Session, directory: Directory, coordinator: User
) -> None:
    token = login(client, coordinator)
    resp = client.post(
        "/exports/preview",
        data={
            "source": "segment",
            "segment_id": str(directory.segment.id),
            "format": "labels",
            "csrf_token": token,
        },
    )
    assert resp.status_code == 200
    assert "do not post" in resp.text and "Paul Nopost" in resp.text


def test_web_form_errors_are_inline(client: TestClient, db: Session, coordinator: User) -> None:
    token = login(client, coordinator)
    resp = client.post("/exports/download", data={"source": "segment", "csrf_token": token})
    assert resp.status_code == 422
    assert "choose a segment" in resp.text
    resp = client.post(
        "/exports/download", data={"source": "search", "f_country": "ZZZ", "csrf_token": token}
    )
    assert resp.status_code == 422
    assert "ZZZ" in resp.text


def test_web_background_export_then_download(
    client: TestClient, db: Session, directory: Directory, coordinator: User
) -> None:
    token = login(client, coordinator)
    resp = client.post(
        "/exports/download",
        follow_redirects=False,
        data={
            "source": "segment",
            "segment_id": str(directory.segment.id),
            "format": "labels",
            "background": "on",
            "csrf_token": token,
        },
    )
    assert resp.status_code == 303
    jobs, _ = export_jobs.list_jobs(db, user=coordinator)
    assert len(jobs) == 1
    page = client.get("/exports/jobs", headers={"HX-Request": "true"})
    assert 'hx-trigger="every 2s"' in page.text
    export_jobs.run_job(jobs[0].id)
    page = client.get("/exports")
    assert "Download demarche-segment-export-test-segment" in page.text
    pdf = client.get(f"/exports/jobs/{jobs[0].id}/download")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    deleted = client.post(
        f"/exports/jobs/{jobs[0].id}/delete", data={"csrf_token": token}, follow_redirects=False
    )
    assert deleted.status_code == 303
    assert client.get(f"/exports/jobs/{jobs[0].id}/download").status_code == 404


def test_campaign_targets_export_their_offices(
    client: TestClient, db: Session, directory: Directory, coordinator: User
) -> None:
    from app.campaigns import service as campaigns_service
    from app.campaigns.schemas import CampaignCreate

    campaign = campaigns_service.create(
        db,
        data=CampaignCreate.model_validate({"name": "Tajik outreach", "countries": "TJK"}),
        owner=coordinator,
        actor=coordinator,
    )
    req = ExportRequest(source="campaign", campaign_id=campaign.id)
    selection = service.select_contacts(db, req)
    assert selection.organisation_ids == [directory.ministry.id]
    assert selection.person_ids == []
    everyone = service.select_contacts(
        db, ExportRequest(source="campaign", campaign_id=campaign.id, campaign_scope="all")
    )
    assert directory.minister.id in everyone.person_ids


def test_unknown_segment_is_404(client: TestClient, db: Session, coordinator: User) -> None:
    resp = client.post(
        "/api/v1/exports/preview",
        headers=api_headers(db, coordinator),
        json={"source": "segment", "segment_id": 999999},
    )
    assert resp.status_code == 404
