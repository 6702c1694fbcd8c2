"""Suggested positions: each stance in each language, negation, acknowledgements, the quote,
how sure each suggestion is, and the labelled set of replies read end to end."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from app.models import PositionStance
from app.replies import stance
from app.replies.stance import is_acknowledgement, suggest_positions

LABELLED = Path(__file__).parents[2] / "bench" / "data" / "replies"

S = PositionStance
# (language, text, treaty, stance): one sentence or two, as replies put it
CASES = [
    # English
    (
        "en",
        "The Government of Ghana supports the Convention on Cluster Munitions.",
        "CCM",
        S.supports,
    ),
    (
        "en",
        "Grenada welcomes the Oslo Convention and will sign it at the earliest opportunity.",
        "CCM",
        S.supports,
    ),
    (
        "en",
        "The Republic intends to accede to the Mine Ban Treaty before the end of the year.",
        "MBT",
        S.supports,
    ),
    (
        "en",
        "The Ministry is studying the Convention on Cluster Munitions with the Army.",
        "CCM",
        S.will_consider,
    ),
    (
        "en",
        "Accession to the Ottawa Convention remains under active consideration.",
        "MBT",
        S.will_consider,
    ),
    ("en", "We do not support a ban on cluster munitions.", "CCM", S.opposes),
    ("en", "Israel cannot support the Convention on Cluster Munitions.", "CCM", S.opposes),
    ("en", "The Kingdom is not in a position to join the Mine Ban Treaty.", "MBT", S.opposes),
    (
        "en",
        "The Government has no intention of joining the Convention on Cluster Munitions.",
        "CCM",
        S.opposes,
    ),
    (
        "en",
        "Fiji has not taken a position on the Convention on Cluster Munitions.",
        "CCM",
        S.no_position,
    ),
    (
        "en",
        "Norway is already a State Party to the Convention on Cluster Munitions.",
        "CCM",
        S.already_party,
    ),
    (
        "en",
        "Ireland deposited its instrument of ratification of the Oslo Convention in 2008.",
        "CCM",
        S.already_party,
    ),
    # French
    (
        "fr",
        "Le Burkina Faso appuie la Convention sur les armes à sous-munitions.",
        "CCM",
        S.supports,
    ),
    ("fr", "Le Gouvernement a l'intention d'adhérer à la Convention d'Ottawa.", "MBT", S.supports),
    (
        "fr",
        "Le Gouvernement examine actuellement la Convention sur les armes à sous-munitions.",
        "CCM",
        S.will_consider,
    ),
    (
        "fr",
        "Le Gouvernement n'appuie pas la Convention sur les armes à sous-munitions.",
        "CCM",
        S.opposes,
    ),
    ("fr", "La République ne peut pas adhérer à la Convention d'Ottawa.", "MBT", S.opposes),
    (
        "fr",
        "Le Mali n'a pas encore arrêté de position sur la Convention d'Oslo.",
        "CCM",
        S.no_position,
    ),
    (
        "fr",
        "La France est déjà partie à la Convention sur l'interdiction des mines antipersonnel.",
        "MBT",
        S.already_party,
    ),
    # Spanish
    (
        "es",
        "El Gobierno de Guatemala apoya la Convención sobre Municiones en Racimo.",
        "CCM",
        S.supports,
    ),
    (
        "es",
        "La Cancillería está estudiando la Convención sobre Municiones en Racimo.",
        "CCM",
        S.will_consider,
    ),
    ("es", "El Gobierno no apoya la Convención sobre Municiones en Racimo.", "CCM", S.opposes),
    (
        "es",
        "El Estado no está en condiciones de adherirse a la Convención de Ottawa.",
        "MBT",
        S.opposes,
    ),
    (
        "es",
        "Bolivia no ha adoptado todavía una posición sobre la Convención de Oslo.",
        "CCM",
        S.no_position,
    ),
    (
        "es",
        "México ya es Estado Parte de la Convención sobre Municiones en Racimo.",
        "CCM",
        S.already_party,
    ),
    # Russian, the treaty in several cases
    (
        "ru",
        "Республика Казахстан поддерживает Конвенцию по кассетным боеприпасам.",
        "CCM",
        S.supports,
    ),
    ("ru", "Правительство изучает Конвенцию по кассетным боеприпасам.", "CCM", S.will_consider),
    (
        "ru",
        "Российская Федерация не поддерживает Конвенцию по кассетным боеприпасам.",
        "CCM",
        S.opposes,
    ),
    ("ru", "Узбекистан не может присоединиться к Оттавской конвенции.", "MBT", S.opposes),
    (
        "ru",
        "Азербайджан не определил позицию по Конвенции о запрещении противопехотных мин.",
        "MBT",
        S.no_position,
    ),
    (
        "ru",
        "Республика Таджикистан уже является участником Оттавской конвенции.",
        "MBT",
        S.already_party,
    ),
    # Arabic
    ("ar", "إن حكومة الكويت تؤيد اتفاقية الذخائر العنقودية.", "CCM", S.supports),
    ("ar", "إن اتفاقية الذخائر العنقودية رهن الدراسة لدى الجهات المختصة.", "CCM", S.will_consider),
    ("ar", "إن المملكة لا تؤيد اتفاقية الذخائر العنقودية.", "CCM", S.opposes),
    ("ar", "إن الدولة لا يمكنها الانضمام إلى اتفاقية أوتاوا في الوقت الحاضر.", "MBT", S.opposes),
    ("ar", "لم تتخذ الحكومة بعد موقفا من اتفاقية الذخائر العنقودية.", "CCM", S.no_position),
    ("ar", "إن اليمن دولة طرف في اتفاقية أوتاوا.", "MBT", S.already_party),
    # Chinese
    ("zh", "中国政府支持《渥太华公约》的宗旨并将加入该公约。", "MBT", S.supports),
    ("zh", "有关部门正在研究《集束弹药公约》。", "CCM", S.will_consider),
    ("zh", "中方不支持《集束弹药公约》。", "CCM", S.opposes),
    ("zh", "中国目前不能加入《禁止杀伤人员地雷公约》。", "MBT", S.opposes),
    ("zh", "中方对《集束弹药公约》尚未形成最终立场。", "CCM", S.no_position),
    ("zh", "该国已是《集束弹药公约》缔约国。", "CCM", S.already_party),
    # German
    (
        "de",
        "Die Bundesregierung unterstützt das Übereinkommen über Streumunition.",
        "CCM",
        S.supports,
    ),
    (
        "de",
        "Deutschland ist bereits Vertragsstaat des Übereinkommens über Streumunition.",
        "CCM",
        S.already_party,
    ),
]


@pytest.mark.parametrize(("language", "text", "treaty", "expected"), CASES)
def test_each_stance_in_each_language(
    language: str, text: str, treaty: str, expected: PositionStance
) -> None:
    found = suggest_positions(text, language=language)
    assert [(s.treaty, s.stance) for s in found] == [(treaty, expected)]
    assert 0 < found[0].confidence <= 1
    # the hint is only a hint: the same text without it says the same
    assert [(s.treaty, s.stance) for s in suggest_positions(text)] == [(treaty, expected)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a negator turns a supporting or considering cue...
        ("Thailand does not currently support the Convention on Cluster Munitions.", S.opposes),
        ("Our Government is not studying the Convention on Cluster Munitions.", S.opposes),
        (
            "Le Gouvernement ne soutient pas la Convention sur les armes à sous-munitions.",
            S.opposes,
        ),
        ("Cuba no respalda la Convención sobre Municiones en Racimo.", S.opposes),
        ("Республика не намерена подписывать Конвенцию по кассетным боеприпасам.", S.opposes),
        ("إن الحكومة لن تنضم إلى اتفاقية الذخائر العنقودية.", S.opposes),
        ("中方不会签署《集束弹药公约》。", S.opposes),
        ("Die Regierung unterstützt das Übereinkommen über Streumunition nicht.", S.opposes),
        # ..."no obstante" is no negation
        ("No obstante, Panamá apoya la Convención sobre Municiones en Racimo.", S.supports),
    ],
)
def test_negation_turns_the_cue(text: str, expected: PositionStance) -> None:
    assert [s.stance for s in suggest_positions(text)] == [expected]


@pytest.mark.parametrize(
    "text",
    [
        # a negated "already party" or "signed" says nothing worth registering
        "Cuba no es Estado Parte de la Convención de Ottawa.",
        "Pakistan has not ratified the Mine Ban Treaty.",
        "Республика не является участником Оттавской конвенции.",
        "The Government has not yet signed the Convention on Cluster Munitions.",
        # a stance on another treaty is not one on ours
        "India supports the Convention on Certain Conventional Weapons.",
        "中方支持《特定常规武器公约》。",
        # no treaty anywhere
        "The Ministry supports the proposal for a seminar in Geneva.",
    ],
)
def test_no_suggestion_where_nothing_is_stated(text: str) -> None:
    assert suggest_positions(text) == []


def test_the_convention_refers_to_the_treaty_named_last() -> None:
    text = (
        "Tajikistan joined the Mine Ban Treaty in 1999. As regards the Convention on Cluster "
        "Munitions, the Government is studying the Convention carefully."
    )
    assert {(s.treaty, s.stance) for s in suggest_positions(text)} == {
        ("MBT", S.already_party),
        ("CCM", S.will_consider),
    }
    # after the CCW, "the Convention" is the CCW
    ccw = (
        "Pakistan is a party to the Convention on Certain Conventional Weapons. "
        "Pakistan fully supports the Convention and its Protocols."
    )
    assert suggest_positions(ccw) == []


def test_a_stance_sentence_right_after_a_treaty_mention_carries_it() -> None:
    text = (
        "Your letter concerned the Convention on Cluster Munitions. "
        "The Government is not in a position to accede at this time."
    )
    found = suggest_positions(text)
    assert [(s.treaty, s.stance) for s in found] == [("CCM", S.opposes)]
    assert found[0].quote == "The Government is not in a position to accede at this time."


def test_the_quote_is_the_stating_sentence_as_written_with_ocr_breaks_joined() -> None:
    text = (
        "EMBASSY OF GHANA\nGENEVA\n\nDear Sir,\n\nThank you for your letter of 1 May 2010.\n"
        "The Government of Ghana has ratified the Con-\nvention on Cluster Munitions and\n"
        "urges all states to join it.   Yours faithfully,\n"
    )
    found = suggest_positions(text)
    assert [(s.treaty, s.stance) for s in found] == [("CCM", S.already_party)]
    assert found[0].quote == (
        "The Government of Ghana has ratified the Convention on Cluster Munitions and urges "
        "all states to join it."
    )
    arabic = "شكرا على رسالتكم.\nإن الحكومة تدرس اتفاقية الذخائر العنقودية؟ نعم."
    assert suggest_positions(arabic)[0].quote == "إن الحكومة تدرس اتفاقية الذخائر العنقودية؟"
    chinese = "来函收悉。中方正在研究\n《集束弹药公约》。此复。"
    assert suggest_positions(chinese)[0].quote == "中方正在研究《集束弹药公约》。"


def test_the_quote_keeps_the_original_script_and_case() -> None:
    text = "Беларусь НЕ МОЖЕТ присоединиться к Конвенции по кассетным боеприпасам."
    found = suggest_positions(text)
    assert found[0].stance is S.opposes
    assert found[0].quote == text


def test_confidence_orders_named_inferred_and_contested_statements() -> None:
    def confidence(text: str) -> float:
        (found,) = suggest_positions(text)
        return found.confidence

    named = confidence("Ghana supports the Convention on Cluster Munitions.")
    anaphor = confidence(
        "We wrote about the Convention on Cluster Munitions. Then: Ghana supports the Convention."
    )
    carried = confidence(
        "Your letter concerned the Convention on Cluster Munitions. Ghana supports it."
    )
    far = confidence(
        "Your letter concerned the Convention on Cluster Munitions. One. Two. Three. "
        "Ghana supports it."
    )
    assert named > anaphor > carried > far
    # a strong cue says more than a weak one
    assert confidence(
        "Ghana is already a State Party to the Convention on Cluster Munitions."
    ) > confidence("Ghana welcomes the Convention on Cluster Munitions.")
    # a contradiction lowers the confidence of the stance that wins
    contested = confidence(
        "Ghana supports the Convention on Cluster Munitions. Ghana opposes the Convention on "
        "Cluster Munitions and cannot accede to it."
    )
    assert contested < confidence(
        "Ghana opposes the Convention on Cluster Munitions and cannot accede to it."
    )
    # "although" weakens what it concedes: the refusal wins
    (found,) = suggest_positions(
        "Although Ghana supports the humanitarian aims of the Convention on Cluster Munitions, "
        "it is not in a position to accede to it."
    )
    assert found.stance is S.opposes


def test_suggestions_come_most_certain_first_one_per_treaty() -> None:
    text = (
        "Tajikistan is a State Party to the Mine Ban Treaty and fully supports its "
        "universalisation. Tajikistan welcomes the Convention on Cluster Munitions."
    )
    found = suggest_positions(text)
    assert [(s.treaty, s.stance) for s in found] == [
        ("MBT", S.already_party),
        ("CCM", S.supports),
    ]
    assert found[0].confidence >= found[1].confidence
    assert found[0].as_dict() == {
        "treaty": "MBT",
        "stance": "already_party",
        "quote": found[0].quote,
        "confidence": found[0].confidence,
    }


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Thank you for your letter, which has been forwarded to the competent authorities."),
        (
            "en",
            "We acknowledge receipt of your letter concerning the Convention on Cluster Munitions.",
        ),
        (
            "fr",
            "Nous accusons réception de votre lettre, qui a été transmise aux services compétents.",
        ),
        ("es", "Acusamos recibo de su carta del 1 de mayo de 2010."),
        ("ru", "Подтверждаем получение Вашего письма от 1 мая 2010 г."),
        ("ar", "نفيدكم بأننا تلقينا رسالتكم المؤرخة في 1 مايو 2010."),
        ("zh", "来函收悉，已转交有关部门。"),
        ("de", "Wir bestätigen den Eingang Ihres Schreibens vom 1. Mai 2010."),
    ],
)
def test_acknowledgements(language: str, text: str) -> None:
    assert is_acknowledgement(text, language=language)
    assert suggest_positions(text, language=language) == []


@pytest.mark.parametrize(
    "text",
    [
        # acknowledges AND answers: a reply
        "We acknowledge receipt of your letter. Ghana supports the Oslo Convention.",
        "Nous accusons réception de votre lettre. Le Mali est partie à la Convention d'Ottawa.",
        "来函收悉。中方不能加入《集束弹药公约》。",
        # answers without acknowledging
        "Ghana supports the Convention on Cluster Munitions.",
        # neither: an invitation
        "The Mission has the honour to invite the Coalition to a reception on 12 April 2010.",
        "",
    ],
)
def test_not_acknowledgements(text: str) -> None:
    assert not is_acknowledgement(text)


def test_input_beyond_the_bound_is_not_read() -> None:
    statement = "Ghana supports the Convention on Cluster Munitions."
    assert suggest_positions(statement)
    assert suggest_positions("x" * stance.MAX_CHARS + " " + statement) == []


def test_cue_tables_are_well_formed() -> None:
    data = Path(stance.__file__).parent / "data"
    stances = {s.value for s in PositionStance} | {stance.ACKNOWLEDGEMENT}
    with (data / "stance_cues.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {r["language"] for r in rows} >= {"en", "fr", "es", "ru", "ar", "zh"}
    for row in rows:
        assert None not in row and "" not in (row["pattern"], row["weight"]), row
        assert row["stance"] in stances, row
        assert row["negated"] in {"", *(s.value for s in PositionStance)}, row
        assert 0 < float(row["weight"]) <= 1, row
        re.compile(row["pattern"])
        # patterns are matched on lower-cased text
        assert not re.search(r"(?<!\\)[A-Z]", re.sub(r"\\[A-Za-z]", "", row["pattern"])), row
    rules = stance.rules()
    assert rules is stance.rules()  # compiled once


def _labelled() -> list[dict[str, object]]:
    replies: list[dict[str, object]] = []
    for path in sorted(LABELLED.glob("??.json")):
        replies.extend(json.loads(path.read_text(encoding="utf-8"))["replies"])
    return replies


def test_the_labelled_set_precision_and_recall() -> None:
    replies = _labelled()
    assert len(replies) >= 48
    assert {r["language"] for r in replies} == {"en", "fr", "es", "ru", "ar", "zh"}
    tp = fp = fn = 0
    acknowledged_right = 0
    misses = []
    for reply in replies:
        expected_raw = reply["expected"]
        assert isinstance(expected_raw, dict)
        expected = {(s["treaty"], s["stance"]) for s in expected_raw["stances"]}
        text, language = str(reply["text"]), str(reply["language"])
        found = {(s.treaty, s.stance.value) for s in suggest_positions(text, language=language)}
        tp += len(found & expected)
        fp += len(found - expected)
        fn += len(expected - found)
        if found != expected:
            misses.append((reply["id"], sorted(expected), sorted(found)))
        acknowledged_right += (
            is_acknowledgement(text, language=language) == expected_raw["is_acknowledgement"]
        )
    precision = tp / (tp + fp)
    recall = tp / (tp + fn)
    assert precision >= 0.9, misses
    assert recall >= 0.9, misses
    assert acknowledged_right / len(replies) >= 0.95
