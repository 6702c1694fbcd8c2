"""Runaway templates through every render path: each stops at a limit with a clear 422, an
inline message or a failed letter saying why; the web process stays small and no renderer child
outlives its render."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.correspondence import queues as correspondence_queues
from app.correspondence import sending as correspondence_sending
from app.letters import render
from app.letters import service as letters_service
from app.letters.context import build_context
from app.letters.limits import LimitExceeded, TemplateProblem
from app.letters.sandbox import check_source, render_capped
from app.mailmerge import service as merge_service
from app.models import (
    Letter,
    LetterStatus,
    LetterTemplate,
    Role,
    TemplateVersion,
)
from tests.factories import api_headers, login, make_user
from tests.support.waiting import eventually
from tests.support.world import merge_world

# The bounds under test are the sandbox's and the renderer's; the database only holds the
# templates and letters that carry a runaway, so the SQLite pass runs these alone.
pytestmark = pytest.mark.one_database

# A second: each path sends the slow body through it (several times, some), and a legitimate
# render under these limits is the merge's, which has limits of its own (MERGE_LIMITS).
SECONDS = 1.0
MEMORY_MB = 300
LIMITS = render.RenderLimits(seconds=SECONDS, memory_mb=MEMORY_MB)
MERGE_LIMITS = render.RenderLimits(seconds=2 * SECONDS, memory_mb=MEMORY_MB)
# The longest any path may take: the time limit, the parent's grace, the renderer's start.
BOUND = SECONDS + render.IsolatedRenderer.GRACE_SECONDS + 30

# Within the sandbox's bound on loop turns, each turn slow: only the time limit stops it.
SLOW = "{% for a in 'x' * 90000 %}{% if ('x' * 90000)|list|sort|length %}{% endif %}{% endfor %}"
RUNAWAY = {
    "nested loops": "{% for a in 'x' * 9000 %}{% for b in 'x' * 9000 %}{{ b }}{% endfor %}"
    "{% endfor %}",
    "huge repetition": "{{ 'x' * 100000000 }}",
    "center": "{{ 'x'|center(500000000) }}",
    "replace": "{{ ('x' * 99999)|replace('x', 'y' * 99999) }}",
    "string method": "{{ ('x' * 99999).replace('x', 'y' * 99999) }}",
    "format width": "{{ '{:>999999999}'.format(1) }}",
    "macro recursion": "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
    "deep nesting": "{% if 1 %}" * 100 + "x" + "{% endif %}" * 100,
    "time": SLOW,
    "memory": "{% set x %}{% for a in 'x' * 9000 %}{{ 'y' * 99999 }}{% endfor %}{% endset %}"
    "{{ x|length }}",
}
# What the messages say: a limit, or (at save) a field the letter fields do not know.
SAYS_WHY = (
    "limit",
    "longer than",
    "too large",
    "too deeply",
    "more than",
    "Unknown merge field",
    "repeated sequence too long",
    "at most",
)


def _says_why(text: str) -> bool:
    return any(words in text for words in SAYS_WHY)


# ----------------------------------------------------------------------------- process checks


def _fork_server() -> int | None:
    from multiprocessing import forkserver

    return getattr(forkserver._forkserver, "_forkserver_pid", None)


def _children() -> dict[int, str]:
    """pid → state of every process whose parent is this one or its fork server (the renderers'
    parent), read from /proc/*/stat."""
    parents = {os.getpid(), _fork_server()}
    found: dict[int, str] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        state, ppid = text[text.rindex(")") + 2 :].split()[:2]
        if int(ppid) in parents:
            found[int(text.split()[0])] = state
    return found


def _renderer_children() -> set[int]:
    """The warm renderers' processes, their fork server and multiprocessing's resource tracker
    (one each per process)."""
    from multiprocessing import resource_tracker

    pids: set[int] = set()
    for helper in (getattr(resource_tracker._resource_tracker, "_pid", None), _fork_server()):
        if helper:
            pids.add(helper)
    for renderer in render._ISOLATED._all:
        if renderer._pool is not None:
            pids |= set(getattr(renderer._pool, "_processes", {}))
    return pids


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
    except OSError:
        return ""


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(autouse=True)
def bounded(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Small limits; afterwards no new child of this process but the warm renderers, none a
    zombie, and this process no more than ~100 MB larger."""
    monkeypatch.setattr(render, "DEFAULT_LIMITS", LIMITS)
    before = set(_children())
    rss = _rss_mb()
    yield

    def strays() -> dict[int, str]:
        new = {pid: s for pid, s in _children().items() if pid not in before}
        return {pid: s for pid, s in new.items() if pid not in _renderer_children() or s == "Z"}

    def left_behind() -> str:
        stray = strays()
        commands = {pid: _command(pid) for pid in stray}
        return f"child processes left behind to end: {stray} {commands}"

    eventually(lambda: not strays(), 10, interval=0.2, what=left_behind)
    assert _rss_mb() - rss < 100, f"the web process grew by {_rss_mb() - rss:.0f} MB"


@pytest.fixture
def timed() -> Iterator[None]:
    started = time.monotonic()
    yield
    assert time.monotonic() - started < BOUND * len(RUNAWAY)


def _bounded_call(fn: Any, *args: Any, **kwargs: Any) -> Any:
    started = time.monotonic()
    result = fn(*args, **kwargs)
    assert time.monotonic() - started < BOUND
    return result


# ----------------------------------------------------------------------------- data


@pytest.fixture
def world(db: Session) -> dict[str, Any]:
    """The demo directory, the CMC profile and a heads-of-state segment (as the merge tests)."""
    return merge_world(db, "Heads of state (runaway test)")


def _template(db: Session, body: str, subject: str = "On {{ treaty.name }}") -> LetterTemplate:
    """A template whose current text was stored before saving ran it (as older data is)."""
    template = LetterTemplate(
        slug=f"runaway-{uuid.uuid4().hex[:8]}", name="Runaway", default_language="en"
    )
    db.add(template)
    db.flush()
    db.add(
        TemplateVersion(
            template_id=template.id, language="en", number=1, subject=subject, body=body
        )
    )
    db.flush()
    return letters_service.get(db, template.id)


def _letter(db: Session, *, body: str, subject: str = "Cluster munitions", **values: Any) -> Letter:
    template = _template(db, "<p>{{ recipient.salutation }}</p>")
    version = letters_service.current_versions(template)["en"]
    reference = f"CMC/2010/TJK/{uuid.uuid4().int % 10**6:06d}"
    letter = Letter(
        reference=reference,
        recipient_key=f"test:{uuid.uuid4().hex[:12]}",
        recipient_name="H.E. the Minister",
        context=build_context(
            language="en",
            letter_date=date(2010, 3, 25),
            reference=reference,
            recipient={"salutation": "Excellency,", "country": "Tajikistan"},
            treaty={"name": "Convention on Cluster Munitions", "short_name": "CCM"},
        ),
        template_version_id=version.id,
        language="en",
        subject=subject,
        body_html=body,
        status=values.pop("status", LetterStatus.draft),
        **values,
    )
    db.add(letter)
    db.flush()
    return letter


def _is_problem(resp: Any) -> bool:
    return resp.status_code == 422 and resp.headers["content-type"].startswith(
        "application/problem+json"
    )


# ----------------------------------------------------------------------------- the sandbox


@pytest.mark.parametrize("name", [n for n in RUNAWAY if n not in ("time", "memory")])
def test_the_sandbox_stops_each_runaway_at_a_bound(name: str) -> None:
    from app.letters.context import sample_context

    with pytest.raises(TemplateProblem) as stopped:
        render_capped(RUNAWAY[name], sample_context("en"), max_chars=400_000)
    assert _says_why(str(stopped.value)), stopped.value


def test_nothing_runs_while_a_template_compiles() -> None:
    """Jinja folds constant filters while compiling; the letter sandbox folds nothing."""
    started = _rss_mb()
    check_source("{{ 'x'|center(500000000) }}{{ ('x' * 99999)|replace('x', 'y' * 99999) }}")
    assert _rss_mb() - started < 50


@pytest.mark.parametrize(
    "source",
    ["{{ " + "(" * 500 + "1" + ")" * 500 + " }}", "{{ " + "1 + " * 5000 + "1 }}", "x" * 200_001],
    ids=["parentheses", "long sum", "long source"],
)
def test_compile_time_bounds_refuse_before_compiling(source: str) -> None:
    with pytest.raises(LimitExceeded):
        check_source(source)


# ----------------------------------------------------------------------------- saving a template


def test_template_save_in_the_api_refuses_every_runaway(
    client: TestClient, db: Session, timed: None
) -> None:
    headers = api_headers(db, make_user(db, Role.coordinator))
    template = letters_service.get_by_slug(db, "follow-up-reminder")
    assert template is not None
    for name, body in RUNAWAY.items():
        new = {"slug": f"r-{uuid.uuid4().hex[:6]}", "name": name, "language": "en"}
        created = _bounded_call(
            client.post,
            "/api/v1/templates",
            json={**new, "subject": "S", "body": body},
            headers=headers,
        )
        assert _is_problem(created) and _says_why(created.json()["detail"]), (name, created.text)
        saved = _bounded_call(
            client.put,
            f"/api/v1/templates/{template.id}/variants/fr",
            json={"subject": body, "body": "<p>x</p>"},
            headers=headers,
        )
        assert _is_problem(saved) and _says_why(saved.json()["detail"]), (name, saved.text)


def test_template_save_in_the_web_ui_shows_the_limit_inline(
    client: TestClient, db: Session, timed: None
) -> None:
    token = login(client, make_user(db, Role.coordinator))
    template = letters_service.get_by_slug(db, "thank-you-ratification")
    assert template is not None
    before = len(letters_service.history(template, "en"))
    for name, body in RUNAWAY.items():
        resp = _bounded_call(
            client.post,
            f"/templates/{template.id}/edit/en",
            data={"csrf_token": token, "subject": "Thanks", "body": body},
        )
        assert resp.status_code == 422 and _says_why(resp.text), name
    db.expire_all()
    assert len(letters_service.history(letters_service.get(db, template.id), "en")) == before


# ----------------------------------------------------------------------------- previews


def test_template_preview_of_a_stored_runaway_is_a_422(
    client: TestClient, db: Session, timed: None
) -> None:
    headers = api_headers(db, make_user(db))
    for name, body in RUNAWAY.items():
        template = _template(db, body)
        for fmt in ("html", "pdf"):
            resp = _bounded_call(
                client.post,
                f"/api/v1/templates/{template.id}/preview",
                json={"format": fmt},
                headers=headers,
            )
            assert _is_problem(resp) and _says_why(resp.json()["detail"]), (name, resp.text)


def test_letter_preview_and_pdf_of_a_stored_runaway_are_422(
    client: TestClient, db: Session, timed: None
) -> None:
    headers = api_headers(db, make_user(db))
    login(client, make_user(db))
    for name, body in RUNAWAY.items():
        letter = _letter(db, body=body)
        pdf = _bounded_call(client.get, f"/api/v1/letters/{letter.id}/pdf", headers=headers)
        assert _is_problem(pdf) and _says_why(pdf.json()["detail"]), (name, pdf.text)
        preview = _bounded_call(client.get, f"/letters/{letter.id}/preview")
        assert preview.status_code == 422 and _says_why(preview.text), name
        page = _bounded_call(client.get, f"/correspondence/letters/{letter.id}")
        assert page.status_code == 200 and _says_why(page.text), name  # shown inline


def test_merge_preview_refuses_a_runaway_template(
    client: TestClient, db: Session, world: dict[str, Any], timed: None
) -> None:
    headers = api_headers(db, make_user(db))
    for name, body in RUNAWAY.items():
        template = _template(db, body)
        resp = _bounded_call(
            client.post,
            "/api/v1/merges/preview",
            json={
                "template_id": template.id,
                "source": {"kind": "segment", "segment_id": world["segment"].id},
                "treaty": "CCM",
                "letter_date": "2010-03-25",
            },
            headers=headers,
        )
        assert _is_problem(resp) and _says_why(resp.json()["detail"]), (name, resp.text)


# ----------------------------------------------------------------------------- letters


def test_letter_text_put_refuses_every_runaway(
    client: TestClient, db: Session, timed: None
) -> None:
    headers = api_headers(db, make_user(db))
    letter = _letter(db, body="<p>{{ recipient.salutation }}</p>")
    for name, body in RUNAWAY.items():
        for text in (
            {"subject": "S", "body_html": body},
            {"subject": body, "body_html": "<p>x</p>"},
        ):
            resp = _bounded_call(
                client.put, f"/api/v1/letters/{letter.id}/text", json=text, headers=headers
            )
            assert _is_problem(resp) and _says_why(resp.json()["detail"]), (name, resp.text)
    db.expire_all()
    assert db.get_one(Letter, letter.id).body_html == "<p>{{ recipient.salutation }}</p>"


def test_the_letter_list_shows_stored_subjects_without_rendering(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    subject = "{{ ('x' * 99999)|replace('x', 'y' * 99999) }}"
    _letter(db, body="<p>x</p>", subject=subject)
    filled = _letter(db, body="<p>x</p>", subject="For Office {{ '{' }}{ 7*7 }}")

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a list view ran a template")

    monkeypatch.setattr(render, "fill_isolated", never)
    login(client, make_user(db))
    resp = client.get("/correspondence", params={"stage": "approval"})
    assert resp.status_code == 200
    assert "replace(&#39;x&#39;" in resp.text  # the stored text, as written
    assert "For Office {{ 7*7 }}" in resp.text  # a filled-in subject as it prints
    assert correspondence_queues.row(filled).subject == "For Office {{ 7*7 }}"


def test_email_send_fails_the_letter_with_the_reason(db: Session, timed: None) -> None:
    for name, body in RUNAWAY.items():
        letter = _letter(
            db,
            body=body,
            status=LetterStatus.approved,
            email_to="minister@mfa.example",
            send_requested_at=datetime.now(UTC),
        )
        outbox = _bounded_call(correspondence_sending.queue_email, db, letter_id=letter.id)
        assert outbox is None
        assert letter.status == LetterStatus.failed and _says_why(letter.sent_note), name


def test_a_merge_fails_each_runaway_letter_with_its_reason(
    db: Session, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.mailmerge.schemas import MergeCreate

    # the batch's other letters are real ones, typeset within the time limit
    monkeypatch.setattr(render, "DEFAULT_LIMITS", MERGE_LIMITS)

    data = MergeCreate.model_validate(
        {
            "template_id": world["template"].id,
            "source": {"kind": "segment", "segment_id": world["segment"].id},
            "treaty": "CCM",
            "letter_date": date(2010, 3, 25),
        }
    )
    batch = merge_service.create_merge(db, data=data, actor=None)
    letters = list(db.scalars(select(Letter).where(Letter.batch_id == batch.id)))
    runaway = list(RUNAWAY.values())
    for letter, body in zip(letters, runaway, strict=False):
        letter.subject, letter.body_html = "Stored", body
    db.flush()
    _bounded_call(merge_service.run_batch, batch.id, workers=2)
    db.expire_all()
    for letter, _ in zip(letters, runaway, strict=False):
        stored = db.get(Letter, letter.id)
        assert stored is not None and not stored.pdf_path
        assert _says_why(stored.render_error), stored.render_error


# ----------------------------------------------------------------------------- the renderer


def test_a_render_the_childs_alarm_misses_is_killed_with_its_child() -> None:
    """A job without its own alarm (seconds=0) stands for a render stuck in C code: the parent
    gives up after the grace period, kills the child and its process group, and reaps it."""
    from app.letters.context import sample_context

    stuck = render.TextJob(
        subject="S",
        body=SLOW,
        context=sample_context("en"),
        limits=render.RenderLimits(seconds=0, memory_mb=MEMORY_MB),
    )
    started = time.monotonic()
    with pytest.raises(render.RenderTimeout):
        render.fill_isolated(stuck)
    assert time.monotonic() - started < BOUND
    ok = render.TextJob(subject="S", body="<p>{{ recipient.name }}</p>", context=sample_context())
    assert "Emomali Rahmon" in render.fill_isolated(ok)[1]
