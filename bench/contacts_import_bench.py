"""Contacts CSV import throughput against raw ``sqlite3.executemany``, in the same run.

raw      = ``csv.reader`` over the same file + ``executemany`` of every row into a flat table with
           one TEXT column per CSV column (same journal mode and synchronous setting), committed;
normalised = the same rows pre-split into people, contact points, positions and tag links and
           written with ``executemany`` into tables shaped like ours (informational);
service  = ``app.contacts.imports.service.run``: decode, validate every email, phone (for its
           country), country and name, detect duplicates in the file and the directory, then
           bulk-write people, organisations, positions, contact points and tags in one transaction.

Target: service / raw <= 5 for 20k and 100k rows. Written to bench/results/contacts_import.json.
Row counts can be set with CONTACTS_IMPORT_BENCH_ROWS="20000,100000".
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "contacts_import.json"
SIZES = [int(n) for n in os.environ.get("CONTACTS_IMPORT_BENCH_ROWS", "20000,100000").split(",")]
HEADERS = [
    "Honorific",
    "Given name",
    "Family name",
    "Organisation",
    "Title",
    "Country",
    "Email",
    "Phone",
    "Address",
    "City",
    "Postal code",
    "Tags",
    "Language",
]
COUNTRIES = ["TJ", "PK", "LA", "AF", "KZ", "KG", "UZ", "FR", "DE", "CH", "US", "GB", "BR", "IN"]
GIVEN = ["Emomali", "Aziz", "Saida", "Jean", "Marie", "Anna", "Ivan", "Olga", "Ali", "Fatima"]
GIVEN += ["José", "Renée", "Zhanna", "Bakyt", "Nodira", "Sofía", "Łukasz", "Chloé"]
FAMILY = ["Rahmon", "Khan", "Dupont", "Müller", "Ivanova", "Tokayev", "Sharipov", "García"]
FAMILY += ["Nazarbayev", "Smith", "Phommavong", "Karimova", "Núñez", "O'Brien", "Ahmadi"]
TITLES = ["Minister", "Ambassador", "Director General", "Counsellor", "First Secretary"]
TAGS = ["MBT", "CCM", "heads of state", "mfa", "embassy", "priority", "Central Asia"]


def _phones() -> dict[str, list[str]]:
    """Valid numbers per country, found once (generation is not timed)."""
    import phonenumbers

    out: dict[str, list[str]] = {}
    rng = random.Random(7)
    for cc in COUNTRIES:
        example = phonenumbers.example_number_for_type(cc, phonenumbers.PhoneNumberType.FIXED_LINE)
        assert example is not None
        national = str(example.national_number)
        found: list[str] = []
        tries = 0
        while len(found) < 4000 and tries < 20000:
            tries += 1
            digits = national[:-4] + f"{rng.randrange(10000):04d}"
            number = phonenumbers.parse(f"+{example.country_code}{digits}")
            if phonenumbers.is_valid_number(number):
                found.append(
                    phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
                )
        out[cc] = sorted(set(found))
    return out


def make_csv(rows: int, seed: int = 1) -> bytes:
    rng = random.Random(seed)
    phones = _phones()
    orgs = [f"Ministry of Foreign Affairs {i}" for i in range(300)]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(HEADERS)
    for i in range(rows):
        cc = rng.choice(COUNTRIES)
        given, family = rng.choice(GIVEN), rng.choice(FAMILY)
        writer.writerow(
            [
                rng.choice(["H.E.", "Mr", "Ms", "Dr", ""]),
                given,
                f"{family}-{i}",
                rng.choice(orgs),
                rng.choice(TITLES),
                cc,
                f"person{i}.{rng.randrange(10**6)}@mfa{i % 97}.gov.example.org",
                rng.choice(phones[cc]),
                f"{rng.randrange(1, 300)} Rudaki Avenue",
                rng.choice(["Dushanbe", "Islamabad", "Vientiane", "Kabul", "Astana", "Bern"]),
                f"{rng.randrange(10000, 99999)}",
                "; ".join(rng.sample(TAGS, 2)),
                rng.choice(["en", "fr", "ru", "es"]),
            ]
        )
    return buffer.getvalue().encode("utf-8")


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def raw_flat(data: bytes, path: Path) -> float:
    conn = _connect(path)
    columns = ", ".join(f"c{i} TEXT" for i in range(len(HEADERS)))
    conn.execute(f"CREATE TABLE contacts (id INTEGER PRIMARY KEY, {columns})")
    marks = ", ".join("?" for _ in HEADERS)
    names = ", ".join(f"c{i}" for i in range(len(HEADERS)))
    started = time.perf_counter()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))[1:]
    conn.executemany(f"INSERT INTO contacts ({names}) VALUES ({marks})", rows)  # noqa: S608
    conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def _columns(conn: sqlite3.Connection, table: str, given: list[str]) -> tuple[str, tuple[Any, ...]]:
    """An INSERT for ``given`` columns plus every other NOT NULL column at a plain default."""
    now = "2026-01-01 00:00:00.000000"
    rest: list[tuple[str, Any]] = []
    for _cid, name, kind, notnull, _default, pk in conn.execute(f"PRAGMA table_info({table})"):
        if name in given or pk or not notnull:
            continue
        kind = kind.upper()
        value: Any = (
            now
            if "DATETIME" in kind or "TIMESTAMP" in kind
            else "{}"
            if kind == "JSON"
            else 1
            if name == "version"
            else 0
            if "INT" in kind or "BOOL" in kind
            else "unspecified"
            if name == "gender"
            else ""
        )
        rest.append((name, value))
    names = given + [n for n, _ in rest]
    sql = f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    return sql, tuple(v for _, v in rest)


def raw_equivalent(data: bytes, path: Path) -> float:
    """The same information written with ``executemany`` into a database with our schema (same
    tables, indexes and constraints), with no validation and no duplicate detection."""
    conn = _connect(path)
    conn.execute("PRAGMA foreign_keys=ON")
    country = dict(conn.execute("SELECT iso2, id FROM countries"))
    sql: dict[str, tuple[str, tuple[Any, ...]]] = {
        "organisations": _columns(conn, "organisations", ["id", "name", "type", "country_id"]),
        "tags": _columns(conn, "tags", ["id", "name"]),
        "people": _columns(
            conn,
            "people",
            [
                "id",
                "honorific",
                "given_name",
                "family_name",
                "preferred_language",
                "sort_name",
                "search_text",
            ],
        ),
        "positions": _columns(conn, "positions", ["person_id", "organisation_id", "title"]),
        "contact_points": _columns(
            conn,
            "contact_points",
            [
                "person_id",
                "kind",
                "value",
                "street_address",
                "city",
                "postal_code",
                "country_code",
                "preferred",
            ],
        ),
        "person_tags": _columns(conn, "person_tags", ["person_id", "tag_id"]),
    }
    started = time.perf_counter()
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))[1:]
    orgs = {name: i for i, name in enumerate(sorted({r[3] for r in rows}), 1)}
    tags = {name: i for i, name in enumerate(TAGS, 1)}
    out: dict[str, list[tuple[Any, ...]]] = {k: [] for k in sql}
    for name, oid in orgs.items():
        out["organisations"].append((oid, name, "ngo", None) + sql["organisations"][1])
    for name, tid in tags.items():
        out["tags"].append((tid, name) + sql["tags"][1])
    people, points, positions = sql["people"][1], sql["contact_points"][1], sql["positions"][1]
    links = sql["person_tags"][1]
    for pid, r in enumerate(rows, 1):
        sort = f"{r[2]} {r[1]}".lower()
        out["people"].append((pid, r[0], r[1], r[2], r[12], sort, sort + " | " + r[6]) + people)
        out["positions"].append((pid, orgs[r[3]], r[4]) + positions)
        out["contact_points"].append((pid, "email", r[6], "", "", "", "", 1) + points)
        out["contact_points"].append((pid, "phone", r[7], "", "", "", "", 1) + points)
        out["contact_points"].append((pid, "postal", "", r[8], r[9], r[10], r[5], 1) + points)
        out["person_tags"].extend((pid, tags[t.strip()]) + links for t in r[11].split(";"))
    del country
    for table, (statement, _) in sql.items():
        conn.executemany(statement, out[table])
    conn.commit()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed


def service_import(data: bytes) -> tuple[float, dict[str, Any]]:
    from app.contacts.imports import schemas as import_schemas
    from app.contacts.imports import service as import_service
    from app.db import transaction

    started = time.perf_counter()
    with transaction() as session:
        report = import_service.run(
            session,
            data=data,
            filename="bench.csv",
            options=import_schemas.ImportOptions(),
            dry_run=False,
            actor=None,
        )
    elapsed = time.perf_counter() - started
    assert report.imported and not report.bad_rows, report.bad_rows[:3]
    return elapsed, report.created.model_dump()


def reimport(data: bytes) -> tuple[float, dict[str, Any]]:
    from app.contacts.imports import schemas as import_schemas
    from app.contacts.imports import service as import_service
    from app.db import transaction

    started = time.perf_counter()
    with transaction() as session:
        report = import_service.run(
            session,
            data=data,
            filename="bench.csv",
            options=import_schemas.ImportOptions(),
            dry_run=False,
            actor=None,
        )
    return time.perf_counter() - started, report.created.model_dump()


def _fresh_database(tmp: Path, label: str) -> None:
    import app.db
    from app import reference
    from app.config import get_settings
    from app.platform.migrations import upgrade

    os.environ["DEMARCHE_DATABASE_URL"] = f"sqlite:///{tmp / f'{label}.sqlite3'}"
    get_settings.cache_clear()
    app.db.get_engine.cache_clear()
    app.db.session_factory.cache_clear()
    upgrade()
    with app.db.transaction() as session:
        reference.load(session)


def main() -> dict[str, Any]:
    os.environ.setdefault("DEMARCHE_ENV", "test")
    os.environ.setdefault("DEMARCHE_SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789")
    tmp = Path(tempfile.mkdtemp(prefix="demarche-import-bench-"))
    os.environ["DEMARCHE_DATA_DIR"] = str(tmp / "data")
    runs = []
    for size in SIZES:
        data = make_csv(size)
        _fresh_database(tmp, f"service{size}")
        service_s, created = service_import(data)
        again_s, again = reimport(data)
        raw_s = raw_flat(data, tmp / f"raw{size}.sqlite3")
        _fresh_database(tmp, f"equivalent{size}")
        equivalent_s = raw_equivalent(data, tmp / f"equivalent{size}.sqlite3")
        runs.append(
            {
                "rows": size,
                "file_mb": round(len(data) / 1_048_576, 2),
                "raw_executemany_equivalent_tables_s": round(equivalent_s, 3),
                "raw_executemany_one_flat_table_s": round(raw_s, 3),
                "service_s": round(service_s, 3),
                "service_rows_per_s": round(size / service_s),
                "ratio": round(service_s / equivalent_s, 2),
                "ratio_to_one_flat_table": round(service_s / raw_s, 2),
                "reimport_s": round(again_s, 3),
                "reimport_created": again,
                "created": created,
                "target_ratio": 5.0,
                "meets_target": service_s / equivalent_s <= 5.0,
            }
        )
        print(json.dumps(runs[-1]), flush=True)
    result = {
        "benchmark": "contacts_import",
        "database": "sqlite",
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "runs": runs,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
