"""Directory search and list latency at 100k contacts, through the API, against raw SQL.

Generates CONTACTS_BENCH_SIZE contacts (default 100,000: 80% people, each with a current position,
20% organisations across every state) by bulk insert, then times each query SAMPLES times:

api = ``GET /api/v1/contacts/search`` through the whole app (TestClient: token check, filters,
      the service's union query, count, hit loading, JSON);
raw = the equivalent SQL on the same database connection (count and one page of ids by name),
      with no ORM, no HTTP, no hit loading.

On SQLite always; on PostgreSQL too when DEMARCHE_BENCH_PG is set (a server URL) or the local
server at 127.0.0.1:5432 answers. Written to bench/results/contacts.json.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, cast

RESULTS = Path(__file__).parent / "results" / "contacts.json"
SIZE = int(os.environ.get("CONTACTS_BENCH_SIZE", "100000"))
SAMPLES = int(os.environ.get("CONTACTS_BENCH_SAMPLES", "40"))
TARGET_P95_MS = 50  # every directory search and filter, through the API
PG_ADMIN = os.environ.get(
    "DEMARCHE_BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

GIVEN = [
    "Emomali", "Ayesha", "Nurlan", "Bakyt", "Sherzod", "Malalai", "Farida", "Olivier", "Maria",
    "Jose", "Anna", "Timur", "Dilnoza", "Ahmad", "Sofia", "Karim", "Leila", "Ivan", "Aigerim",
    "Rustam", "Zarina", "Hamid", "Nadia", "Pierre", "Lucia", "Bilal", "Gulnara", "Yusuf",
]  # fmt: skip
SYLLABLES = ["ra", "kho", "mon", "ba", "yev", "ov", "tur", "san", "dze", "li", "ka", "ner", "ma"]
CYRILLIC = str.maketrans("abdeiklmnorstuvyz", "абдеиклмнорстувыз")
TITLES = ["Minister", "Ambassador", "Counsellor", "Director General", "First Secretary", "Desk"]


def _family(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))).title()


def generate(session: Any, size: int, seed: int = 7) -> dict[str, Any]:
    """Bulk-insert ``size`` contacts; returns what the queries need (a family name, a country)."""
    from sqlalchemy import Table, insert, select

    from app.contacts.text import search_text
    from app.models import Country, Organisation, OrganisationType, Person, Position, Tag
    from app.models.contacts import organisation_tags, person_tags

    rng = random.Random(seed)
    states = session.execute(select(Country.id, Country.name).where(Country.is_state)).all()
    n_orgs = size // 5
    n_people = size - n_orgs
    types = list(OrganisationType)
    started = time.perf_counter()
    org_rows = []
    for i in range(n_orgs):
        cid, cname = states[i % len(states)]
        kind = types[i % len(types)]
        name = f"{kind.label} {i} of {cname}"
        org_rows.append(
            {
                "name": name,
                "type": kind,
                "country_id": cid,
                "office_title": rng.choice(TITLES),
                "search_text": search_text(name),
                "version": 1,
            }
        )
    # Core inserts (one executemany per chunk), not ORM objects
    session.execute(insert(cast(Table, Organisation.__table__)), org_rows)
    org_ids = list(session.scalars(select(Organisation.id).order_by(Organisation.id)))
    people_rows = []
    families = []
    for _ in range(n_people):
        given, family = rng.choice(GIVEN), _family(rng)
        families.append(family)
        native = f"{given} {family}".lower().translate(CYRILLIC)
        people_rows.append(
            {
                "given_name": given,
                "family_name": family,
                "native_name": native,
                "sort_name": f"{family} {given}".lower(),
                "search_text": search_text(given, family, native, f"{family} {given}"),
                "salutation_overrides": {},
                "version": 1,
            }
        )
    for chunk in range(0, len(people_rows), 20_000):
        session.execute(insert(cast(Table, Person.__table__)), people_rows[chunk : chunk + 20_000])
    person_ids = list(session.scalars(select(Person.id).order_by(Person.id)))
    positions = [
        {
            "person_id": pid,
            "organisation_id": rng.choice(org_ids),
            "title": rng.choice(TITLES),
            "is_office_holder": False,
        }
        for pid in person_ids
    ]
    for chunk in range(0, len(positions), 20_000):
        session.execute(insert(cast(Table, Position.__table__)), positions[chunk : chunk + 20_000])
    # one contact in ten is tagged "priority" (the tag filter)
    tags = cast(Table, Tag.__table__)
    tag_id = session.execute(insert(tags).values(name="priority")).inserted_primary_key[0]
    session.execute(
        insert(person_tags), [{"person_id": i, "tag_id": tag_id} for i in person_ids[::10]]
    )
    session.execute(
        insert(organisation_tags), [{"organisation_id": i, "tag_id": tag_id} for i in org_ids[::10]]
    )
    session.flush()
    seconds = time.perf_counter() - started
    common = max(set(families[:2000]), key=families[:2000].count)
    return {
        "people": n_people,
        "organisations": n_orgs,
        "insert_seconds": round(seconds, 2),
        "rows_per_second": round((n_people * 2 + n_orgs) / seconds),
        "family": common,
    }


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def _stats(samples: list[float]) -> dict[str, float]:
    return {
        "p50_ms": round(statistics.median(samples) * 1000, 2),
        "p95_ms": round(_p(samples, 0.95) * 1000, 2),
        "max_ms": round(max(samples) * 1000, 2),
    }


def _time(fn: Any, samples: int) -> list[float]:
    fn()  # warm caches once
    out = []
    for _ in range(samples):
        started = time.perf_counter()
        fn()
        out.append(time.perf_counter() - started)
    return out


RAW_PAGE = """
SELECT kind, id FROM (
  SELECT 'person' AS kind, p.id AS id, p.sort_name AS sort FROM people p WHERE {people}
  UNION ALL
  SELECT 'organisation', o.id, lower(o.name) FROM organisations o WHERE {orgs}
) AS hits ORDER BY sort, kind, id LIMIT 50 OFFSET {offset}
"""
RAW_COUNT = """
SELECT count(*) FROM (
  SELECT p.id FROM people p WHERE {people}
  UNION ALL
  SELECT o.id FROM organisations o WHERE {orgs}
) AS hits
"""
CURRENT_IN = (
    "p.id IN (SELECT x.person_id FROM positions x JOIN organisations xo "
    "ON xo.id = x.organisation_id "
    "WHERE (x.end_date IS NULL OR x.end_date >= CURRENT_DATE) AND {cond})"
)


def _queries(info: dict[str, Any]) -> list[dict[str, Any]]:
    from app.contacts.text import fold

    term = info["family"].lower()
    cyrillic = term.translate(CYRILLIC)
    folded = fold(cyrillic)
    cid = info["country_id"]
    return [
        {
            "name": "search_name",
            "params": {"q": info["family"]},
            "people": f"p.search_text LIKE '%{term}%'",
            "orgs": f"o.search_text LIKE '%{term}%'",
            "offset": 0,
        },
        {
            "name": "search_cyrillic",
            "params": {"q": cyrillic},
            "people": f"p.search_text LIKE '%{folded}%'",
            "orgs": f"o.search_text LIKE '%{folded}%'",
            "offset": 0,
        },
        {
            "name": "search_name_in_country",
            "params": {"q": info["family"], "country": info["country_iso3"]},
            "people": f"p.search_text LIKE '%{term}%' AND "
            + CURRENT_IN.format(cond=f"xo.country_id = {cid}"),
            "orgs": f"o.search_text LIKE '%{term}%' AND o.country_id = {cid}",
            "offset": 0,
        },
        {
            "name": "list_first_page",
            "params": {},
            "people": "1 = 1",
            "orgs": "1 = 1",
            "offset": 0,
        },
        {
            "name": "list_page_100",
            "params": {"page": 100},
            "people": "1 = 1",
            "orgs": "1 = 1",
            "offset": 99 * 50,
        },
        {
            "name": "list_people_in_country",
            "params": {"kind": "person", "country": info["country_iso3"]},
            "people": CURRENT_IN.format(cond=f"xo.country_id = {cid}"),
            "orgs": "1 = 0",
            "offset": 0,
        },
        *_filter_queries(info),
    ]


# Every directory filter on its own (and a few together). The raw SQL is handed what the app
# computes in Python first: the states of a treaty status (from the state actions) as a list.
TREATY_FILTERS = [
    ("ccm_not_party", {"treaty": "CCM", "treaty_status": "not_party"}),
    ("ccm_state_party", {"treaty": "CCM", "treaty_status": "state_party"}),
    ("ccm_signatory", {"treaty": "CCM", "treaty_status": "signatory"}),
    ("ccm_withdrawn", {"treaty": "CCM", "treaty_status": "withdrawn"}),
    ("mbt_non_signatory", {"treaty": "MBT", "treaty_status": "non_signatory"}),
    ("mbt_withdrawn", {"treaty": "MBT", "treaty_status": "withdrawn"}),
    (
        "mbt_signatory_on_2020_01_01",
        {"treaty": "MBT", "treaty_status": "signatory", "treaty_on": "2020-01-01"},
    ),
    (
        "ccm_party_on_2015_01_01",
        {"treaty": "CCM", "treaty_status": "state_party", "treaty_on": "2015-01-01"},
    ),
]


def _in(ids: list[int]) -> str:
    return ", ".join(str(i) for i in ids) or "NULL"


def _filter_queries(info: dict[str, Any]) -> list[dict[str, Any]]:
    def at(cond: str) -> str:
        return CURRENT_IN.format(cond=cond)

    out = []
    for name, params in TREATY_FILTERS:
        ids = _in(info["status_countries"][name])
        out.append(
            {
                "name": name,
                "params": params,
                "people": at(f"xo.country_id IN ({ids})"),
                "orgs": f"o.country_id IN ({ids})",
                "offset": 0,
            }
        )
    not_party = _in(info["status_countries"]["ccm_not_party"])
    region = "(SELECT c.id FROM countries c WHERE c.region = 'Asia')"
    sub_region = "(SELECT c.id FROM countries c WHERE c.sub_region = 'Central Asia')"
    tagged = "(SELECT t.id FROM tags t WHERE lower(t.name) = 'priority')"
    out += [
        {
            "name": "ccm_not_party_page_20",
            "params": {"treaty": "CCM", "treaty_status": "not_party", "page": 20},
            "people": at(f"xo.country_id IN ({not_party})"),
            "orgs": f"o.country_id IN ({not_party})",
            "offset": 19 * 50,
        },
        {
            "name": "ccm_not_party_people",
            "params": {"kind": "person", "treaty": "CCM", "treaty_status": "not_party"},
            "people": at(f"xo.country_id IN ({not_party})"),
            "orgs": "1 = 0",
            "offset": 0,
        },
        {
            "name": "ccm_not_party_in_central_asia",
            "params": {"treaty": "CCM", "treaty_status": "not_party", "sub_region": "Central Asia"},
            "people": at(f"xo.country_id IN ({not_party}) AND xo.country_id IN {sub_region}"),
            "orgs": f"o.country_id IN ({not_party}) AND o.country_id IN {sub_region}",
            "offset": 0,
        },
        {
            "name": "region_asia",
            "params": {"region": "Asia"},
            "people": at(f"xo.country_id IN {region}"),
            "orgs": f"o.country_id IN {region}",
            "offset": 0,
        },
        {
            "name": "sub_region_central_asia",
            "params": {"sub_region": "Central Asia"},
            "people": at(f"xo.country_id IN {sub_region}"),
            "orgs": f"o.country_id IN {sub_region}",
            "offset": 0,
        },
        {
            "name": "organisation_type_embassy",
            "params": {"organisation_type": "embassy"},
            "people": at("xo.type = 'embassy'"),
            "orgs": "o.type = 'embassy'",
            "offset": 0,
        },
        {
            "name": "tag_priority",
            "params": {"tag": "priority"},
            "people": "p.id IN (SELECT pt.person_id FROM person_tags pt "
            f"WHERE pt.tag_id IN {tagged})",
            "orgs": "o.id IN (SELECT ot.organisation_id FROM organisation_tags ot "
            f"WHERE ot.tag_id IN {tagged})",
            "offset": 0,
        },
        {
            "name": "position_ambassador",
            "params": {"position": "ambassador"},
            "people": "p.id IN (SELECT x.person_id FROM positions x WHERE (x.end_date IS NULL OR "
            "x.end_date >= CURRENT_DATE) AND lower(x.title) LIKE '%ambassador%')",
            "orgs": "lower(o.office_title) LIKE '%ambassador%'",
            "offset": 0,
        },
        {
            "name": "hide_sample_data",
            "params": {"include_sample": "false"},
            "people": "NOT p.is_sample",
            "orgs": "NOT o.is_sample",
            "offset": 0,
        },
    ]
    return out


def _status_countries(session: Any) -> dict[str, list[int]]:
    """The states matching each treaty filter, as the app computes them (for the raw SQL)."""
    from app.contacts.schemas import SearchFilters
    from app.contacts.search import _treaty_status_countries

    out = {}
    for name, params in TREATY_FILTERS:
        filters = SearchFilters.model_validate(params)
        out[name] = _treaty_status_countries(session, filters)
    return out


def run_backend(label: str, url: str) -> dict[str, Any]:
    os.environ["DEMARCHE_DATABASE_URL"] = url
    import app.db
    from app.config import get_settings

    get_settings.cache_clear()
    app.db.get_engine.cache_clear()
    app.db.session_factory.cache_clear()

    from fastapi.testclient import TestClient
    from sqlalchemy import select, text

    from app import reference
    from app.auth import service as auth_service
    from app.main import create_app
    from app.models import Country, Role
    from app.platform.migrations import upgrade

    print(f"-- {label}: migrate and load reference data", flush=True)
    upgrade()
    with app.db.transaction() as session:
        reference.load(session)
        info = generate(session, SIZE)
        country = session.execute(
            select(Country.id, Country.iso3).where(Country.iso3 == "TJK")
        ).one()
        info["country_id"], info["country_iso3"] = country
        status_countries = _status_countries(session)
        auth_service.create_user(
            session, email="bench@example.org", role=Role.campaigner, password="bench-pass-123456"
        )
        token = auth_service.create_token(session, email="bench@example.org", name="bench")
    print(f"-- {label}: {info}", flush=True)
    engine = app.db.get_engine()
    with engine.connect() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
        else:
            conn.exec_driver_sql("ANALYZE")
        conn.commit()

    headers = {"Authorization": f"Bearer {token}"}
    results: dict[str, Any] = {}
    raw_conn = engine.raw_connection()  # the DB-API connection: no ORM, no SQLAlchemy Core
    with TestClient(create_app()) as client:
        for query in _queries({**info, "status_countries": status_countries}):
            params = {**query["params"], "per_page": 50}

            def api(params: dict[str, Any] = params) -> None:
                resp = client.get("/api/v1/contacts/search", params=params, headers=headers)
                assert resp.status_code == 200, resp.text

            page_sql = RAW_PAGE.format(**query)
            count_sql = RAW_COUNT.format(**query)

            def raw(page_sql: str = page_sql, count_sql: str = count_sql) -> None:
                cursor = raw_conn.cursor()
                cursor.execute(count_sql)
                cursor.fetchone()
                cursor.execute(page_sql)
                cursor.fetchall()
                cursor.close()
                raw_conn.rollback()

            api_samples = _time(api, SAMPLES)
            raw_samples = _time(raw, SAMPLES)
            total = client.get("/api/v1/contacts/search", params=params, headers=headers).json()[
                "total"
            ]
            row = {
                "total": total,
                "api": _stats(api_samples),
                "raw": _stats(raw_samples),
                "p95_ratio": round(_p(api_samples, 0.95) / max(_p(raw_samples, 0.95), 1e-6), 2),
            }
            results[query["name"]] = row
            print(f"   {query['name']}: {row}", flush=True)
    dupes = _duplicates(engine, raw_conn)
    print(f"   duplicates: {dupes}", flush=True)
    raw_conn.close()
    engine.dispose()
    slowest = max(results, key=lambda name: results[name]["api"]["p95_ms"])
    summary = {
        "target_p95_ms": TARGET_P95_MS,
        "slowest": slowest,
        "slowest_api_p95_ms": results[slowest]["api"]["p95_ms"],
        "over_target": sorted(n for n, r in results.items() if r["api"]["p95_ms"] > TARGET_P95_MS),
    }
    print(f"   summary: {summary}", flush=True)
    return {"generated": info, "queries": results, "summary": summary, "duplicates": dupes}


DUPLICATE_SAMPLES = int(os.environ.get("CONTACTS_BENCH_DUPLICATE_SAMPLES", "3"))


def _duplicates(engine: Any, raw_conn: Any) -> dict[str, Any]:
    """The duplicates scan over every person and organisation (``duplicates.candidates``: one
    pass, blocks, RapidFuzz on the pairs they give), against the raw floor: reading the same
    rows through the DB-API and grouping them by lower-cased name (exact matches only). The
    all-pairs figure is what comparing every pair would cost, extrapolated from RapidFuzz's
    token-sort ratio over 500 x 500 names."""
    from rapidfuzz import fuzz
    from sqlalchemy.orm import Session

    from app.contacts import duplicates
    from app.contacts.text import fold

    found: dict[str, int] = {}

    def scan() -> None:
        with Session(engine) as session:
            for kind in ("person", "organisation"):
                found[kind] = len(duplicates.candidates(session, kind))

    def raw() -> None:
        cursor = raw_conn.cursor()
        groups: dict[str, int] = {}
        cursor.execute("SELECT id, given_name, family_name FROM people")
        for _id, given, family in cursor.fetchall():
            key = f"{given} {family}".lower()
            groups[key] = groups.get(key, 0) + 1
        cursor.execute("SELECT id, name, country_id FROM organisations")
        for _id, name, country in cursor.fetchall():
            key = f"{country}|{name.lower()}"
            groups[key] = groups.get(key, 0) + 1
        cursor.close()
        raw_conn.rollback()

    fold.cache_clear()
    first = time.perf_counter()
    scan()  # the first run folds every name (the fold cache then serves later runs)
    cold = time.perf_counter() - first
    scan_samples = _time(scan, DUPLICATE_SAMPLES)
    raw_samples = _time(raw, DUPLICATE_SAMPLES)
    cursor = raw_conn.cursor()
    cursor.execute("SELECT given_name || ' ' || family_name FROM people")
    names = [fold(r[0]) for r in cursor.fetchall()]
    cursor.close()
    raw_conn.rollback()
    sample = names[:500]
    started = time.perf_counter()
    for a in sample:
        for b in sample:
            fuzz.token_sort_ratio(a, b)
    per_pair = (time.perf_counter() - started) / (len(sample) ** 2)
    return {
        "people_pairs": found.get("person", 0),
        "organisation_pairs": found.get("organisation", 0),
        "scan_cold_s": round(cold, 2),
        "scan": _stats(scan_samples),
        "raw_group_by_name": _stats(raw_samples),
        "p50_ratio": round(
            statistics.median(scan_samples) / max(statistics.median(raw_samples), 1e-6), 1
        ),
        "all_pairs_estimate_s": round(per_pair * len(names) * (len(names) - 1) / 2, 1),
    }


def _postgres_url() -> str | None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    try:
        admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text("SELECT 1"))
            name = f"demarche_bench_contacts_{uuid.uuid4().hex[:8]}"
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    except Exception as exc:  # noqa: BLE001 - reported, the SQLite figures still count
        print(f"-- PostgreSQL skipped: {str(exc).splitlines()[0]}")
        return None
    return make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)


def _drop_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{make_url(url).database}" WITH (FORCE)'))
    admin.dispose()


def main() -> dict[str, Any]:
    os.environ.setdefault("DEMARCHE_ENV", "test")
    os.environ.setdefault("DEMARCHE_SECRET_KEY", "bench-secret-key-0123456789abcdef0123456789")
    # the test client's host name (the app checks the Host header)
    os.environ.setdefault("DEMARCHE_TRUSTED_HOSTS", "testserver")
    started = time.perf_counter()
    result: dict[str, Any] = {"size": SIZE, "samples": SAMPLES, "per_page": 50, "backends": {}}
    with tempfile.TemporaryDirectory(prefix="demarche-contacts-bench-") as tmp:
        os.environ["DEMARCHE_DATA_DIR"] = str(Path(tmp) / "data")
        sqlite_url = f"sqlite:///{Path(tmp) / 'contacts.sqlite3'}"
        result["backends"]["sqlite"] = run_backend("sqlite", sqlite_url)
        pg_url = _postgres_url()
        if pg_url:
            try:
                result["backends"]["postgresql"] = run_backend("postgresql", pg_url)
            finally:
                _drop_postgres(pg_url)
    result["bench_seconds"] = round(time.perf_counter() - started, 1)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(json.dumps(result, indent=2, ensure_ascii=False))
    return result


if __name__ == "__main__":
    main()
