"""Searching the directory: people and organisations by name and by filter (a country, a region,
a type, a tag, a position, a treaty status), interleaved in name order, and the ids behind a
segment or an export."""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Integer,
    Select,
    Text,
    and_,
    any_,
    cast,
    distinct,
    false,
    func,
    literal,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql import Executable

from app.contacts import addressing
from app.contacts.schemas import (
    SearchFilters,
    SearchHit,
    SearchPage,
)
from app.contacts.service import _country_id
from app.contacts.text import terms
from app.db import fold
from app.errors import InvalidInput, NotFound
from app.models import (
    Country,
    Organisation,
    Person,
    Position,
    Tag,
)
from app.models.contacts import organisation_tags, person_tags
from app.treaties import service as treaties_service
from app.treaties.rules import Status


def _own_people_conditions(filters: SearchFilters) -> list[ColumnElement[bool]]:
    """Conditions on the people rows themselves: names, a hand-picked list, sample, tag."""
    conds: list[ColumnElement[bool]] = [Person.search_text.contains(t) for t in terms(filters.q)]
    if filters.by_ids:
        conds.append(Person.id.in_(filters.person_ids) if filters.person_ids else false())
    if not filters.include_sample:
        conds.append(Person.is_sample.is_(False))
    if filters.tag:
        # uncorrelated: read from the tag's index, not probed for every person
        conds.append(
            Person.id.in_(
                select(person_tags.c.person_id)
                .join(Tag, Tag.id == person_tags.c.tag_id)
                .where(fold(Tag.name) == filters.tag.lower())
            )
        )
    return conds


def _held_query(
    session: Session,
    filters: SearchFilters,
    shared: list[ColumnElement[bool]] | None = None,
) -> Select[int] | None:
    """Ids of the people holding a current position at a matching organisation (a country, a
    region, a type, a treaty status) or titled with the position's words; None when no filter
    goes through positions. Answered from the positions index (organisation, end, person)."""
    org_conds = shared if shared is not None else _org_conditions(session, filters, for_people=True)
    pos_conds = [
        _contains_word(session, Position.title, w) for w in filters.position.lower().split()
    ]
    if not org_conds and not pos_conds:
        return None
    today = date.today()
    query = select(Position.person_id).where(
        or_(Position.end_date.is_(None), Position.end_date >= today), *pos_conds
    )
    if org_conds:
        query = query.where(Position.organisation_id.in_(select(Organisation.id).where(*org_conds)))
    return query


def _people_conditions(session: Session, filters: SearchFilters) -> list[ColumnElement[bool]]:
    conds = _own_people_conditions(filters)
    held = _held_query(session, filters)
    if held is not None:
        # IN (uncorrelated) rather than EXISTS: SQLite then starts from the matching
        # organisations instead of probing every person's positions.
        conds.append(Person.id.in_(held))
    return conds


def _contains_word(session: Session, column: Any, word: str) -> ColumnElement[bool]:
    """``column`` lower-cased contains ``word`` (already lower case). SQLite's own LIKE ignores
    the case of ASCII letters, so an ASCII word is matched there without calling the
    Python-defined fold on every row (the position filter reads 80,000 titles)."""
    if word.isascii() and session.get_bind().dialect.name == "sqlite":
        return column.contains(word)
    return fold(column).contains(word)


def _org_conditions(
    session: Session,
    filters: SearchFilters,
    *,
    for_people: bool = False,
    shared: list[ColumnElement[bool]] | None = None,
) -> list[ColumnElement[bool]]:
    """Conditions on organisations; ``for_people`` keeps those that also pick the people
    working there (type, country, region, treaty status), which ``shared`` may bring already
    built (a search builds them once for both parts)."""
    conds: list[ColumnElement[bool]] = []
    if not for_people:
        conds += [Organisation.search_text.contains(t) for t in terms(filters.q)]
        if filters.by_ids:
            conds.append(
                Organisation.id.in_(filters.organisation_ids)
                if filters.organisation_ids
                else false()
            )
        if not filters.include_sample:
            conds.append(Organisation.is_sample.is_(False))
        if filters.tag:
            conds.append(
                Organisation.id.in_(
                    select(organisation_tags.c.organisation_id)
                    .join(Tag, Tag.id == organisation_tags.c.tag_id)
                    .where(fold(Tag.name) == filters.tag.lower())
                )
            )
        if filters.position:
            conds.append(
                and_(
                    *[
                        _contains_word(session, Organisation.office_title, w)
                        for w in filters.position.lower().split()
                    ]
                )
            )
    if shared is not None:
        return conds + shared
    if filters.organisation_type:
        conds.append(Organisation.type == filters.organisation_type)
    if filters.organisation_id:
        conds.append(
            or_(
                Organisation.id == filters.organisation_id,
                Organisation.parent_id == filters.organisation_id,
            )
        )
    if filters.country:
        country_id = _country_id(session, filters.country, "country")
        conds.append(Organisation.country_id == country_id)
    if filters.region or filters.sub_region:
        region_conds = []
        if filters.region:
            region_conds.append(Country.region == filters.region)
        if filters.sub_region:
            region_conds.append(Country.sub_region == filters.sub_region)
        conds.append(Organisation.country_id.in_(select(Country.id).where(*region_conds)))
    if filters.treaty and filters.treaty_status:
        ids = _treaty_status_countries(session, filters)
        if session.get_bind().dialect.name == "postgresql":
            # one array parameter: a list of 150 states is otherwise written out as 150
            # parameters in each of the search's statements
            conds.append(Organisation.country_id == any_(literal(ids, ARRAY(Integer))))
        else:
            conds.append(Organisation.country_id.in_(ids))
    return conds


def _treaty_status_countries(session: Session, filters: SearchFilters) -> list[int]:
    """States whose status under the filter's treaty (today, or on ``treaty_on``) matches:
    computed from the state actions for the 200-odd states (the treaties service keeps the
    result while the actions are unchanged), never joined row by row with the contacts."""
    try:
        statuses = treaties_service.status_map(session, filters.treaty, on=filters.treaty_on)
    except NotFound as exc:
        raise InvalidInput(
            f"treaty: no treaty has the short name {filters.treaty!r}.",
            errors=[{"field": "treaty", "message": f"unknown treaty {filters.treaty!r}"}],
        ) from exc
    if filters.treaty_status == "not_party":
        return sorted(cid for cid, st in statuses.items() if st is not Status.state_party)
    return sorted(cid for cid, st in statuses.items() if st.value == filters.treaty_status)


def country_treaty_status(session: Session, country_id: int | None) -> list[dict[str, Any]]:
    """The state's status today under each treaty (for a contact's page)."""
    if country_id is None:
        return []
    return [
        {"treaty": row["treaty"], "status": row["status"]}
        for row in treaties_service.country_treaties(session, country_id)
    ]


# A filter matching at most this many rows of a table is read in one scan and sorted here;
# a broader one is counted, then walked in name order through the index, stopping early.
SMALL_RESULT = 2_000
# A set of people known by id is picked out of the name index walked in order when that reads
# fewer than WALK_COST index rows per person it holds (about 80,000 / |set| rows per row
# wanted); a narrower set is read by id and sorted here. BY_ID: a set this small always is.
WALK_COST = 4
BY_ID = 200
# Pages deeper than this many rows are sorted by the database (a union of both tables).
DEEP_ROWS = 20_000
# PostgreSQL merges the two name indexes itself for the unfiltered list and stops at the page,
# cheaper than sending every row before it over the connection; SQLite runs in-process, where
# reading them costs little, and a filtered union is sorted whole.
DEEP_LIST_ROWS = 500


_CHUNK = 2_000  # ids per IN list


def _part_rows(
    session: Session,
    part: Select[str, str, int],
    want: int,
    *,
    filtered: bool,
    count_first: bool = False,
    deep: int = DEEP_ROWS,
) -> tuple[int, list[tuple[Any, ...]] | None]:
    """(matches, rows in name order up to ``want``), or None rows when too deep to merge.

    ``count_first``: the conditions are answered from indexes (a country, a type, a tag), so
    counting is cheap and says at once whether to read every match or walk the name order;
    otherwise (words searched in every row) up to SMALL_RESULT matches are read in one scan
    and a broad search only is counted."""
    total: int | None = None
    if filtered and count_first:
        total = _count(session, part)
        if total <= SMALL_RESULT:
            return total, sorted(_rows(session, part.order_by(None)))[:want]
    elif filtered:  # an unfiltered table is broad by definition: no probe
        found = _rows(session, part.order_by(None).limit(SMALL_RESULT + 1))
        if len(found) <= SMALL_RESULT:
            return len(found), sorted(found)[:want]
    if total is None:
        total = _count(session, part)
    if want > deep:
        return total, None
    return total, _rows(session, part.limit(want))


def _count(session: Session, part: Select[str, str, int]) -> int:
    return session.scalar(select(func.count()).select_from(part.order_by(None).subquery())) or 0


def _chunks(ids: Sequence[int], size: int = _CHUNK) -> list[Sequence[int]]:
    return [ids[i : i + size] for i in range(0, len(ids), size)]


def _people_span(session: Session) -> int:
    """About how many people there are (the highest id: one index probe, never a count)."""
    return session.scalar(select(func.max(Person.id))) or 0


def _people_by_name(session: Session, ids: set[int], want: int) -> list[tuple[Any, ...]]:
    """The first ``want`` of these people in name order, as (sort, "person", id) rows."""
    if not ids or want <= 0:
        return []
    if len(ids) <= BY_ID or want * _people_span(session) > WALK_COST * len(ids) ** 2:
        rows: list[tuple[Any, ...]] = []
        for chunk in _chunks(sorted(ids)):
            query = select(Person.sort_name, Person.id).where(Person.id.in_(chunk))
            rows += [(sort_name, "person", pid) for sort_name, pid in _rows(session, query)]
        return sorted(rows)[:want]
    # A broad set: walk the name index in growing batches (keyset), keeping its members.
    out: list[tuple[Any, ...]] = []
    after: tuple[Any, Any] | None = None
    batch = max(500, want * 4)
    while len(out) < want:
        query = select(Person.sort_name, Person.id).order_by(Person.sort_name, Person.id)
        if after is not None:
            query = query.where(
                or_(
                    Person.sort_name > after[0],
                    and_(Person.sort_name == after[0], Person.id > after[1]),
                )
            )
        got = _rows(session, query.limit(batch))
        for sort_name, pid in got:
            if pid in ids:
                out.append((sort_name, "person", pid))
                if len(out) == want:
                    break
        if len(got) < batch:
            break
        after = (got[-1][0], got[-1][1])
        batch *= 2
    return out


def _people_rows(
    session: Session,
    filters: SearchFilters,
    want: int,
    shared: list[ColumnElement[bool]] | None = None,
    deep: int = DEEP_ROWS,
) -> tuple[int, list[tuple[Any, ...]] | None]:
    """The people part of a search: (matches, rows in name order up to ``want``).

    People found through their positions (a treaty status, a region, a type, a title) are
    gathered as a set of ids from the positions index, then narrowed by the people's own
    conditions: the count is the set's size, and the page is read by id or picked from the
    name index, instead of counting and sorting a join of people, positions and
    organisations."""
    held = _held_query(session, filters, shared)
    own = _own_people_conditions(filters)
    if held is None:
        part = (
            select(Person.sort_name.label("sort"), literal("person").label("kind"), Person.id)
            .where(*own)
            .order_by(Person.sort_name, Person.id)
        )
        words = bool(terms(filters.q))
        return _part_rows(session, part, want, filtered=bool(own), count_first=not words, deep=deep)
    if session.get_bind().dialect.name == "postgresql":
        return _people_rows_in_sql(session, held, own, want)
    ids = set(_ids(session, held))
    if own and ids:
        ids &= set(_ids(session, select(Person.id).where(*own)))
    if want > DEEP_ROWS:
        return len(ids), None
    return len(ids), _people_by_name(session, ids, want)


def _people_rows_in_sql(
    session: Session, held: Select[int], own: list[ColumnElement[bool]], want: int
) -> tuple[int, list[tuple[Any, ...]] | None]:
    """PostgreSQL counts the distinct holders itself and picks the page there: shipping tens of
    thousands of ids to Python costs more than both queries (SQLite reads them in-process,
    where the set is the cheaper way).

    The page is chosen by the count, not left to the planner, which cannot estimate how many
    titles contain a word: a narrow set is joined and sorted, a broad one is found by walking
    the name index and probing each person's positions until the page is full."""
    holders = held.subquery()
    count = select(func.count(distinct(holders.c.person_id)))
    if own:
        count = count.join(Person, Person.id == holders.c.person_id).where(*own)
    total = session.scalar(count) or 0
    if want > DEEP_ROWS:
        return total, None
    if not total:
        return 0, []
    if want * _people_span(session) > WALK_COST * total**2:
        holding = Person.id.in_(held)
    else:
        # a scalar subquery with LIMIT stays a per-row probe (an EXISTS would become a join)
        probe = held.where(Position.person_id == Person.id).limit(1).correlate(Person)
        holding = probe.scalar_subquery().is_not(None)
    page = (
        select(Person.sort_name, literal("person"), Person.id)
        .where(*own, holding)
        .order_by(Person.sort_name, Person.id)
        .limit(want)
    )
    return total, _rows(session, page)


def _custom_plans(session: Session) -> None:
    """PostgreSQL: plan each search for its own values. After five runs of a prepared statement
    the server may keep a generic plan, which for "people at a country's organisations" walks
    every position instead of the country's few organisations.

    And price a random read as the directory's tables are read: from memory (its indexes and
    rows are small and hot). At the default cost of a read from disk the planner scans all
    20,000 organisations to find a region's few hundred instead of using the country index."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
                "set_config('random_page_cost', '1.1', true)"
            )
        )


def search(
    session: Session, filters: SearchFilters, page: int = 1, per_page: int = 50
) -> SearchPage:
    """People and organisations matching the filters, people and organisations interleaved by
    name; each hit says what it is and where it belongs."""
    _custom_plans(session)
    sqlite = session.get_bind().dialect.name == "sqlite"
    session.flush()  # some queries below go to the connection, past the session's autoflush
    page = max(1, page)
    per_page = max(1, min(per_page, 200))
    offset = (page - 1) * per_page
    want = offset + per_page
    parts: list[Select[str, str, int]] = []  # for a page too deep to merge here
    counted: list[tuple[int, list[tuple[Any, ...]] | None]] = []
    shared = _org_conditions(session, filters, for_people=True)
    org_conds = _org_conditions(session, filters, shared=shared)
    listing = not shared and not org_conds and not _own_people_conditions(filters)
    deep = DEEP_LIST_ROWS if listing and not sqlite else DEEP_ROWS
    if filters.kind in ("", "person"):
        counted.append(_people_rows(session, filters, want, shared, deep))
    if filters.kind in ("", "organisation"):
        org_sort = func.lower(Organisation.name)
        part = (
            select(org_sort.label("sort"), literal("organisation").label("kind"), Organisation.id)
            .where(*org_conds)
            .order_by(org_sort, Organisation.id)
        )
        parts.append(part)
        words = bool(terms(filters.q)) or bool(filters.position.strip())
        counted.append(
            _part_rows(
                session, part, want, filtered=bool(org_conds), count_first=not words, deep=deep
            )
        )
    total = sum(n for n, _ in counted)
    rows: list[tuple[str, int]] = []
    if offset < total:
        streams = [stream for _, stream in counted]
        if all(stream is not None for stream in streams):
            merged = list(heapq.merge(*[s for s in streams if s is not None]))[offset:want]
            rows = [(r[1], r[2]) for r in merged]
        else:  # a deep page of a broad search: the database sorts the union
            if filters.kind in ("", "person"):
                # as text, the type of lower(name): PostgreSQL merges the two ordered index
                # scans only when both sides sort the same type
                sort = Person.sort_name if sqlite else cast(Person.sort_name, Text)
                parts.insert(
                    0,
                    select(sort.label("sort"), literal("person").label("kind"), Person.id)
                    .where(*_people_conditions(session, filters))
                    .order_by(Person.sort_name, Person.id),
                )
            combined = union_all(*[part.order_by(None) for part in parts]).subquery()
            rows = [
                (r.kind, r.id)
                for r in session.execute(
                    select(combined.c.kind, combined.c.id)
                    .order_by(combined.c.sort, combined.c.kind, combined.c.id)
                    .limit(per_page)
                    .offset(offset)
                )
            ]
    people = _person_hits(session, [i for k, i in rows if k == "person"])
    orgs = _org_hits(session, [i for k, i in rows if k == "organisation"])
    items = [people[i] if k == "person" else orgs[i] for k, i in rows]
    return SearchPage(items=items, total=total, page=page, per_page=per_page)


@dataclass(frozen=True, slots=True)
class _Held:
    """A search hit's row ranked as a position (``addressing.POSITION_ORDER``)."""

    id: int
    is_office_holder: bool
    start_date: date | None
    row: Any


def _person_hits(session: Session, ids: list[int]) -> dict[int, SearchHit]:
    """Hits for people, read as plain rows (no ORM objects): name and current position."""
    if not ids:
        return {}
    today = date.today()
    rows = session.execute(
        select(
            Person.id,
            Person.honorific,
            Person.given_name,
            Person.family_name,
            Person.native_name,
            Person.is_sample,
            Position.id.label("position_id"),
            Position.title,
            Position.is_office_holder,
            Position.start_date,
            Organisation.name.label("org_name"),
            Country.name.label("country_name"),
        )
        .select_from(Person)
        .outerjoin(
            Position,
            and_(
                Position.person_id == Person.id,
                or_(Position.start_date.is_(None), Position.start_date <= today),
                or_(Position.end_date.is_(None), Position.end_date >= today),
            ),
        )
        .outerjoin(Organisation, Organisation.id == Position.organisation_id)
        .outerjoin(Country, Country.id == Organisation.country_id)
        .where(Person.id.in_(ids))
    ).all()
    best: dict[int, Any] = {}
    for row in rows:
        # the position current_position() would choose
        if row.id not in best or row.title is not None:
            held = _Held(row.position_id or 0, bool(row.is_office_holder), row.start_date, row)
            best[row.id] = addressing.better_position(best.get(row.id), held)
    out = {}
    for pid, held in best.items():
        row = held.row
        name = addressing.display_person(
            row.honorific, row.given_name, row.family_name, row.native_name
        )
        out[pid] = SearchHit(
            kind="person",
            id=pid,
            name=name,
            native_name=row.native_name,
            detail=row.title or "",
            organisation=row.org_name or "",
            country=row.country_name or "",
            is_sample=row.is_sample,
        )
    return out


def _org_hits(session: Session, ids: list[int]) -> dict[int, SearchHit]:
    if not ids:
        return {}
    parent = aliased(Organisation)
    rows = session.execute(
        select(
            Organisation.id,
            Organisation.name,
            Organisation.native_name,
            Organisation.type,
            Organisation.is_sample,
            parent.name.label("parent_name"),
            Country.name.label("country_name"),
        )
        .select_from(Organisation)
        .outerjoin(parent, parent.id == Organisation.parent_id)
        .outerjoin(Country, Country.id == Organisation.country_id)
        .where(Organisation.id.in_(ids))
    ).all()
    return {
        row.id: SearchHit(
            kind="organisation",
            id=row.id,
            name=row.name,
            native_name=row.native_name,
            detail=row.type.label,
            organisation=row.parent_name or "",
            country=row.country_name or "",
            is_sample=row.is_sample,
        )
        for row in rows
    }


def _rows(session: Session, query: Executable) -> list[tuple[Any, ...]]:
    """The rows a query selects as the driver's tuples: for the thousand rows before a deep
    page, or 100,000 ids, the result's row objects cost more than the query itself."""
    result = session.connection().execute(query)
    try:
        return list(result.cursor.fetchall())
    finally:
        result.close()


def _ids(session: Session, query: Executable) -> list[int]:
    """The ids a query selects."""
    return [row[0] for row in _rows(session, query)]


def search_ids(session: Session, filters: SearchFilters) -> tuple[list[int], list[int]]:
    """Every matching person id and organisation id (for segments driving letters and exports)."""
    _custom_plans(session)
    session.flush()  # the queries below go to the connection, past the session's autoflush
    people: list[int] = []
    orgs: list[int] = []
    if filters.kind in ("", "person"):
        people = _ids(
            session,
            select(Person.id).where(*_people_conditions(session, filters)).order_by(Person.id),
        )
    if filters.kind in ("", "organisation"):
        orgs = _ids(
            session,
            select(Organisation.id)
            .where(*_org_conditions(session, filters))
            .order_by(Organisation.id),
        )
    return people, orgs
