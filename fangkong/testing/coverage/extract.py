"""Lean extraction of a round's inputs from the operational database into Arrow, for the engine.

Only the columns the query needs, as integers: person and tube ids, the home division's code
(``CAST(path AS bigint)``; paths are numeric statistical codes), sample times as microseconds.

PostgreSQL: the two big inputs (residents, samples: ~10 M rows each for a city) must not cost a Python step per
row. ``COPY … TO STDOUT`` through psycopg hands over one row per call (measured: 53 s for 10 M rows), so the
server packs the rows instead: each chunk of ids is one ``string_agg(int8send(a) || int8send(b) …)`` — a
single ``bytea`` of fixed-width big-endian integers that numpy reads in place. Chunks run on ``workers``
connections at once (PostgreSQL uses a process per connection, so two chunks use both cores), all in one
exported snapshot (``pg_export_snapshot``, as ``pg_dump -j`` does), so they see the same database state.

SQLite (development, tests): a plain cursor read in chunks of ``CHUNK_ROWS`` into numpy arrays.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from django.db import connection, transaction

from fangkong.core.models import Division
from fangkong.engine.coverage import INPUT_SCHEMAS, RoundData
from fangkong.people.models import Person
from fangkong.testing.models import Exemption, ResultValue, Sample, SamplePurpose, TestRound, TubeResult

CHUNK_ROWS = 1_000_000
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


def extract_round(test_round: TestRound, *, workers: int = 2) -> RoundData:
    """The engine's five inputs for ``test_round``, as Arrow tables, read in one consistent snapshot."""
    residents_query, samples_query = round_queries(test_round)
    # Parallel reads need a transaction of our own whose snapshot the other connections import; inside a
    # caller's transaction (tests) its uncommitted rows are visible to this connection only.
    parallel = connection.vendor == "postgresql" and workers > 1 and not connection.in_atomic_block
    with transaction.atomic():
        if connection.vendor == "postgresql":
            if parallel:
                with connection.cursor() as cursor:
                    cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            residents, samples = _pg_read([residents_query, samples_query], workers=workers if parallel else 1)
        else:
            residents = _read_cursor(residents_query)
            samples = _read_cursor(samples_query)
        small = _small_inputs(test_round)  # in the same transaction: one snapshot for all five inputs
    return RoundData(residents=residents, samples=samples, **small)


def _small_inputs(test_round: TestRound) -> dict[str, pa.Table]:
    exemptions = list(Exemption.objects.filter(round=test_round).values_list("person_id", "reason"))
    positive_tubes = TubeResult.objects.filter(tube__round=test_round, result=ResultValue.POSITIVE).values("tube_id")
    pools = list(
        # every swab in a positive tube, a flagged second swab too: its person must be recalled all the same
        Sample.objects.filter(round=test_round, tube_id__in=positive_tubes).values_list("tube_id", "person_id")
    )
    areas = [
        (int(path), int(path[:COUNTY_WIDTH]))
        for path in Division.objects.filter(path__startswith=test_round.division_id).values_list("path", flat=True)
        if len(path) >= COUNTY_WIDTH
    ]
    return {
        "exemptions": _table("exemptions", exemptions),
        "positive_pools": _table("positive_pools", pools),
        "areas": _table("areas", areas),
    }


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


# PostgreSQL: fixed-width rows packed by the server, several connections in one snapshot


def _pg_read(queries: list[BigQuery], *, workers: int) -> list[pa.Table]:
    """Read ``queries`` as packed chunks: on ``workers`` connections sharing the snapshot of this connection's
    (REPEATABLE READ) transaction, or with ``workers=1`` on this connection alone."""
    tasks: list[tuple[int, str, list[Any]]] = []
    with connection.cursor() as cursor:
        for index, query in enumerate(queries):
            cursor.execute(f"SELECT min({_q(query.key)}), max({_q(query.key)}) FROM {_q(query.table)}")  # noqa: S608
            low, high = cursor.fetchone()
            if low is None:
                continue
            packed = " || ".join(
                f"timestamptz_send({expression})" if name in query.timestamps else f"int8send({expression})"
                for name, expression in query.columns
            )
            sql = (
                f"SELECT string_agg({packed}, ''::bytea) FROM {_q(query.table)}"  # noqa: S608 - names are quoted
                f" WHERE {_q(query.key)} >= %s AND {_q(query.key)} < %s AND {query.where}"
            )
            starts = list(range(low, high + 1, CHUNK_ROWS))
            for start in starts:  # the last chunk is open-ended: rows added since max() belong to it
                end = start + CHUNK_ROWS if start != starts[-1] else 2**62
                tasks.append((index, sql, [start, end, *query.params]))
        if workers <= 1:
            results = []
            for index, sql, values in tasks:
                cursor.execute(sql, values)
                row = cursor.fetchone()
                if row is not None and row[0] is not None:
                    results.append((index, bytes(row[0])))
        else:  # the caller's REPEATABLE READ transaction: its snapshot is the one exported
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            results = _pg_parallel(tasks, snapshot=snapshot, workers=workers)
    tables = []
    for index, query in enumerate(queries):
        dtype = np.dtype([(name, ">i8") for name, _ in query.columns])
        buffers = [data for which, data in results if which == index]
        raw = np.frombuffer(b"".join(buffers), dtype=dtype) if buffers else np.empty(0, dtype=dtype)
        columns: dict[str, np.ndarray[Any, Any]] = {}
        for name, _ in query.columns:
            column = np.asarray(raw[name]).astype(np.int64)
            columns[name] = column + PG_EPOCH_US if name in query.timestamps else column
        tables.append(_as_arrow(query, columns))
    return tables


def _pg_parallel(tasks: list[tuple[int, str, list[Any]]], *, snapshot: str, workers: int) -> list[tuple[int, bytes]]:
    import psycopg
    from psycopg import sql as pg_sql

    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)

    def run(batch: list[tuple[int, str, list[Any]]]) -> list[tuple[int, bytes]]:
        out: list[tuple[int, bytes]] = []
        with psycopg.connect(**params) as worker:
            worker.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            worker.execute(pg_sql.SQL("SET TRANSACTION SNAPSHOT {}").format(pg_sql.Literal(snapshot)))
            with worker.cursor(binary=True) as worker_cursor:
                for index, sql, values in batch:
                    worker_cursor.execute(sql.encode(), values)
                    row = worker_cursor.fetchone()
                    if row is not None and row[0] is not None:
                        out.append((index, bytes(row[0])))
            worker.execute("COMMIT")
        return out

    batches = [tasks[i::workers] for i in range(workers)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return [item for chunk in pool.map(run, batches) for item in chunk]
