"""Health of the database, the task queue and the PDF engine."""

from __future__ import annotations

from typing import Any

from sqlalchemy import text

from app.db import get_engine


def database_status() -> dict[str, Any]:
    try:
        with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("SELECT 1"))
        return {"ok": True, "backend": get_engine().dialect.name}
    except Exception as exc:  # noqa: BLE001 - a health check reports failures, it never raises
        return {"ok": False, "backend": get_engine().dialect.name, "error": str(exc)[:200]}


def queue_status() -> dict[str, Any]:
    from app.queue import huey, storage_kind

    try:
        pending = huey.pending_count()
        return {"ok": True, "storage": storage_kind(), "pending": pending}
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "storage": storage_kind(), "error": str(exc)[:200]}


def pdf_status() -> dict[str, Any]:
    try:
        import weasyprint
        from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

        subset_ok = bool(harfbuzz_subset) and bool(harfbuzz.hb_version_atleast(4, 1, 0))
        return {
            "ok": True,
            "engine": "weasyprint",
            "version": weasyprint.__version__,
            "harfbuzz_subset": subset_ok,
        }
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "engine": "weasyprint", "error": str(exc)[:200]}


def report() -> dict[str, Any]:
    checks = {"database": database_status(), "queue": queue_status(), "pdf": pdf_status()}
    return {"status": "ok" if all(c["ok"] for c in checks.values()) else "degraded", **checks}
