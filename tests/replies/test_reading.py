"""Reading a reply's text, without the database: dates in the ten languages, which one is the
cited letter's and which the reply's own, references, the states a letterhead names."""

from __future__ import annotations

from datetime import date

import pytest

from app.replies import dates, letterhead, references


def _cited(text: str) -> list[tuple[int, int, int | None]]:
    return [(m.day, m.month, m.year) for m in dates.find_dates(text) if m.cited]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # en, both orders, ordinals
        ("Reference your letter dated 1 May 2010 on cluster munitions", (1, 5, 2010)),
        ("Thank you for your letter of May 1st, 2010.", (1, 5, 2010)),
        ("We acknowledge receipt of your note verbale of 1st May 2010.", (1, 5, 2010)),
        # fr
        ("Nous accusons réception de votre lettre du 1er mai 2010.", (1, 5, 2010)),
        ("En réponse à votre courrier en date du 12 février 2010", (12, 2, 2010)),
        # es
        ("En respuesta a su carta de fecha 1 de mayo de 2010", (1, 5, 2010)),
        ("Acuso recibo de su atenta nota del 1º de mayo de 2010", (1, 5, 2010)),
        # ru: genitive, "г.", the day in guillemets
        ("В ответ на Ваше письмо от 5 декабря 2010 г. сообщаем", (5, 12, 2010)),
        ("Ссылаясь на Вашу вербальную ноту от «5» декабря 2010 года", (5, 12, 2010)),
        # ar: Egyptian/Gulf and Levantine series, both written together, Arabic-Indic digits
        ("بالإشارة إلى رسالتكم المؤرخة 1 مايو 2010", (1, 5, 2010)),
        ("بالإشارة إلى رسالتكم المؤرخة ١ مايو ٢٠١٠", (1, 5, 2010)),
        ("ردا على كتابكم المؤرخ في 5 كانون الأول 2010", (5, 12, 2010)),
        ("نشير إلى رسالتكم المؤرخة ١ أيار/مايو ٢٠١٠ بشأن الذخائر العنقودية", (1, 5, 2010)),
        ("تلقينا برسالتكم المؤرخة 3 تشرين الثاني 2010", (3, 11, 2010)),
        # zh: digits, full-width digits, Chinese numerals; the word for letter after the date
        ("贵方2010年5月1日来函收悉。", (1, 5, 2010)),
        ("贵方２０１０年５月１日来信收悉", (1, 5, 2010)),
        ("贵方二〇一〇年五月一日致外交部长的信收悉", (1, 5, 2010)),
        # de
        ("Bezugnehmend auf Ihr Schreiben vom 1. Mai 2010", (1, 5, 2010)),
        ("Wir danken für Ihre Verbalnote vom 3. März 2010", (3, 3, 2010)),
        # pt
        ("Em resposta à sua carta de 1 de maio de 2010", (1, 5, 2010)),
        # it
        ("In riferimento alla Sua lettera del 1° maggio 2010", (1, 5, 2010)),
        # nl
        ("Naar aanleiding van uw brief van 1 mei 2010", (1, 5, 2010)),
        # numeric and ISO
        ("Thank you for your letter of 30.01.2009.", (30, 1, 2009)),
        ("In reply to your letter of 2009-01-30", (30, 1, 2009)),
        ("贵方2010/5/1来函", (1, 5, 2010)),
    ],
)
def test_cited_dates_in_the_ten_languages(text: str, expected: tuple[int, int, int]) -> None:
    assert _cited(text) == [expected]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Thank you for your letter of 5 December regarding the Convention", (5, 12)),
        ("Подтверждаем получение Вашего письма от 5 декабря.", (5, 12)),
        ("بالإشارة إلى رسالتكم المؤرخة في 5 ديسمبر", (5, 12)),
        ("贵方12月5日来函收悉。", (5, 12)),
        ("Nous avons bien reçu votre lettre du 5 décembre.", (5, 12)),
        ("Acusamos recibo de su carta del 5 de diciembre.", (5, 12)),
        ("Wir bestätigen den Eingang Ihres Schreibens vom 5. Dezember.", (5, 12)),
    ],
)
def test_cited_dates_without_a_year(text: str, expected: tuple[int, int]) -> None:
    assert _cited(text) == [(*expected, None)]


def test_a_date_without_a_year_that_is_not_a_letters_is_not_read() -> None:
    assert dates.find_dates("The meeting on 5 December was useful.") == []


def test_ocr_noise_broken_lines_and_hyphenation() -> None:
    text = "Reference your letter\ndated 1 Decem-\nber 2010 on the\nConvention"
    assert _cited(text) == [(1, 12, 2010)]
    assert _cited("votre lettre du 1er\n  mai ,2010") == [(1, 5, 2010)]
    # impossible dates are not dates
    assert dates.find_dates("on 31 February 2009 and 45.13.2009 and 30 февраля 2010") == []


def test_only_dates_introduced_as_a_letter_are_cited() -> None:
    text = (
        "Your letter dated 30 January 2009 was received.\n"
        "The Ministry of Foreign Affairs replied on 16 February 2009."
    )
    assert [(m.on, m.cited) for m in dates.find_dates(text)] == [
        (date(2009, 1, 30), True),
        (date(2009, 2, 16), False),
    ]


def test_an_ambiguous_numeric_date_keeps_both_readings() -> None:
    (found,) = dates.find_dates("your letter of 01.05.2010")
    assert (found.on, found.alternative, found.swapped) == (
        date(2010, 5, 1),
        date(2010, 1, 5),
        True,
    )
    (us,) = dates.find_dates("your letter of 5/13/2010")  # only month first is a date
    assert (us.on, us.alternative) == (date(2010, 5, 13), None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "EMBASSY OF PAKISTAN\nNo.Pol.9/4/09                      24 February 2009\n"
            "Reference your letter dated 30 January 2009.",
            date(2009, 2, 24),
        ),
        ("Permanent Mission of Tajikistan\nGeneva, 12 May 2010\n\nDear Madam,", date(2010, 5, 12)),
        ("Genève, le 12 mai 2010\nMadame,\nvotre lettre du 1er mai 2010", date(2010, 5, 12)),
        ("Женева, 12 мая 2010 г.\nУважаемая госпожа,\nВашего письма от 1 мая", date(2010, 5, 12)),
        ("Ginebra, 12 de mayo de 2010\nSeñora:", date(2010, 5, 12)),
        ("جنيف في ١٢ أيار/مايو ٢٠١٠\nالسيدة المحترمة", date(2010, 5, 12)),
        ("2010年5月12日\n尊敬的女士：", date(2010, 5, 12)),
        # Chinese letters are often dated under the signature
        (
            "尊敬的女士：\n贵方2010年5月1日来函收悉。\n\n此致\n敬礼\n\n二〇一〇年五月十二日",
            date(2010, 5, 12),
        ),
    ],
)
def test_the_replys_own_date(text: str, expected: date) -> None:
    assert dates.reply_date(text) == expected


def test_a_cited_date_or_a_date_in_a_sentence_is_not_the_replys_date() -> None:
    assert dates.reply_date("Thank you for your letter of 1 May 2010.") is None
    # an invitation: the dates are the reception's and the answer's, in sentences
    card = "代表团\n\n邀请函\n\n谨定于2010年9月28日下午6时举行招待会。\n\n请于2010年9月20日前回复。"
    assert dates.reply_date(card) is None
    # "继我馆2010年5月12日复函": the sender's own earlier letter, not ours
    text = "继我馆2010年5月12日复函，兹转交外交部对贵联盟2010年5月1日来函的答复"
    assert _cited(text) == [(1, 5, 2010)]
    text = "Dear Madam,\nThe Ministry held a meeting on 3 May 2010 with the other ministries."
    assert dates.reply_date(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("EMBASSY OF PAKISTAN\nNo.Pol.9/4/09      24 February 2009", "No.Pol.9/4/09"),
        ("Your ref.: CMC/2010/TJK/1\nOur ref.: 12/345", "12/345"),
        ("Ref.: MFA/DIO/2010/77\nGeneva, 12 May 2010", "MFA/DIO/2010/77"),
        ("Ref. No. POL/2010/55", "POL/2010/55"),
        ("Réf. : 2010/456/DGAJ\nMadame,", "2010/456/DGAJ"),
        ("N° 2010-311/MPS/GE", "2010-311/MPS/GE"),
        ("Nº 345/2010\nSeñora:", "345/2010"),
        ("Исх. № 12/345\nот 12 мая 2010 г.", "12/345"),
        ("На № CMC/2010/TJK/1 от 1 мая\n№ 05-1/887", "05-1/887"),
        ("الرقم: ٢٣٤/٥/٢٠١٠\nالتاريخ: ١٢ مايو ٢٠١٠", "234/5/2010"),
        ("外发〔2010〕12号\n尊敬的女士：", "外发〔2010〕12号"),
        ("编号：外2010-123", "外2010-123"),
        ("Unser Zeichen: 500.45 ABR\nGenf, den 12. Mai 2010", "500.45"),
        # the code before "N°" belongs to the reference; "Note" and "Circular note" do not
        ("OIG N° 147/2010\n\nLa Misión Permanente", "OIG N° 147/2010"),
        ("Caracas, 24 de mayo de 2010\nDIAN/GAND No. 18562", "DIAN/GAND No. 18562"),
        ("Ord. N° 0612\nWashington D.C., 20 de abril de 2010", "Ord. N° 0612"),
        ("CIRCULAR NOTE No. 17/2010", "17/2010"),
        ("Note No. GEN/DIS/22/2010", "GEN/DIS/22/2010"),
        # a reference on a line of its own
        ("Pasay City\n\nUNIO-2010-0231\n29 March 2010", "UNIO-2010-0231"),
        ("الرقم: م د/2010/1187\nالتاريخ: 17 مايو 2010", "م د/2010/1187"),
        ("العدد: 4/3/8812\nالتاريخ: 2010/4/28", "4/3/8812"),
        ("中华人民共和国外交部\n外军函〔2009〕第17号", "外军函〔2009〕第17号"),
        ("照会\n\n（２０１０）驻日内瓦代表团字第45号", "（2010）驻日内瓦代表团字第45号"),
    ],
)
def test_the_senders_reference(text: str, expected: str) -> None:
    assert references.sender_reference(text) == expected


def test_our_reference_is_not_taken_for_theirs() -> None:
    assert references.sender_reference("Ref.: CMC/2010/TJK/0001", ours=["CMC/2010/TJK/0001"]) == ""
    assert references.sender_reference("Votre réf. CMC/2010/SEN/2\nDear") == ""


def test_references_compare_by_their_groups() -> None:
    keys = {
        references.reference_key(v)
        for v in ("CMC/2010/TJK/0001", "CMC 2010/TJK/1", "CMC-2010-TJK-0001", "cmc/2010/tjk/01")
    }
    assert keys == {"CMC/2010/TJK/1"}
    assert references.reference_key("CMC/2010/TJK/0010") != references.reference_key(
        "CMC/2010/TJK/1"
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("Permanent Mission of Tajikistan in Geneva", ["TJK"]),
        ("Mission permanente de la République du Tadjikistan", ["TJK"]),
        ("Misión Permanente de la República de Tayikistán", ["TJK"]),
        ("Постоянное представительство Республики Таджикистан", ["TJK"]),
        ("Посольство Узбекистана", ["UZB"]),
        ("البعثة الدائمة لطاجيكستان لدى الأمم المتحدة", ["TJK"]),
        ("塔吉克斯坦常驻日内瓦代表团", ["TJK"]),
        ("Ständige Vertretung Tadschikistans", ["TJK"]),
        ("Embassy of Equatorial Guinea in the United States of America", ["GNQ", "USA"]),
        ("Ministry of Foreign Affairs", []),
    ],
)
def test_states_named_in_a_letterhead(line: str, expected: list[str]) -> None:
    assert letterhead.countries_named(line) == expected
