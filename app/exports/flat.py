"""The fast lane for people in CSV and vCard exports: one SQL query per batch of 5,000 people
returns each person's cells as the file needs them, and the driver's rows go to ``csv.writer``
as they are (``batches.render``). A helper renders every other batch: a process on a SQLite
file, a second connection on PostgreSQL.

The query addresses a person by the rules of ``app.contacts.addressing``, whose SQL forms it
is made of (tests pin it against the general path for both formats, and each SQL form against
its Python one):
- the current position (``POSITION_ORDER`` of the positions ``active_on`` the day);
- its organisation, country and language (``language_sql``);
- the best postal address, email and phone (``best_point_sql``: ``POINT_ORDER`` over
  ``OWNERS``);
- the display name (``display_person_sql``) and the do-not-contact flags (``flag_sql``).
CSV cells that a spreadsheet would run as a formula are prefixed with an apostrophe in SQL, as
``formats.neutralise`` does. Each row also carries its flags, as one code for ``gate.Gate``, the
person's id and the organisation's id; the gate decides who stays out.

It serves the CSV columns that need no salutation, formatted address or "last updated", and
exports that do not merge contacts at the same address. Everything else goes the general way
(``rows.iter_rows``), and so do organisations, which are few.

Why a second path: 100,000 people through ``ExportRow`` objects, ORM rows and per-column
getters cost about ten times what the database and ``csv.writer`` cost on their own."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import suppress
from datetime import date
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from app.contacts import addressing
from app.exports import formats
from app.exports.batches import (
    CARD_FIELDS,
    FRAME,
    NO_EMAIL_BIT,
    NO_POST_BIT,
    POSTAL_BIT,
    Plan,
    Rendered,
    Spec,
    render,
)
from app.exports.gate import Gate
from app.exports.rows import ExportRow
from app.models import ContactKind

log = logging.getLogger(__name__)

Twice = Callable[[int, int | None], str | None]

BATCH = 5000
PIPE_SIZE = 1 << 20  # bytes the helper may write ahead (Linux caps a pipe at 1 MiB)


def _flag(column: str) -> str:
    return addressing.flag_sql(column, "p", "o")


def _point(kind: str, column: str) -> str:
    return f"COALESCE({kind}.{column}, '')"


# Each column as an SQL expression over the query below; text columns marked True go through
# the formula guard in CSV.
EXPRESSIONS: dict[str, tuple[str, bool]] = {
    "kind": ("'person'", False),
    "id": ("CAST(p.id AS TEXT)", False),
    "honorific": ("p.honorific", True),
    "given_name": ("p.given_name", True),
    "family_name": ("p.family_name", True),
    "display_name": (addressing.display_person_sql("p"), True),
    "native_name": ("p.native_name", True),
    "title": ("COALESCE(pos.title, '')", True),
    "organisation": ("COALESCE(o.name, '')", True),
    "organisation_native": ("COALESCE(o.native_name, '')", True),
    "country": ("COALESCE(c.name, '')", True),
    "country_iso3": ("COALESCE(c.iso3, '')", True),
    "language": (addressing.language_sql("p", "o"), True),
    "email": (_point("em", "value"), True),
    "phone": (_point("ph", "value"), True),
    "street_address": (_point("ad", "street_address"), True),
    "city": (_point("ad", "city"), True),
    "postal_code": (_point("ad", "postal_code"), True),
    "country_area": (_point("ad", "country_area"), True),
    "country_code": (_point("ad", "country_code"), True),
    "in_office_since": ("{since}", False),
    "no_email": (f"CASE WHEN {_flag('no_email')} THEN 'yes' ELSE '' END", False),
    "no_post": (f"CASE WHEN {_flag('no_post')} THEN 'yes' ELSE '' END", False),
    "merged": ("'1'", False),
    # for vCards: the stored JSON as text
    "name_forms": ("CAST(p.name_forms AS TEXT)", False),
    "organisation_forms": ("COALESCE(CAST(o.name_forms AS TEXT), '')", False),
}
COLUMNS = frozenset(EXPRESSIONS) - {"name_forms", "organisation_forms"}  # the CSV's
_SINCE = {  # the start date as ISO text
    "sqlite": "COALESCE(pos.start_date, '')",
    "postgresql": "COALESCE(to_char(pos.start_date, 'YYYY-MM-DD'), '')",
}
_CODE = (
    f"(CASE WHEN {_flag('no_post')} THEN {NO_POST_BIT} ELSE 0 END"
    f" + CASE WHEN {_flag('no_email')} THEN {NO_EMAIL_BIT} ELSE 0 END"
    f" + CASE WHEN ad.id IS NULL THEN 0 ELSE {POSTAL_BIT} END)"
)


def _literal(text: str) -> str:
    # string literals may hold tab, CR and LF as they are, in both databases
    return "'" + text.replace("'", "''") + "'"


# Does a text start like a formula (formats.FORMULA_TRIGGERS)? SQLite answers a GLOB fastest.
_STARTS_LIKE_FORMULA = {
    # "-" first in the brackets, where it stands for itself rather than a range
    "sqlite": "{} GLOB "
    + _literal("[-" + "".join(t for t in formats.FORMULA_TRIGGERS if t != "-") + "]*"),
    "postgresql": "substr({}, 1, 1) IN ("
    + ", ".join(_literal(t) for t in formats.FORMULA_TRIGGERS)
    + ")",
}


def _guarded(expression: str, dialect: str) -> str:
    """The cell with an apostrophe in front when a spreadsheet would run it as a formula, as
    ``formats.neutralise`` does."""
    test = _STARTS_LIKE_FORMULA.get(dialect, _STARTS_LIKE_FORMULA["postgresql"])
    return f"CASE WHEN {test.format(expression)} THEN '''' || {expression} ELSE {expression} END"


def _one(table: str, alias: str, where: str, *, lateral: bool) -> str:
    """A left join to at most one row of ``table`` picked by ``where`` (a WHERE clause on q);
    PostgreSQL plans it as a lateral subquery, SQLite as a join on the picked id."""
    if lateral:
        return f"LEFT JOIN LATERAL (SELECT q.* FROM {table} q WHERE {where}) {alias} ON TRUE"
    return f"LEFT JOIN {table} {alias} ON {alias}.id = (SELECT q.id FROM {table} q WHERE {where})"


def _from(*, lateral: bool) -> str:
    """The rows of the people whose ids match ``{ids}`` on the day ``{on}``, in id order."""
    position = (
        f"q.person_id = p.id AND {addressing.active_sql('q', '{on}')}"
        f" ORDER BY {addressing.order_sql(addressing.POSITION_ORDER, 'q')} LIMIT 1"
    )
    points = []
    refs = {"person": "p.id", "organisation": "o.id"}
    for alias, kind in (
        ("ad", ContactKind.postal),
        ("em", ContactKind.email),
        ("ph", ContactKind.phone),
    ):
        best = addressing.best_point_sql(kind, refs)
        if lateral:
            # LIMIT keeps the planner from turning it into a hash join over every point
            points.append(_one("contact_points", alias, f"q.id = {best} LIMIT 1", lateral=True))
        else:
            points.append(f"LEFT JOIN contact_points {alias} ON {alias}.id = {best}")
    return "\n".join(
        [
            "FROM people p",
            _one("positions", "pos", position, lateral=lateral),
            "LEFT JOIN organisations o ON o.id = pos.organisation_id",
            "LEFT JOIN countries c ON c.id = o.country_id",
            *points,
            "WHERE p.id {ids}",
            "ORDER BY p.id",
        ]
    )


_FROM = {"sqlite": _from(lateral=False), "postgresql": _from(lateral=True)}


def handles(columns: Sequence[str], *, merge_same_address: bool) -> bool:
    return not merge_same_address and all(c in COLUMNS for c in columns)


class _Reader:
    """The plans of a list of people's batches, and their rendering: every other batch by a
    helper when one sees what this connection sees (on a SQLite file, a process; on
    PostgreSQL, a second connection in a thread), else the next batch in a thread while this
    one is written."""

    def __init__(self, session: Session, spec: Spec, fields: Sequence[str], *, on: date) -> None:
        connection = session.connection()
        dialect = connection.dialect.name
        self.spec = spec
        self.mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
        self.on: Any = on.isoformat() if dialect == "sqlite" else on  # SQLite: ISO text
        since = _SINCE.get(dialect, _SINCE["postgresql"])
        cells = []
        for name in fields:
            expression, text = EXPRESSIONS[name]
            expression = expression.format(since=since)
            guard = spec.format == "csv" and text
            cells.append(_guarded(expression, dialect) if guard else expression)
        self.from_ = _FROM.get(dialect, _FROM["postgresql"]).replace("{on}", self.mark)
        self.sql = f"SELECT {', '.join(cells)}, {_CODE}, p.id, o.id\n" + self.from_
        self.connection = connection.connection
        self.database = _shared_file(connection)
        self.engine = _shared_engine(connection)

    def plan(self, chunk: Sequence[int]) -> Plan:
        lo, hi = min(chunk), max(chunk)
        if hi - lo < 2 * len(chunk):  # a dense run: a range (two parameters)
            where, params = f"BETWEEN {self.mark} AND {self.mark}", [lo, hi]
            exact = hi - lo + 1 == len(chunk)
        else:
            where, params = self._in(len(chunk)), list(chunk)
            exact = True
        exact = exact and all(a < b for a, b in zip(chunk, chunk[1:], strict=False))
        sql = self.sql.format(ids=where)
        return Plan(sql, [self.on, self.on, *params], None if exact else list(chunk))

    def rendered(self, ids: Sequence[int], twice: Twice | None) -> Iterator[Rendered]:
        """Each batch rendered, in order. ``twice`` (the gate's check for someone listed
        already) keeps every batch in this process, where the gate is."""
        plans = [self.plan(ids[start : start + BATCH]) for start in range(0, len(ids), BATCH)]
        helper: _Helper | None = None
        if twice is None and len(plans) > 1:
            if self.database is not None:
                helper = _HelperProcess.start(self.database, self.spec, plans[1::2])
            elif self.engine is not None:
                helper = _HelperConnection.start(self.engine, self.spec, plans[1::2])
        if helper is None:
            yield from self._read_ahead(plans, twice)
            return
        cursor = self.connection.cursor()
        try:
            for number, plan in enumerate(plans):
                done = None
                if number % 2 and helper is not None:
                    try:
                        done = helper.next()
                    except HelperError as error:
                        # the rest in this process: the same bytes, later
                        log.warning("export helper stopped, reading on without it: %s", error)
                        helper.close()
                        helper = None
                if done is None:
                    done = render(cursor, plan, self.spec)
                yield done
        finally:
            cursor.close()
            if helper is not None:
                helper.close()

    def _read_ahead(self, plans: list[Plan], twice: Twice | None) -> Iterator[Rendered]:
        ahead = _Ahead(self.connection.cursor(), self.spec, plans, twice)
        try:
            for _ in plans:
                yield ahead.next()
        finally:
            ahead.close()

    def _in(self, count: int) -> str:
        return f"IN ({', '.join([self.mark] * count)})"

    def names(self, ids: list[int]) -> dict[int, tuple[str, str, str]]:
        """Display name, native name and organisation of a few people (who is left out)."""
        fields = ("display_name", "native_name", "organisation")
        sql = f"SELECT p.id, {', '.join(EXPRESSIONS[f][0] for f in fields)}\n" + self.from_.format(
            ids=self._in(len(ids))
        )
        cursor = self.connection.cursor()  # its own: the reader's may be busy in its thread
        try:
            cursor.execute(sql, [self.on, self.on, *ids])
            return {r[0]: tuple(r[1:]) for r in cursor.fetchall()}
        finally:
            cursor.close()


def _shared_file(connection: Connection) -> str | None:
    """The SQLite file a helper process may read, when it sees there what this connection
    sees: a file database (not one in memory), read outside a transaction (a transaction's own
    changes, or its snapshot, are not in the file for others)."""
    if connection.dialect.name != "sqlite":
        return None
    url = connection.engine.url
    if not url.database or url.database == ":memory:" or url.query:
        return None
    if getattr(connection.connection.dbapi_connection, "in_transaction", True):
        return None
    return os.path.abspath(url.database)


def _shared_engine(connection: Connection) -> Engine | None:
    """The PostgreSQL engine whose other connections see what this connection sees: it reads
    outside a transaction (autocommit, idle)."""
    if connection.dialect.name != "postgresql":
        return None
    raw = connection.connection.dbapi_connection
    info = getattr(raw, "info", None)
    if not getattr(raw, "autocommit", False) or info is None:
        return None
    if info.transaction_status.name != "IDLE":  # psycopg.pq.TransactionStatus
        return None
    return connection.engine


class HelperError(Exception):
    pass


class _Helper(Protocol):
    """Renders its share of the batches, in order; ``next`` raises ``HelperError`` when it
    cannot, and the batches left are rendered here."""

    def next(self) -> Rendered: ...

    def close(self) -> None: ...


class _Ahead:
    """Batches rendered with ``cursor`` in a thread, each one while the one before is used."""

    def __init__(
        self, cursor: Any, spec: Spec, plans: list[Plan], twice: Twice | None = None
    ) -> None:
        self.cursor = cursor
        self.spec = spec
        self.twice = twice
        self.plans = iter(plans)
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="export-reader")
        self.pending = self._submit()

    def _submit(self) -> Future[Rendered] | None:
        plan = next(self.plans, None)
        if plan is None:
            return None
        return self.pool.submit(render, self.cursor, plan, self.spec, self.twice)

    def next(self) -> Rendered:
        """The next batch; raises what rendering it raised."""
        pending, self.pending = self.pending, None
        if pending is None:
            raise LookupError("no batch left")
        done = pending.result()
        self.pending = self._submit()
        return done

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)  # waits for a read in progress: it holds the cursor
        self.cursor.close()


class _HelperConnection:
    """A second connection that renders its batches in a thread, one ahead. PostgreSQL runs
    each connection's query in a process of its own, so two batches are read at once."""

    def __init__(self, connection: Connection, spec: Spec, plans: list[Plan]) -> None:
        self.connection = connection
        self.ahead = _Ahead(connection.connection.cursor(), spec, plans)

    @classmethod
    def start(cls, engine: Engine, spec: Spec, plans: list[Plan]) -> _HelperConnection | None:
        """The helper at work; None when the pool has no connection to spare (every one of
        its size in use: it would wait for one, or take one that requests are waiting for)."""
        pool = engine.pool
        if isinstance(pool, QueuePool) and pool.checkedout() >= pool.size():
            return None
        try:
            connection = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as error:
            log.warning("no export helper: %s", error)
            return None
        return cls(connection, spec, plans)

    def next(self) -> Rendered:
        try:
            return self.ahead.next()
        except Exception as error:  # the connection broke, say: the batches go back
            self.connection.invalidate()
            raise HelperError(str(error).strip().splitlines()[0]) from error

    def close(self) -> None:
        with suppress(Exception):  # a broken connection has no cursor left to close
            self.ahead.close()
        self.connection.close()


_SERVE = "import sys; sys.path[:0] = sys.argv[1:]; from app.exports.batches import serve; serve()"
_ROOT = str(Path(__file__).resolve().parent.parent.parent)  # the folder that holds ``app``


def _helper_path() -> list[str]:
    """Where the helper finds ``app`` and vobject: it starts without ``site``, so it is given
    this process's import path."""
    return [_ROOT, *(p for p in sys.path if os.path.isabs(p))]


class _HelperProcess:
    """A helper process that renders batches from its own connection (``batches.serve``)."""

    def __init__(self, process: subprocess.Popen[bytes], batches: int) -> None:
        self.process = process
        assert process.stdout is not None
        self.out = process.stdout
        self.remaining = batches

    @classmethod
    def start(cls, database: str, spec: Spec, plans: list[Plan]) -> _HelperProcess | None:
        """The helper at work on ``plans``; None when no process can be started here."""
        try:
            process = subprocess.Popen(
                [sys.executable, "-I", "-S", "-c", _SERVE, *_helper_path()],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
        except OSError as error:
            log.warning("no export helper: %s", error)
            return None
        helper = cls(process, len(plans))
        with suppress(ImportError, AttributeError, OSError):  # Linux: room for a whole batch
            import fcntl

            fcntl.fcntl(helper.out.fileno(), fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        request = {
            "database": database,
            "spec": dataclasses.asdict(spec),
            "plans": [dataclasses.asdict(p) for p in plans],
        }
        assert process.stdin is not None
        try:
            process.stdin.write(json.dumps(request).encode())
            process.stdin.close()
        except OSError:  # it stopped before reading: the batches are read here
            helper.close()
            return None
        return helper

    def next(self) -> Rendered:
        header = self.out.read(FRAME.size)
        if len(header) == FRAME.size:
            size, count, left_size = FRAME.unpack(header)
            data = self.out.read(size)
            left = self.out.read(left_size)
            if len(data) == size and len(left) == left_size:
                self.remaining -= 1
                return Rendered(data, count, [(p, why) for p, why in json.loads(left)])
        self.process.wait()
        assert self.process.stderr is not None
        problem = self.process.stderr.read().decode(errors="replace").strip().splitlines()
        raise HelperError(
            f"exit code {self.process.returncode}: {problem[-1] if problem else 'no message'}"
        )

    def close(self) -> None:
        """Stopped and reaped; given a moment to end on its own once its work is done."""
        if self.remaining == 0:
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout, self.process.stderr):
            if pipe is not None:
                pipe.close()


def _rendered(reader: _Reader, ids: Sequence[int], gate: Gate) -> Iterator[bytes]:
    """Each batch's bytes; the gate counts every row and the ones left out. A person meets an
    office already listed (or themselves, if an id comes twice) only through the gate's
    ``twice``."""
    tally = gate.tally
    check_twice = bool(gate.seen) or len(set(ids)) != len(ids)
    for done in reader.rendered(ids, gate.twice if check_twice else None):
        gate.count(done.count)
        tally.exported += done.count - len(done.left)
        if done.left:
            wanted = tally.samples_wanted
            left = done.left
            names = reader.names([p for p, _ in left[:wanted]]) if wanted > 0 else {}
            for person_id, reason in left:
                display, native, organisation = names.get(person_id, ("", "", ""))
                tally.exclude(
                    ExportRow(
                        kind="person",
                        id=person_id,
                        display_name=display,
                        native_name=native,
                        organisation=organisation,
                    ),
                    reason,
                )
        if done.data:
            yield done.data


def csv_chunks(
    session: Session,
    person_ids: Sequence[int],
    columns: Sequence[str],
    *,
    delimiter: str,
    gate: Gate,
    on: date | None = None,
) -> Iterator[bytes]:
    """People as CSV rows (no header), a batch at a time."""
    if not person_ids:
        return iter(())
    spec = Spec("csv", len(columns), gate.by_code, delimiter)
    return _rendered(_Reader(session, spec, columns, on=on or date.today()), person_ids, gate)


def vcard_chunks(
    session: Session, person_ids: Sequence[int], *, gate: Gate, on: date | None = None
) -> Iterator[bytes]:
    """People as vCards (``vcards.vcard_of``), a batch at a time."""
    if not person_ids:
        return iter(())
    spec = Spec("vcard", len(CARD_FIELDS), gate.by_code)
    return _rendered(_Reader(session, spec, CARD_FIELDS, on=on or date.today()), person_ids, gate)
