"""Spatio-temporal companion (时空伴随) screening: who shared a grid cell with a case, for how long, and where.

``find_companions(pings, cases, as_of=...)`` returns the screening list as an Arrow table, one row per
(case phone, companion phone), with the evidence nested in each row; ``companion_evidence(result)`` flattens
the evidence to one row per overlap for storage. The query itself lives in :mod:`fangkong.engine.query`,
written once for DuckDB (default) and Spark.

Parameters default to the issue's definition (10 minutes, 14 days, no dwell rule). The policy edition
(``core.editions``: ``[companion]``) holds the values in force; the Django job passes them in, so this module
never decides policy. The grid cell size is a property of the data (``write_pings(cell_metres=...)``), not a
parameter here: cells are compared as integers.
"""

from __future__ import annotations

import datetime as dt
import threading
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from fangkong.engine.backends import Backend, DuckDBBackend, PingsPath, SparkBackend
from fangkong.engine.dialect import datetime_to_micros
from fangkong.engine.query import CompanionBounds, companion_steps

MICROS_PER_MINUTE = 60_000_000
TIMESTAMP = pa.timestamp("us", tz="UTC")

EVIDENCE_FIELDS: list[pa.Field[typing.Any]] = [
    pa.field("cell", pa.int64()),
    pa.field("overlap_start", TIMESTAMP),
    pa.field("overlap_end", TIMESTAMP),
    pa.field("overlap_minutes", pa.float64()),
    pa.field("case_stay_start", TIMESTAMP),
    pa.field("case_stay_end", TIMESTAMP),
]
EVIDENCE_TYPE = pa.struct(EVIDENCE_FIELDS)

RESULT_FIELDS: list[pa.Field[typing.Any]] = [
    pa.field("case_phone", pa.int64()),
    pa.field("companion_phone", pa.int64()),
    pa.field("overlap_minutes", pa.float64()),
    pa.field("cells", pa.list_(pa.int64())),
    pa.field("first_overlap_start", TIMESTAMP),
    pa.field("last_overlap_end", TIMESTAMP),
    pa.field("evidence", pa.list_(EVIDENCE_TYPE)),
]
RESULT_SCHEMA = pa.schema(RESULT_FIELDS)

EVIDENCE_SCHEMA = pa.schema(
    [pa.field("case_phone", pa.int64()), pa.field("companion_phone", pa.int64()), *EVIDENCE_FIELDS]
)

CASES_SCHEMA = pa.schema([("phone", pa.int64()), ("start", TIMESTAMP), ("end", TIMESTAMP)])


@dataclass(frozen=True)
class CaseWindow:
    """A case's phone and the period in which its co-presence counts (e.g. infectious period until isolation).

    Both ends are aware datetimes and included. The look-back window clips it further.
    """

    phone: int
    start: dt.datetime
    end: dt.datetime


_default_backends: dict[str, Backend] = {}
_default_lock = threading.Lock()


def default_backend(name: Literal["duckdb", "spark"]) -> Backend:
    """The process-wide backend of that name, created on first use (a DuckDB connection, a Spark session)."""
    with _default_lock:
        if name not in _default_backends:
            _default_backends[name] = DuckDBBackend() if name == "duckdb" else SparkBackend()
        return _default_backends[name]


def find_companions(
    pings: PingsPath,
    cases: Sequence[CaseWindow] | pa.Table,
    *,
    as_of: dt.datetime,
    min_overlap_minutes: float = 10,
    lookback_days: float = 14,
    max_gap_minutes: float = 30,
    min_dwell_hours: float | None = None,
    backend: Literal["duckdb", "spark"] | Backend = "duckdb",
) -> pa.Table:
    """Screen the pings for companions of ``cases``; one row per (case, companion), schema ``RESULT_SCHEMA``.

    ``pings``: a directory of Parquet files (the simulator's ``date=…/part-….parquet`` layout) or a glob, with
    columns ``phone`` int64, ``cell`` int64, ``ts`` timestamp with time zone. ``cases``: ``CaseWindow`` values
    or an Arrow table ``phone``/``start``/``end`` (``CASES_SCHEMA``); one entry per phone.

    A companion shared a cell with the case in overlapping stays totalling at least ``min_overlap_minutes``
    within ``[as_of - lookback_days, as_of]`` and inside the case's window. A stay ends at a gap longer than
    ``max_gap_minutes`` between the phone's pings in that cell. ``min_dwell_hours`` (off by default) adds the
    Chengdu protocol's rule: a cell counts only if the case or the companion stayed there more than that many
    hours in total within the look-back window. Rows are sorted by case phone, total overlap (longest first)
    and companion phone; ``evidence`` lists each overlap (cell, interval, minutes, the case's stay) in time
    order. Case phones never appear as companions.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be an aware datetime")
    if lookback_days <= 0 or max_gap_minutes < 0 or min_overlap_minutes < 0:
        raise ValueError("lookback_days must be positive, max_gap_minutes and min_overlap_minutes not negative")
    if min_dwell_hours is not None and min_dwell_hours < 0:
        raise ValueError("min_dwell_hours must not be negative")
    case_table = _case_table(cases)
    runner = default_backend(backend) if isinstance(backend, str) else backend
    window_end = datetime_to_micros(as_of)
    bounds = CompanionBounds(
        window_start_us=window_end - round(lookback_days * 86_400 * 1_000_000),
        window_end_us=window_end,
        max_gap_us=round(max_gap_minutes * MICROS_PER_MINUTE),
        min_overlap_us=round(min_overlap_minutes * MICROS_PER_MINUTE),
        min_dwell_us=None if min_dwell_hours is None else round(min_dwell_hours * 60 * MICROS_PER_MINUTE),
    )
    if case_table.num_rows == 0:
        return RESULT_SCHEMA.empty_table()
    rows = runner.run(pings, case_table, companion_steps(runner.dialect, bounds))
    return screening_list(rows)


def _case_table(cases: Sequence[CaseWindow] | pa.Table) -> pa.Table:
    """The cases as (phone, start_us, end_us) int64 columns, checked: unique phones, start ≤ end."""
    if isinstance(cases, pa.Table):
        table = cases.select(["phone", "start", "end"]).cast(CASES_SCHEMA)
    else:
        for case in cases:
            if case.start.tzinfo is None or case.end.tzinfo is None:
                raise ValueError(f"case {case.phone}: start and end must be aware datetimes")
        table = pa.table(
            {
                "phone": pa.array([case.phone for case in cases], pa.int64()),
                "start": pa.array([case.start for case in cases], TIMESTAMP),
                "end": pa.array([case.end for case in cases], TIMESTAMP),
            },
            schema=CASES_SCHEMA,
        )
    if table.num_rows and (table["phone"].null_count or table["start"].null_count or table["end"].null_count):
        raise ValueError("cases must not contain nulls")
    if len(pc.unique(table["phone"])) != table.num_rows:
        raise ValueError("one window per case phone: merge the windows of a phone before screening")
    start_us = table["start"].cast(pa.int64())
    end_us = table["end"].cast(pa.int64())
    if table.num_rows and pc.any(pc.greater(start_us, end_us)).as_py():
        raise ValueError("a case window ends before it starts")
    return pa.table({"phone": table["phone"], "start_us": start_us, "end_us": end_us})


def screening_list(rows: pa.Table) -> pa.Table:
    """Shape the query's flat overlap rows (integer microseconds) into ``RESULT_SCHEMA``.

    The rows arrive in the final order (the query's ``ORDER BY``: case, total overlap descending, companion,
    overlap start), so a (case, companion) pair's overlaps are consecutive and already in time order.

    Done in Arrow, not SQL, so both backends share it: ordered lists and nested types are where engines
    differ most (TECH-NOTES: ``list(x ORDER BY y)`` does not translate).
    """
    if rows.num_rows == 0:
        return RESULT_SCHEMA.empty_table()
    names = ["case_phone", "companion_phone", "cell", "overlap_start", "overlap_end", "case_start", "case_end"]
    flat = rows.select(names).cast(pa.schema([(name, pa.int64()) for name in names]))
    case_phone = flat["case_phone"].to_numpy()
    companion = flat["companion_phone"].to_numpy()
    n = flat.num_rows
    first = np.ones(n, dtype=bool)
    first[1:] = (case_phone[1:] != case_phone[:-1]) | (companion[1:] != companion[:-1])
    starts = np.flatnonzero(first)
    offsets = pa.array(np.append(starts, n), pa.int32())
    overlap_us = pc.subtract(flat["overlap_end"], flat["overlap_start"]).to_numpy()
    totals = np.add.reduceat(overlap_us, starts)
    evidence = pa.StructArray.from_arrays(
        [
            flat["cell"].combine_chunks(),
            flat["overlap_start"].combine_chunks().cast(TIMESTAMP),
            flat["overlap_end"].combine_chunks().cast(TIMESTAMP),
            pa.array(overlap_us / MICROS_PER_MINUTE, pa.float64()),
            flat["case_start"].combine_chunks().cast(TIMESTAMP),
            flat["case_end"].combine_chunks().cast(TIMESTAMP),
        ],
        fields=EVIDENCE_FIELDS,
    )
    cells = _distinct_cells(np.cumsum(first) - 1, flat["cell"].to_numpy(), starts.shape[0])
    overlap_start = flat["overlap_start"].to_numpy()
    overlap_end = flat["overlap_end"].to_numpy()
    return pa.table(
        {
            "case_phone": pa.array(case_phone[starts], pa.int64()),
            "companion_phone": pa.array(companion[starts], pa.int64()),
            "overlap_minutes": pa.array(totals / MICROS_PER_MINUTE, pa.float64()),
            "cells": cells,
            "first_overlap_start": pa.array(np.minimum.reduceat(overlap_start, starts), pa.int64()).cast(TIMESTAMP),
            "last_overlap_end": pa.array(np.maximum.reduceat(overlap_end, starts), pa.int64()).cast(TIMESTAMP),
            "evidence": pa.ListArray.from_arrays(offsets, evidence),
        },
        schema=RESULT_SCHEMA,
    )


def _distinct_cells(group: np.ndarray[Any, Any], cell: np.ndarray[Any, Any], groups: int) -> pa.ListArray:
    """Per group, its distinct cells in ascending order, as a list column (vectorised: 10^5-10^6 groups)."""
    order = np.lexsort((cell, group))
    group, cell = group[order], cell[order]
    new = np.ones(group.shape[0], dtype=bool)
    new[1:] = (group[1:] != group[:-1]) | (cell[1:] != cell[:-1])
    offsets = np.zeros(groups + 1, dtype=np.int32)
    np.cumsum(np.bincount(group[new], minlength=groups), out=offsets[1:])
    return pa.ListArray.from_arrays(pa.array(offsets, pa.int32()), pa.array(cell[new], pa.int64()))


def companion_evidence(result: pa.Table) -> pa.Table:
    """One row per overlap (``EVIDENCE_SCHEMA``): the nested ``evidence`` column of a result, flattened."""
    evidence = result["evidence"].combine_chunks()
    parent = pc.list_parent_indices(evidence)
    items = typing.cast(pa.StructArray, pc.list_flatten(evidence))
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "case_phone": result["case_phone"].take(parent),
        "companion_phone": result["companion_phone"].take(parent),
    }
    for index, field in enumerate(EVIDENCE_FIELDS):
        columns[field.name] = items.field(index)
    return pa.table(columns, schema=EVIDENCE_SCHEMA)
