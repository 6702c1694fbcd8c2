"""Scans read by tesseract: letters printed with WeasyPrint, rasterised by pdftoppm at 200 dpi,
turned a degree or two and speckled, as a post-room scanner would; then the bounds, the
worker's job (progress, the reply's text, failures) and the API."""

from __future__ import annotations

import contextlib
import io
import random
import struct
import subprocess
import tempfile
import zlib
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pypdf import PdfWriter
from sqlalchemy import update
from sqlalchemy.orm import Session
from weasyprint import HTML

import app.db
from app.errors import Conflict, InvalidInput
from app.models import Reply, ReplyAttachment, Role
from app.replies import intake, ocr, service
from app.replies import scans as reply_scans
from app.replies.schemas import ReplyCreate
from tests.factories import api_headers, make_user
from tests.replies.helpers import log_reply

ENGLISH = """
<p>Permanent Mission of the Republic of Tajikistan</p><p>No. 5/2010</p>
<p>Geneva, 12 June 2010</p>
<p>The Permanent Mission of the Republic of Tajikistan presents its compliments to the Cluster
Munition Coalition and, with reference to its letter CMC/2010/TJK/0001 dated 1 May 2010, has the
honour to inform that the Government is considering accession to the Convention on Cluster
Munitions.</p>
<p style="break-before: page">The Mission avails itself of this opportunity to renew the
assurances of its highest consideration.</p>
"""
FRENCH = """
<p>Mission permanente de la République du Sénégal</p><p>Genève, le 3 juin 2010</p>
<p>La Mission permanente accuse réception de votre lettre
<span style='white-space: nowrap'>CMC/2010/SEN/0002</span> du 1er mai 2010 et a l'honneur
de confirmer que le Gouvernement examine la ratification de la Convention sur les
armes à sous-munitions.</p>
"""
RUSSIAN = """
<p>Постоянное представительство Республики Таджикистан</p><p>Женева, 12 июня 2010 года</p>
<p>Постоянное представительство, ссылаясь на письмо CMC/2010/TJK/0001 от 1 мая 2010 года, имеет
честь сообщить, что Конвенция по кассетным боеприпасам рассматривается Правительством.</p>
"""
ARABIC = """
<p>البعثة الدائمة للجمهورية العربية السورية</p><p>جنيف، 12 حزيران 2010</p>
<p>تهدي البعثة الدائمة تحياتها إلى التحالف من أجل حظر الذخائر العنقودية، وبالإشارة إلى رسالتها
المؤرخة في 1 أيار 2010، تتشرف بأن تفيد بأن الحكومة تدرس الانضمام إلى اتفاقية الذخائر
العنقودية.</p>
"""
FONTS = {"ltr": "Noto Serif", "rtl": "Noto Naskh Arabic"}


def letter_pdf(body: str, direction: str = "ltr") -> bytes:
    """A short letter (A5 pages, so each read is quick) printed by WeasyPrint."""
    html = (
        f"<html dir='{direction}'><style>@page {{ size: A5; margin: 15mm }} "
        f"body {{ font-family: '{FONTS[direction]}'; font-size: 11pt }}</style>"
        f"<body>{body}</body></html>"
    )
    return HTML(string=html).write_pdf()


def scanned_pages(pdf: bytes, tmp: Path, *, seed: int = 1) -> list[Image.Image]:
    """Each page at 200 dpi in grey, turned by 1-2 degrees and speckled with noise."""
    source = tmp / "letter.pdf"
    source.write_bytes(pdf)
    subprocess.run(
        ["pdftoppm", "-r", "200", "-gray", "-png", str(source), str(tmp / "page")], check=True
    )
    rnd = random.Random(seed)
    pages = []
    for path in sorted(tmp.glob("page-*.png")):
        angle = rnd.choice((-1.0, 1.0)) * rnd.uniform(1.0, 2.0)
        image = Image.open(path).convert("L")
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
        pixels = image.load()
        assert pixels is not None
        for _ in range(image.width * image.height // 300):
            x, y = rnd.randrange(image.width), rnd.randrange(image.height)
            pixels[x, y] = rnd.choice((0, 90, 255))
        pages.append(image)
    return pages


def as_pdf(pages: list[Image.Image]) -> bytes:
    """A scanned PDF: one image per page, as scanners make them."""
    out = io.BytesIO()
    pages[0].save(out, format="PDF", resolution=200, save_all=True, append_images=pages[1:])
    return out.getvalue()


def as_image(page: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    page.save(out, format=fmt, dpi=(200, 200))
    return out.getvalue()


@pytest.fixture(scope="module")
def scans(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """The letters as scans, made once for the module."""

    def pages(name: str, body: str, direction: str = "ltr") -> list[Image.Image]:
        return scanned_pages(letter_pdf(body, direction), tmp_path_factory.mktemp(name))

    english = pages("en", ENGLISH)
    return {
        "en.pdf": as_pdf(english),
        "fr.png": as_image(pages("fr", FRENCH)[0], "PNG"),
        "ru.jpg": as_image(pages("ru", RUSSIAN)[0], "JPEG"),
        "ar.pdf": as_pdf(pages("ar", ARABIC, "rtl")),
    }


def flat(text: str) -> str:
    return " ".join(text.split())


# --- reading --------------------------------------------------------------------------------


def test_an_english_scan_over_two_pages(scans: dict[str, bytes]) -> None:
    seen: list[tuple[int, int]] = []
    result = ocr.recognise(
        scans["en.pdf"],
        content_type="application/pdf",
        progress=lambda done, total: seen.append((done, total)),
    )
    text = flat(result.text)
    assert "Convention on Cluster Munitions" in text
    assert "1 May 2010" in text and "12 June 2010" in text
    assert "CMC/2010/TJK/0001" in text
    assert "highest consideration" in text  # the second page
    assert result.language == "en" and result.pages == 2
    assert seen == [(0, 2), (1, 2), (2, 2)]
    assert len(result.page_seconds) == 2 and result.peak_child_kb > 0


def test_a_french_image(scans: dict[str, bytes]) -> None:
    result = ocr.recognise(scans["fr.png"], content_type="image/png")
    text = flat(result.text)
    assert "Convention sur les armes à sous-munitions" in text
    assert "1er mai 2010" in text and "CMC/2010/SEN/0002" in text
    assert "République du Sénégal" in text
    assert result.language == "fr" and result.pages == 1


def test_a_russian_photo(scans: dict[str, bytes]) -> None:
    result = ocr.recognise(scans["ru.jpg"], content_type="image/jpeg")
    text = flat(result.text)
    assert "Конвенция по кассетным боеприпасам" in text
    assert "мая 2010" in text and "июня 2010" in text
    assert "CMC/2010/TJK/0001" in text  # Latin letters kept, not Cyrillic look-alikes
    assert result.language == "ru"


def test_an_arabic_scan(scans: dict[str, bytes]) -> None:
    result = ocr.recognise(scans["ar.pdf"], content_type="application/pdf")
    assert "اتفاقية" in result.text and "الذخائر العنقودية" in result.text
    assert "2010" in result.text
    assert result.language == "ar"


def test_the_chosen_language_is_read_and_reported(scans: dict[str, bytes]) -> None:
    result = ocr.recognise(scans["fr.png"], content_type="image/png", language="fr")
    assert result.language == "fr" and "sous-munitions" in result.text
    with pytest.raises(ocr.ScanRejected, match="read in ar, en, es, fr, ru, zh; not in 'de'"):
        ocr.recognise(scans["fr.png"], content_type="image/png", language="de")


def test_a_pdf_text_layer_is_used_and_only_pages_without_text_are_read(
    scans: dict[str, bytes],
) -> None:
    # page 1 carries a text layer with words no scanner could see (white on white); page 2 is
    # a scan with no text layer
    typed = letter_pdf(
        "<p>Ministry of Foreign Affairs of the Republic of Tajikistan, Dushanbe.</p>"
        "<p style='color: white'>Only in the text layer: ZXQ-LAYER-7731</p>"
    )
    writer = PdfWriter()
    writer.append(io.BytesIO(typed))
    writer.append(io.BytesIO(scans["en.pdf"]), pages=(0, 1))
    out = io.BytesIO()
    writer.write(out)
    seen: list[tuple[int, int]] = []
    result = ocr.recognise(
        out.getvalue(), content_type="application/pdf", progress=lambda d, t: seen.append((d, t))
    )
    assert "ZXQ-LAYER-7731" in result.text  # page 1 from its text layer, not OCR
    assert "Convention on Cluster Munitions" in flat(result.text)  # page 2 by OCR
    assert result.language == "en" and result.pages == 2 and seen[-1] == (2, 2)


def test_a_multipage_tiff_is_read_page_by_page(scans: dict[str, bytes]) -> None:
    french = Image.open(io.BytesIO(scans["fr.png"]))
    english = Image.open(io.BytesIO(as_pdf_page_image(scans["en.pdf"], 2)))
    # the second page in 16-bit grey, as some scanners write it, its ink dark grey rather than
    # black (a plain conversion to 8 bits would clip every grey to white and leave a blank page)
    deep = english.convert("I").point(lambda v: v * 196 + 60 * 256).convert("I;16")
    out = io.BytesIO()
    french.save(out, format="TIFF", save_all=True, append_images=[deep], dpi=(200, 200))
    result = ocr.recognise(out.getvalue(), content_type="image/tiff", language="fr")
    assert result.pages == 2
    text = flat(result.text)
    assert "sous-munitions" in text  # page 1
    assert "highest consideration" in text  # page 2, its grey levels kept
    assert text.index("sous-munitions") < text.index("highest consideration")


def as_pdf_page_image(pdf: bytes, page: int) -> bytes:
    """One page of a scanned PDF back as the PNG it was made from (200 dpi)."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "scan.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-f", str(page), "-l", str(page), "-r", "200", "-gray", "-png"]
            + ["-singlefile", str(source), str(Path(folder) / "page")],
            check=True,
        )
        return (Path(folder) / "page.png").read_bytes()


# --- bounds ---------------------------------------------------------------------------------


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims width × height pixels (a decompression bomb)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


def test_decompression_bombs_are_refused_before_decoding() -> None:
    bomb = png_claiming(100_000, 100_000)
    assert len(bomb) < 200
    with pytest.raises(ocr.ScanRejected, match="too large.*40 million pixels"):
        ocr.recognise(bomb, content_type="image/png")
    # under Pillow's own bomb threshold, over ours
    with pytest.raises(ocr.ScanRejected, match=r"8,000 × 6,000 pixels"):
        ocr.recognise(png_claiming(8000, 6000), content_type="image/png")


def test_too_many_pages() -> None:
    writer = PdfWriter()
    for _ in range(30):
        writer.add_blank_page(width=420, height=595)
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(ocr.ScanRejected, match="has 30 pages; at most 20 are read"):
        ocr.recognise(out.getvalue(), content_type="application/pdf")
    with pytest.raises(ocr.ScanRejected, match="has 30 pages; at most 5 are read"):
        ocr.recognise(out.getvalue(), content_type="application/pdf", max_pages=5)


def test_bad_files_get_a_clear_message() -> None:
    corrupt = b"%PDF-1.4\n" + bytes(range(256)) * 20
    with pytest.raises(ocr.ScanRejected, match="damaged or not a PDF"):
        ocr.recognise(corrupt, content_type="application/pdf")
    with pytest.raises(ocr.ScanRejected, match="not a readable PDF or image"):
        ocr.recognise(b"Dear Sir, this is plain text." * 10, content_type="image/png")
    with pytest.raises(ocr.ScanRejected, match="Only PDF scans and images"):
        ocr.recognise(b"<html></html>", content_type="text/html")
    with pytest.raises(ocr.ScanRejected, match="empty"):
        ocr.recognise(b"", content_type="application/pdf")
    assert issubclass(ocr.ScanRejected, InvalidInput)  # a 422 in the API


def test_a_pdf_with_a_password_is_refused() -> None:
    writer = PdfWriter(clone_from=io.BytesIO(letter_pdf("<p>Secret</p>")))
    writer.encrypt("open sesame")
    out = io.BytesIO()
    writer.write(out)
    with pytest.raises(ocr.ScanRejected, match="protected by a password"):
        ocr.recognise(out.getvalue(), content_type="application/pdf")


def test_a_page_that_takes_too_long_is_stopped(
    scans: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr, "PAGE_SECONDS", 0.05)
    with pytest.raises(ocr.ScanRejected, match="took longer than 0 seconds; it was stopped"):
        ocr.recognise(scans["fr.png"], content_type="image/png", language="fr")


def test_a_child_is_held_to_its_memory_limit(
    scans: dict[str, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ocr, "CHILD_MEMORY", 40 * 1024 * 1024)
    with pytest.raises(ocr.ScanRejected, match="more than 40 MB of memory|cannot be read"):
        ocr.recognise(scans["fr.png"], content_type="image/png", language="fr")


# --- the worker's job -----------------------------------------------------------------------


@pytest.fixture
def no_queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The job is run by the test itself; what would have been queued is recorded."""
    from app.replies import tasks

    queued: list[int] = []
    monkeypatch.setattr(tasks, "read_scan", queued.append)
    yield queued


def test_the_job_reads_a_scan_into_its_reply(
    db: Session, scans: dict[str, bytes], no_queue: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    reply_id = log_reply(db, full_text="Received by post.")
    attachment = service.add_attachment(
        db, reply_id=reply_id, filename="scan.jpg", content=scans["ru.jpg"], actor=None
    )
    assert attachment.ocr_status == "queued"
    db.commit()
    assert no_queue == [attachment.id]  # queued once the attachment was committed

    # the progress each page commits, as another session (the web page) sees it
    watched: list[tuple[str, int, int]] = []
    read = ocr._Reader.read

    def watching(self: ocr._Reader, page: ocr._PageImage) -> str:
        with app.db.transaction() as other:
            row = other.get(ReplyAttachment, attachment.id, populate_existing=True)
            assert row is not None
            watched.append((row.ocr_status, row.ocr_pages_done, row.ocr_pages))
        return read(self, page)

    monkeypatch.setattr(ocr._Reader, "read", watching)
    assert reply_scans.read_attachment(attachment.id) == "done"
    assert watched == [("running", 0, 1)]

    db.expire_all()
    done = db.get(ReplyAttachment, attachment.id)
    reply = db.get(Reply, reply_id)
    assert done is not None and reply is not None
    assert (done.ocr_status, done.ocr_pages, done.ocr_pages_done) == ("done", 1, 1)
    assert done.ocr_language == "ru" and "CMC/2010/TJK/0001" in done.ocr_text
    assert reply.full_text.startswith("Received by post.\n\n— Text read from scan.jpg —\n")
    assert "Конвенция по кассетным боеприпасам" in flat(reply.full_text)
    assert reply.language == "ru"
    assert reply_scans.read_attachment(attachment.id) == "skipped"  # done once, not again


def test_reading_again_in_a_chosen_language_replaces_the_text(
    db: Session, scans: dict[str, bytes], no_queue: list[int], client: TestClient
) -> None:
    reply_id = log_reply(db)
    attachment = service.add_attachment(
        db, reply_id=reply_id, filename="lettre.png", content=scans["fr.png"], actor=None
    )
    reply_scans.request(db, attachment_id=attachment.id, language="fr")
    db.commit()
    assert reply_scans.read_attachment(attachment.id) == "done"
    headers = api_headers(db, make_user(db, Role.campaigner))
    url = f"/api/v1/replies/attachments/{attachment.id}/ocr"
    state = client.get(url, headers=headers).json()
    assert state["status"] == "done" and state["language"] == "fr"
    assert (state["pages"], state["pages_done"], state["error"]) == (1, 1, "")
    assert "sous-munitions" in state["text"]

    again = client.post(url, json={"language": "es"}, headers=headers)
    assert again.status_code == 202
    assert again.json()["status"] == "queued" and again.json()["language"] == "es"
    assert no_queue[-1] == attachment.id
    assert reply_scans.read_attachment(attachment.id) == "done"
    db.expire_all()
    reply = db.get(Reply, reply_id)
    assert reply is not None
    # one block under the scan's heading, the Spanish model's reading
    assert reply.full_text.count("— Text read from lettre.png —") == 1
    assert client.get(url, headers=headers).json()["language"] == "es"
    assert reply.language == "fr"  # set by the first reading, kept

    unsupported = client.post(url, json={"language": "de"}, headers=headers)
    assert unsupported.status_code == 422
    assert unsupported.headers["content-type"].startswith("application/problem+json")
    missing = client.get("/api/v1/replies/attachments/999999/ocr", headers=headers)
    assert missing.status_code == 404
    assert client.get(url).status_code == 401


def test_a_scan_being_read_is_not_queued_twice(db: Session, no_queue: list[int]) -> None:
    reply_id = log_reply(db)
    png = as_image(Image.new("L", (200, 100), 255), "PNG")
    attachment = service.add_attachment(
        db, reply_id=reply_id, filename="blank.png", content=png, actor=None
    )
    attachment.ocr_status = "running"
    db.flush()
    with pytest.raises(Conflict, match="is being read"):
        reply_scans.request(db, attachment_id=attachment.id, language="ru")


def test_a_bad_scan_fails_once_with_its_reason(db: Session, no_queue: list[int]) -> None:
    reply_id = log_reply(db, full_text="As received.")
    corrupt = b"%PDF-1.4\n" + bytes(range(256)) * 20  # passes the sniffing, not poppler
    attachment = service.add_attachment(
        db, reply_id=reply_id, filename="scan.pdf", content=corrupt, actor=None
    )
    db.commit()
    assert reply_scans.read_attachment(attachment.id) == "failed"
    assert reply_scans.read_attachment(attachment.id) == "skipped"  # never retried by itself
    db.expire_all()
    failed = db.get(ReplyAttachment, attachment.id)
    reply = db.get(Reply, reply_id)
    assert failed is not None and reply is not None
    assert failed.ocr_status == "failed" and "damaged or not a PDF" in failed.ocr_error
    assert reply.full_text == "As received."


def test_a_reply_changed_meanwhile_is_read_again(
    db: Session, scans: dict[str, bytes], no_queue: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply's version moves on between the job's read and its write (a user saved an
    edit): the write is refused by the version check, and the job reads the reply again and
    adds its text to the reply as it now is, instead of failing or overwriting the edit."""
    reply_id = log_reply(db, full_text="First text.")
    attachment = service.add_attachment(
        db, reply_id=reply_id, filename="photo.jpg", content=scans["ru.jpg"], actor=None
    )
    db.commit()
    original = reply_scans.with_scan_text
    calls: list[str] = []
    sessions: list[Session] = []
    transaction = reply_scans.transaction

    @contextlib.contextmanager
    def recorded() -> Iterator[Session]:
        with transaction() as session:
            sessions.append(session)
            yield session

    def edited_meanwhile(full_text: str, filename: str, previous: str, text: str) -> str:
        calls.append(full_text)
        if len(calls) == 1:  # the user's save lands now, in the eyes of the version check
            sessions[-1].execute(
                update(Reply)
                .where(Reply.id == reply_id)
                .values(version=Reply.version + 1)
                .execution_options(synchronize_session=False)
            )
        return original(full_text, filename, previous, text)

    monkeypatch.setattr(reply_scans, "transaction", recorded)
    monkeypatch.setattr(reply_scans, "with_scan_text", edited_meanwhile)
    assert reply_scans.read_attachment(attachment.id) == "done"
    assert calls == ["First text.", "First text."]  # refused once, read again, written
    db.expire_all()
    reply = db.get(Reply, reply_id)
    assert reply is not None and reply.language == "ru"
    assert reply.full_text.startswith("First text.\n\n— Text read from photo.jpg —\n")


def test_only_scans_are_queued(db: Session, no_queue: list[int]) -> None:
    reply = service.create(
        db,
        data=ReplyCreate.model_validate({"received_on": "2010-06-20", "sender_name": "X"}),
        actor=None,
    )
    png = as_image(Image.new("L", (20, 20), 255), "PNG")
    scan = service.add_attachment(db, reply_id=reply.id, filename="a.png", content=png, actor=None)
    assert scan.ocr_status == "queued"
    other = ReplyAttachment(
        reply_id=reply.id,
        filename="note.txt",
        content_type="text/plain",
        sha256="0" * 64,
        storage_path="replies/none.txt",
    )
    db.add(other)
    db.flush()
    reply_scans.queue_attachment(db, other)
    assert other.ocr_status == ""
    with pytest.raises(InvalidInput, match="not a scan"):
        reply_scans.request(db, attachment_id=other.id)


def test_a_scan_that_came_by_email_is_read_into_the_reply(
    db: Session, scans: dict[str, bytes], no_queue: list[int]
) -> None:
    msg = EmailMessage()
    msg["From"] = "Mission of Tajikistan <mission@tj-geneva.example>"
    msg["To"] = "info@cmc.example"
    msg["Subject"] = "Our reply"
    msg["Date"] = "Sat, 12 Jun 2010 10:00:00 +0200"
    msg["Message-ID"] = "<scan-reply-1@tj-geneva.example>"
    msg.set_content("Please find our note attached.")
    msg.add_attachment(scans["ru.jpg"], maintype="image", subtype="jpeg", filename="note.jpg")
    reply, created = intake.ingest_email(db, raw=msg.as_bytes(), actor=None)
    assert created
    [scan] = reply.attachments
    assert scan.ocr_status == "queued"
    db.commit()
    assert no_queue == [scan.id]
    assert reply_scans.read_attachment(scan.id) == "done"
    db.expire_all()
    read = db.get(Reply, reply.id)
    done = db.get(ReplyAttachment, scan.id)
    assert read is not None and done is not None and done.ocr_language == "ru"
    assert read.language == "en"  # the email's own language, set first, is kept
    assert read.full_text.startswith("Please find our note attached.")
    assert "— Text read from note.jpg —" in read.full_text
    assert "Конвенция по кассетным боеприпасам" in flat(read.full_text)
