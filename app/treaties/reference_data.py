"""The shipped treaties, from `data/treaties.md` (article numbers and sources as cited there)."""
# ruff: noqa: E501 — source URLs and quoted rule texts are kept whole

from __future__ import annotations

from datetime import date
from typing import Any

CCM_TEXT = "Convention on Cluster Munitions, English text (Dutch treaty database BWBV0003143) [S2]"
MBT_TEXT = "Mine Ban Convention, English text (Dutch treaty database BWBV0001384) [S4]"
UNTC_CCM = "https://treaties.un.org/Pages/ViewDetails.aspx?src=TREATY&mtdsg_no=XXVI-6&chapter=26"
UNTC_MBT = "https://treaties.un.org/Pages/ViewDetails.aspx?src=TREATY&mtdsg_no=XXVI-5&chapter=26"

TREATIES: list[dict[str, Any]] = [
    {
        "short_name": "CCM",
        "name": "Convention on Cluster Munitions",
        "adopted_on": date(2008, 5, 30),
        "signature_opened_on": date(2008, 12, 3),
        "eif_trigger_count": 30,
        "eif_months_after": 6,
        "eif_rule": (
            "Art. 17(1): first day of the sixth month after the month in which the 30th "
            "instrument was deposited. Art. 17(2): for a state depositing after that date, the "
            "first day of the sixth month after the date of its own deposit."
        ),
        "withdrawal_rule": (
            "Art. 20: six months after the depositary receives the instrument, but not before "
            "the end of an armed conflict the withdrawing party is engaged in."
        ),
        "source": f"{UNTC_CCM} [S1]; {CCM_TEXT}",
        "obligations": [
            (
                "stockpile",
                "Art. 3(2)",
                "Destroy stockpiled cluster munitions",
                (8, 0, 0),
                None,
                "Art. 3(3): up to 4 years on request to an MSP or RC; in exceptional circumstances "
                "further extensions of up to 4 years each; request at least 9 months before the "
                "meeting (Art. 3(5)).",
            ),
            (
                "clearance",
                "Art. 4(1)(a)",
                "Clear cluster munition remnants",
                (10, 0, 0),
                None,
                "Art. 4(5): up to 5 years; request before the deadline and at least 9 months before "
                "the meeting (Art. 4(6)); renewable by further periods of up to 5 years (Art. 4(8)).",
            ),
            ("initial_report", "Art. 7(1)", "Initial transparency report", (0, 0, 180), None, ""),
            (
                "annual_report",
                "Art. 7(2)",
                "Annual transparency report update",
                (0, 0, 0),
                (4, 30),
                "",
            ),
        ],
    },
    {
        "short_name": "MBT",
        "name": (
            "Convention on the Prohibition of the Use, Stockpiling, Production and Transfer of "
            "Anti-Personnel Mines and on their Destruction (Mine Ban Treaty)"
        ),
        "adopted_on": date(1997, 9, 18),
        "signature_opened_on": date(1997, 12, 3),
        "eif_trigger_count": 40,
        "eif_months_after": 6,
        "eif_rule": (
            "Art. 17(1): first day of the sixth month after the month in which the 40th "
            "instrument was deposited. Art. 17(2): for later states, the first day of the sixth "
            "month after the date of their own deposit."
        ),
        "withdrawal_rule": (
            "Art. 20(3): six months after receipt, deferred while the withdrawing party is "
            "engaged in armed conflict."
        ),
        "source": f"{UNTC_MBT} [S3]; {MBT_TEXT}",
        "obligations": [
            (
                "stockpile",
                "Art. 4",
                "Destroy stockpiled anti-personnel mines",
                (4, 0, 0),
                None,
                "None provided in the treaty.",
            ),
            (
                "clearance",
                "Art. 5(1)",
                "Destroy anti-personnel mines in mined areas",
                (10, 0, 0),
                None,
                "Art. 5(3): up to 10 years on request to an MSP or RC, decided by majority of States "
                "Parties present and voting (Art. 5(5)); renewable on a new request (Art. 5(6)).",
            ),
            ("initial_report", "Art. 7(1)", "Initial transparency report", (0, 0, 180), None, ""),
            (
                "annual_report",
                "Art. 7(2)",
                "Annual transparency report update",
                (0, 0, 0),
                (4, 30),
                "",
            ),
        ],
    },
]

# (treaty, iso3, obligation code, new deadline, granted by, source) — treaties.md section 4.
EXTENSIONS = [
    (
        "MBT",
        "TJK",
        "clearance",
        date(2020, 4, 1),
        "Second Review Conference (Cartagena Summit, 2009)",
        "https://www.asiaplustj.info/en/news/tajikistan/20091205/cartagena-summit-seconds-tajikistan-s-request-extension-its-mine-clearance-commitments [S21]",
    ),
    (
        "MBT",
        "TJK",
        "clearance",
        date(2025, 12, 31),
        "Fourth Review Conference (Oslo, 2019)",
        "https://www.mineactionreview.org/country/tajikistan/anti-personnel-mines [S22]",
    ),
]

# The CSV's `*_ratified` column also holds acceptances (A) and approvals (AA); treaties.md §3.
INSTRUMENT_KINDS = {
    ("CCM", "JPN"): "acceptance",
    ("CCM", "NLD"): "acceptance",
    ("MBT", "JPN"): "acceptance",
    ("MBT", "NLD"): "acceptance",
    ("MBT", "SVK"): "approval",
}
