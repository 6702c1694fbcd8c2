"""Property tests for the CSV reader: any input gives a table or a clear 4xx, and what is
written is read back the same in every supported encoding."""

from __future__ import annotations

import codecs

import phonenumbers
from email_validator import EmailNotValidError, validate_email
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from app.contacts.imports import csvfile
from app.contacts.imports import rows as import_rows
from app.contacts.imports import schemas as import_schemas
from app.contacts.imports import service as import_service
from app.contacts.schemas import normalise_phone
from app.errors import DomainError

ENCODINGS = st.sampled_from(list(csvfile.ENCODINGS))
DELIMITERS = st.sampled_from(list(csvfile.DELIMITERS))
CELL = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\x00"), max_size=12)
HEADER = CELL.map(str.strip).filter(bool)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=600), encoding=ENCODINGS, delimiter=DELIMITERS)
def test_any_bytes_give_a_table_or_a_clear_error(
    data: bytes, encoding: str, delimiter: str
) -> None:
    try:
        table = csvfile.read_table(data, encoding=encoding, delimiter=delimiter)
    except DomainError as exc:
        assert 400 <= exc.status < 500 and exc.detail
        return
    assert table.headers is not None
    mapping = csvfile.guess_mapping(table.headers)
    assert len(mapping) == len(table.headers)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=400), delimiter=DELIMITERS)
def test_any_text_gives_a_table_or_a_clear_error(text: str, delimiter: str) -> None:
    data = text.encode("utf-8", errors="surrogatepass")
    try:
        csvfile.read_table(data, delimiter=delimiter)
    except DomainError as exc:
        assert 400 <= exc.status < 500


@settings(max_examples=200, deadline=None)
@given(
    headers=st.lists(HEADER, min_size=1, max_size=6),
    rows=st.lists(st.lists(CELL, min_size=1, max_size=6), max_size=8),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-le-nobom"]),
)
def test_round_trip(
    headers: list[str], rows: list[list[str]], delimiter: str, encoding: str
) -> None:
    text = csvfile.write_csv(headers, rows, delimiter)
    if encoding == "utf-16-le-nobom":
        data, chosen = text.encode("utf-16-le"), "utf-16"
    else:
        data, chosen = text.encode(encoding), "auto"
    table = csvfile.read_table(data, encoding=chosen, delimiter=delimiter)
    assert table.headers == headers
    assert table.rows == [r for r in rows if any(c.strip() for c in r)]


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.lists(CELL, min_size=3, max_size=3), max_size=5))
def test_round_trip_detects_the_encoding_and_delimiter(rows: list[list[str]]) -> None:
    headers = ["Given name", "Family name", "Email"]
    for delimiter in (",", ";", "\t"):
        for data in (
            csvfile.write_csv(headers, rows, delimiter).encode("utf-8"),
            codecs.BOM_UTF16_LE + csvfile.write_csv(headers, rows, delimiter).encode("utf-16-le"),
        ):
            table = csvfile.read_table(data)
            assert table.delimiter == delimiter
            assert table.headers == headers
            assert csvfile.guess_mapping(table.headers) == ["given_name", "family_name", "email"]


def _reference(value: str) -> str | None:
    try:
        return validate_email(value.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def _ours(value: str) -> str | None:
    try:
        return import_rows.check_email(value)
    except ValueError:
        return None


@settings(max_examples=500, deadline=None)
@given(
    value=st.one_of(
        st.emails(),
        st.from_regex(import_rows._EMAIL, fullmatch=True),
        st.text(max_size=40),
        st.builds(
            lambda a, b, c: f"{a}@{b}.{c}",
            st.text("abcAB.-_+", min_size=1, max_size=8),
            st.text("abc-1.", min_size=1, max_size=8),
            st.sampled_from(["org", "COM", "test", "local", "1", "x", "xn--p1ai", "onion"]),
        ),
    )
)
@example(value="0@0.00--0.AA")  # "--" in the third and fourth places of a later label
def test_the_fast_email_check_agrees_with_email_validator(value: str) -> None:
    assert _ours(value) == _reference(value)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    rows=st.lists(st.lists(CELL, min_size=0, max_size=8), max_size=6),
    headers=st.lists(
        st.sampled_from(
            ["Name", "Email", "Phone", "Country", "Organisation", "Tags", "No email", "Notes", "X"]
        ),
        min_size=1,
        max_size=8,
    ),
)
def test_a_dry_run_of_any_file_never_fails_unexpectedly(
    db: Session, rows: list[list[str]], headers: list[str]
) -> None:
    data = csvfile.write_csv(headers, rows).encode("utf-8")
    try:
        report = import_service.run(
            db,
            data=data,
            filename="x.csv",
            options=import_schemas.ImportOptions(),
            dry_run=True,
            actor=None,
        )
    except DomainError as exc:
        assert 400 <= exc.status < 500
        return
    assert report.total_rows >= len(report.bad_rows)


def _phone_reference(value: str) -> str | None:
    try:
        return normalise_phone(value)
    except ValueError:
        return None


CALLING_CODES = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)


@settings(max_examples=1500, deadline=None)
@given(
    code=st.sampled_from(CALLING_CODES),
    national=st.text("0123456789", min_size=1, max_size=14),
    spacing=st.sampled_from(["", " ", "-", " (", ".", "/"]),
)
def test_the_fast_phone_check_agrees_with_phonenumbers(
    code: int, national: str, spacing: str
) -> None:
    value = f"+{code}{spacing}{national}"
    fast = import_rows.fast_phone(value)
    if fast is not None:
        assert fast == _phone_reference(value)


@settings(max_examples=300, deadline=None)
@given(region=st.sampled_from(sorted(phonenumbers.SUPPORTED_REGIONS)), tail=st.integers(0, 9999))
def test_the_fast_phone_check_accepts_real_numbers_like_phonenumbers(
    region: str, tail: int
) -> None:
    example = phonenumbers.example_number(region)
    if example is None:
        return
    national = str(example.national_number)
    value = f"+{example.country_code} {national[:-4]}{tail:04d}"
    expected = _phone_reference(value)
    fast = import_rows.fast_phone(value)
    assert fast is None or fast == expected
