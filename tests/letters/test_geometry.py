"""Where the address lands on the page, measured in the PDF (pdfminer.six text boxes, in mm from
the paper's top-left corner), against the envelope standards: DIN 5008 forms A and B for A4 and
the #10 window envelope for US Letter."""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from pdfminer.high_level import extract_pages
from pdfminer.layout import LTChar, LTCurve, LTPage, LTTextLine
from pypdf import PdfReader, PdfWriter

from app.letters.batch import combine_pdfs
from app.letters.context import sample_context
from app.letters.page import address_fits, return_lines
from app.letters.render import LetterJob, RenderError, render_pdf

MM = 25.4 / 72
TOLERANCE = 0.3  # mm: glyph boxes come from the fonts' ascent and descent


@dataclass(frozen=True)
class Box:
    """A line of text; top and bottom are where its ink can reach: from the baseline, 0.8 em up
    (accents, Arabic letters) and 0.5 em down (descenders), not the font's whole line box."""

    text: str
    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class Field:
    """An envelope window on the sheet, as the standard gives it (mm)."""

    left: float
    top: float
    width: float
    height: float

    @property
    def right(self) -> float:
        return self.left + self.width

    @property
    def bottom(self) -> float:
        return self.top + self.height


IN = 25.4
FIELDS = {
    # DIN 5008 form B: 45 mm from the top, 20 mm from the left, 85 x 45 mm.
    "a4": Field(20, 45, 85, 45),
    # DIN 5008 form A: the same field 27 mm from the top.
    "a4-form-a": Field(20, 27, 85, 45),
    # #10 envelope (4 1/8 in high) with a 1 1/8 x 4 1/2 in window 7/8 in from the left and 1/2 in
    # from the bottom; the sheet folded in thirds (3 2/3 in) rests on the envelope's bottom edge
    # and may slide 1/2 in across: the band seen through the window on every sheet.
    "us-letter": Field(
        7 / 8 * IN, (4.125 - 0.5 - 1.125 - (4.125 - 11 / 3)) * IN, 3.5 * IN, 1.125 * IN
    ),
}
# Above the address the field keeps a zone for the return address (DIN 5008: 17.7 mm).
ADDRESS_ZONE_TOP = {"a4": 45 + 17.7, "a4-form-a": 27 + 17.7}

ADDRESSES = {
    "en": [
        "H.E. Emomali Rahmon",
        "President of the Republic of Tajikistan",
        "Executive Office of the President",
        "Attn. Foreign Policy Department",
        "Building 2, Floor 3",
        "Rudaki Avenue 80",
        "PO Box 1021",
        "734023 Dushanbe",
        "Tajikistan",
    ],
    "ru": [
        "Его Превосходительству Эмомали Рахмону",
        "Президенту Республики Таджикистан",
        "Исполнительный аппарат Президента",
        "Отдел внешней политики",
        "Здание 2, этаж 3",
        "проспект Рудаки, 80",
        "а/я 1021",
        "734023 Душанбе",
        "Таджикистан",
    ],
    "ar": [
        "فخامة الرئيس إمام علي رحمان",
        "رئيس جمهورية طاجيكستان",
        "الجهاز التنفيذي للرئيس",
        "إدارة السياسة الخارجية",
        "المبنى 2، الطابق 3",
        "Rudaki Avenue 80",
        "صندوق بريد 1021",
        "734023 دوشنبه",
        "طاجيكستان",
    ],
    "zh": [
        "埃莫马利·拉赫蒙阁下",
        "塔吉克斯坦共和国总统",
        "总统执行办公室",
        "外交政策司",
        "二号楼三层",
        "鲁达基大街80号",
        "邮政信箱 1021",
        "734023 杜尚别",
        "塔吉克斯坦",
    ],
}
BODIES = {
    "en": "<p>{{ recipient.salutation }}</p><p>We write about the Convention.</p>",
    "ru": "<p>Уважаемый господин Президент!</p><p>Мы пишем вам о Конвенции.</p>",
    "ar": "<p>فخامة الرئيس،</p><p>نكتب إليكم بشأن الاتفاقية.</p>",
    "zh": "<p>尊敬的总统阁下：</p><p>我们谨就《集束弹药公约》致函阁下。</p>",
}
# A letterhead one line longer than the sample's, and a website that must keep its order.
SENDER = {
    "address_lines": ["Second Floor", "1 Rue de Varembé", "CH-1202", "Geneva"],
    "website": "https://www.stopclustermunitions.org",
}


def _render(
    lang: str,
    address: list[str],
    *,
    layout: str = "a4",
    body: str | None = None,
    options: tuple[str, ...] = (),
) -> bytes:
    context = sample_context(lang, {"recipient": {"address_block": address}, "sender": SENDER})
    job = LetterJob(
        body=body if body is not None else BODIES[lang],
        subject="Convention",
        context=context,
        language=lang,
        layout=layout,
        options=options,
    )
    return render_pdf(job).pdf


def _pages(pdf: bytes) -> list[LTPage]:
    return list(extract_pages(io.BytesIO(pdf)))


def _lines(page: LTPage) -> list[Box]:
    def walk(item: object) -> list[LTTextLine]:
        if isinstance(item, LTTextLine):
            return [item]
        if hasattr(item, "__iter__"):
            return [line for child in item for line in walk(child)]
        return []

    def box(line: LTTextLine) -> Box:
        chars = [c for c in line if isinstance(c, LTChar)]
        baseline = (page.height - chars[0].matrix[5]) * MM
        size = max(c.size for c in chars) * MM
        return Box(
            line.get_text().strip(),
            line.x0 * MM,
            baseline - 0.8 * size,
            line.x1 * MM,
            baseline + 0.5 * size,
        )

    return [box(line) for line in walk(page) if line.get_text().strip()]


def _letters(text: str) -> list[str]:
    """The characters without spaces, sorted: equal whatever order bidi set them in."""
    return sorted(re.sub(r"\s", "", text))


def _find(lines: list[Box], wanted: str) -> Box:
    matches = [box for box in lines if _letters(box.text) == _letters(wanted)]
    assert matches, f"{wanted!r} not found as a line of its own in {[b.text for b in lines]}"
    return matches[0]


def _containing(lines: list[Box], part: str) -> Box:
    matches = [box for box in lines if part in box.text]
    assert matches, f"no line holds {part!r}"
    return matches[0]


def _assert_in_field(box: Box, field: Field, top: float | None = None) -> None:
    assert box.left >= field.left - TOLERANCE, box
    assert box.right <= field.right + TOLERANCE, box
    assert box.top >= (field.top if top is None else top) - TOLERANCE, box
    assert box.bottom <= field.bottom + TOLERANCE, box


@pytest.mark.parametrize("layout", ["a4", "a4-form-a", "us-letter"])
@pytest.mark.parametrize("lang", ["en", "ru", "ar", "zh"])
@pytest.mark.parametrize("count", [3, 9])
def test_address_sits_in_the_window_whatever_the_script_and_length(
    layout: str, lang: str, count: int
) -> None:
    address = ADDRESSES[lang][:count]
    page = _pages(_render(lang, address, layout=layout))[0]
    lines = _lines(page)
    field = FIELDS[layout]
    boxes = [_find(lines, line) for line in address]
    for box in boxes:
        _assert_in_field(box, field, ADDRESS_ZONE_TOP.get(layout))
    # one line under the other, each starting at the same left edge (also in Arabic letters)
    tops = [box.top for box in boxes]
    assert tops == sorted(tops) and len({round(t, 1) for t in tops}) == count
    assert max(box.left for box in boxes) - min(box.left for box in boxes) < 0.5
    # the return address sits in the window above the address (by the short name where the
    # full one makes the line too wide for the window)
    back = _containing(lines, " · Second Floor · 1 Rue de Varembé · CH-1202 · Geneva")
    _assert_in_field(back, field)
    assert back.bottom <= boxes[0].top + TOLERANCE
    # the reference and date lines come after the window, never over the address (the date
    # line names the city in the letter's language)
    for part in ("CMC/2010/TJK/0001", sample_context(lang)["sender"]["city"]):
        # (an Arabic run may come out of the PDF in visual order)
        held = [b for b in lines if part in b.text or part[::-1] in b.text]
        after = [b for b in held if b.top > field.top and b != back]
        assert after and all(b.top >= field.bottom for b in after), part


@pytest.mark.parametrize("count", [4, 5, 6, 7, 8])
def test_every_address_length_between_fits_the_din_address_zone(count: int) -> None:
    address = ADDRESSES["en"][:count]
    lines = _lines(_pages(_render("en", address))[0])
    for line in address:
        _assert_in_field(_find(lines, line), FIELDS["a4"], ADDRESS_ZONE_TOP["a4"])


def test_letterhead_length_does_not_move_the_address() -> None:
    def first_line_top(sender_lines: list[str]) -> float:
        context = sample_context(
            "en",
            {
                "recipient": {"address_block": ADDRESSES["en"][:4]},
                "sender": {"address_lines": sender_lines},
            },
        )
        job = LetterJob(body=BODIES["en"], subject="Convention", context=context)
        return _find(_lines(_pages(render_pdf(job).pdf)[0]), ADDRESSES["en"][0]).top

    short = first_line_top(["Geneva"])
    long = first_line_top(["Second Floor", "1 Rue de Varembé", "CH-1202", "Geneva", "Switzerland"])
    assert abs(short - long) < 0.01


def test_latin_runs_keep_their_order_in_an_arabic_letter() -> None:
    pdf = _render("ar", ADDRESSES["ar"][:6])
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Rudaki Avenue 80" in text
    assert "https://www.stopclustermunitions.org" in text
    assert "//:https" not in text
    lines = _lines(_pages(pdf)[0])
    assert _containing(lines, "Rudaki Avenue 80").text == "Rudaki Avenue 80"
    assert _containing(lines, "CMC/2010/TJK/0001")
    # the letterhead's Latin lines keep their order, their parts left to right
    assert (
        _containing(lines, "Second Floor").text
        == "Second Floor · 1 Rue de Varembé · CH-1202 · Geneva"
    )
    assert _containing(lines, "info@").text.startswith("info@")


def _marks(page: LTPage) -> list[float]:
    """The heights (mm from the top) of the short rules drawn in the left margin (a rule may
    come as several strokes: those within 1 mm of each other count once)."""
    heights = sorted(
        (page.height - item.y1) * MM
        for item in page
        if isinstance(item, LTCurve) and item.x1 * MM < 15 and item.height < 2
    )
    marks: list[float] = []
    for y in heights:
        if not marks or y - marks[-1] > 1:
            marks.append(y)
    return marks


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("a4", [105.0, 148.5, 210.0]),
        ("a4-form-a", [87.0, 148.5, 192.0]),
        ("us-letter", [round(11 / 3 * IN, 1), round(22 / 3 * IN, 1)]),
    ],
)
def test_fold_and_punch_marks_only_when_asked(layout: str, expected: list[float]) -> None:
    address = ADDRESSES["en"][:3]
    with_marks = _pages(_render("en", address, layout=layout, options=("fold_marks",)))[0]
    assert [pytest.approx(y, abs=0.3) for y in _marks(with_marks)] == expected
    assert _marks(_pages(_render("en", address, layout=layout))[0]) == []


def test_unknown_print_option_is_refused() -> None:
    with pytest.raises(RenderError, match="print option"):
        _render("en", ADDRESSES["en"][:3], options=("crop_marks",))


def test_address_fits() -> None:
    nine = ADDRESSES["en"]
    for layout in FIELDS:
        assert address_fits(nine, layout)
        assert address_fits(ADDRESSES["zh"], layout)
        assert not address_fits([*nine, *nine[:5]], layout)  # 14 lines
        # a line too long is broken at its spaces; a word too long cannot be
        assert address_fits(
            ["Ministry of Foreign Affairs and International Cooperation " * 2], layout
        )
        assert not address_fits(["MinistryOfForeignAffairsAndInternationalCooperation" * 2], layout)
    assert address_fits(["Rudaki Avenue 80"], "a4")


MISSION = "Постоянное представительство Республики Казахстан при Отделении ООН в Женеве"


@pytest.mark.parametrize("layout", ["a4", "a4-form-a", "us-letter"])
def test_a_line_too_long_for_the_window_is_broken_at_a_space_not_cut(layout: str) -> None:
    address = ["госпоже А. Жакуповой", MISSION, "Rue de Lausanne 80", "1202 Genève", "SUISSE"]
    lines = _lines(_pages(_render("ru", address, layout=layout))[0])
    field = FIELDS[layout]
    held = [box for box in lines if box.text in MISSION and box.top > field.top]
    assert len(held) == 2 and " ".join(box.text for box in held) == MISSION, held
    for box in held:
        _assert_in_field(box, field)


def test_page_label_per_language() -> None:
    zh = _pages(_render("zh", ADDRESSES["zh"][:3]))[0]
    assert "第 1 页，共 1 页" in [box.text for box in _lines(zh)]
    en = _pages(_render("en", ADDRESSES["en"][:3]))[0]
    assert "Page 1 of 1" in [box.text for box in _lines(en)]


def test_chinese_paragraph_wraps_inside_the_margins_with_full_width_punctuation() -> None:
    sentence = (
        "集束弹药对平民造成的伤害在冲突结束后仍长期存在，我们恳请贵国尽早加入《集束弹药公约》。"
    )
    pdf = _render("zh", ADDRESSES["zh"][:4], body=f"<p>{sentence * 12}</p>")
    page = _pages(pdf)[0]
    body = [box for box in _lines(page) if "集束弹药" in box.text or "公约" in box.text]
    assert len(body) >= 5  # one paragraph, wrapped over several lines
    for box in body:
        assert box.left >= 25 - TOLERANCE and box.right <= 210 - 20 + TOLERANCE, box
    chars = [
        char
        for line in page
        if hasattr(line, "__iter__")
        for text_line in line
        if isinstance(text_line, LTTextLine)
        for char in text_line
        if isinstance(char, LTChar) and char.get_text() in "，。《》"
    ]
    assert chars and all("CJK" in char.fontname for char in chars)
    # full-width: each mark takes a whole em
    assert all(char.adv >= 0.9 * char.size for char in chars)


def test_date_values_do_not_break_inside() -> None:
    filler = "Campaign words " * 3
    body = "".join(
        f"<p>{filler[: n * 3]}the treaty entered into force on 1\u00a0August 2010 and "
        f"the meeting opens on 9\u00a0November 2010, for every state.</p>"
        for n in range(1, 16)
    )
    lines = [box.text for box in _lines(_pages(_render("en", ADDRESSES["en"][:3], body=body))[0])]
    for current, following in zip(lines, lines[1:], strict=False):
        assert not (re.search(r"\b[19]$", current) and re.match(r"(August|November)", following))


def test_closing_stays_with_the_signature() -> None:
    for filler in range(10, 17):  # the signature block reaches the foot of page 1 here
        body = "<p>Dear Mr President,</p>" + "<p>Text of the letter.</p>" * filler
        body += "<p>Please accept the assurances of our highest consideration.</p>"
        pages = _pages(_render("en", ADDRESSES["en"][:3], body=body))
        closing = [i for i, p in enumerate(pages) if any("assurances" in b.text for b in _lines(p))]
        signed = [i for i, p in enumerate(pages) if any(b.text == "Thomas Nash" for b in _lines(p))]
        assert closing == signed, filler


def _blank_letter(path: Path, pages: int, width: float) -> Path:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=width, height=842)
    with path.open("wb") as fh:
        writer.write(fh)
    return path


@pytest.mark.parametrize("chunk", [2, 50])
def test_recto_padding_starts_every_letter_on_an_odd_page(tmp_path: Path, chunk: int) -> None:
    counts = [1, 2, 3, 1, 4]
    paths = [_blank_letter(tmp_path / f"{i}.pdf", n, 500 + i) for i, n in enumerate(counts)]
    target = tmp_path / "all.pdf"
    total = combine_pdfs(paths, target, recto=True, chunk=chunk)
    widths = [round(float(p.mediabox.width)) for p in PdfReader(target).pages]
    assert total == len(widths) == 14  # 1+1, 2, 3+1, 1+1, 4
    starts = [widths.index(500 + i) for i in range(len(counts))]
    assert all(start % 2 == 0 for start in starts)  # page index 0, 2, 4 ... is a recto
    plain = combine_pdfs(paths, tmp_path / "plain.pdf", chunk=chunk)
    assert plain == sum(counts)


# The demo organisation's address: its return line in full is wider than any window.
LONG_SENDER = {
    "short_name": "CMC",
    "address_lines": ["Maison de la Paix, Chemin Eugène-Rigot 2C", "1202 Geneva", "Switzerland"],
}


def test_return_line_shortens_to_fit_instead_of_being_cut() -> None:
    assert return_lines({"name": "Cluster Munition Coalition", **LONG_SENDER}) == [
        "Cluster Munition Coalition · Maison de la Paix, Chemin Eugène-Rigot 2C · 1202 Geneva · "
        "Switzerland",
        "Cluster Munition Coalition · Chemin Eugène-Rigot 2C · 1202 Geneva · Switzerland",
        "CMC · Maison de la Paix, Chemin Eugène-Rigot 2C · 1202 Geneva · Switzerland",
        "CMC · Chemin Eugène-Rigot 2C · 1202 Geneva · Switzerland",
    ]
    # a comma not after a building's name stays: "Suite 5" is no street
    assert return_lines({"name": "X", "address_lines": ["2666 16th Street NW, Suite 5"]}) == [
        "X · 2666 16th Street NW, Suite 5"
    ]
    for layout in ("a4", "a4-form-a", "us-letter"):
        context = sample_context("en", {"sender": LONG_SENDER})
        job = LetterJob(body=BODIES["en"], subject="S", context=context, layout=layout)
        lines = _lines(_pages(render_pdf(job).pdf)[0])
        back = [b for b in lines if b.text.startswith(("CMC ·", "Cluster Munition Coalition ·"))]
        assert len(back) == 1 and back[0].text.endswith(" · 1202 Geneva · Switzerland"), back
        _assert_in_field(back[0], FIELDS[layout])


def test_a_second_page_never_holds_only_the_closing_and_signature() -> None:
    """Whatever the length, the last paragraph goes over with the closing."""
    filler = "<p>The Convention bans the use, production and transfer of these weapons.</p>"
    seen = 0
    for count in range(10, 20):  # one line more each time, across the end of the first page
        body = filler * count + "<p>Last paragraph of the letter.</p>"
        body += '<p class="closing">Yours sincerely,</p>'
        job = LetterJob(body=body, subject="S", context=sample_context("en"))
        reader = PdfReader(io.BytesIO(render_pdf(job).pdf))
        if len(reader.pages) == 2:
            seen += 1
            assert "Last paragraph" in reader.pages[1].extract_text(), count
    assert seen  # some length spilled onto a second page


def test_a_reference_and_a_range_of_days_are_never_split_across_lines() -> None:
    """Wherever a line ends, "CMC/2025/MEX/0006" and "16–19 сентября" stay whole, and the
    PDF's text still reads them as written."""
    for words in range(10, 22):
        filler = "Конвенция " * words
        body = f"<p>{filler}CMC/2025/MEX/0006 и {filler}16–19 сентября 2025 г.</p>"
        job = LetterJob(body=body, subject="S", context=sample_context("ru"), language="ru")
        pdf = render_pdf(job).pdf
        texts = [box.text for box in _lines(_pages(pdf)[0])]
        assert any("CMC/2025/MEX/0006" in t for t in texts), (words, texts)
        assert any("16–19" in t for t in texts), (words, texts)
        assert "\u2060" not in PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
