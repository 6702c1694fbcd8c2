"""Letters to HTML and PDF: the sandboxed body inside a layout, typeset by WeasyPrint.

One ``FontConfiguration`` per process (created by ``warm_up()``, which the renderers' fork server
calls before it forks any renderer, see ``app.letters.render_server``).
Every render is bounded: the sandbox caps the HTML size and every value a template makes,
``time_limit`` interrupts a render that runs too long (SIGALRM, in the main thread of a worker
process), ``memory_limit`` caps what it may allocate, the page count is checked before the PDF is
written and the PDF size after. A render stopped by a limit raises ``RenderLimit``.

User-editable text is only ever filled in inside a renderer child process, never in the web
process: web requests (previews, a letter's PDF or text, a saved template's trial run) go through
``render_isolated``, ``render_html_isolated`` and ``fill_isolated``: warmed children that are
killed with their process group, and replaced, when a render overruns its time; merges render on
the batch pool (``app.letters.batch``).
"""

from __future__ import annotations

import atexit
import base64
import concurrent.futures as cf
import html
import io
import os
import queue
import re
import resource
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from jinja2 import FileSystemLoader, TemplateError
from markupsafe import Markup

from app.config import get_settings
from app.cosigners import service as cosigners_service
from app.letters import page
from app.letters.context import LABELS, RTL_LANGUAGES, language_or_default
from app.letters.limits import LimitExceeded, TemplateProblem
from app.letters.sandbox import make_environment, render_capped
from app.settings_admin import service as profile_service

if TYPE_CHECKING:  # WeasyPrint is imported where a letter is typeset, not by every process
    from app.letters.fetcher import LetterheadFetcher

LAYOUTS: dict[str, str] = {
    "a4": "A4 letterhead (DIN 5008 form B: C5, C6/5 and DL window envelopes)",
    "a4-form-a": "A4 letterhead, high address field (DIN 5008 form A)",
    "us-letter": "US Letter letterhead (#10 window envelope)",
    "note-verbale": "Note verbale, A4: third person, unsigned (stamp and initials), place and date "
    "at the end, no subject line",
    "memo": "Memo / joint appeal, A4: To/From/Date/RE block naming every addressee, no signature",
    "co-signed": "Co-signed letter, A4: every co-signer's logo in the letterhead and its signatory "
    "beside the sender's",
}
PDF_VARIANTS = ("pdf/a-3b", "pdf/a-2b")
# Print options a letter may ask for: "fold_marks" prints fold and punch marks on the left edge.
PRINT_OPTIONS = ("fold_marks",)
PAGE_MARGIN_LEFT = 25.0  # mm; print.css sets the same
# Words after the page count ("第 1 页，共 2 页"), for languages that have them.
PAGE_LABEL_END = {"zh": "页"}


SUBJECT_CHARS = 1000  # a filled-in subject


@dataclass(frozen=True)
class RenderLimits:
    seconds: float = 20.0
    max_html_chars: int = 400_000
    max_pages: int = 40
    max_pdf_bytes: int = 20 * 1024 * 1024
    memory_mb: int = 1024  # on top of what the warmed renderer holds


# Set to fixed limits (tests do); by default the limits come from the settings.
DEFAULT_LIMITS: RenderLimits | None = None


def default_limits() -> RenderLimits:
    """The limits of every render: ``DEMARCHE_RENDER_SECONDS`` and ``DEMARCHE_RENDER_MEMORY_MB``."""
    if DEFAULT_LIMITS is not None:
        return DEFAULT_LIMITS
    settings = get_settings()
    return replace(
        RenderLimits(), seconds=settings.render_seconds, memory_mb=settings.render_memory_mb
    )


@dataclass(frozen=True)
class LetterJob:
    """Everything one render needs, as plain picklable data."""

    body: str
    subject: str
    context: dict[str, Any]
    language: str = "en"
    layout: str = "a4"
    pdf_variant: str | None = None
    limits: RenderLimits = field(default_factory=RenderLimits)
    options: tuple[str, ...] = ()  # see PRINT_OPTIONS


@dataclass(frozen=True)
class RenderedLetter:
    pdf: bytes
    pages: int
    subject: str = ""  # the subject and body as filled in, for the letter's record
    body: str = ""


@dataclass(frozen=True)
class TextJob:
    """A subject and a text to fill in from a context, without typesetting (plain data)."""

    subject: str
    body: str
    context: dict[str, Any]
    limits: RenderLimits = field(default_factory=RenderLimits)


class RenderError(Exception):
    """A letter that could not be rendered; the message says why, for people."""


class RenderLimit(RenderError):
    """A render stopped by a limit: time, memory, the size of the text or of a value, loops."""


class RenderTimeout(RenderLimit):
    pass


class _Interrupted(BaseException):
    """Raised by the alarm; a BaseException so no ``except Exception`` inside WeasyPrint eats it."""


# ----------------------------------------------------------------------------- process state

_FONT_CONFIG: Any = None


def font_config() -> Any:
    global _FONT_CONFIG
    if _FONT_CONFIG is None:
        from weasyprint.text.fonts import FontConfiguration

        _FONT_CONFIG = FontConfiguration()
        # Freed while WeasyPrint is still loaded: at interpreter exit its cleanup would
        # otherwise run after WeasyPrint's own modules are gone, and fail.
        atexit.register(_drop_font_config)
    return _FONT_CONFIG


def _drop_font_config() -> None:
    global _FONT_CONFIG
    _FONT_CONFIG = None


def assets_dir() -> Path:
    return get_settings().letter_templates_dir / "assets"


@lru_cache(maxsize=4)
def _fetcher(root: Path, uploads: Path) -> LetterheadFetcher:
    from app.letters.fetcher import LetterheadFetcher

    return LetterheadFetcher(root, uploads)


def fetcher() -> LetterheadFetcher:
    """The assets folder and the organisation's uploaded logo and signature, nothing else."""
    return _fetcher(assets_dir(), profile_service.letterhead_dir())


@lru_cache(maxsize=4)
def _layout_env(root: Path) -> Any:
    return make_environment(loader=FileSystemLoader(str(root)))


def layout_env() -> Any:
    return _layout_env(get_settings().letter_templates_dir / "layouts")


def harfbuzz_subset_available() -> bool:
    from weasyprint.text.ffi import harfbuzz_subset

    return bool(harfbuzz_subset)


_WARM = False


def warm_up() -> None:
    """Load fonts and code paths once (worker initializer): Latin, Cyrillic and Arabic text."""
    global _WARM
    from app.letters.context import sample_context

    for lang, text in (("en", "Warm"), ("ru", "Тест"), ("ar", "اختبار")):
        job = LetterJob(
            body=f"<p>{text}</p>", subject=text, context=sample_context(lang), language=lang
        )
        render_pdf(job)
    _WARM = True


# ----------------------------------------------------------------------------- limits


@contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Interrupt the block after ``seconds`` (main thread only; elsewhere use render_isolated)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    armed = True

    def _alarm(signum: int, frame: object) -> None:
        if armed:
            raise _Interrupted

    previous = signal.signal(signal.SIGALRM, _alarm)
    # The timer repeats: an interrupt that lands inside a C callback is swallowed there, so it
    # fires again every 0.1 s until one reaches the render loop.
    signal.setitimer(signal.ITIMER_REAL, seconds, 0.1)
    try:
        yield
    except _Interrupted:
        armed = False
        raise RenderTimeout(
            f"The letter took longer than {seconds:g} s to render and was stopped"
        ) from None
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def memory_limit(megabytes: int) -> Iterator[None]:
    """Let the block allocate at most ``megabytes`` more (RLIMIT_DATA, this process only: call it
    in a renderer child, never in a process that serves other work)."""
    if not hasattr(resource, "RLIMIT_DATA") or megabytes <= 0:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    ceiling = _data_bytes() + megabytes * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        ceiling = min(ceiling, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (ceiling, hard))
    try:
        yield
    except MemoryError:
        raise RenderLimit(
            f"The letter needed more than {megabytes:,} MB to render and was stopped"
        ) from None
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def _data_bytes() -> int:
    """This process's data segment now (VmData), which RLIMIT_DATA bounds."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# ----------------------------------------------------------------------------- rendering


def _fill(source: str, context: dict[str, Any], max_chars: int) -> Markup:
    """One user template filled in; a limit it meets becomes a RenderLimit."""
    try:
        return render_capped(source, context, max_chars=max_chars)
    except LimitExceeded as exc:
        raise RenderLimit(str(exc)) from None
    except TemplateProblem as exc:
        raise RenderError(str(exc)) from None


def fill_text(job: TextJob) -> tuple[str, str]:
    """The subject (plain text) and the text (HTML) filled in, under the job's time limit."""
    with time_limit(job.limits.seconds):
        subject = html.unescape(str(_fill(job.subject, job.context, SUBJECT_CHARS)))
        body = str(_fill(job.body, job.context, job.limits.max_html_chars))
    return subject, body


def _runs(context: dict[str, Any]) -> dict[str, Any]:
    """The writing direction of each value the layout prints, so a Latin run (a street, a
    website, a reference) keeps its order inside a right-to-left letter."""
    sender = context.get("sender") or {}
    letter = context.get("letter") or {}
    values = {
        "sender_name": sender.get("own_name") or sender.get("name"),
        "email": sender.get("email"),
        "website": sender.get("website"),
        "city": sender.get("city"),
        "date": letter.get("date"),
        "reference": letter.get("reference"),
    }
    runs: dict[str, Any] = {k: page.text_dir(str(v or "")) for k, v in values.items()}
    lines = [str(x) for x in sender.get("address_lines") or []]
    runs["sender_lines"] = [{"text": x, "dir": page.text_dir(x)} for x in lines]
    # The letterhead's lines of parts joined by " · " take the direction of their text, not the
    # letter's: a Latin address in an Arabic letter reads "Maison de la Paix · 1202 Geneva".
    runs["postal_line"] = page.text_dir(" ".join(lines))
    contact = (sender.get("email"), sender.get("phone"), sender.get("website"))
    runs["contact_line"] = page.text_dir(" ".join(str(x) for x in contact if x))
    return runs


def _images(inline: bool) -> dict[str, Any]:
    """Where the letterhead finds its logo and the signature block its signature image: the
    organisation's uploads (file URLs the fetcher allows, or ``data:`` URLs for a browser),
    else the built-in logo and no signature image."""
    from weasyprint.urls import path2url

    uploaded = profile_service.letterhead_images()
    out: dict[str, Any] = {"own_logo": uploaded["logo"] is not None}
    for kind, image in uploaded.items():
        if image is None:
            out[kind] = ""
        else:
            out[kind] = image.data_url() if inline else path2url(str(image.path))
    if not out["logo"]:
        out["logo"] = _logo_data_url() if inline else "logo.svg"
    return out


def _layout_context(
    job: LetterJob, body: Markup, subject: str, *, inline_images: bool = False
) -> dict[str, Any]:
    lang = language_or_default(job.language)
    return {
        "images": _images(inline_images),
        # The co-signers' logos by file name (``cosigners[].logo``), as the images above.
        "cosigner_logos": cosigners_service.logo_urls(
            job.context.get("cosigners") or [], inline=inline_images
        ),
        **job.context,
        "body": body,
        "subject": subject,
        "lang": lang,
        "dir": "rtl" if lang in RTL_LANGUAGES else "ltr",
        "labels": LABELS.get(lang, LABELS["en"]),
        "page_label_end": PAGE_LABEL_END.get(lang, ""),
        "page": page.layout_geometry(job.layout, job.context, PAGE_MARGIN_LEFT),
        "runs": _runs(job.context),
        "options": list(job.options),
    }


def render_html(job: LetterJob) -> str:
    """The full letter as HTML (body rendered in the sandbox, then placed in its layout).

    Shown in a browser with a preview's CSP (images only as ``data:``) and no base URL, the
    logo and signature images travel inside the page."""
    return render_parts(job, inline_images=True)[2]


@lru_cache(maxsize=1)
def _logo_data_url() -> str:
    logo = assets_dir() / "logo.svg"
    return "data:image/svg+xml;base64," + base64.b64encode(logo.read_bytes()).decode()


def render_parts(job: LetterJob, *, inline_images: bool = False) -> tuple[str, str, str]:
    """The filled-in subject, body and full letter HTML (images as ``data:`` URLs with
    ``inline_images``, else as URLs for the PDF's fetcher)."""
    if job.layout not in LAYOUTS:
        raise RenderError(f"Unknown layout '{job.layout}'")
    unknown = [o for o in job.options if o not in PRINT_OPTIONS]
    if unknown:
        raise RenderError(f"Unknown print option '{unknown[0]}'")
    # The subject is plain text: the layout, the PDF's title and the email escape it once.
    subject = html.unescape(str(_fill(job.subject, job.context, SUBJECT_CHARS)))
    body = _fill(job.body, job.context, job.limits.max_html_chars)
    try:
        template = layout_env().get_template(f"{job.layout}.html")
        context = _layout_context(job, body, subject, inline_images=inline_images)
        return subject, str(body), str(template.render(context))
    except TemplateError as exc:
        raise RenderError(f"The layout could not be filled in: {exc}") from exc


def render_html_limited(job: LetterJob) -> str:
    """render_html() under the job's time limit (a template loop can run without output)."""
    with time_limit(job.limits.seconds):
        return render_html(job)


# Where a line may not break in print: inside a reference ("CMC/2025/MEX/" then "0006" on the
# next line) and inside a range of days ("16–" then "19 сентября"). A word joiner (U+2060) holds
# the parts together; it prints nothing and PDF text extraction does not return it.
_REFERENCE = re.compile(r"(?<![\w/])[A-Z][A-Z0-9]*(?:/[A-Za-z0-9.\-]+)+")
_DAY_RANGE = re.compile(r"(?<=\d)–(?=\d)")
_TEXT = re.compile(r">([^<]+)<")
WORD_JOINER = "\u2060"


def _held_together(text: str) -> str:
    text = _REFERENCE.sub(lambda m: m.group(0).replace("/", "/" + WORD_JOINER), text)
    return _DAY_RANGE.sub("–" + WORD_JOINER, text)


def unbreakable(page_html: str) -> str:
    """``page_html`` with references and day ranges held on one line (text between tags only:
    attributes and URLs are left alone)."""
    return _TEXT.sub(lambda m: ">" + _held_together(m.group(1)) + "<", page_html)


def render_pdf(job: LetterJob) -> RenderedLetter:
    """Typeset one letter; raises RenderError with a clear message when a limit is hit."""
    from weasyprint import HTML

    limits = job.limits
    with time_limit(limits.seconds):
        subject, body, html = render_parts(job)
        url_fetcher = fetcher()
        document = HTML(
            string=unbreakable(html), base_url=url_fetcher.base_url, url_fetcher=url_fetcher
        ).render(font_config=font_config(), presentational_hints=False)
        pages = len(document.pages)
        if pages > limits.max_pages:
            raise RenderError(
                f"The letter has {pages} pages, more than the limit of {limits.max_pages}"
            )
        options: dict[str, Any] = {}
        if job.pdf_variant:
            if job.pdf_variant not in PDF_VARIANTS:
                raise RenderError(f"Unknown PDF variant '{job.pdf_variant}'")
            options["pdf_variant"] = job.pdf_variant
        pdf = document.write_pdf(**options)
    if len(pdf) > limits.max_pdf_bytes:
        raise RenderError(f"The PDF is larger than {limits.max_pdf_bytes // 1024:,} kB")
    return RenderedLetter(pdf=pdf, pages=pages, subject=subject, body=body)


def page_count(pdf: bytes) -> int:
    from pypdf import PdfReader

    return len(PdfReader(io.BytesIO(pdf)).pages)


# ----------------------------------------------------------------------------- isolation


def renderer_pool(workers: int) -> cf.ProcessPoolExecutor:
    """A pool of ``workers`` renderer children: forked warm by this process's fork server
    (``app.letters.render_server``), dying with this process (see app.platform.children)."""
    from app.platform import children

    return cf.ProcessPoolExecutor(
        max_workers=workers,
        mp_context=children.context("app.letters.render_server"),
        initializer=init_worker,
        initargs=(dict(os.environ),),
    )


def init_worker(environ: dict[str, str] | None = None) -> None:
    """Process-pool initializer: the parent's environment and settings now (the fork server
    that forked this child started with the parent's environment of its own start), fonts
    loaded, engine warmed."""
    if environ is not None:
        os.environ.clear()
        os.environ.update(environ)
    get_settings.cache_clear()
    if not _WARM:  # the fork server warms up once for every child it forks
        warm_up()


def _ready() -> bool:
    return True


def _render_in_worker(job: LetterJob | TextJob, fmt: str) -> RenderedLetter | str | tuple[str, str]:
    """In a renderer child: one render under the job's memory limit."""
    with memory_limit(job.limits.memory_mb):
        if isinstance(job, TextJob):
            return fill_text(job)
        return render_html_limited(job) if fmt == "html" else render_pdf(job)


def _kill(process: Any) -> None:
    """SIGKILL a child and its process group (it leads one), then reap it."""
    pid = getattr(process, "pid", None)
    if pid:
        for kill in (os.killpg, os.kill):
            try:
                kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                continue
    process.join(IsolatedRenderer.REAP_SECONDS)


class IsolatedRenderer:
    """One warmed child process for interactive renders; killed and replaced when a render
    overruns its time or the child dies."""

    GRACE_SECONDS = 2.0  # the child's own alarm stops a render first; this is for C code
    START_SECONDS = 120.0
    REAP_SECONDS = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: cf.ProcessPoolExecutor | None = None

    def render(
        self, job: LetterJob | TextJob, fmt: str = "pdf"
    ) -> RenderedLetter | str | tuple[str, str]:
        with self._lock:
            if self._pool is None:
                pool = renderer_pool(1)
                try:
                    pool.submit(_ready).result(timeout=self.START_SECONDS)  # started and warmed
                except (cf.TimeoutError, cf.process.BrokenProcessPool):
                    self._pool = pool
                    self._kill()
                    raise RenderError("The renderer could not start; try again") from None
                self._pool = pool
            future = self._pool.submit(_render_in_worker, job, fmt)
            try:
                return future.result(timeout=job.limits.seconds + self.GRACE_SECONDS)
            except cf.TimeoutError:
                self._kill()
                raise RenderTimeout(
                    f"The letter took longer than {job.limits.seconds:g} s to render and was "
                    "stopped"
                ) from None
            except cf.process.BrokenProcessPool:
                self._kill()
                raise RenderLimit(
                    "The renderer stopped while rendering this letter (out of memory?)"
                ) from None

    def _kill(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        processes = list(getattr(pool, "_processes", {}).values())
        for process in processes:
            _kill(process)
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None


class _Renderers:
    """``DEMARCHE_RENDER_CHILDREN`` isolated renderers: a request takes a free one (the one used
    last first, so one child stays warm when traffic is light), or waits for one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._free: queue.LifoQueue[IsolatedRenderer] | None = None
        self._all: list[IsolatedRenderer] = []

    def _queue(self) -> queue.LifoQueue[IsolatedRenderer]:
        with self._lock:
            if self._free is None:
                self._free = queue.LifoQueue()
                for _ in range(max(1, get_settings().render_children)):
                    renderer = IsolatedRenderer()
                    self._all.append(renderer)
                    self._free.put(renderer)
            return self._free

    def render(
        self, job: LetterJob | TextJob, fmt: str = "pdf"
    ) -> RenderedLetter | str | tuple[str, str]:
        free = self._queue()
        renderer = free.get()
        try:
            return renderer.render(job, fmt)
        finally:
            free.put(renderer)

    def close(self) -> None:
        for renderer in list(self._all):
            renderer.close()


_ISOLATED = _Renderers()
# Stop the children before the interpreter tears down the modules their pools still use.
atexit.register(_ISOLATED.close)


def render_isolated(job: LetterJob) -> RenderedLetter:
    """Render in a warmed child process (safe from any thread, bounded in time and memory)."""
    return cast(RenderedLetter, _ISOLATED.render(job, "pdf"))


def render_html_isolated(job: LetterJob) -> str:
    """The letter's HTML, made in a child process under the same limits."""
    return cast(str, _ISOLATED.render(job, "html"))


def fill_isolated(job: TextJob) -> tuple[str, str]:
    """A subject and text filled in (``fill_text``) in a child process under the same limits."""
    return cast(tuple[str, str], _ISOLATED.render(job, "text"))
