"""Reading scans: ``ocr.recognise`` against the raw ``tesseract`` command, in the same run, on
the same page images.

Each letter (Latin/English, Cyrillic/Russian, Arabic, Chinese) is printed by WeasyPrint on A4,
rasterised at 300 dpi in grey by pdftoppm and turned by a degree, as a scanned page. Per page:

raw      = ``tesseract page.png out -l <the language's model> --psm 1`` (one thread, as the
           service runs it), nothing else;
chosen   = ``ocr.recognise(png, language=...)``: the same reading, plus Pillow's normalisation,
           the limits and the process handling;
detected = ``ocr.recognise(png)``: the language found first (script detection; a Latin page
           is read twice, once with three models to tell the language, once with its own);
pdf      = the same page as a scanned PDF, language detected (pdfinfo, pdfimages, pdftoppm on
           top).

Peak memory is the largest resident size of any child process (tesseract, pdftoppm), sampled
from /proc every 50 ms, the raw command's the same way. The median of REPEAT runs is kept.
Written to bench/results/replies_ocr.json.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "replies_ocr.json"
REPEAT = int(os.environ.get("REPLIES_OCR_BENCH_REPEAT", "3"))

PARAGRAPHS = {
    "en": (
        "ltr",
        "Noto Serif",
        "The Permanent Mission of the Republic of Tajikistan to the United Nations Office at "
        "Geneva presents its compliments to the Cluster Munition Coalition and, with reference "
        "to its letter CMC/2010/TJK/0001 dated 1 May 2010, has the honour to inform that the "
        "Government of the Republic of Tajikistan is considering accession to the Convention on "
        "Cluster Munitions. The competent ministries have been asked to study the obligations "
        "it would bring, in particular on stockpile destruction and assistance to victims.",
    ),
    "ru": (
        "ltr",
        "Noto Serif",
        "Постоянное представительство Республики Таджикистан при Отделении ООН в Женеве "
        "свидетельствует своё уважение Коалиции против кассетных боеприпасов и, ссылаясь на "
        "письмо CMC/2010/TJK/0001 от 1 мая 2010 года, имеет честь сообщить, что Правительство "
        "рассматривает вопрос о присоединении к Конвенции по кассетным боеприпасам. "
        "Компетентным министерствам поручено изучить вытекающие из неё обязательства.",
    ),
    "ar": (
        "rtl",
        "Noto Naskh Arabic",
        "تهدي البعثة الدائمة للجمهورية العربية السورية لدى مكتب الأمم المتحدة في جنيف تحياتها "
        "إلى التحالف من أجل حظر الذخائر العنقودية، وبالإشارة إلى رسالتها المؤرخة في 1 أيار 2010، "
        "تتشرف بأن تفيد بأن الحكومة تدرس الانضمام إلى اتفاقية الذخائر العنقودية، وقد طلبت من "
        "الوزارات المختصة دراسة الالتزامات المترتبة عليها.",
    ),
    "zh": (
        "ltr",
        "Noto Serif CJK SC",
        "中华人民共和国常驻联合国日内瓦办事处和瑞士其他国际组织代表团向集束弹药联盟致意，"
        "并谈及贵方2010年5月1日来函，谨通知中国政府正在认真研究《集束弹药公约》的各项义务，"
        "有关部门已受命研究销毁库存和援助受害者等问题。",
    ),
}
SCRIPTS = {"en": "Latin", "ru": "Cyrillic", "ar": "Arabic", "zh": "Chinese"}


def _pages(work: Path) -> dict[str, Path]:
    """One A4 page per language, scanned: 300 dpi grey PNG, turned by a degree."""
    from PIL import Image
    from weasyprint import HTML

    pages: dict[str, Path] = {}
    for code, (direction, font, paragraph) in PARAGRAPHS.items():
        html = (
            f"<html dir='{direction}'><style>@page {{ size: A4; margin: 25mm }} "
            f"body {{ font-family: '{font}'; font-size: 11.5pt; line-height: 1.4 }}</style><body>"
            + "".join(f"<p>{paragraph}</p>" for _ in range(5))
            + "</body></html>"
        )
        pdf = work / f"{code}.pdf"
        pdf.write_bytes(HTML(string=html).write_pdf())
        subprocess.run(
            ["pdftoppm", "-r", "300", "-gray", "-png", "-singlefile", str(pdf), str(work / code)],
            check=True,
        )
        image = Image.open(work / f"{code}.png").convert("L")
        image = image.rotate(1.0, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=255)
        image.save(work / f"{code}.png", dpi=(300, 300))
        pages[code] = work / f"{code}.png"
    return pages


def _raw(page: Path, model: str, work: Path) -> tuple[float, int]:
    """The plain command: seconds, and the child's peak resident size (kB) sampled from /proc
    as the service samples it (wait4's figure would include this process's size at fork)."""
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    started = time.perf_counter()
    proc = subprocess.Popen(
        ["tesseract", str(page), str(work / "raw"), "-l", model, "--psm", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    waiter = threading.Thread(target=proc.wait, daemon=True)  # the exit seen at once
    waiter.start()
    peak = 0
    while waiter.is_alive():
        with contextlib.suppress(OSError):
            status = Path(f"/proc/{proc.pid}/status").read_text()
            found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
            peak = max(peak, int(found.group(1)) if found else 0)
        waiter.join(0.05)
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"tesseract failed on {page}")
    return seconds, peak


def _as_pdf(page: Path) -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.open(page).save(out, format="PDF", resolution=300)
    return out.getvalue()


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 3)


def measure(code: str, page: Path, work: Path) -> dict[str, Any]:
    from app.replies import ocr

    png = page.read_bytes()
    pdf = _as_pdf(page)
    raw_s, chosen_s, detected_s, pdf_s = [], [], [], []
    raw_kb = service_kb = 0
    detected_language = ""
    for _ in range(REPEAT):
        seconds, kb = _raw(page, ocr.MODELS[code], work)
        raw_s.append(seconds)
        raw_kb = max(raw_kb, kb)

        started = time.perf_counter()
        result = ocr.recognise(png, content_type="image/png", language=code)
        chosen_s.append(time.perf_counter() - started)
        service_kb = max(service_kb, result.peak_child_kb)

        started = time.perf_counter()
        result = ocr.recognise(png, content_type="image/png")
        detected_s.append(time.perf_counter() - started)
        detected_language = result.language
        service_kb = max(service_kb, result.peak_child_kb)

        started = time.perf_counter()
        result = ocr.recognise(pdf, content_type="application/pdf")
        pdf_s.append(time.perf_counter() - started)
        service_kb = max(service_kb, result.peak_child_kb)
    raw = _median(raw_s)
    return {
        "script": SCRIPTS[code],
        "model": ocr.MODELS[code],
        "raw_s_per_page": raw,
        "chosen_s_per_page": _median(chosen_s),
        "detected_s_per_page": _median(detected_s),
        "pdf_detected_s_per_page": _median(pdf_s),
        "chosen_vs_raw": round(_median(chosen_s) / raw, 3),
        "detected_vs_raw": round(_median(detected_s) / raw, 3),
        "pdf_vs_raw": round(_median(pdf_s) / raw, 3),
        "detected_language": detected_language,
        "raw_peak_mb": round(raw_kb / 1024, 1),
        "children_peak_mb": round(service_kb / 1024, 1),
    }


def main() -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="demarche-ocr-bench-"))
    os.environ.setdefault("DEMARCHE_ENV", "test")
    os.environ.setdefault("DEMARCHE_DATA_DIR", str(work / "data"))
    os.environ.setdefault("DEMARCHE_SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789")
    from app.replies import ocr

    started = time.perf_counter()
    load_before = os.getloadavg()
    pages = _pages(work)
    rows = {code: measure(code, page, work) for code, page in pages.items()}
    result = {
        "cpu_count": os.cpu_count(),
        "repeat": REPEAT,
        "page": "A4, 300 dpi grey, turned 1 degree, 5 paragraphs of a letter",
        "limits": {
            "max_pages": ocr.MAX_PAGES,
            "max_pixels": ocr.MAX_PIXELS,
            "read_pixels": ocr.READ_PIXELS,
            "page_seconds": ocr.PAGE_SECONDS,
            "scan_seconds": ocr.SCAN_SECONDS,
            "child_memory_mb": ocr.CHILD_MEMORY // 2**20,
        },
        "pages": rows,
        "bench_seconds": round(time.perf_counter() - started, 1),
        # The machine is shared: the load average says how much the figures can be trusted.
        "load_average_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    header = (
        f"{'script':<9} {'raw s':>6} {'chosen':>7} {'x':>5} {'detect':>7} {'x':>5} "
        f"{'pdf':>6} {'x':>5} {'lang':>4} {'raw MB':>7} {'kids MB':>8}"
    )
    print(header)
    for row in rows.values():
        print(
            f"{row['script']:<9} {row['raw_s_per_page']:>6.2f} {row['chosen_s_per_page']:>7.2f} "
            f"{row['chosen_vs_raw']:>5.2f} {row['detected_s_per_page']:>7.2f} "
            f"{row['detected_vs_raw']:>5.2f} {row['pdf_detected_s_per_page']:>6.2f} "
            f"{row['pdf_vs_raw']:>5.2f} {row['detected_language']:>4} "
            f"{row['raw_peak_mb']:>7.1f} {row['children_peak_mb']:>8.1f}"
        )
    print(f"load average before/after: {result['load_average_before_after']}")
    return result


if __name__ == "__main__":
    main()
