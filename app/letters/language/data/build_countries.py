"""Regenerate countries.csv (run by hand, not at run time).

    git clone https://github.com/datasets/country-codes /tmp/cc
    .venv/bin/python app/letters/language/data/build_countries.py /tmp/cc/data/country-codes.csv

Formal and UN short names come from the UNTERM columns of datasets/country-codes (joined there
from the UN Multilingual Terminology Database by scripts/join_unterm.py). English formal names
missing there come from pycountry's ISO 3166-1 `official_name`. For French and Spanish, the
article of each CLDR short name (the short name letters use) is taken from UNTERM when CLDR and
UNTERM spell the name alike; otherwise from the table below, marked `unverified`.
"""

import csv
import re
import sys
from pathlib import Path

import pycountry
from babel import Locale

HERE = Path(__file__).parent
STATES = HERE.parents[2] / "treaties" / "data" / "states_treaty_status.csv"
COMMIT = "caa72d1e0e5af8876c170bb36a9e4d64a01bba88"
UNTERM_SOURCE = (
    "UNTERM (https://unterm.un.org, Country names), column '{column}' of GitHub "
    f"datasets/country-codes@{COMMIT[:7]} data/country-codes.csv"
)
LANGS = {
    "en": "English",
    "fr": "French",
    "es": "Spanish",
    "ru": "Russian",
    "ar": "Arabic",
    "zh": "Chinese",
}
ARTICLES = {
    "en": ["the"],
    "fr": ["l'", "l’", "le", "la", "les"],
    "es": ["el", "la", "los", "las"],
}
GENDER = {"le": "m", "la": "f", "les": "p", "el": "m", "los": "mp", "las": "fp"}
# CLDR short names that UNTERM writes otherwise: (article, gender) by French/Spanish grammar.
CLDR_ARTICLES = {
    ("fr", "BLR"): ("la", "f"),
    ("fr", "COD"): ("le", "m"),
    ("fr", "COG"): ("le", "m"),
    ("fr", "CPV"): ("le", "m"),
    ("fr", "GBR"): ("le", "m"),
    ("fr", "KOR"): ("la", "f"),
    ("fr", "LAO"): ("le", "m"),
    ("fr", "MDA"): ("la", "f"),
    ("fr", "PRK"): ("la", "f"),
    ("fr", "PSE"): ("les", "p"),
    ("fr", "RUS"): ("la", "f"),
    ("fr", "SLV"): ("le", "m"),
    ("fr", "SYR"): ("la", "f"),
    ("fr", "TLS"): ("le", "m"),
    ("fr", "TUR"): ("la", "f"),
    ("fr", "TZA"): ("la", "f"),
    ("fr", "USA"): ("les", "p"),
    ("fr", "VAT"): ("l'", "m"),
    ("fr", "CIV"): ("la", "f"),
    ("fr", "KNA"): ("", ""),
    ("fr", "NIU"): ("", ""),
    ("es", "GBR"): ("el", "m"),
    ("es", "KOR"): ("", "f"),
    ("es", "LAO"): ("", "m"),
    ("es", "MDA"): ("", "f"),
    ("es", "PRK"): ("", "f"),
    ("es", "PSE"): ("los", "mp"),
    ("es", "RUS"): ("", "f"),
    ("es", "SYR"): ("", "f"),
    ("es", "TZA"): ("", "f"),
    ("es", "USA"): ("los", "mp"),
    ("es", "CIV"): ("", "f"),
    ("es", "TUR"): ("", "f"),
    ("es", "VAT"): ("la", "f"),
    ("es", "KNA"): ("", ""),
}


def split_article(lang: str, text: str) -> tuple[str, str]:
    """'la République du Tadjikistan' -> ('la', 'République du Tadjikistan')."""
    text = re.sub(r"\s*\*+\s*$", "", text.strip()).replace("’", "'")
    for art in ARTICLES.get(lang, []):
        if art.endswith("'") and text.startswith(art):
            return "l'", text[len(art) :]
        if text.startswith(art + " "):
            return art, text[len(art) + 1 :]
    return "", text


def split_short(text: str) -> tuple[str, str]:
    """'Tadjikistan (le)' -> ('le', 'Tadjikistan'); 'Cuba' -> ('', 'Cuba')."""
    text = re.sub(r"\s*\*+\s*$", "", text.strip()).replace("’", "'")
    m = re.fullmatch(r"(.*?)\s*\((the|l'|le|la|les|el|los|las)\)(?:\s*\[.*\])?", text)
    return (m.group(2), m.group(1)) if m else ("", text)


def gender_of(article: str, name: str) -> str:
    if article == "l'":
        # French country names in -e are feminine, the others masculine (l'Angola, l'Iraq).
        return "f" if name.split()[0].endswith("e") else "m"
    return GENDER.get(article, "")


def main(path: str) -> None:
    with open(path, encoding="utf-8") as fh:
        unterm = {r["ISO3166-1-Alpha-3"]: r for r in csv.DictReader(fh)}
    with STATES.open(encoding="utf-8") as fh:
        states = [r["iso3"] for r in csv.DictReader(fh)]
    rows = []
    for iso3 in sorted(states):
        rec = unterm[iso3]
        alpha2 = rec["ISO3166-1-Alpha-2"]
        for lang, label in LANGS.items():
            for form, column in (
                ("formal", f"UNTERM {label} Formal"),
                ("short_un", f"UNTERM {label} Short"),
            ):
                raw = rec[column]
                source = UNTERM_SOURCE.format(column=column)
                if form == "formal":
                    article, name = split_article(lang, raw)
                else:
                    article, name = split_short(raw)
                status = "verified" if name else "missing"
                if not name and lang == "en" and form == "formal":
                    country = pycountry.countries.get(alpha_3=iso3)
                    name = getattr(country, "official_name", "") if country else ""
                    source = "pycountry ISO 3166-1 official_name (UNTERM row empty in the copy)"
                    status = "unverified" if name else "missing"
                if not name:
                    source = f"no UNTERM name in the copy ({column} empty)"
                name = " ".join(name.split())
                name = name[:1].upper() + name[1:] if lang in ("en", "fr", "es") else name
                gender = gender_of(article, name) if lang in ("fr", "es") else ""
                rows.append([iso3, lang, form, name, article, gender, source, status])
            if lang in ("fr", "es"):
                cldr = Locale.parse(lang).territories[alpha2]
                art_un, base = split_short(rec[f"UNTERM {label} Short"])
                if (lang, iso3) in CLDR_ARTICLES:
                    article, gender = CLDR_ARTICLES[(lang, iso3)]
                    source = (
                        f"CLDR short name; article by {label} grammar (UNTERM short name: "
                        f"'{rec[f'UNTERM {label} Short']}')"
                    )
                    status = "unverified"
                elif base == cldr:
                    article, gender = art_un, gender_of(art_un, cldr)
                    source = UNTERM_SOURCE.format(column=f"UNTERM {label} Short") + " (article)"
                    status = "verified"
                else:
                    article, gender = art_un, gender_of(art_un, cldr)
                    source = (
                        f"article of the UNTERM spelling '{rec[f'UNTERM {label} Short']}' "
                        f"applied to the CLDR spelling"
                    )
                    status = "unverified"
                rows.append([iso3, lang, "short", cldr, article, gender, source, status])
    with (HERE / "countries.csv").open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(
            ["iso3", "language", "form", "name", "article", "gender", "source", "status"]
        )
        writer.writerows(rows)


if __name__ == "__main__":
    main(sys.argv[1])
