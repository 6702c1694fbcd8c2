"""Fuzz the whole JSON API from its OpenAPI schema: no 5xx, 4xx as problem+json, responses match.

`make test` runs a bounded number of examples per operation; `make fuzz` runs many more
(DEMARCHE_FUZZ_EXAMPLES) with every check of schemathesis (DEMARCHE_FUZZ_CHECKS=all).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis import Case
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    positive_data_acceptance,
)
from sqlalchemy.orm import Session

from app.main import create_app
from app.models import Role
from tests.factories import api_headers, make_user
from tests.support.databases import BACKEND
from tests.support.dbuse import RUN_ALL

EXAMPLES = int(os.environ.get("DEMARCHE_FUZZ_EXAMPLES", "8"))
ALL_CHECKS = os.environ.get("DEMARCHE_FUZZ_CHECKS") == "all"
# Two checks judge the API against the schema alone, which it cannot say everything in: lax
# coercion (false → 0, "5" → 5) is accepted by design, and cross-field rules (a yearly deadline
# needs month and day, an end after its start) or references to rows that don't exist rightly
# get a 4xx for schema-valid data. With every check on they still run, and what they find is
# listed in tests/artifacts/fuzz-schema-strictness.txt; a 5xx always fails.
SCHEMA_ONLY = (negative_data_rejection, positive_data_acceptance)
REPORT = Path(__file__).resolve().parents[1] / "artifacts" / "fuzz-schema-strictness.txt"

# Real-world addresses: the default generator uses special-use domains (.test) that email
# validation rightly refuses.
schemathesis.openapi.format("email", st.emails())


# The app reads its database session at request time, so the schema can be built at import and
# every call still joins the test's rolled-back transaction.
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app())
# `make fuzz` (DEMARCHE_FUZZ_EXAMPLES) and DEMARCHE_TEST_ALL send everything on any database.
if BACKEND != "sqlite" and not RUN_ALL and "DEMARCHE_FUZZ_EXAMPLES" not in os.environ:
    # A request the schema refuses stops at validation, before the database: the SQLite pass
    # sends every coverage case, the PostgreSQL pass the valid ones at their bounds (the
    # longest names, the largest numbers), which are what a database may refuse differently.
    schema.config.phases.coverage.generation.update(modes=[GenerationMode.POSITIVE])
    # The random phase is derandomized, so it would send the SQLite pass's requests again;
    # its valid values lie within the bounds the coverage cases above already reach.
    schema.config.phases.fuzzing.enabled = False


@pytest.fixture
def admin_headers(db: Session) -> dict[str, str]:
    return api_headers(db, make_user(db, Role.admin))


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_api_operation(case: Case, admin_headers: dict[str, str]) -> None:
    response = case.call(headers=admin_headers)
    assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text}"
    if 400 <= response.status_code < 500:
        assert response.headers["content-type"][0].startswith("application/problem+json")
        body = response.json()
        assert body["status"] == response.status_code and body["detail"]
    case.validate_response(response, excluded_checks=list(SCHEMA_ONLY))
    if ALL_CHECKS:
        try:
            case.validate_response(response, checks=list(SCHEMA_ONLY))
        except (Failure, FailureGroup) as exc:  # a finding to list, not a failure
            REPORT.parent.mkdir(parents=True, exist_ok=True)
            found = exc.exceptions if isinstance(exc, FailureGroup) else [exc]
            first = "; ".join(getattr(f, "title", type(f).__name__) for f in found)
            with REPORT.open("a", encoding="utf-8") as fh:
                fh.write(f"{case.method} {case.formatted_path} {response.status_code}: {first}\n")
