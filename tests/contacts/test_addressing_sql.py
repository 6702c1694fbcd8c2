"""The SQL forms of the addressing rules (used by the fast export lane) give what their Python
forms give, on this run's database."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from app.contacts import addressing
from app.contacts import service as contacts_service
from app.contacts.schemas import ContactPointCreate
from app.models import ContactKind, ContactPoint
from tests.factories import make_organisation, make_person, make_position

name = st.sampled_from(["", "Emomali", "Рахмон", "إمام علي", "O'Neil", "Jean-Luc", "a b"])
language = st.sampled_from(["", "en", "ru", "fr-CA", "zh"])


def how_many_preferred(points: Sequence[ContactPoint]) -> int:
    return sum(1 for p in points if p.preferred)


def _one(cursor: Any) -> Any:
    row = cursor.fetchone()
    assert row is not None
    return row


def _mark(db: Session) -> str:
    return "?" if db.connection().dialect.paramstyle == "qmark" else "%s"


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    honorific=st.sampled_from(["", "H.E.", "Ms"]),
    given_name=name,
    family_name=name,
    native_name=name,
    person_language=language,
    org_language=st.none() | language,
    no_post=st.tuples(st.booleans(), st.none() | st.booleans()),
)
def test_names_language_and_flags_in_sql_are_the_python_rules(
    db: Session,
    honorific: str,
    given_name: str,
    family_name: str,
    native_name: str,
    person_language: str,
    org_language: str | None,
    no_post: tuple[bool, bool | None],
) -> None:
    m = _mark(db)
    with_org = org_language is not None
    # the organisation's row is NULL where there is none, as after the lane's LEFT JOIN
    sql = (
        f"SELECT {addressing.display_person_sql('p')}, {addressing.language_sql('p', 'o')},"
        f" CASE WHEN {addressing.flag_sql('no_post', 'p', 'o')} THEN 1 ELSE 0 END"
        f" FROM (SELECT CAST({m} AS TEXT) AS honorific, CAST({m} AS TEXT) AS given_name,"
        f" CAST({m} AS TEXT) AS family_name, CAST({m} AS TEXT) AS native_name,"
        f" CAST({m} AS TEXT) AS preferred_language, {m} = 1 AS no_post) p"
        f" LEFT JOIN (SELECT CAST({m} AS TEXT) AS preferred_language, {m} = 1 AS no_post) o"
        f" ON {m} = 1"
    )
    org_post = bool(no_post[1]) if with_org else False
    params = [
        honorific,
        given_name,
        family_name,
        native_name,
        person_language,
        int(no_post[0]),
        org_language or "",
        int(org_post),
        int(with_org),
    ]
    cursor = db.connection().connection.cursor()
    cursor.execute(sql, params)
    display, lang, flag = _one(cursor)
    assert display == addressing.display_person(honorific, given_name, family_name, native_name)
    assert lang == addressing.language_of(None, person_language, org_language)
    assert bool(flag) == (no_post[0] or (with_org and org_post))


START = date(2020, 1, 1)


@pytest.mark.parametrize(
    "positions",
    [
        # (office holder, days after START or None, days until it ends or None)
        [(False, 10, None), (True, 0, None), (False, 20, None)],
        [(False, None, None), (False, 5, None)],
        [(False, 5, None), (False, 5, None)],  # the same day: the older record
        [(True, 30, -1), (False, 1, None)],  # an ended office
        [(False, None, None), (False, None, None)],
    ],
)
def test_position_ranking_in_sql_is_the_python_ranking(
    db: Session, positions: list[tuple[bool, int | None, int | None]]
) -> None:
    person = make_person(db)
    today = START + timedelta(days=60)
    for holder, start, ends in positions:
        make_position(
            db,
            person,
            make_organisation(db),
            title="Counsellor",
            is_office_holder=holder,
            start_date=START + timedelta(days=start) if start is not None else None,
            end_date=today + timedelta(days=ends) if ends is not None else None,
        )
    person = contacts_service.get_person(db, person.id)
    chosen = addressing.choose_position(person.positions, today)
    m = _mark(db)
    sql = (
        f"SELECT q.id FROM positions q WHERE q.person_id = {m}"
        f" AND {addressing.active_sql('q', m)}"
        f" ORDER BY {addressing.order_sql(addressing.POSITION_ORDER, 'q')} LIMIT 1"
    )
    on = today.isoformat() if db.connection().dialect.name == "sqlite" else today
    cursor = db.connection().connection.cursor()
    cursor.execute(sql, [person.id, on, on])
    assert chosen is not None and _one(cursor)[0] == chosen.id


@pytest.mark.parametrize(
    ("own", "theirs"),
    [
        ([False, True, False], [True]),  # the person's preferred one
        ([False, False], [True]),  # else their oldest
        ([], [False, True]),  # else the organisation's preferred one
        ([], [False, False]),
        ([], []),
    ],
)
def test_best_point_in_sql_is_the_python_choice(
    db: Session, own: list[bool], theirs: list[bool]
) -> None:
    org = make_organisation(db)
    person = make_person(db)
    for owner, flags in (({"person_id": person.id}, own), ({"organisation_id": org.id}, theirs)):
        for i, preferred in enumerate(flags):
            contacts_service.create_contact_point(
                db,
                data=ContactPointCreate(
                    kind="email",
                    value=f"x{i}-{preferred}@example.org",
                    preferred=preferred,
                    **owner,
                ),
                actor=None,
            )
    points = {
        "person": contacts_service.points_of(db, person_id=person.id),
        "organisation": contacts_service.points_of(db, organisation_id=org.id),
    }
    assert how_many_preferred(points["person"]) == (1 if any(own) else 0)
    how = addressing.addressed(
        person,
        org,
        "",
        points=lambda owner, kind: addressing.best_point(points[owner], kind),
    )
    m = _mark(db)
    best = addressing.best_point_sql(ContactKind.email, {"person": "p.id", "organisation": "o.id"})
    sql = (
        f"SELECT cp.value FROM (SELECT {m} AS id) p CROSS JOIN (SELECT {m} AS id) o"
        f" LEFT JOIN contact_points cp ON cp.id = {best}"
    )
    cursor = db.connection().connection.cursor()
    cursor.execute(sql, [person.id, org.id])
    assert (_one(cursor)[0] or "") == how.email
