"""Batch rendering on a process pool: progress, failures, cancel, combined PDF and zip."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest
from pypdf import PdfReader

from app.letters import batch, service
from app.letters.context import sample_context
from app.letters.render import LetterJob

LIBRARY = {entry["slug"]: entry for entry in service.read_library()}


@pytest.fixture(scope="module")
def pool() -> Iterator[ProcessPoolExecutor]:
    executor = batch.make_pool(2)
    yield executor
    executor.shutdown(wait=True)


def _items(count: int, *, bad: set[int] | None = None) -> list[batch.BatchItem]:
    subject, body = LIBRARY["appeal-head-of-state"]["variants"]["en"]
    names = ["Emomali Rahmon", "Ольга Петрова", "José Núñez"]
    out = []
    for i in range(count):
        name = names[i % len(names)]
        reference = f"CMC/2010/TJK/{i + 1:04d}"
        ctx = sample_context(
            "en",
            {
                "recipient": {"name": name, "address_block": [name, "Dushanbe"]},
                "letter": {"reference": reference},
            },
        )
        text = "{{ 'x' * 10000000 }}" if bad and i in bad else body
        out.append(
            batch.BatchItem(
                key=str(i),
                filename=batch.letter_filename(reference, name),
                job=LetterJob(body=text, subject=subject, context=ctx),
            )
        )
    return out


def test_letter_filename_is_ascii_reference_and_recipient() -> None:
    assert batch.letter_filename("CMC/2010/TJK/0001", "Ольга Петрова") == (
        "CMC-2010-TJK-0001_ol-ga-petrova.pdf"
    )


def test_batch_renders_reports_failures_and_progress(
    tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    items = _items(8, bad={3})
    seen: list[tuple[int, int]] = []
    report = batch.render_batch(
        items,
        tmp_path / "out",
        total=len(items),
        pool=pool,
        progress=lambda d, t: seen.append((d, t)),
    )
    assert len(report.rendered) == 7
    assert [f.key for f in report.failed] == ["3"]
    assert "repeated sequence too long" in (report.failed[0].error or "")
    assert seen[-1] == (8, 8) and [d for d, _ in seen] == sorted(d for d, _ in seen)
    paths = sorted(r.path for r in report.rendered if r.path)
    combined = tmp_path / "all.pdf"
    pages = batch.combine_pdfs(paths, combined, chunk=3)
    reader = PdfReader(combined)
    assert pages == len(reader.pages) == sum(r.pages for r in report.rendered)
    text = "".join(p.extract_text() for p in reader.pages)
    assert "Ольга Петрова" in text and "José Núñez" in text
    assert not list(tmp_path.glob(".all.part*"))  # chunk files cleaned up
    archive = tmp_path / "letters.zip"
    assert batch.zip_pdfs(paths, archive) == 7
    with zipfile.ZipFile(archive) as zf:
        names = zf.namelist()
        assert "CMC-2010-TJK-0001_emomali-rahmon.pdf" in names
        first = PdfReader(io.BytesIO(zf.read("CMC-2010-TJK-0001_emomali-rahmon.pdf")))
        assert "CMC/2010/TJK/0001" in first.pages[0].extract_text()


def test_cancel_stops_submitting(tmp_path: Path, pool: ProcessPoolExecutor) -> None:
    items = _items(40)
    report = batch.render_batch(
        items, tmp_path, total=40, pool=pool, workers=1, should_cancel=lambda: True
    )
    assert report.cancelled and report.done == 0

    done: list[int] = []
    report = batch.render_batch(
        iter(items),
        tmp_path,
        total=40,
        pool=pool,
        workers=1,
        progress=lambda d, t: done.append(d),
        should_cancel=lambda: bool(done) and done[-1] >= 2,
    )
    assert report.cancelled
    assert 2 <= report.done < 40


def test_unwritable_output_is_a_per_letter_failure(
    tmp_path: Path, pool: ProcessPoolExecutor
) -> None:
    items = _items(2)
    (tmp_path / items[0].filename).mkdir()  # a directory where the PDF should go
    report = batch.render_batch(items, tmp_path, total=2, pool=pool)
    assert [r.key for r in report.rendered] == ["1"]
    assert report.failed[0].key == "0" and "IsADirectoryError" in (report.failed[0].error or "")
