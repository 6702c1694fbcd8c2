"""Regenerate ordinals.csv from ICU's spell-out rules (run by hand, not at run time).

    python -m venv /tmp/icu && /tmp/icu/bin/pip install pyicu-wheels
    /tmp/icu/bin/python app/letters/language/data/build_ordinals.py

ICU (through PyICU) is only needed here: Babel has no RBNF, and PyICU has no wheel on PyPI, so
the application reads the words from the CSV. The hand corrections below follow README.md
("How to use the meeting names") and are marked `corrected` with their reason.
"""

import csv
from pathlib import Path

import icu

HERE = Path(__file__).parent
CASES = ["nominative", "genitive", "dative", "accusative", "instrumental", "prepositional"]
# (language, gender column, ICU rule set prefix, the gender's use in meeting names)
SPECS = [
    ("en", "", "%spellout-ordinal"),
    ("fr", "f", "%spellout-ordinal-feminine"),
    ("es", "f", "%spellout-ordinal-feminine"),
    ("ru", "n", "%spellout-ordinal-neuter"),
    ("ru", "f", "%spellout-ordinal-feminine"),
    ("ar", "m", "%spellout-ordinal-masculine"),
    ("zh", "", "%spellout-ordinal"),
]
MAX = 40


def _spell(lang: str, rule_set: str, n: int) -> str:
    fmt = icu.RuleBasedNumberFormat(icu.URBNFRuleSetTag.SPELLOUT, icu.Locale(lang))
    fmt.setDefaultRuleSet(rule_set)
    return " ".join(fmt.format(n).split())


def _style(lang: str, gender: str, case: str, n: int, word: str) -> tuple[str, str]:
    """The form used in meeting names, and why it differs from ICU ("" when it does not)."""
    if lang == "en":
        return "-".join(p.capitalize() for p in word.split("-")), ""
    if lang == "es":
        if n == 11:
            return "Undécima", "UN style 'Undécima' (ICU 'decimoprimera')"
        if n == 12:
            return "Duodécima", "UN style 'Duodécima' (ICU 'decimosegunda')"
        return " ".join(p.capitalize() for p in word.split()), ""
    if lang == "fr" and "-et-un" in word:
        return word.replace("-et-un", " et un"), "1990 spelling '-et-un' replaced by ' et un'"
    if lang == "ru" and "третьому" in word:
        return word.replace("третьому", "третьему"), "CLDR error 'третьому'"
    if lang == "ru" and gender == "n" and case == "prepositional" and word.endswith("овой"):
        return word[:-2] + "ом", "CLDR error: feminine ending in the neuter prepositional"
    return word, ""


def main() -> None:
    rows = []
    for lang, gender, prefix in SPECS:
        for case in CASES if lang == "ru" else ["nominative"]:
            rule_set = prefix if case == "nominative" else f"{prefix}-{case}"
            for n in range(1, MAX + 1):
                raw = _spell(lang, rule_set, n)
                word, why = _style(lang, gender, case, n, raw)
                source = f"ICU {icu.ICU_VERSION} RBNF {rule_set} '{raw}'"
                status = "generated"
                if why:
                    source += f"; corrected: {why}"
                    status = "corrected"
                elif word != raw:
                    source += "; capitalised for meeting titles"
                rows.append([lang, gender, case, n, word, source, status])
    with (HERE / "ordinals.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["language", "gender", "case", "number", "ordinal", "source", "status"])
        writer.writerows(rows)


if __name__ == "__main__":
    main()
