"""Render many letters on every core, for the mail merge (Huey jobs wrap ``render_batch``).

Workers are renderer children (``render.renderer_pool``), each with its own FontConfiguration.
Each writes its PDFs straight to the output folder and returns only the path, so the parent
never holds the letters in memory. Work is submitted in a bounded window, which keeps memory
flat and lets a cancel request take effect within a few letters.
"""

from __future__ import annotations

import concurrent.futures as cf
import logging
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from unidecode import unidecode

from app.letters.render import LetterJob, RenderError, memory_limit, render_pdf, renderer_pool

log = logging.getLogger(__name__)

ProgressCallback = Callable[[int, int], None]
CancelCheck = Callable[[], bool]


@dataclass(frozen=True)
class BatchItem:
    key: str  # the caller's id for this letter (e.g. the letter row id)
    filename: str  # see letter_filename()
    job: LetterJob


@dataclass(frozen=True)
class ItemResult:
    key: str
    path: Path | None
    pages: int
    error: str | None
    subject: str = ""
    body: str = ""


@dataclass
class BatchReport:
    total: int
    rendered: list[ItemResult] = field(default_factory=list)
    failed: list[ItemResult] = field(default_factory=list)
    cancelled: bool = False

    @property
    def done(self) -> int:
        return len(self.rendered) + len(self.failed)


def letter_filename(reference: str, recipient_name: str) -> str:
    """``CMC-2010-TJK-0001_emomali-rahmon.pdf``: ASCII, safe on every file system."""

    def slug(text: str) -> str:
        return re.sub(r"[^A-Za-z0-9]+", "-", unidecode(text)).strip("-")[:60]

    ref = slug(reference) or "letter"
    name = slug(recipient_name).lower()
    return f"{ref}_{name}.pdf" if name else f"{ref}.pdf"


def _render_to_file(item: BatchItem, out_dir: str) -> ItemResult:
    """Runs in a worker process."""
    target = Path(out_dir) / item.filename
    try:
        with memory_limit(item.job.limits.memory_mb):  # this worker's own limit, per letter
            rendered = render_pdf(item.job)
        target.write_bytes(rendered.pdf)
    except RenderError as exc:
        return ItemResult(item.key, None, 0, str(exc))
    except Exception as exc:  # noqa: BLE001 - one broken letter must not stop the batch
        log.exception("letter %s failed to render", item.key)
        return ItemResult(item.key, None, 0, f"unexpected error: {type(exc).__name__}: {exc}")
    return ItemResult(item.key, target, rendered.pages, None, rendered.subject, rendered.body)


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1)


def make_pool(workers: int | None = None) -> cf.ProcessPoolExecutor:
    return renderer_pool(workers or default_workers())


def render_batch(
    items: Iterable[BatchItem],
    out_dir: Path,
    *,
    total: int,
    workers: int | None = None,
    progress: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
    pool: cf.ProcessPoolExecutor | None = None,
    on_result: Callable[[ItemResult], None] | None = None,
) -> BatchReport:
    """Render every item to ``out_dir``; a failed letter is reported, the others carry on.

    ``on_result`` sees each letter's result as it arrives (to record it while the batch runs).
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    report = BatchReport(total=total)
    own_pool = pool is None
    executor = pool or make_pool(workers)
    window = 4 * (workers or default_workers())  # bounded in-flight work
    source: Iterator[BatchItem] = iter(items)
    pending: set[cf.Future[ItemResult]] = set()
    keys: dict[cf.Future[ItemResult], str] = {}
    try:
        while True:
            cancelled = bool(should_cancel and should_cancel())
            while not cancelled and len(pending) < window:
                item = next(source, None)
                if item is None:
                    break
                future = executor.submit(_render_to_file, item, str(out_dir))
                keys[future] = item.key
                pending.add(future)
            if not pending:
                report.cancelled = cancelled
                break
            finished, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for future in finished:
                try:
                    result = future.result()
                except cf.process.BrokenProcessPool:
                    # A worker died (killed, out of memory): the letters in flight fail, the
                    # batch continues on a fresh pool.
                    result = ItemResult(keys[future], None, 0, "the renderer process stopped")
                    if own_pool:
                        executor.shutdown(wait=False, cancel_futures=True)
                        executor = make_pool(workers)
                    else:
                        raise
                (report.failed if result.error else report.rendered).append(result)
                if on_result:
                    on_result(result)
                keys.pop(future, None)
            if progress:
                progress(report.done, total)
    finally:
        if own_pool:
            executor.shutdown(wait=True, cancel_futures=True)
    return report


def combine_pdfs(
    paths: Iterable[Path], target: Path, *, chunk: int = 50, recto: bool = False
) -> int:
    """One print-ready PDF: letters joined in chunks on disk, then the chunks joined.

    With ``recto`` every letter starts on a right-hand page when printed on both sides: a blank
    page (the size of the letter's last page) follows each letter with an odd page count.
    Each chunk writer is released before the next starts, so memory holds one chunk of letters
    plus the final writer's page references. Returns the number of pages, blanks included.
    """
    from pypdf import PdfWriter

    target.parent.mkdir(parents=True, exist_ok=True)
    chunk_paths: list[Path] = []
    batch: list[Path] = []

    def flush() -> None:
        if not batch:
            return
        writer = PdfWriter()
        for path in batch:
            before = len(writer.pages)
            writer.append(str(path))
            if recto and (len(writer.pages) - before) % 2:
                last = writer.pages[-1].mediabox
                writer.add_blank_page(width=last.width, height=last.height)
        chunk_path = target.with_name(f".{target.stem}.part{len(chunk_paths):05d}.pdf")
        with chunk_path.open("wb") as fh:
            writer.write(fh)
        writer.close()
        chunk_paths.append(chunk_path)
        batch.clear()

    for path in paths:
        batch.append(path)
        if len(batch) >= chunk:
            flush()
    flush()
    final = PdfWriter()
    for chunk_path in chunk_paths:
        final.append(str(chunk_path))
    pages = len(final.pages)
    with target.open("wb") as fh:
        final.write(fh)
    final.close()
    for chunk_path in chunk_paths:
        chunk_path.unlink()
    return pages


def zip_pdfs(paths: Iterable[Path], target: Path) -> int:
    """A zip of the letters, each under its own file name (reference and recipient)."""
    count = 0
    target.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in paths:
            archive.write(path, arcname=path.name)
            count += 1
    return count


__all__ = [
    "BatchItem",
    "BatchReport",
    "ItemResult",
    "RenderError",
    "combine_pdfs",
    "letter_filename",
    "make_pool",
    "render_batch",
    "zip_pdfs",
]
