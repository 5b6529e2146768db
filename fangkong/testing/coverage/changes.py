"""Reading a round's change log (`CoverageChange`) since a snapshot's watermark: the warm path's changed keys and
their current rows (testing.coverage.incremental, docs/testing-coverage.md, "Incremental extraction").

The log is read once per run — the registry's rows and the round's, packed by the server on PostgreSQL. A key
whose current row the log itself gives is taken from it: a person's newest logged change carries the home it
leaves (migration 0012), a counted sample's insertion its time (migration 0011). Every other key is read back
from the operational tables, by one array parameter on PostgreSQL, in chunks elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
from django.db import connection

from fangkong.testing.coverage import extract
from fangkong.testing.coverage.extract import Watermark
from fangkong.testing.coverage.models import CoverageChange
from fangkong.testing.models import Sample, TestRound

IN_CHUNK = 500  # keys per IN (…) on SQLite


@dataclass(frozen=True)
class LoggedChanges:
    """What the change log holds for a round since a watermark: the people whose registry row changed, and the
    people whose counted sample in the round may have changed — with, for the keys whose current row the log
    itself gives, that row (the others are read back)."""

    people: np.ndarray[Any, Any]
    sampled: np.ndarray[Any, Any]
    homed: np.ndarray[Any, Any]  # a subset of ``people``: those whose newest logged change carries their home
    homes: np.ndarray[Any, Any]  # one per ``homed``: the home's division code, or NOT_RESIDENT
    inserted: np.ndarray[Any, Any]  # a subset of ``sampled``: those whose one logged change is an insertion
    inserted_at: np.ndarray[Any, Any]  # microseconds since 1970, one per ``inserted``


UNKNOWN = -(1 << 63)  # a log row that does not give the key's row (no time, no home): the key is read back
NOT_RESIDENT = -1  # a registry row whose home is '' (merged away, deleted) or outside the round's area
UNKNOWN_BYTES = "'\\x8000000000000000'::bytea"


def _logged(test_round: TestRound, since: Watermark) -> tuple[str, list[Any]]:
    """SQL for the log rows (id, registry: 0 or 1, person_id, sampled_at, home) since ``since``: the registry's
    changes and this round's samples'."""
    log = connection.ops.quote_name(CoverageChange._meta.db_table)
    columns = "id, CASE WHEN round_id IS NULL THEN 1 ELSE 0 END AS registry, person_id, sampled_at, home"
    which, params = "(round_id IS NULL OR round_id = %s)", [test_round.pk]
    if connection.vendor != "postgresql":  # SQLite serialises writers: ids are in commit order
        return f"SELECT {columns} FROM {log} WHERE id > %s AND {which}", [since.change_id, *params]  # noqa: S608
    # later ids, and earlier ids of transactions the previous snapshot could not see (committed since) — as two
    # range reads (primary key; `xact` index): one condition with OR made PostgreSQL scan the whole log, which
    # grows by a row per sample (0.3 s per read at 4 M rows)
    return (
        f"SELECT {columns} FROM {log} WHERE {which} AND id > %s"  # noqa: S608
        f" UNION ALL SELECT {columns} FROM {log} WHERE {which} AND id <= %s AND xact >= %s"  # noqa: S608
        " AND NOT pg_visible_in_snapshot(xact::text::xid8, %s::pg_snapshot)",
        [*params, since.change_id, *params, since.change_id, since.pg_xmin, since.pg_snapshot],
    )


def read_changes(test_round: TestRound, since: Watermark) -> LoggedChanges:
    """The log's rows for ``test_round`` since ``since``, read once (on PostgreSQL packed by the server).

    A person's newest logged change gives their registry row when it carries their home (migration 0012): an
    insert, update or delete of a person holds the row's lock until it commits, so for one person the log's
    ids follow the row's versions. A sample key is known from the log alone when its one logged change is the
    insertion of a counted sample (the row carries its time, migration 0011): the database admits one counted
    sample per round and person, and any later change of that row — deleted, moved to another person or round,
    flagged, retimed — is logged as well, without a time, which sends the key back to be read. Every other key
    is read back."""
    sql, params = _logged(test_round, since)
    area = test_round.division_id
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            home = (
                f"CASE WHEN home IS NULL THEN {UNKNOWN_BYTES} ELSE int8send(CASE WHEN home <> '' AND home LIKE %s"
                f" THEN CAST(home AS bigint) ELSE {NOT_RESIDENT} END) END"
            )
            cursor.execute(
                "SELECT registry, string_agg(int8send(person_id) || CASE WHEN registry = 1"  # noqa: S608 - constants
                f" THEN {home} ELSE COALESCE(timestamptz_send(sampled_at), {UNKNOWN_BYTES}) END,"
                f" ''::bytea ORDER BY id) FROM ({sql}) AS logged GROUP BY registry",
                [area + "%", *params],
            )
            packed = {registry: bytes(data or b"") for registry, data in cursor.fetchall()}
            rows = {}
            for registry in (0, 1):
                raw = np.frombuffer(packed.get(registry, b""), dtype=np.dtype([("person", ">i8"), ("value", ">i8")]))
                values = raw["value"].astype(np.int64)
                if registry == 0:  # PostgreSQL's times count from 2000
                    values = np.where(values == UNKNOWN, UNKNOWN, values + extract.PG_EPOCH_US)
                rows[registry] = (raw["person"].astype(np.int64), values)
        else:
            cursor.execute(f"{sql} ORDER BY id", params)
            fetched = cursor.fetchall()
            rows = {
                0: (
                    np.array([person for _, registry, person, _, _ in fetched if not registry], dtype=np.int64),
                    np.array(
                        [
                            UNKNOWN if at is None else extract._micros(at)
                            for _, registry, _, at, _ in fetched
                            if not registry
                        ],
                        dtype=np.int64,
                    ),
                ),
                1: (
                    np.array([person for _, registry, person, _, _ in fetched if registry], dtype=np.int64),
                    np.array(
                        [_home_code(home, area) for _, registry, _, _, home in fetched if registry], dtype=np.int64
                    ),
                ),
            }
    # a person's newest row (the rows are in id order): the first of the reversed
    persons, homes = rows[1][0][::-1], rows[1][1][::-1]
    people, newest = np.unique(persons, return_index=True)
    homed = homes[newest] != UNKNOWN
    persons, times = rows[0]
    sampled, first, counts = np.unique(persons, return_index=True, return_counts=True)
    known = (counts == 1) & (times[first] != UNKNOWN)
    return LoggedChanges(
        people=people,
        sampled=sampled,
        homed=people[homed],
        homes=homes[newest][homed],
        inserted=sampled[known],
        inserted_at=times[first][known],
    )


def _home_code(home: str | None, area: str) -> int:
    if home is None:
        return UNKNOWN
    return int(home) if home and home.startswith(area) else NOT_RESIDENT


def current_residents(test_round: TestRound, changes: LoggedChanges) -> pa.Table:
    """(person_id, division) for each of the changed people: their home's code if they live in the area and are
    not merged away, else null — from the log for the people it gives, read back for the others."""
    query = extract.round_queries(test_round)[0]
    unknown = np.setdiff1d(changes.people, changes.homed, assume_unique=True)
    found_keys, found_values = _rows_for_keys(query, extract._q("id"), unknown)
    resident = changes.homes != NOT_RESIDENT
    found = (
        np.concatenate([changes.homed[resident], found_keys]),
        np.concatenate([changes.homes[resident], found_values]),
    )
    return _keyed(changes.people, found, "division", pa.int64())


def current_samples(test_round: TestRound, changes: LoggedChanges) -> pa.Table:
    """(person_id, sampled_at) for each of the changed sample keys: their counted sample of the round if any,
    else null — from the log for the keys it gives, read back for the others."""
    query = extract.round_queries(test_round)[1]
    person = extract._q(extract._column(Sample, "person"))
    unknown = np.setdiff1d(changes.sampled, changes.inserted, assume_unique=True)
    found_keys, found_values = _rows_for_keys(query, person, unknown)
    found = (np.concatenate([changes.inserted, found_keys]), np.concatenate([changes.inserted_at, found_values]))
    return _keyed(changes.sampled, found, "sampled_at", pa.timestamp("us", tz="UTC"))


def _keyed(
    keys: np.ndarray[Any, Any], found: tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]], value: str, kind: pa.DataType
) -> pa.Table:
    """One row per key: the value found for it (microseconds for a time), or null."""
    found_keys, found_values = found
    order = np.argsort(found_keys, kind="stable")
    found_keys, found_values = found_keys[order], found_values[order]
    at = np.minimum(np.searchsorted(found_keys, keys), max(len(found_keys) - 1, 0))
    present = (found_keys[at] == keys) if len(found_keys) else np.zeros(len(keys), dtype=bool)
    values = pa.array(found_values[at] if len(found_keys) else np.zeros(len(keys), np.int64), pa.int64(), mask=~present)
    return pa.table(
        {"person_id": pa.array(keys, pa.int64()), value: values.view(kind) if kind != pa.int64() else values}
    )


def _rows_for_keys(
    query: extract.BigQuery, key: str, keys: np.ndarray[Any, Any]
) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """The (key, value) rows of ``query`` (two BIGINT columns, or a BIGINT and a time) whose ``key`` is one of
    ``keys`` — on PostgreSQL as one array parameter, packed by the server into one ``bytea`` as the cold
    extraction reads; elsewhere through a cursor in chunks. Times come back as microseconds since 1970."""
    (_, first), (second_name, second) = query.columns
    is_time = second_name in query.timestamps
    if len(keys) == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            send = f"timestamptz_send({second})" if is_time else f"int8send({second})"
            cursor.execute(
                f"SELECT string_agg(int8send({first}) || {send}, ''::bytea) FROM {extract._q(query.table)}"  # noqa: S608
                f" WHERE {query.where} AND {key} = ANY(%s::bigint[])",
                [*query.params, keys.tolist()],
            )
            data = cursor.fetchone()[0]
            raw = np.frombuffer(bytes(data or b""), dtype=np.dtype([("key", ">i8"), ("value", ">i8")]))
            values = raw["value"].astype(np.int64)
            return raw["key"].astype(np.int64), values + extract.PG_EPOCH_US if is_time else values
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(keys), IN_CHUNK):
            chunk = keys[start : start + IN_CHUNK].tolist()
            cursor.execute(
                f"SELECT {first}, {second} FROM {extract._q(query.table)} WHERE {query.where}"  # noqa: S608
                f" AND {key} IN ({', '.join(['%s'] * len(chunk))})",
                [*query.params, *chunk],
            )
            rows += cursor.fetchall()
    found = np.array([row[0] for row in rows], dtype=np.int64)
    if is_time:
        return found, np.array([extract._micros(row[1]) for row in rows], dtype=np.int64)
    return found, np.array([row[1] for row in rows], dtype=np.int64)
