"""Venue co-visitors at city scale: who checked in at the same venue as a case, for overlapping stays, within
the case's window — over a Parquet data set of check-ins (venue codes, 场所码), never loaded into the ORM.

``find_venue_overlaps(checkins, cases)`` answers it for many cases at once. ``checkins`` is a Parquet data set
(file, directory or glob) or an Arrow table with the simulator's schema (docs/data-schemas.md, "checkins"):
``person_id`` int64, ``venue_id`` int64, ``checkin_time`` timestamp (UTC), ``minutes`` int (the stay: the
recorded check-out, or the venue's assumed stay). ``cases`` is a list of :class:`CaseVisitWindow`.

The definition is the platform's (``venues.selectors.venue_overlaps`` / ``co_visitors``, which answer it for
one case from the database): a stay is ``[checkin, checkin + minutes)``; the case's stays are clipped to its
window and merged per venue (a case that scanned twice is one stay); a co-visitor's overlap is the
intersection with another person's stay at the same venue; their minutes together are the measure of the union
of those intersections, and they count from ``min_overlap_minutes``. One scan of the check-ins finds the
case's stays, a second joins only the venues they visited. All arithmetic is on integer microseconds, so the
steps render for DuckDB and Spark alike (``engine.dialect``); only DuckDB is exercised by the tests here.
"""

# ruff: noqa: S608 - the SQL is assembled from constants, column names and numbers only, never from input text
from __future__ import annotations

import datetime as dt
import typing
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from fangkong.engine.backends import Backend, Source
from fangkong.engine.companions import default_backend
from fangkong.engine.dialect import Dialect, datetime_to_micros
from fangkong.engine.query import Step

MICROS_PER_MINUTE = 60_000_000
TIMESTAMP = pa.timestamp("us", tz="UTC")

CHECKINS_SCHEMA = pa.schema(
    [("person_id", pa.int64()), ("venue_id", pa.int64()), ("checkin_time", TIMESTAMP), ("minutes", pa.int64())]
)
CASES_SCHEMA = pa.schema([("case_person_id", pa.int64()), ("start_us", pa.int64()), ("end_us", pa.int64())])

OVERLAP_FIELDS: list[pa.Field[typing.Any]] = [
    pa.field("case_person_id", pa.int64()),
    pa.field("person_id", pa.int64()),
    pa.field("venue_id", pa.int64()),
    pa.field("case_stay_start", TIMESTAMP),
    pa.field("case_stay_end", TIMESTAMP),
    pa.field("stay_start", TIMESTAMP),
    pa.field("stay_end", TIMESTAMP),
    pa.field("overlap_start", TIMESTAMP),
    pa.field("overlap_end", TIMESTAMP),
]
OVERLAPS_SCHEMA = pa.schema(OVERLAP_FIELDS)
CO_VISITOR_FIELDS: list[pa.Field[typing.Any]] = [
    pa.field("case_person_id", pa.int64()),
    pa.field("person_id", pa.int64()),
    pa.field("overlap_minutes", pa.float64()),
    pa.field("venues", pa.int64()),
    pa.field("first_overlap_start", TIMESTAMP),
    pa.field("last_overlap_end", TIMESTAMP),
]
CO_VISITORS_SCHEMA = pa.schema(CO_VISITOR_FIELDS)


@dataclass(frozen=True)
class CaseVisitWindow:
    """A case (by the data set's person id) and the period in which its stays count: [start, end)."""

    person_id: int
    start: dt.datetime
    end: dt.datetime


@dataclass(frozen=True)
class VenueOverlaps:
    co_visitors: pa.Table  # one row per (case, co-visitor) with at least the minimum minutes, most minutes first
    overlaps: pa.Table  # the evidence: one row per (case stay, other stay) that overlap, for those co-visitors


def _islands(source: str, keys: str, start: str, end: str) -> str:
    """Merge overlapping or touching intervals per ``keys`` (gaps and islands; portable window functions)."""
    return f"""
        SELECT {keys}, MIN({start}) AS {start}, MAX({end}) AS {end}
        FROM (
            SELECT *, SUM(opens) OVER (PARTITION BY {keys} ORDER BY {start}, {end}
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS island
            FROM (
                SELECT {keys}, {start}, {end},
                       CASE WHEN {start} <= MAX({end}) OVER (PARTITION BY {keys} ORDER BY {start}, {end}
                                                            ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                            THEN 0 ELSE 1 END AS opens
                FROM {source}
            ) AS flagged
        ) AS numbered
        GROUP BY {keys}, island
    """


def venue_overlap_steps(dialect: Dialect, *, min_overlap_minutes: float) -> tuple[list[Step], list[Step]]:
    """The query as (materialised steps, output queries), rendered for ``dialect``."""
    at = dialect.epoch_us("checkin_time")
    stays = f"""
        SELECT person_id, venue_id, {at} AS s, {at} + CAST(minutes AS BIGINT) * {MICROS_PER_MINUTE} AS e
        FROM checkins
    """
    minimum_us = int(min_overlap_minutes * MICROS_PER_MINUTE)
    steps = [
        # The cases' own stays, clipped to their windows.
        Step(
            "case_stays",
            f"""
            SELECT c.case_person_id, k.venue_id,
                   GREATEST(k.s, c.start_us) AS s, LEAST(k.e, c.end_us) AS e
            FROM ({stays}) AS k JOIN cases AS c ON k.person_id = c.case_person_id
            WHERE k.s < c.end_us AND k.e > c.start_us
            """,
        ),
        # Merged per venue: two scans of one visit are one stay.
        Step("case_visits", _islands("case_stays", "case_person_id, venue_id", "s", "e")),
        # Everyone else at those venues at the same time: only the visited venues are joined.
        Step(
            "pairs",
            f"""
            SELECT v.case_person_id, k.person_id, k.venue_id,
                   v.s AS case_s, v.e AS case_e, k.s AS stay_s, k.e AS stay_e,
                   GREATEST(v.s, k.s) AS s, LEAST(v.e, k.e) AS e
            FROM ({stays}) AS k
            JOIN case_visits AS v ON k.venue_id = v.venue_id AND k.s < v.e AND k.e > v.s
            WHERE k.person_id <> v.case_person_id
            """,
        ),
        Step("together", _islands("pairs", "case_person_id, person_id", "s", "e")),
        Step(
            "co_visitors",
            f"""
            SELECT t.case_person_id, t.person_id, SUM(t.e - t.s) AS together_us,
                   MIN(t.s) AS first_us, MAX(t.e) AS last_us
            FROM together AS t
            GROUP BY t.case_person_id, t.person_id
            HAVING SUM(t.e - t.s) >= {minimum_us}
            """,
        ),
    ]
    outputs = [
        Step(
            "co_visitor_rows",
            """
            SELECT c.case_person_id, c.person_id, c.together_us, c.first_us, c.last_us,
                   (SELECT COUNT(DISTINCT p.venue_id) FROM pairs AS p
                    WHERE p.case_person_id = c.case_person_id AND p.person_id = c.person_id) AS venues
            FROM co_visitors AS c
            ORDER BY c.case_person_id, c.together_us DESC, c.person_id
            """,
        ),
        Step(
            "overlap_rows",
            """
            SELECT p.case_person_id, p.person_id, p.venue_id, p.case_s, p.case_e, p.stay_s, p.stay_e, p.s, p.e
            FROM pairs AS p
            JOIN co_visitors AS c ON c.case_person_id = p.case_person_id AND c.person_id = p.person_id
            ORDER BY p.case_person_id, p.person_id, p.s, p.venue_id, p.stay_s
            """,
        ),
    ]
    return steps, outputs


def _checked_checkins(checkins: Source) -> Source:
    if isinstance(checkins, pa.Table):
        missing = [name for name in CHECKINS_SCHEMA.names if name not in checkins.column_names]
        if missing:
            raise ValueError(f"checkins: missing column(s) {', '.join(missing)}")
        return checkins.select(CHECKINS_SCHEMA.names).cast(CHECKINS_SCHEMA)
    return checkins


def _timestamps(column: pa.ChunkedArray | pa.Array) -> pa.Array | pa.ChunkedArray:
    return pc.cast(pc.cast(column, pa.int64()), TIMESTAMP)


def find_venue_overlaps(
    checkins: Source,
    cases: Sequence[CaseVisitWindow],
    *,
    min_overlap_minutes: float = 1.0,
    backend: Literal["duckdb", "spark"] | Backend = "duckdb",
) -> VenueOverlaps:
    """Co-visitors of each case (see the module docstring for the definition) with their evidence."""
    runner = default_backend(backend) if isinstance(backend, str) else backend
    case_table = pa.table(
        {
            "case_person_id": [case.person_id for case in cases],
            "start_us": [datetime_to_micros(case.start) for case in cases],
            "end_us": [datetime_to_micros(case.end) for case in cases],
        },
        schema=CASES_SCHEMA,
    )
    steps, outputs = venue_overlap_steps(runner.dialect, min_overlap_minutes=min_overlap_minutes)
    tables = runner.run_steps({"checkins": _checked_checkins(checkins), "cases": case_table}, steps, outputs)
    rows, pairs = tables["co_visitor_rows"], tables["overlap_rows"]
    co_visitors = pa.table(
        {
            "case_person_id": pc.cast(rows["case_person_id"], pa.int64()),
            "person_id": pc.cast(rows["person_id"], pa.int64()),
            "overlap_minutes": pc.divide(pc.cast(rows["together_us"], pa.float64()), float(MICROS_PER_MINUTE)),
            "venues": pc.cast(rows["venues"], pa.int64()),
            "first_overlap_start": _timestamps(rows["first_us"]),
            "last_overlap_end": _timestamps(rows["last_us"]),
        },
        schema=CO_VISITORS_SCHEMA,
    )
    overlaps = pa.table(
        {
            "case_person_id": pc.cast(pairs["case_person_id"], pa.int64()),
            "person_id": pc.cast(pairs["person_id"], pa.int64()),
            "venue_id": pc.cast(pairs["venue_id"], pa.int64()),
            "case_stay_start": _timestamps(pairs["case_s"]),
            "case_stay_end": _timestamps(pairs["case_e"]),
            "stay_start": _timestamps(pairs["stay_s"]),
            "stay_end": _timestamps(pairs["stay_e"]),
            "overlap_start": _timestamps(pairs["s"]),
            "overlap_end": _timestamps(pairs["e"]),
        },
        schema=OVERLAPS_SCHEMA,
    )
    return VenueOverlaps(co_visitors=co_visitors, overlaps=overlaps)
