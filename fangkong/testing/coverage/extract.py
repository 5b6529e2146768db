"""Lean extraction of a round's inputs from the operational database into Arrow, for the engine.

Only the columns the query needs, as integers: person ids, the home division's code (``CAST(path AS bigint)``;
paths are numeric statistical codes), sample times as microseconds.

PostgreSQL: the two big inputs (residents, samples: ~10 M rows each for a city) must not cost a Python step per
row, nor a read of the wide rows they come from.

- **Index-only scans.** The residents are read from ``person_home_live_idx`` — (home_division_path, id) of the
  people not merged away — and the samples from the round's part of ``sample_person_once_per_round`` —
  (round, person) INCLUDE (sampled_at) — never from the tables' heaps (the person row is wide: name, pinyin,
  documents, address). An index-only scan needs the table's visibility map, kept by (auto)vacuum; pages
  changed since the last vacuum are checked in the heap, row by row, which costs time, never correctness.
- **Packed by the server.** ``COPY … TO STDOUT`` through psycopg hands over one row per call (measured: 53 s
  for 10 M rows), so each task is one ``string_agg(int8send(…) …)`` — a ``bytea`` of fixed-width big-endian
  integers that numpy reads in place. Residents are grouped by home division: the code travels once per
  division, the people as one run of ids.
- **Two connections, one snapshot.** Tasks (groups of divisions; ranges of person ids) are taken from one
  queue by ``workers`` connections at once (PostgreSQL uses a process per connection, so two tasks use both
  cores), all in the snapshot the job's own REPEATABLE READ transaction exports (``pg_export_snapshot``, as
  ``pg_dump -j`` does), in which the small inputs are read too.

SQLite (development, tests): a plain cursor read in chunks of ``CHUNK_ROWS`` into numpy arrays.
"""

from __future__ import annotations

import datetime as dt
import threading
import typing
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
from django.db import connection, transaction

from fangkong.core.models import Division
from fangkong.engine.coverage import INPUT_SCHEMAS, RoundData
from fangkong.people.models import Person
from fangkong.testing.coverage.models import CoverageChange
from fangkong.testing.models import Exemption, ResultValue, Sample, SamplePurpose, TestRound, TubeResult

CHUNK_ROWS = 1_000_000
TASKS_PER_WORKER = 8  # small enough tasks that two connections finish together
PG_EPOCH_US = 946_684_800 * 1_000_000  # PostgreSQL's binary timestamps count from 2000-01-01 UTC
COUNTY_WIDTH = 6


@dataclass(frozen=True)
class BigQuery:
    """``SELECT <columns> FROM <table> WHERE <where>`` where every column is a BIGINT (or, with ``timestamp``,
    a timestamptz), read in chunks of ``key`` (an indexed integer column, the primary key)."""

    table: str
    key: str
    columns: Sequence[tuple[str, str]]  # (name, SQL expression)
    where: str
    params: Sequence[Any]
    timestamps: frozenset[str] = frozenset()


def _q(name: str) -> str:
    return connection.ops.quote_name(name)


def _column(model: Any, field: str) -> str:
    return str(model._meta.get_field(field).column)


def round_queries(test_round: TestRound) -> tuple[BigQuery, BigQuery]:
    """The residents of the round's area and the round's own samples (not retests, not flagged duplicates)."""
    person = Person._meta.db_table
    residents = BigQuery(
        table=person,
        key="id",
        columns=[("person_id", _q("id")), ("division", f"CAST({_q(_column(Person, 'home_division'))} AS BIGINT)")],
        where=f"{_q(_column(Person, 'home_division'))} LIKE %s AND {_q(_column(Person, 'merged_into'))} IS NULL",
        params=[test_round.division_id + "%"],
    )
    samples = BigQuery(
        table=Sample._meta.db_table,
        key="id",
        columns=[
            ("person_id", _q(_column(Sample, "person"))),
            ("sampled_at", _q(_column(Sample, "sampled_at"))),
        ],
        where=(
            f"{_q(_column(Sample, 'round'))} = %s AND {_q(_column(Sample, 'purpose'))} = %s"
            f" AND NOT {_q(_column(Sample, 'is_duplicate'))}"
        ),
        params=[test_round.pk, SamplePurpose.ROUND.value],
        timestamps=frozenset({"sampled_at"}),
    )
    return residents, samples


@dataclass(frozen=True)
class Watermark:
    """How far into the change log (``CoverageChange``) an extraction's snapshot saw: the highest id it saw and,
    on PostgreSQL, the snapshot itself (``pg_current_snapshot()``; ids become visible in commit order, not in
    id order). The next incremental extraction reads every change this snapshot did not see."""

    change_id: int
    pg_snapshot: str | None = None

    @property
    def pg_xmin(self) -> int:
        """Every transaction below this one had ended when the snapshot was taken."""
        return int((self.pg_snapshot or "0").split(":", 1)[0])


def read_watermark() -> Watermark:
    """The watermark of the current transaction's snapshot (call it inside the extraction's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {_q(CoverageChange._meta.db_table)}")  # noqa: S608
        change_id = int(cursor.fetchone()[0])
        if connection.vendor != "postgresql":
            return Watermark(change_id)
        cursor.execute("SELECT pg_current_snapshot()::text")
        return Watermark(change_id, str(cursor.fetchone()[0]))


def extract_round(test_round: TestRound, *, workers: int = 2) -> RoundData:
    """The engine's five inputs for ``test_round``, as Arrow tables, read in one consistent snapshot."""
    return extract_round_with_watermark(test_round, workers=workers)[0]


def extract_round_with_watermark(test_round: TestRound, *, workers: int = 2) -> tuple[RoundData, Watermark]:
    """:func:`extract_round` and the watermark of the snapshot it read in."""
    # Parallel reads need a transaction of our own whose snapshot the other connections import; inside a
    # caller's transaction (tests) its uncommitted rows are visible to this connection only.
    parallel = connection.vendor == "postgresql" and workers > 1 and not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql":
            if parallel:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            # the small inputs and the watermark on this connection while the others read: the same transaction,
            # so one snapshot for all five inputs
            residents, samples, (small, watermark) = _pg_extract_while(
                test_round,
                workers=workers if parallel else 1,
                meanwhile=lambda: (small_inputs(test_round), read_watermark()),
            )
        else:
            residents_query, samples_query = round_queries(test_round)
            residents = _read_cursor(residents_query)
            samples = _read_cursor(samples_query)
            small = small_inputs(test_round)  # in the same transaction: one snapshot for all five inputs
            watermark = read_watermark()
    return RoundData(residents=residents, samples=samples, **small), watermark


def small_inputs(test_round: TestRound) -> dict[str, pa.Table]:
    positive_tubes = TubeResult.objects.filter(tube__round=test_round, result=ResultValue.POSITIVE).values("tube_id")
    pools = list(
        # every swab in a positive tube, a flagged second swab too: its person must be recalled all the same
        Sample.objects.filter(round=test_round, tube_id__in=positive_tubes)
        .order_by()
        .values_list("tube_id", "person_id")
    )
    areas = [
        (int(path), int(path[:COUNTY_WIDTH]))
        for path in Division.objects.filter(path__startswith=test_round.division_id).values_list("path", flat=True)
        if len(path) >= COUNTY_WIDTH
    ]
    return {
        "exemptions": _exemptions(test_round),
        "positive_pools": _table("positive_pools", pools),
        "areas": _table("areas", areas),
    }


def _exemptions(test_round: TestRound) -> pa.Table:
    """The round's exemptions (~10^5 in a city): on PostgreSQL packed by the server, one run of person ids per
    reason, as the residents per division (0.17 s as 10^5 ORM rows in the benchmark)."""
    if connection.vendor != "postgresql":
        # no ordering: the models' default orderings would sort 100,000 exemptions for nothing
        rows = Exemption.objects.filter(round=test_round).order_by().values_list("person_id", "reason")
        return _table("exemptions", list(rows))
    person, reason = _q(_column(Exemption, "person")), _q(_column(Exemption, "reason"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {reason}, string_agg(int8send({person}), ''::bytea) FROM {_q(Exemption._meta.db_table)}"  # noqa: S608
            f" WHERE {_q(_column(Exemption, 'round'))} = %s GROUP BY {reason}",
            [test_round.pk],
        )
        runs = [(str(name), bytes(data)) for name, data in cursor.fetchall()]
    ids = np.frombuffer(b"".join(data for _, data in runs), dtype=">i8").astype(np.int64)
    which = np.repeat(np.arange(len(runs), dtype=np.int64), [len(data) // 8 for _, data in runs])
    reasons = pa.array([name for name, _ in runs], pa.string()).take(pa.array(which, pa.int64()))
    return pa.table({"person_id": pa.array(ids, pa.int64()), "reason": reasons}, schema=INPUT_SCHEMAS["exemptions"])


def _table(name: str, rows: list[tuple[Any, ...]]) -> pa.Table:
    schema = INPUT_SCHEMAS[name]
    columns = list(zip(*rows, strict=True)) if rows else [() for _ in schema]
    return pa.table(
        {field.name: pa.array(list(values), field.type) for field, values in zip(schema, columns, strict=True)},
        schema=schema,
    )


def _as_arrow(query: BigQuery, columns: dict[str, np.ndarray[Any, Any]]) -> pa.Table:
    arrays: dict[str, pa.Array] = {}
    for name, _ in query.columns:
        values = pa.array(columns[name], pa.int64())
        arrays[name] = values.cast(pa.timestamp("us", tz="UTC")) if name in query.timestamps else values
    return pa.table(arrays)


# SQLite and any other database: a cursor, in chunks


def _read_cursor(query: BigQuery) -> pa.Table:
    select = ", ".join(expression for _, expression in query.columns)
    parts: list[list[tuple[Any, ...]]] = []
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {select} FROM {_q(query.table)} WHERE {query.where}", list(query.params))  # noqa: S608
        while rows := cursor.fetchmany(CHUNK_ROWS):
            parts.append(rows)
    flat = [row for part in parts for row in part]
    columns: dict[str, np.ndarray[Any, Any]] = {}
    for index, (name, _) in enumerate(query.columns):
        if name in query.timestamps:
            columns[name] = np.array([_micros(row[index]) for row in flat], dtype=np.int64)
        else:
            columns[name] = np.array([row[index] for row in flat], dtype=np.int64)
    return _as_arrow(query, columns)


def _micros(value: dt.datetime | str) -> int:
    moment = dt.datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    delta = moment - dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


# PostgreSQL: index-only scans, fixed-width rows packed by the server, several connections in one snapshot


@dataclass(frozen=True)
class _Task:
    """One packed read: ``sql`` returns rows of (division code or NULL, packed bytea) for the input ``name``."""

    name: str
    sql: str
    params: list[Any]


def _pg_tasks(test_round: TestRound, *, connection_cursor: Any, parts: int) -> list[_Task]:
    """The residents split by home division (groups of the area's division paths), the round's samples split
    by person id: ``parts`` tasks each, read by index-only scans of ``person_home_live_idx`` and
    ``sample_person_once_per_round`` (migration testing 0005)."""
    person, sample = _q(Person._meta.db_table), _q(Sample._meta.db_table)
    home, merged = _q(_column(Person, "home_division")), _q(_column(Person, "merged_into"))
    sample_person, sample_round = _q(_column(Sample, "person")), _q(_column(Sample, "round"))
    sampled_at, purpose = _q(_column(Sample, "sampled_at")), _q(_column(Sample, "purpose"))
    duplicate = _q(_column(Sample, "is_duplicate"))
    tasks: list[_Task] = []
    # Residents: every person's home is a Division (a foreign key), so "home in the area" is "home = ANY(the
    # area's paths)" — exact, collation-free, and one index range per division. Grouping by home sends each
    # division's code once and its people as one run of ids.
    paths = sorted(Division.objects.filter(path__startswith=test_round.division_id).values_list("path", flat=True))
    residents_sql = (
        f"SELECT CAST({home} AS BIGINT), string_agg(int8send({_q('id')}), ''::bytea) FROM {person}"  # noqa: S608
        f" WHERE {home} = ANY(%s) AND {merged} IS NULL GROUP BY {home}"
    )
    size = max(1, -(-len(paths) // parts))
    tasks += [_Task("residents", residents_sql, [paths[i : i + size]]) for i in range(0, len(paths), size)]
    # Samples: the round's part of the unique (round, person) INCLUDE (sampled_at) index, in person ranges.
    where = f"{sample_round} = %s AND {purpose} = %s AND NOT {duplicate}"
    connection_cursor.execute(
        f"SELECT min({sample_person}), max({sample_person}) FROM {sample} WHERE {where}",  # noqa: S608
        [test_round.pk, SamplePurpose.ROUND.value],
    )
    low, high = connection_cursor.fetchone()
    if low is not None:
        samples_sql = (
            f"SELECT NULL::bigint, string_agg(int8send({sample_person}) || timestamptz_send({sampled_at}),"  # noqa: S608
            f" ''::bytea) FROM {sample} WHERE {where} AND {sample_person} >= %s AND {sample_person} < %s"
        )
        step = max(1, -(-(high - low + 1) // parts))
        for start in range(low, high + 1, step):
            end = start + step if start + step <= high else 2**62  # the last range is open-ended
            tasks.append(_Task("samples", samples_sql, [test_round.pk, SamplePurpose.ROUND.value, start, end]))
    return tasks


def _pg_extract(test_round: TestRound, *, workers: int) -> tuple[pa.Table, pa.Table]:
    """Residents and samples of ``test_round``: on ``workers`` connections sharing the snapshot of this
    connection's (REPEATABLE READ) transaction, or with ``workers=1`` on this connection alone."""
    residents, samples, _ = _pg_extract_while(test_round, workers=workers, meanwhile=lambda: None)
    return residents, samples


T = TypeVar("T")


def _pg_extract_while(
    test_round: TestRound, *, workers: int, meanwhile: Callable[[], T]
) -> tuple[pa.Table, pa.Table, T]:
    """:func:`_pg_extract`, calling ``meanwhile`` on this connection (in its transaction) while the other
    connections read: the small inputs and the watermark cost the job's wait nothing."""
    with connection.cursor() as cursor:
        tasks = _pg_tasks(test_round, connection_cursor=cursor, parts=TASKS_PER_WORKER * max(1, workers))
        if workers <= 1:
            parts = []
            for task in tasks:
                cursor.execute(task.sql, task.params)
                parts.append(_decoded(task.name, [(code, bytes(data)) for code, data in cursor.fetchall() if data]))
            extra = meanwhile()
        else:  # the caller's REPEATABLE READ transaction: its snapshot is the one exported
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            parts, extra = _pg_parallel(tasks, snapshot=snapshot, workers=workers, meanwhile=meanwhile)
    return _residents_table(parts), _samples_table(parts), extra


_Part = tuple[str, np.ndarray[Any, Any], np.ndarray[Any, Any]]  # (input, person ids, division codes or times)


def _decoded(name: str, rows: list[tuple[int | None, bytes]]) -> _Part:
    """One task's packed rows as two int64 columns: (person id, division code) for residents (a row per
    division), (person id, microseconds since 1970) for samples — decoded by the connection's own thread as its
    task ends, while the other connection's query runs, rather than all at the end."""
    values = np.frombuffer(b"".join(data for _, data in rows), dtype=">i8").astype(np.int64)  # one byte swap
    if name == "residents":
        codes = np.repeat(np.array([code for code, _ in rows], dtype=np.int64), [len(data) // 8 for _, data in rows])
        return name, values, codes
    pairs = values.reshape(-1, 2)
    return name, np.ascontiguousarray(pairs[:, 0]), pairs[:, 1] + PG_EPOCH_US


def _chunks(parts: list[_Part], name: str, column: int, kind: pa.DataType) -> pa.ChunkedArray:
    """A column of input ``name``, one chunk per task: no copy (the engine scans the chunks in parallel)."""
    arrays = [pa.array(part[column], pa.int64()).view(kind) for part in parts if part[0] == name and len(part[1])]
    chunked: Any = pa.chunked_array  # the stubs know neither a list of arrays nor a type object here
    return typing.cast(pa.ChunkedArray, chunked(arrays, kind))


def _residents_table(parts: list[_Part]) -> pa.Table:
    return pa.table(
        {
            "person_id": _chunks(parts, "residents", 1, pa.int64()),
            "division": _chunks(parts, "residents", 2, pa.int64()),
        }
    )


def _samples_table(parts: list[_Part]) -> pa.Table:
    return pa.table(
        {
            "person_id": _chunks(parts, "samples", 1, pa.int64()),
            "sampled_at": _chunks(parts, "samples", 2, pa.timestamp("us", tz="UTC")),
        }
    )


def _pg_parallel(
    tasks: list[_Task], *, snapshot: str, workers: int, meanwhile: Callable[[], T]
) -> tuple[list[_Part], T]:
    """Run ``tasks`` on ``workers`` connections of their own, each taking the next task when it is done (a
    shared queue keeps both busy to the end), all in the exported ``snapshot``; ``meanwhile`` runs in the
    calling thread as they do."""
    import psycopg
    from psycopg import sql as pg_sql

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    queue = list(reversed(tasks))
    lock = threading.Lock()

    def run() -> list[_Part]:
        out: list[_Part] = []
        with psycopg.connect(**params) as worker:
            worker.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            worker.execute(pg_sql.SQL("SET TRANSACTION SNAPSHOT {}").format(pg_sql.Literal(snapshot)))
            # These reads are whole index ranges: no JIT compilation per query (tens of ms each, no gain), and
            # the cost of a page read as on an SSD or in the cache, so that the planner takes the index-only
            # scan over the narrow covering index rather than the wide heap.
            worker.execute("SET LOCAL jit = off")
            worker.execute("SET LOCAL random_page_cost = 1.1")
            with worker.cursor(binary=True) as worker_cursor:
                while True:
                    with lock:
                        if not queue:
                            break
                        task = queue.pop()
                    worker_cursor.execute(task.sql.encode(), task.params)
                    rows = [(code, bytes(data)) for code, data in worker_cursor.fetchall() if data]
                    out.append(_decoded(task.name, rows))
            worker.execute("COMMIT")
        return out

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run) for _ in range(workers)]
        extra = meanwhile()
        return [item for future in futures for item in future.result()], extra
