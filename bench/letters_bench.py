"""Letter rendering against raw WeasyPrint, in the same run, on the same template.

raw      = Jinja (plain environment, autoescape) + ``HTML(string).write_pdf()`` with one shared
           FontConfiguration and WeasyPrint's default URL fetcher;
service  = ``app.letters.render.render_pdf``: sandbox, size cap, time limit, page check,
           letterhead-only fetcher.
merge    = the mail merge end to end (``app.mailmerge.service``): a merge batch drafted for N
           recipients in a scratch SQLite database, then the render job (letters → PDFs on the
           process pool, progress written to the database), then the combined PDF and the zip.
names    = the letter with its names localised (context from facts, grammar filters) against the
           same letter with the names as plain strings, per language.

Figures: per-letter service/raw (target <= 1.10), localised names/plain (<= 1.05), batch
throughput with W workers against 0.8 x W x the raw single-process rate (200 and 1,000
letters), worker memory growth from letter 100 to letter 1,000 (<= 10 MB), Cyrillic and Arabic
letters against a Latin one (<= 1.15).
Written to bench/results/letters.json.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import tempfile
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "letters.json"
SLUG = "appeal-head-of-state"
SAMPLES = int(os.environ.get("LETTERS_BENCH_SAMPLES", "40"))
COUNTS = tuple(int(c) for c in os.environ.get("LETTERS_BENCH_COUNTS", "200,1000").split(","))


@lru_cache(maxsize=1)
def _library_entry() -> dict[str, Any]:
    from app.letters import service

    return next(e for e in service.read_library() if e["slug"] == SLUG)


def _job(lang: str, index: int = 1) -> Any:
    from app.letters.context import sample_context
    from app.letters.render import LetterJob

    entry = _library_entry()
    subject, body = entry["variants"][lang]
    reference = f"CMC/2010/TJK/{index:04d}"
    ctx = sample_context(lang, {"letter": {"reference": reference}})
    return LetterJob(body=body, subject=subject, context=ctx, language=lang, layout=entry["layout"])


class Raw:
    """The baseline: the same body and layout through plain Jinja and plain WeasyPrint."""

    def __init__(self) -> None:
        from jinja2 import Environment, FileSystemLoader, StrictUndefined
        from markupsafe import Markup

        from app.config import get_settings
        from app.letters.render import _layout_context, assets_dir, font_config

        self.env = Environment(
            autoescape=True,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            loader=FileSystemLoader(str(get_settings().letter_templates_dir / "layouts")),
        )
        from app.letters.language.filters import FILTERS

        # The templates use the grammar filters; the baseline gets the same ones.
        self.env.filters.update(FILTERS)
        self.markup = Markup
        self.layout_context = _layout_context
        self.base_url = assets_dir().as_uri() + "/"
        self.font_config = font_config()
        self.cache: dict[str, Any] = {}

    def _compiled(self, source: str) -> Any:
        # Compiled once, as any sensible merge loop would (the service caches them too).
        if source not in self.cache:
            self.cache[source] = self.env.from_string(source)
        return self.cache[source]

    def render(self, job: Any) -> bytes:
        from weasyprint import HTML

        subject = self._compiled(job.subject).render(job.context)
        body = self.markup(self._compiled(job.body).render(job.context))
        html = self.env.get_template(f"{job.layout}.html").render(
            self.layout_context(job, body, subject)
        )
        pdf: bytes = HTML(string=html, base_url=self.base_url).write_pdf(
            font_config=self.font_config
        )
        return pdf


def _timed(fn: Any, job: Any) -> float:
    start = time.perf_counter()
    fn(job)
    return time.perf_counter() - start


def per_letter() -> dict[str, Any]:
    from app.letters.render import render_pdf, warm_up

    warm_up()
    raw = Raw()
    jobs = {lang: _job(lang) for lang in ("en", "ru", "ar")}
    for _ in range(3):
        raw.render(jobs["en"])
        render_pdf(jobs["en"])
    times: dict[str, list[float]] = {"raw": [], "service": [], "ru": [], "ar": []}
    for i in range(SAMPLES):
        # Interleaved, so a busy neighbour on the machine slows both sides alike.
        pair = [("raw", raw.render), ("service", render_pdf)]
        for name, fn in pair if i % 2 else reversed(pair):
            times[name].append(_timed(fn, jobs["en"]))
        times["ru"].append(_timed(render_pdf, jobs["ru"]))
        times["ar"].append(_timed(render_pdf, jobs["ar"]))
    med = {k: statistics.median(v) for k, v in times.items()}
    return {
        "samples": SAMPLES,
        "raw_ms": round(med["raw"] * 1000, 2),
        "service_ms": round(med["service"] * 1000, 2),
        "service_vs_raw": round(med["service"] / med["raw"], 3),
        "latin_ms": round(med["service"] * 1000, 2),
        "cyrillic_ms": round(med["ru"] * 1000, 2),
        "arabic_ms": round(med["ar"] * 1000, 2),
        "cyrillic_vs_latin": round(med["ru"] / med["service"], 3),
        "arabic_vs_latin": round(med["ar"] / med["service"], 3),
        "raw_rate_per_s": round(1 / med["raw"], 2),
    }


def _plain_job(lang: str) -> Any:
    """The same letter with its names already written out: a body without fields or filters
    and a context made once (the service as it rendered before names were localised)."""
    from app.letters.render import LetterJob, render_parts

    job = _job(lang)
    subject, body, _ = render_parts(job)
    return LetterJob(
        body=body, subject=subject, context=job.context, language=lang, layout=job.layout
    )


def names() -> dict[str, Any]:
    """Per-letter time with the names localised (the context built from facts for each letter:
    the recipient by protocol, treaty, meeting and state names, Russian cases and French
    articles through the filters) against the same letter with plain strings, interleaved."""
    from app.letters.render import render_pdf, warm_up

    warm_up()
    out: dict[str, Any] = {"samples": SAMPLES}
    worst = 0.0
    for lang in ("en", "fr", "ru", "ar", "zh"):
        plain = _plain_job(lang)
        render_pdf(plain)
        render_pdf(_job(lang))
        times: dict[str, list[float]] = {"plain": [], "names": []}
        for i in range(SAMPLES):
            # Interleaved: the names side builds the letter's context and renders it.
            for name in ("plain", "names") if i % 2 else ("names", "plain"):
                start = time.perf_counter()
                render_pdf(plain if name == "plain" else _job(lang))
                times[name].append(time.perf_counter() - start)
        med = {k: statistics.median(v) for k, v in times.items()}
        ratio = med["names"] / med["plain"]
        worst = max(worst, ratio)
        out[lang] = {
            "plain_ms": round(med["plain"] * 1000, 2),
            "names_ms": round(med["names"] * 1000, 2),
            "names_vs_plain": round(ratio, 3),
        }
    out["worst_names_vs_plain"] = round(worst, 3)
    return out


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def memory_run(count: int) -> dict[str, int]:
    """Runs in a warmed worker process: render ``count`` letters, RSS at 100 and at the end."""
    from app.letters.render import render_pdf

    rss: dict[str, int] = {}
    for i in range(1, count + 1):
        render_pdf(_job(("en", "ru", "ar")[i % 3], i))
        if i == 100:
            rss["at_100_kb"] = _rss_kb()
    rss["at_end_kb"] = _rss_kb()
    return rss


def batch_runs() -> dict[str, Any]:
    from app.letters import batch

    workers = batch.default_workers()
    out: dict[str, Any] = {"workers": workers}
    started = time.perf_counter()
    pool = batch.make_pool(workers)
    # Start and warm every worker: tasks that overlap force one process each.
    pids = set(pool.map(_hold, [0.5] * workers))
    out["warmed_workers"] = len(pids)
    out["pool_start_s"] = round(time.perf_counter() - started, 2)
    tmp = Path(tempfile.mkdtemp(prefix="letters-bench-"))
    try:
        for count in COUNTS:
            rate_raw = raw_rate()
            target = 0.8 * workers * rate_raw
            parallel = raw_parallel_rate(pool, workers)
            items = (batch.BatchItem(str(i), f"{i:05d}.pdf", _job("en", i)) for i in range(count))
            start = time.perf_counter()
            report = batch.render_batch(
                items, tmp / str(count), total=count, pool=pool, workers=workers
            )
            elapsed = time.perf_counter() - start
            rate = count / elapsed
            out[str(count)] = {
                "seconds": round(elapsed, 2),
                "rate_per_s": round(rate, 2),
                "raw_single_rate_per_s": round(rate_raw, 2),
                "target_rate_per_s": round(target, 2),
                "vs_target": round(rate / target, 3),
                "raw_parallel_rate_per_s": round(parallel, 2),
                "vs_raw_parallel": round(rate / parallel, 3),
                "failed": len(report.failed),
            }
        combine_start = time.perf_counter()
        paths = sorted((tmp / str(COUNTS[-1])).glob("*.pdf"))
        pages = batch.combine_pdfs(paths, tmp / "combined.pdf")
        out[f"combine_{COUNTS[-1]}"] = {
            "seconds": round(time.perf_counter() - combine_start, 2),
            "pages": pages,
        }
        out["merge_service"] = merge_runs(pool, workers, tmp / "merge")
        mem_future = pool.submit(memory_run, 1000)
        out["memory"] = mem_future.result()
        growth = (out["memory"]["at_end_kb"] - out["memory"]["at_100_kb"]) / 1024
        out["memory"]["growth_mb_100_to_1000"] = round(growth, 2)
    finally:
        pool.shutdown(wait=True)
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _scratch_database(tmp: Path) -> None:
    """A migrated scratch database with the reference data, for the merge figures."""
    from app.config import get_settings
    from app.db import get_engine, session_factory, transaction

    os.environ["DEMARCHE_DATA_DIR"] = str(tmp / "data")
    os.environ["DEMARCHE_DATABASE_URL"] = f"sqlite:///{tmp / 'bench.sqlite3'}"
    get_settings.cache_clear()
    get_engine.cache_clear()
    session_factory.cache_clear()
    from app import reference
    from app.platform.migrations import upgrade

    upgrade()
    with transaction() as session:
        reference.load(session)


def _draft_merge(count: int) -> int:
    """N head-of-state offices and a merge of the appeal to them; returns the batch id."""
    from app.contacts import service as contacts_service
    from app.contacts.schemas import OrganisationCreate
    from app.db import transaction
    from app.letters import service as letters_service
    from app.mailmerge import service as merge_service
    from app.mailmerge.schemas import MergeCreate

    with transaction() as session:
        ids = [
            contacts_service.create_organisation(
                session,
                data=OrganisationCreate.model_validate(
                    {
                        "name": f"Office of the President {i:05d}",
                        "type": "head_of_state_office",
                        "country": "TJK",
                        "office_title": "President",
                        "preferred_language": "en",
                    }
                ),
                actor=None,
            ).id
            for i in range(count)
        ]
        template = letters_service.get_by_slug(session, SLUG)
        assert template is not None
        batch = merge_service.create_merge(
            session,
            data=MergeCreate.model_validate(
                {
                    "template_id": template.id,
                    "source": {"kind": "contacts", "organisation_ids": ids},
                    "name": f"bench {count}",
                    "treaty": "CCM",
                    "reference_pattern": "B{year}/{iso3}/" + str(count) + "/{seq:05d}",
                }
            ),
            actor=None,
        )
        return batch.id


def merge_runs(pool: Any, workers: int, tmp: Path) -> dict[str, Any]:
    """The batch figure through the mail merge service: batch → letters → PDFs."""
    from unittest import mock

    from app.db import transaction
    from app.mailmerge import service as merge_service

    _scratch_database(tmp)
    out: dict[str, Any] = {}
    for count in COUNTS:
        start = time.perf_counter()
        # No queue here: the job is run in this process, on the benchmark's warmed pool.
        with mock.patch.object(merge_service, "enqueue_after_commit"):
            batch_id = _draft_merge(count)
        drafted = time.perf_counter() - start
        rate_raw = raw_rate()
        start = time.perf_counter()
        status = merge_service.run_batch(batch_id, pool=pool, workers=workers)
        total = time.perf_counter() - start
        with transaction() as session:
            batch = merge_service.get_batch(session, batch_id)
            render_s = float(batch.report["render_seconds"])
            failed = batch.failed
        rate = count / render_s
        target = 0.8 * workers * rate_raw
        out[str(count)] = {
            "status": status.value,
            "draft_seconds": round(drafted, 2),
            "render_seconds": round(render_s, 2),
            "job_seconds_with_combined_pdf_and_zip": round(total, 2),
            "rate_per_s": round(rate, 2),
            "raw_single_rate_per_s": round(rate_raw, 2),
            "target_rate_per_s": round(target, 2),
            "vs_target": round(rate / target, 3),
            "failed": failed,
        }
    return out


def _hold(seconds: float) -> int:
    time.sleep(seconds)
    return os.getpid()


def _raw_many(count: int) -> float:
    """In a worker: raw renders back to back; returns the seconds taken."""
    raw = Raw()
    job = _job("en")
    raw.render(job)
    start = time.perf_counter()
    for _ in range(count):
        raw.render(job)
    return time.perf_counter() - start


def raw_parallel_rate(pool: Any, workers: int, per_worker: int = 40) -> float:
    """What the machine gives right now to W raw processes at once (other load included)."""
    start = time.perf_counter()
    list(pool.map(_raw_many, [per_worker] * workers))
    return workers * per_worker / (time.perf_counter() - start)


def raw_rate(samples: int = 20) -> float:
    """Raw single-process letters per second, measured now (the machine's load changes)."""
    raw = Raw()
    job = _job("en")
    raw.render(job)
    times = [_timed(raw.render, job) for _ in range(samples)]
    return 1 / statistics.median(times)


def main() -> dict[str, Any]:
    os.environ.setdefault("DEMARCHE_ENV", "test")
    os.environ.setdefault("DEMARCHE_SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789")
    from app.letters.render import harfbuzz_subset_available

    started = time.perf_counter()
    load_before = os.getloadavg()
    single = per_letter()
    localised = names()
    batches = batch_runs()
    result = {
        "template": SLUG,
        "cpu_count": os.cpu_count(),
        "harfbuzz_subset": harfbuzz_subset_available(),
        "per_letter": single,
        "names": localised,
        "batch": batches,
        "targets": {
            "service_vs_raw_max": 1.10,
            "batch_vs_target_min": 1.0,
            "memory_growth_mb_max": 10,
            "script_vs_latin_max": 1.15,
            "names_vs_plain_max": 1.05,
        },
        "bench_seconds": round(time.perf_counter() - started, 1),
        # The machine is shared: the load average says how much the figures can be trusted.
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
