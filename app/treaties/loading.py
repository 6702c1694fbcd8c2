"""The treaties' reference data loaded into the database: the treaties, their obligations and
meetings, and the states' signatures, ratifications and deadline extensions from the data files.
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.models import Country
from app.models.treaties import DeadlineExtension, Meeting, Obligation, StateAction, Treaty
from app.treaties.reference_data import EXTENSIONS, INSTRUMENT_KINDS, TREATIES
from app.treaties.rules import ActionKind

DATA = Path(__file__).parent / "data"
CSV_KINDS = {
    "signed": ActionKind.signature,
    "ratified": ActionKind.ratification,
    "accession": ActionKind.accession,
}


def _read(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


# --- reference data ---------------------------------------------------------------------------


def load(session: Session) -> None:
    """Insert or refresh the shipped treaties, obligations, state actions, withdrawals, meetings
    and extensions. Idempotent; rows edited by a user (version > 1) are left alone."""
    treaties = {t.short_name: t for t in session.scalars(select(Treaty))}
    for spec in TREATIES:
        values = {k: v for k, v in spec.items() if k != "obligations"}
        treaty = treaties.get(spec["short_name"])
        if treaty is None:
            treaty = Treaty(**values)
            session.add(treaty)
            treaties[treaty.short_name] = treaty
        session.flush()
        existing = {
            o.code: o
            for o in session.scalars(select(Obligation).where(Obligation.treaty_id == treaty.id))
        }
        for pos, (code, article, label, period, annual, ext) in enumerate(spec["obligations"]):
            if code in existing:
                continue
            session.add(
                Obligation(
                    treaty_id=treaty.id,
                    code=code,
                    article=article,
                    label=label,
                    period_years=period[0],
                    period_months=period[1],
                    period_days=period[2],
                    annual_month=annual[0] if annual else None,
                    annual_day=annual[1] if annual else None,
                    extension_rules=ext,
                    position=pos,
                )
            )
    session.flush()
    countries = {c.iso3: c.id for c in session.scalars(select(Country))}

    # One signature, one instrument (whatever its kind, which a user may correct) and one
    # withdrawal per state and treaty: what exists is never added again.
    def slot(kind: ActionKind) -> str:
        return "instrument" if kind.is_instrument else kind.value

    have = {(a.country_id, a.treaty_id, slot(a.kind)) for a in session.scalars(select(StateAction))}

    def add(iso3: str, short: str, kind: ActionKind, on: str, **extra: Any) -> None:
        country_id, treaty = countries.get(iso3), treaties[short]
        if not on or country_id is None or (country_id, treaty.id, slot(kind)) in have:
            return
        have.add((country_id, treaty.id, slot(kind)))
        session.add(
            StateAction(
                country_id=country_id,
                treaty_id=treaty.id,
                kind=kind,
                action_date=date.fromisoformat(on),
                **extra,
            )
        )

    for row in _read("states_treaty_status.csv"):
        for short in ("CCM", "MBT"):
            for column, kind in CSV_KINDS.items():
                value = row[f"{short.lower()}_{column}"]
                note = ""
                if kind is ActionKind.ratification and (short, row["iso3"]) in INSTRUMENT_KINDS:
                    kind = ActionKind(INSTRUMENT_KINDS[(short, row["iso3"])])
                if (
                    short == "MBT"
                    and row["iso3"] in {"MNE", "SSD"}
                    and kind is ActionKind.accession
                ):
                    kind, note = ActionKind.succession, "Succession (d), listed as accession in CSV"
                add(row["iso3"], short, kind, value, source=row["source"], note=note)
    for row in _read("treaty_withdrawals.csv"):
        add(
            row["iso3"],
            row["treaty"],
            ActionKind.withdrawal,
            row["notification_deposited"],
            effective_date=date.fromisoformat(row["effective_date"]),
            note=row["note"],
            source=row["source"],
        )
    meetings = {(m.treaty_id, m.name) for m in session.scalars(select(Meeting))}
    for row in _read("meetings.csv"):
        treaty = treaties[row["treaty"]]
        if (treaty.id, row["meeting"]) in meetings:
            continue
        session.add(
            Meeting(
                treaty_id=treaty.id,
                name=row["meeting"],
                city=row["city"],
                country_iso3=row["country_iso3"],
                start_date=date.fromisoformat(row["start_date"]),
                end_date=date.fromisoformat(row["end_date"]),
                source=row["source"],
            )
        )
    session.flush()
    for short, iso3, code, new_deadline, granted_by, source in EXTENSIONS:
        obligation = session.scalar(
            select(Obligation).where(
                Obligation.treaty_id == treaties[short].id, Obligation.code == code
            )
        )
        country_id = countries.get(iso3)
        if obligation is None or country_id is None:
            continue
        found = session.scalar(
            select(DeadlineExtension).where(
                DeadlineExtension.country_id == country_id,
                DeadlineExtension.obligation_id == obligation.id,
                DeadlineExtension.new_deadline == new_deadline,
            )
        )
        if found is None:
            session.add(
                DeadlineExtension(
                    country_id=country_id,
                    obligation_id=obligation.id,
                    new_deadline=new_deadline,
                    granted_by=granted_by,
                    source=source,
                )
            )
    session.flush()
