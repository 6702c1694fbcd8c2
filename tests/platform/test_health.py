from __future__ import annotations

from fastapi.testclient import TestClient


def test_healthz_reports_database_queue_and_pdf_engine(client: TestClient) -> None:
    resp = client.get("/healthz")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["queue"] == {"ok": True, "storage": "sqlite", "pending": body["queue"]["pending"]}
    assert body["pdf"]["engine"] == "weasyprint"
    assert int(body["pdf"]["version"].split(".")[0]) >= 70
    assert body["pdf"]["harfbuzz_subset"] is True


def test_openapi_and_docs_are_served_without_cdn(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert "/api/v1/me" in spec["paths"]
    docs = client.get("/docs").text
    assert "cdn" not in docs.lower()
    assert "/static/vendor/swagger/swagger-ui-bundle.js" in docs
