"""Text recognition of scanned replies: PDFs and images, in six languages, bounded.

A PDF's own text layer is used where a page has one; other pages are rasterised by poppler's
``pdftoppm`` and read by ``tesseract``. Images are decoded by Pillow (only after their size is
checked) and handed to tesseract as greyscale PNG. Every other parser of the untrusted file runs
as a child process with a time limit, address-space and file-size limits, in its own process
group, and dies with the worker that started it.

The language is the one chosen, or detected: tesseract's script detection (``--psm 0``) settles
Arabic, Chinese and Russian; a Latin-script page gets a first pass with the English, French and
Spanish models together, then the language detector picks the one model the letter is read with.

Over 600 lines on purpose: the parsers of untrusted files and the bounds that guard them are one
safety boundary, best reviewed in one place (the queue and state of scans are in ``scans``).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from app.config import get_settings
from app.errors import DomainError, InvalidInput
from app.platform import children
from app.replies import langdetect

# ISO 639-1 → the tesseract models a letter in that language is read with. Our references
# (CMC/2010/TJK/0001) are in Latin letters: the Russian model alone reads them as Cyrillic
# look-alikes (СМС), so English goes with it; the Arabic and Chinese models read Latin digits
# and capitals well enough, and adding English to Arabic spoils the Arabic words.
MODELS = {
    "ar": "ara",
    "zh": "chi_sim",
    "en": "eng",
    "fr": "fra",
    "ru": "rus+eng",
    "es": "spa",
}
LANGUAGES = tuple(MODELS)
# Tesseract's script names (--psm 0) that only one of LANGUAGES is written in.
SCRIPTS = {"Arabic": "ar", "Cyrillic": "ru", "Han": "zh", "HanS": "zh", "HanT": "zh"}
LATIN_FIRST = "eng"  # first read of a Latin-script band, to tell its language
LATIN_MODELS = "eng+fra+spa"  # a Latin-script letter in a language without a model of its own
ANY_MODELS = "eng+fra+spa+rus"  # first read when the script could not be told

MAX_BYTES = 20 * 1024 * 1024  # the attachment cap
MAX_PAGES = 20
# Pixels an image may claim before it is decoded (A4 at 600 dpi is 35 million): beyond this a
# small file can still expand to gigabytes (a decompression bomb).
MAX_PIXELS = 40_000_000
# Pixels a page is read at: A4 at 300 dpi is 8.7 million. Larger images are scaled down (more
# pixels only cost time); a PDF page is rasterised at the resolution that fits.
READ_PIXELS = 12_000_000
DPI = 300
MIN_DPI = 30  # a PDF page so large that even this exceeds READ_PIXELS is refused
PAGE_SECONDS = 120.0  # one child: measure, rasterise or read one page
SCAN_SECONDS = 15 * 60.0  # the whole scan
CHILD_MEMORY = 1024 * 1024 * 1024  # address space of each child: tesseract and a full page
CHILD_FILE_BYTES = 256 * 1024 * 1024  # largest file a child may write (a page image, text)
MAX_TEXT_CHARS = 200_000  # text kept from one scan
# A PDF page whose text layer has this many letters or digits is not read again by OCR.
TEXT_LAYER_MIN = 40
# A job that has said nothing for this long is taken for lost, and may be queued again.
STALE_AFTER = timedelta(seconds=SCAN_SECONDS + 5 * 60)
SAMPLE_SECONDS = 0.05  # how often a running child's memory is sampled
# The share of a page's height read first to tell its script and language.
SAMPLE_SHARE = 0.25

# (the JPEG opener also reads the MPO files phone cameras write)
IMAGE_FORMATS = ["PNG", "JPEG", "TIFF", "GIF", "WEBP"]
CONTENT_TYPES = {
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/tiff",
    "image/gif",
    "image/webp",
}


@dataclass
class OcrResult:
    text: str
    language: str  # ISO 639-1 detected or the one chosen
    pages: int
    page_seconds: list[float] = field(default_factory=list)  # per page, text layer included
    peak_child_kb: int = 0  # largest resident size reached by any child process


class ScanRejected(InvalidInput):
    """The file cannot be read: too many pages or pixels, not a PDF or image, unreadable,
    protected by a password, or it took too long."""


class OcrUnavailable(DomainError):
    """The OCR programs are missing on this server (not the file's fault)."""

    status = 503
    title = "Text recognition unavailable"


# --- child processes ------------------------------------------------------------------------


@dataclass
class _Child:
    returncode: int
    stdout: str
    stderr: str
    peak_kb: int


def _limits(parent: int, seconds: float) -> Callable[[], None]:
    """Limits set in the child between fork and exec: system calls only, nothing that locks."""
    cpu = math.ceil(seconds) + 5

    def apply() -> None:
        children.limit_resources(
            memory_bytes=CHILD_MEMORY, cpu_seconds=cpu, file_bytes=CHILD_FILE_BYTES
        )
        # Killed when the thread that started it ends (the worker died), never left running;
        # its process group is the new session Popen starts.
        children.die_with_parent(parent, own_group=False)

    return apply


def _env() -> dict[str, str]:
    # One thread per tesseract: on a shared machine its OpenMP threads cost more than they give.
    return {**os.environ, "OMP_THREAD_LIMIT": "1", "LC_ALL": "C.UTF-8"}


def _peak_kb(pid: int) -> int:
    """The child's peak resident size so far (VmHWM), 0 once it has exited."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(found.group(1)) if found else 0


def run_child(args: Sequence[str], *, cwd: Path, seconds: float, what: str) -> _Child:
    """Run one child under the limits, its output in files (bounded by RLIMIT_FSIZE); killed
    with its process group when the time is up."""
    tag = f"{os.getpid()}-{threading.get_ident()}"
    out_path, err_path = cwd / f".stdout-{tag}", cwd / f".stderr-{tag}"
    with out_path.open("wb") as out, err_path.open("wb") as err:
        try:
            proc = subprocess.Popen(  # noqa: S603 - fixed programs; the arguments are ours
                list(args),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=_env(),
                start_new_session=True,
                preexec_fn=_limits(os.getpid(), seconds),  # noqa: PLW1509 - system calls only
            )
        except (FileNotFoundError, PermissionError) as exc:
            raise OcrUnavailable(
                f"{args[0]} is not installed on this server; scans cannot be read."
            ) from exc
        # Reaped on a thread, so the exit is seen at once while this one samples the peak
        # memory (wait4's ru_maxrss would count the worker's own size, from before the exec).
        statuses: list[int | None] = []

        def reap() -> None:
            try:
                statuses.append(os.waitpid(proc.pid, 0)[1])
            except ChildProcessError:  # reaped elsewhere: its status is lost
                statuses.append(None)

        waiter = threading.Thread(target=reap, daemon=True)
        waiter.start()
        deadline = time.monotonic() + seconds
        peak_kb = 0
        while waiter.is_alive() and (left := deadline - time.monotonic()) > 0:
            peak_kb = max(peak_kb, _peak_kb(proc.pid))
            waiter.join(min(SAMPLE_SECONDS, left))
        timed_out = waiter.is_alive()
        if timed_out:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            waiter.join()
    status = statuses[0] if statuses else None
    proc.returncode = -1 if status is None else os.waitstatus_to_exitcode(status)
    try:
        stdout = out_path.read_bytes()[:CHILD_FILE_BYTES].decode("utf-8", "replace")
        stderr = err_path.read_bytes()[-4000:].decode("utf-8", "replace")
    finally:
        out_path.unlink(missing_ok=True)
        err_path.unlink(missing_ok=True)
    if timed_out or proc.returncode == -signal.SIGXCPU:
        raise ScanRejected(f"{what} took longer than {seconds:.0f} seconds; it was stopped.")
    if proc.returncode == -signal.SIGXFSZ:
        raise ScanRejected(f"{what} produced more than {CHILD_FILE_BYTES // 2**20} MB; stopped.")
    if "bad_alloc" in stderr or "Cannot allocate memory" in stderr:
        raise ScanRejected(
            f"{what} needed more than {CHILD_MEMORY // 2**20} MB of memory; it was stopped."
        )
    return _Child(proc.returncode, stdout, stderr, peak_kb)


class _Work:
    """One scan being read: its scratch folder, deadline and measures."""

    def __init__(self, folder: Path, seconds: float) -> None:
        self.folder = folder
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.peak_kb = 0

    def run(self, args: Sequence[str], what: str) -> _Child:
        left = self.deadline - time.monotonic()
        if left <= 1:
            raise ScanRejected(
                f"Reading the scan took longer than {self.seconds:.0f} seconds; it was stopped."
            )
        child = run_child(args, cwd=self.folder, seconds=min(PAGE_SECONDS, left), what=what)
        self.peak_kb = max(self.peak_kb, child.peak_kb)
        return child


@contextlib.contextmanager
def _scratch() -> Iterator[Path]:
    """A private folder under the data directory (where the space is), removed afterwards."""
    root = get_settings().files_dir / "ocr"
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".scan-", dir=root) as folder:
        yield Path(folder)


# --- PDFs -----------------------------------------------------------------------------------


def _pdf_error(stderr: str) -> str:
    if "password" in stderr.lower():
        return "The PDF is protected by a password; attach a copy without the password."
    return "The PDF is damaged or not a PDF; it cannot be opened."


def _pdf_pages(work: _Work, pdf: Path, max_pages: int) -> list[tuple[float, float]]:
    """Each page's (width, height) in points; the page count checked against the cap first."""
    child = work.run(["pdfinfo", pdf.name], "Opening the PDF")
    if child.returncode != 0 or "Pages:" not in child.stdout:
        raise ScanRejected(_pdf_error(child.stderr))
    found = re.search(r"^Pages:\s+(\d+)", child.stdout, re.M)
    pages = int(found.group(1)) if found else 0
    if pages < 1:
        raise ScanRejected("The PDF has no pages.")
    if pages > max_pages:
        raise ScanRejected(
            f"The PDF has {pages} pages; at most {max_pages} are read. "
            "Attach the pages that matter as a shorter PDF."
        )
    child = work.run(["pdfinfo", "-f", "1", "-l", str(pages), pdf.name], "Measuring the pages")
    sizes = [
        (float(w), float(h))
        for w, h in re.findall(r"^Page\s+\d+\s+size:\s+([\d.]+) x ([\d.]+) pts", child.stdout, re.M)
    ]
    if child.returncode != 0 or len(sizes) != pages:
        raise ScanRejected("The PDF is damaged: its pages cannot be measured.")
    return sizes


def _pdf_text(work: _Work, pdf: Path, pages: int) -> list[str]:
    """The text layer of each page ("" for a page that is only an image)."""
    child = work.run(
        ["pdftotext", "-f", "1", "-l", str(pages), "-enc", "UTF-8", pdf.name, "-"],
        "Reading the PDF's text",
    )
    if child.returncode != 0:
        return [""] * pages
    texts = child.stdout.split("\f")
    return [(texts[i] if i < len(texts) else "").strip() for i in range(pages)]


def _image_ppi(work: _Work, pdf: Path, pages: int) -> dict[int, int]:
    """The resolution of the largest image on each page that has one: a scanned page is
    rasterised at the resolution it was scanned at, no finer (enlarging adds only noise)."""
    child = work.run(
        ["pdfimages", "-f", "1", "-l", str(pages), "-list", pdf.name], "Listing images"
    )
    best: dict[int, tuple[int, int]] = {}  # page → (pixels, ppi)
    for line in child.stdout.splitlines()[2:]:
        cols = line.split()
        if len(cols) < 14 or not cols[0].isdigit() or cols[2] != "image":
            continue
        with contextlib.suppress(ValueError):
            page, pixels = int(cols[0]), int(cols[3]) * int(cols[4])
            ppi = min(int(cols[12]), int(cols[13]))
            if pixels > best.get(page, (0, 0))[0]:
                best[page] = (pixels, ppi)
    return {page: ppi for page, (_, ppi) in best.items()}


def _has_text(text: str) -> bool:
    return sum(ch.isalnum() for ch in text) >= TEXT_LAYER_MIN


def _page_dpi(number: int, width: float, height: float, scanned_at: int | None) -> int:
    inches = max(width, 1.0) / 72 * max(height, 1.0) / 72
    dpi = min(DPI, int(math.sqrt(READ_PIXELS / inches)))
    if scanned_at and scanned_at >= 100:
        dpi = min(dpi, scanned_at)
    if dpi < MIN_DPI:
        raise ScanRejected(
            f"Page {number} of the PDF is {width / 72 * 2.54:.0f} × {height / 72 * 2.54:.0f} cm, "
            "too large to read."
        )
    return dpi


@dataclass
class _PageImage:
    """A page to read: a greyscale PGM (written and read fast, unlike PNG) and its resolution
    when known (tesseract guesses it otherwise)."""

    path: Path
    number: int
    dpi: int | None = None


def _rasterise(work: _Work, pdf: Path, number: int, dpi: int) -> _PageImage:
    stem = f"page-{number:03d}"
    child = work.run(
        [
            "pdftoppm",
            *("-f", str(number), "-l", str(number)),
            *("-r", str(dpi), "-gray", "-singlefile"),
            pdf.name,
            stem,
        ],
        f"Rasterising page {number}",
    )
    image = work.folder / f"{stem}.pgm"
    if child.returncode != 0 or not image.is_file():
        raise ScanRejected(f"Page {number} of the PDF cannot be rasterised; the PDF is damaged.")
    return _PageImage(image, number, dpi)


# --- images ---------------------------------------------------------------------------------


def _open_image(path: Path) -> Image.Image:
    """The image, its size checked before any pixel is decoded."""
    try:
        image = Image.open(path, formats=IMAGE_FORMATS)
    except Image.DecompressionBombError:
        raise ScanRejected(_too_many_pixels()) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        raise ScanRejected("The file is not a readable PDF or image.") from None
    _check_pixels(image)
    return image


def _too_many_pixels(width: int = 0, height: int = 0) -> str:
    size = f" ({width:,} × {height:,} pixels)" if width else ""
    return (
        f"The image is too large{size}: at most {MAX_PIXELS // 1_000_000} million pixels are "
        "read. Scan at 300 dpi."
    )


def _check_pixels(image: Image.Image) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise ScanRejected("The image is empty.")
    if width * height > MAX_PIXELS:
        raise ScanRejected(_too_many_pixels(width, height))


def _frame_count(image: Image.Image, max_pages: int) -> int:
    """Pages of a multipage TIFF (animations of GIF and WebP are not pages: the first only)."""
    if image.format != "TIFF":
        return 1
    frames = int(getattr(image, "n_frames", 1))
    if frames > max_pages:
        raise ScanRejected(
            f"The TIFF has {frames} pages; at most {max_pages} are read. "
            "Attach the pages that matter as a shorter file."
        )
    return frames


def _normalise(image: Image.Image, number: int, folder: Path) -> _PageImage:
    """Frame ``number`` (from 1) in grey, upright, at most READ_PIXELS large."""
    try:
        image.seek(number - 1)
        _check_pixels(image)
        frame = ImageOps.exif_transpose(image)
        if frame.mode in {"RGBA", "LA", "PA"} or "transparency" in frame.info:
            # transparent parts are paper, not ink
            rgba = frame.convert("RGBA")
            white = Image.new("RGBA", rgba.size, "white")
            frame = Image.alpha_composite(white, rgba)
        if frame.mode.startswith("I"):
            # 16-bit grey: scaled to 8 bits (a plain conversion clips it to white)
            frame = frame.convert("I").point(lambda v: v * (1 / 256))
        frame = frame.convert("L")
    except (OSError, ValueError, SyntaxError, EOFError):
        raise ScanRejected(f"Page {number} of the image is damaged and cannot be read.") from None
    dpi = image.info.get("dpi")
    resolution = float(dpi[0]) if dpi and isinstance(dpi[0], int | float) and dpi[0] >= 50 else None
    pixels = frame.width * frame.height
    if pixels > READ_PIXELS:
        scale = math.sqrt(READ_PIXELS / pixels)
        frame = frame.resize(
            (max(1, int(frame.width * scale)), max(1, int(frame.height * scale))),
            Image.Resampling.LANCZOS,
        )
        resolution = resolution * scale if resolution else None
    path = folder / f"page-{number:03d}.pgm"
    frame.save(path, format="PPM")
    known = round(resolution) if resolution and 50 <= resolution <= 1200 else None
    return _PageImage(path, number, known)


# --- reading --------------------------------------------------------------------------------


class _Reader:
    """Reads page images in order; without a chosen language, the first page with text decides
    the model the rest are read with."""

    def __init__(self, work: _Work, language: str) -> None:
        self.work = work
        self.language = language
        self.model = MODELS.get(language, "")
        self.done: dict[tuple[Path, str], str] = {}  # the last reading

    def tesseract(self, page: _PageImage, model: str, image: Path | None = None) -> str:
        source = image or page.path
        if (source, model) in self.done:  # a small page is its own sample: read once
            return self.done[(source, model)]
        out = source.with_name(source.stem + "-text")
        dpi = ["--dpi", str(page.dpi)] if page.dpi else []
        child = self.work.run(
            [
                "tesseract",
                source.name,
                out.name,
                *("-l", model, "--psm", "1", *dpi, "-c", "page_separator="),
            ],
            f"Reading page {page.number}",
        )
        text_file = out.with_suffix(".txt")
        if child.returncode != 0 or not text_file.is_file():
            raise ScanRejected(f"Page {page.number} cannot be read as an image.")
        text = text_file.read_text("utf-8", "replace").strip()
        text_file.unlink()
        self.done = {(source, model): text}
        return text

    def script(self, page: _PageImage, image: Path) -> str:
        """The script tesseract sees ("Latin", "Cyrillic", ...), "" if there is too little."""
        out = image.with_name(image.stem + "-osd")
        dpi = ["--dpi", str(page.dpi)] if page.dpi else []
        child = self.work.run(
            ["tesseract", image.name, out.name, "--psm", "0", *dpi],
            f"Telling the script of page {page.number}",
        )
        osd = out.with_suffix(".osd")
        found = (
            re.search(r"^Script:\s*(\w+)", osd.read_text("utf-8", "replace"), re.M)
            if (child.returncode == 0 and osd.is_file())
            else None
        )
        osd.unlink(missing_ok=True)
        return found.group(1) if found else ""

    def sample(self, page: _PageImage) -> Path:
        """The band of the page with the most ink (a letter's body, not its blank foot): enough
        words to tell the script and the language for a fraction of a whole page's reading."""
        with Image.open(page.path) as image:
            rows = 200
            if image.height < rows * 4:
                return page.path
            # the mean grey of each of 200 strips, then the darkest run of them
            strips = image.convert("L").resize((1, rows), Image.Resampling.BOX).tobytes()
            ink = [255 - v for v in strips]
            size = max(1, int(rows * SAMPLE_SHARE))
            sums = [sum(ink[i : i + size]) for i in range(rows - size + 1)]
            start = max(range(len(sums)), key=sums.__getitem__)
            top, bottom = start * image.height // rows, (start + size) * image.height // rows
            path = page.path.with_name(page.path.stem + "-sample.pgm")
            image.crop((0, top, image.width, bottom)).save(path, format="PPM")
        return path

    def use(self, language: str, fallback: str) -> None:
        self.language = language
        # a language without a model of its own (German, say) keeps the broad reading
        self.model = MODELS.get(language, fallback)

    def decide(self, text: str) -> None:
        """Settle the language from text already read (a PDF's text layer)."""
        if not self.model and (language := langdetect.detect(text)):
            self.use(language, LATIN_MODELS)

    def read(self, page: _PageImage) -> str:
        if not self.model:
            self.detect(page)
        if self.model:
            return self.tesseract(page, self.model)
        # nothing told the language: the whole page with the broad models
        text = self.tesseract(page, ANY_MODELS)
        if language := langdetect.detect(text):
            self.use(language, ANY_MODELS)
            if self.model != ANY_MODELS:
                return self.tesseract(page, self.model)
        return text

    def detect(self, page: _PageImage) -> None:
        """Script, then language, from a band of the page: Arabic, Chinese and Cyrillic settle
        it; a Latin band is read with the English model (enough to tell French or Spanish
        words) and handed to the language detector."""
        sample = self.sample(page)
        try:
            script = self.script(page, sample)
            if script in SCRIPTS:
                self.use(SCRIPTS[script], ANY_MODELS)
                return
            first = LATIN_FIRST if script == "Latin" else ANY_MODELS
            language = langdetect.detect(self.tesseract(page, first, image=sample))
            if language:
                self.use(language, LATIN_MODELS if script == "Latin" else ANY_MODELS)
        finally:
            if sample != page.path:
                sample.unlink(missing_ok=True)


def recognise(
    content: bytes,
    *,
    content_type: str,
    language: str = "",
    max_pages: int | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> OcrResult:
    """The text of a scan (PDF or image), page by page; ``progress(done, pages)`` after the
    page count is known and after each page. Raises ScanRejected with a message a person can
    act on."""
    cap = min(max_pages or MAX_PAGES, MAX_PAGES)
    if language and language not in MODELS:
        raise ScanRejected(
            f"Scans can be read in {', '.join(sorted(MODELS))}; not in {language!r}.",
            errors=[{"field": "language", "message": "unsupported language"}],
        )
    if not content:
        raise ScanRejected("The file is empty.")
    if len(content) > MAX_BYTES:
        raise ScanRejected(f"The file is larger than {MAX_BYTES // 2**20} MB.")
    if content_type not in CONTENT_TYPES:
        raise ScanRejected("Only PDF scans and images (PNG, JPEG, TIFF, GIF, WebP) are read.")
    report = progress or (lambda done, total: None)
    with _scratch() as folder:
        work = _Work(folder, SCAN_SECONDS)
        reader = _Reader(work, language)
        timings: list[float] = []
        texts: list[str] = []
        if content_type == "application/pdf":
            pages = _read_pdf(work, reader, content, cap, report, texts, timings)
        else:
            pages = _read_image(work, reader, content, cap, report, texts, timings)
    text = _join(texts)
    if not reader.language and text:
        reader.language = langdetect.detect(text)
    return OcrResult(
        text=text,
        language=reader.language,
        pages=pages,
        page_seconds=timings,
        peak_child_kb=work.peak_kb,
    )


def _read_pdf(
    work: _Work,
    reader: _Reader,
    content: bytes,
    cap: int,
    report: Callable[[int, int], None],
    texts: list[str],
    timings: list[float],
) -> int:
    started = time.perf_counter()
    pdf = work.folder / "scan.pdf"
    pdf.write_bytes(content)
    sizes = _pdf_pages(work, pdf, cap)
    layer = _pdf_text(work, pdf, len(sizes))
    scanned_at = _image_ppi(work, pdf, len(sizes)) if not all(map(_has_text, layer)) else {}
    report(0, len(sizes))
    reader.decide("\n".join(t for t in layer if _has_text(t)))
    for number, (width, height) in enumerate(sizes, start=1):
        if _has_text(layer[number - 1]):
            texts.append(layer[number - 1])
        else:
            page = _rasterise(
                work, pdf, number, _page_dpi(number, width, height, scanned_at.get(number))
            )
            texts.append(reader.read(page))
            page.path.unlink(missing_ok=True)
        now = time.perf_counter()
        timings.append(now - started)
        started = now
        report(number, len(sizes))
    return len(sizes)


def _read_image(
    work: _Work,
    reader: _Reader,
    content: bytes,
    cap: int,
    report: Callable[[int, int], None],
    texts: list[str],
    timings: list[float],
) -> int:
    started = time.perf_counter()
    source = work.folder / "scan.img"
    source.write_bytes(content)
    with _open_image(source) as image:
        pages = _frame_count(image, cap)
        report(0, pages)
        for number in range(1, pages + 1):
            page = _normalise(image, number, work.folder)
            texts.append(reader.read(page))
            page.path.unlink(missing_ok=True)
            now = time.perf_counter()
            timings.append(now - started)
            started = now
            report(number, pages)
    return pages


def _join(texts: list[str]) -> str:
    text = "\n\n".join(t for t in (re.sub(r"[ \t]+\n", "\n", t).strip() for t in texts) if t)
    return re.sub(r"\n{3,}", "\n\n", text)[:MAX_TEXT_CHARS]
