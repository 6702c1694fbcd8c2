"""CSV import: encodings, bad rows with their numbers, duplicates, idempotence, all or nothing."""

from __future__ import annotations

import codecs
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.contacts.imports import csvfile
from app.contacts.imports import schemas as import_schemas
from app.contacts.imports import sink as import_sink
from app.contacts.imports.csvfile import read_table, write_csv
from app.contacts.imports.schemas import ImportOptions
from app.contacts.imports.service import run
from app.errors import InvalidInput, PayloadTooLarge
from app.models import AuditEntry, ContactPoint, Organisation, Person, Position, Tag
from tests.factories import make_organisation, make_person, make_position

HEADERS = ["Honorific", "First name", "Last name", "Organisation", "Title", "Country", "Email"]
HEADERS += ["Phone", "Address", "City", "Postal code", "Tags"]


def row(**values: str) -> list[str]:
    base = {
        "Honorific": "H.E.",
        "First name": "Emomali",
        "Last name": "Rahmon",
        "Organisation": "Executive Office of the President",
        "Title": "President",
        "Country": "TJ",
        "Email": "president@prezident.tj",
        "Phone": "+992 37 221 1234",
        "Address": "80 Rudaki Avenue",
        "City": "Dushanbe",
        "Postal code": "734023",
        "Tags": "heads of state; CCM",
    }
    base.update(values)
    return [base[h] for h in HEADERS]


def csv_bytes(rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> bytes:
    text = write_csv(HEADERS, rows, delimiter)
    return text.encode(encoding)


def counts(db: Session) -> dict[str, int]:
    out = {}
    for model in (Person, Organisation, ContactPoint, Position, Tag):
        out[model.__name__] = db.scalar(select(func.count()).select_from(model)) or 0
    return out


def do(
    db: Session, data: bytes, dry_run: bool = False, **options: Any
) -> import_schemas.ImportReport:
    return run(
        db,
        data=data,
        filename="contacts.csv",
        options=ImportOptions.model_validate(options),
        dry_run=dry_run,
        actor=None,
    )


def test_import_creates_people_organisations_positions_contact_points_and_tags(db: Session) -> None:
    report = do(
        db,
        csv_bytes(
            [
                row(),
                row(
                    **{
                        "First name": "Sirojiddin",
                        "Last name": "Muhriddin",
                        "Email": "mfa@mfa.tj",
                        "Organisation": "Ministry of Foreign Affairs",
                        "Title": "Minister",
                        "Tags": "",
                    }
                ),
            ]
        ),
    )
    assert report.imported and not report.bad_rows
    assert report.created.people == 2
    assert report.created.organisations == 2
    rahmon = db.scalar(select(Person).where(Person.family_name == "Rahmon"))
    assert rahmon is not None and rahmon.honorific == "H.E."
    points = db.scalars(select(ContactPoint).where(ContactPoint.person_id == rahmon.id)).all()
    assert {(p.kind.value, p.value) for p in points if p.kind.value != "postal"} == {
        ("email", "president@prezident.tj"),
        ("phone", "+992372211234"),
    }
    postal = next(p for p in points if p.kind.value == "postal")
    assert (postal.street_address, postal.city, postal.country_code) == (
        "80 Rudaki Avenue",
        "Dushanbe",
        "TJ",
    )
    pos = db.scalar(select(Position).where(Position.person_id == rahmon.id))
    assert pos is not None and pos.title == "President"
    org = db.get(Organisation, pos.organisation_id)
    assert org is not None and org.country_id is not None
    assert "rahmon" in rahmon.search_text
    entry = db.scalar(select(AuditEntry).where(AuditEntry.action == "contacts.import"))
    assert entry is not None and entry.details["created"]["people"] == 2
    assert entry.details["filename"] == "contacts.csv"


def test_dry_run_writes_nothing(db: Session) -> None:
    before = counts(db)
    report = do(db, csv_bytes([row()]), dry_run=True)
    assert report.created.people == 1 and not report.imported
    assert counts(db) == before


def test_every_bad_row_is_listed_with_its_number_and_reason(db: Session) -> None:
    rows = [
        row(),
        row(Email="not-an-email", **{"Last name": "A"}),
        row(Phone="12", **{"Last name": "B", "Email": "b@example.org"}),
        row(Country="Atlantis", **{"Last name": "C", "Email": "c@example.org"}),
        row(**{"First name": "", "Last name": "", "Organisation": "", "Email": "d@example.org"}),
        row(**{"Last name": "E", "Email": "e@example.org", "Country": "", "Phone": "021 123"}),
    ]
    report = do(db, csv_bytes(rows), dry_run=True)
    bad = {b.row: " ".join(b.reasons) for b in report.bad_rows}
    assert sorted(bad) == [3, 4, 5, 6, 7]
    assert "invalid email" in bad[3]
    assert "invalid phone" in bad[4] and "TJ" in bad[4]
    assert "unknown country 'Atlantis'" in bad[5]
    assert "no name" in bad[6]
    assert "country code" in bad[7]


def test_a_file_with_bad_rows_is_refused_whole(db: Session) -> None:
    before = counts(db)
    with pytest.raises(InvalidInput) as err:
        do(db, csv_bytes([row(), row(Email="broken@", **{"Last name": "X"})]))
    assert err.value.errors == [
        {
            "row": 3,
            "message": "invalid email 'broken@': "
            + err.value.errors[0]["message"].split(": ", 1)[1],
        }
    ]
    assert counts(db) == before


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8-sig", ","), ("utf-8", ";"), ("cp1252", ";"), ("utf-16", "\t")],
)
def test_encodings_and_delimiters_are_detected(db: Session, encoding: str, delimiter: str) -> None:
    text = write_csv(
        HEADERS,
        [row(**{"First name": "José", "Last name": "Müller-Ñúñez", "Email": "jm@example.org"})],
        delimiter,
    )
    report = do(db, text.encode(encoding))
    assert report.delimiter == delimiter
    person = db.scalar(select(Person).where(Person.given_name == "José"))
    assert person is not None and person.family_name == "Müller-Ñúñez"


def test_utf16_unicode_text_with_cyrillic(db: Session) -> None:
    text = write_csv(
        HEADERS + ["Native name"],
        [row(**{"Email": "r@example.org"}) + ["Эмомали Рахмон"]],
        "\t",
    )
    data = codecs.BOM_UTF16_LE + text.encode("utf-16-le")
    report = do(db, data)
    assert report.encoding == "utf-16"
    person = db.scalar(select(Person).where(Person.native_name == "Эмомали Рахмон"))
    assert person is not None and "rakhmon" in person.search_text


def test_cp1252_can_be_chosen_when_detection_is_wrong(db: Session) -> None:
    data = csv_bytes([row(**{"First name": "Renée", "Email": "r@example.org"})], "cp1252")
    table = read_table(data, encoding="cp1252")
    assert table.rows[0][1] == "Renée"
    with pytest.raises(InvalidInput):
        read_table(data, encoding="utf-8")


def test_limits_give_clear_errors() -> None:
    with pytest.raises(PayloadTooLarge):
        read_table(b"a" * (csvfile.MAX_BYTES + 1))
    with pytest.raises(InvalidInput, match="empty"):
        read_table(b"\xef\xbb\xbf  \r\n")
    with pytest.raises(InvalidInput, match="more than"):
        read_table(b"name\n" + b"x\n" * (csvfile.MAX_ROWS + 2))


def test_duplicates_within_the_file_are_merged_or_skipped(db: Session) -> None:
    rows = [
        row(),
        row(Phone="", Address="", City="", **{"Postal code": "", "Tags": "extra"}),  # same email
        row(
            Email="other@prezident.tj", Phone="", Address="", City="", **{"Postal code": ""}
        ),  # same name + org
    ]
    report = do(db, csv_bytes(rows))
    assert [(d.row, d.of_row) for d in report.duplicates] == [(3, 2), (4, 2)]
    assert report.created.people == 1
    person = db.scalar(select(Person).where(Person.family_name == "Rahmon"))
    assert person is not None
    emails = db.scalars(
        select(ContactPoint.value).where(
            ContactPoint.person_id == person.id, ContactPoint.kind == "email"
        )
    ).all()
    assert sorted(emails) == ["other@prezident.tj", "president@prezident.tj"]


def test_duplicates_can_be_skipped_row_by_row(db: Session) -> None:
    rows = [row(), row(Email="other@prezident.tj")]
    report = do(db, csv_bytes(rows), duplicates={"default": "merge", "rows": {3: "skip"}})
    assert report.skipped == 1
    assert (
        db.scalar(
            select(func.count())
            .select_from(ContactPoint)
            .where(ContactPoint.value == "other@prezident.tj")
        )
        == 0
    )


def test_duplicates_against_the_directory_are_found(db: Session) -> None:
    org = make_organisation(db, "Executive Office of the President")
    person = make_person(db, given_name="Emomali", family_name="Rahmon")
    make_position(db, person, org, title="President")
    other = make_person(db, given_name="Someone", family_name="Else")
    db.add(ContactPoint(person_id=other.id, kind="email", value="president@prezident.tj"))
    db.flush()
    report = do(db, csv_bytes([row()]), dry_run=True)
    assert len(report.duplicates) == 1
    dup = report.duplicates[0]
    assert dup.existing_id == other.id and "same email" in dup.reason
    assert dup.also_existing_id == person.id
    assert report.created.people == 0


def test_reimporting_the_same_file_changes_nothing(db: Session) -> None:
    data = csv_bytes(
        [
            row(),
            row(
                **{
                    "First name": "Jane",
                    "Last name": "Doe",
                    "Email": "jane@example.org",
                    "Organisation": "ICBL",
                }
            ),
        ]
    )
    do(db, data)
    before = counts(db)
    versions = {r[0]: r[1] for r in db.execute(select(Person.id, Person.version))}
    report = do(db, data)
    assert report.created.people == 0 and report.created.contact_points == 0
    assert report.updated.people == 0
    assert counts(db) == before
    db.expire_all()
    assert {r[0]: r[1] for r in db.execute(select(Person.id, Person.version))} == versions


def test_merging_into_an_existing_record_fills_blanks_and_adds_points(db: Session) -> None:
    person = make_person(db, given_name="Emomali", family_name="Rahmon")
    db.add(ContactPoint(person_id=person.id, kind="email", value="president@prezident.tj"))
    db.flush()
    report = do(db, csv_bytes([row(Honorific="H.E.")]))
    assert report.updated.people == 1
    db.expire_all()
    person = db.get_one(Person, person.id)
    assert person.honorific == "H.E."
    kinds = sorted(db.scalars(select(ContactPoint.kind).where(ContactPoint.person_id == person.id)))
    assert kinds == ["email", "phone", "postal"]


def test_all_or_nothing_when_the_database_fails_midway(
    db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = counts(db)
    real = import_sink._bulk

    def failing(session: Session, table: Any, rows: list[dict[str, Any]], **kw: Any) -> Any:
        if table.name == "positions":
            raise RuntimeError("disk full")
        return real(session, table, rows, **kw)

    monkeypatch.setattr(import_sink, "_bulk", failing)
    nested = db.begin_nested()
    with pytest.raises(RuntimeError):
        do(db, csv_bytes([row()]))
    nested.rollback()
    assert counts(db) == before


def test_organisation_rows_without_a_person(db: Session) -> None:
    rows = [
        row(
            **{
                "Honorific": "",
                "First name": "",
                "Last name": "",
                "Title": "",
                "Organisation": "Embassy of Pakistan",
                "Country": "PK",
                "Email": "parepwashington@mofa.gov.pk",
                "Phone": "+1 202 243 6500",
                "Address": "3517 International Court, N.W.",
                "City": "Washington",
                "Postal code": "20008",
                "Tags": "",
            }
        )
    ]
    report = do(db, csv_bytes(rows), new_organisation_type="embassy")
    assert report.created.organisations == 1 and report.created.people == 0
    org = db.scalar(select(Organisation).where(Organisation.name == "Embassy of Pakistan"))
    assert org is not None and org.type.value == "embassy"
    assert (
        db.scalar(
            select(func.count())
            .select_from(ContactPoint)
            .where(ContactPoint.organisation_id == org.id)
        )
        == 3
    )
