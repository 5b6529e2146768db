"""The few places where DuckDB's and Spark's SQL differ, and nothing else.

The engine's queries are written once, in the subset of SQL that both engines read the same way (verified in
TECH-NOTES: window functions, ``GREATEST``/``LEAST``, ``CASE``, joins, ``GROUP BY``). Everything that is not
in that subset goes through a method here, so the list of differences is this file, short and tested.

Sessionising pings into stays is the expensive part. Written with window functions (``LAG`` then a running
``SUM`` over ``PARTITION BY phone, cell ORDER BY t``) it sorts every candidate ping globally: 30 s for 60 M
pings in DuckDB 2.0.1 on 2 cores. Grouping by (phone, cell) into a sorted list and cutting the list where a
gap exceeds the limit gives the same stays in about a quarter of the time (a hash aggregate and many small
sorts), and Spark has the same higher-order functions under other names: that is what :meth:`Dialect.breaks`
and :meth:`Dialect.runs` render.

Why not sqlglot: it is not a dependency, and TECH-NOTES measured it translating ``epoch_ms(ts)`` and
``list(x ORDER BY y)`` *wrongly and silently*. A handful of small, tested methods are easier to trust than a transpiler.

Times inside the queries are integers (microseconds since the epoch, UTC): comparisons and sums of integers
give identical results on both engines, where floating-point minutes or engine-specific interval types would
not. Only the boundary filters on the raw ``ts`` column are written as timestamp literals, so that each
engine can push them into its Parquet reader and skip row groups by their statistics.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

DialectName = Literal["duckdb", "spark"]

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def micros_to_datetime(us: int) -> dt.datetime:
    """Aware UTC datetime of an integer count of microseconds since the epoch (exact, no float)."""
    return _EPOCH + dt.timedelta(microseconds=us)


def datetime_to_micros(moment: dt.datetime) -> int:
    """Microseconds since the epoch of an aware datetime (exact, no float)."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime (UTC or Asia/Shanghai)")
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass(frozen=True)
class Dialect:
    """Render the non-portable pieces of a query for one engine."""

    name: DialectName

    def epoch_us(self, column: str) -> str:
        """Microseconds since the epoch (BIGINT) of a timestamp-with-time-zone column."""
        if self.name == "duckdb":
            return f"epoch_us({column})"
        return f"unix_micros({column})"

    def timestamp(self, us: int) -> str:
        """A UTC timestamp literal comparable with the pings' ``ts`` column without a cast on the column."""
        text = micros_to_datetime(us).strftime("%Y-%m-%d %H:%M:%S.%f")
        if self.name == "duckdb":
            return f"TIMESTAMPTZ '{text}+00'"
        # Spark parses the offset in the literal; the session time zone is UTC as well (SparkBackend sets it).
        return f"TIMESTAMP '{text}+00:00'"

    def int_div(self, left: str, right: int) -> str:
        """Integer division of non-negative integers: DuckDB writes ``//``, Spark ``DIV``."""
        if self.name == "duckdb":
            return f"(({left}) // {right})"
        return f"(({left}) DIV {right})"

    def int_range(self, low: str, high: str) -> str:
        """Select-list item: one row per integer in ``[low, high]``."""
        if self.name == "duckdb":
            return f"UNNEST(range({low}, ({high}) + 1))"
        return f"explode(sequence({low}, {high}))"

    def sorted_list(self, column: str) -> str:
        """Aggregate: the group's values as a list in ascending order."""
        if self.name == "duckdb":
            return f"list_sort(list({column}))"
        return f"array_sort(collect_list({column}))"

    def breaks(self, values: str, max_step: int) -> str:
        """The 1-based positions ``i`` of a sorted list where ``values[i+1] - values[i] > max_step``.

        Computed once per list and short (a stay's worth of pings each), so that :meth:`runs` picks the
        starts and ends by position instead of comparing every element with both neighbours (half the CPU
        of two filters over the whole list, measured in DuckDB 2.0.1). Spark indexes from 0 and builds
        ``sequence(0, -1)`` as ``[0, -1]``, hence the ``CASE``.
        """
        if self.name == "duckdb":
            return f"list_filter(range(1, len({values})), lambda i: {values}[i + 1] - {values}[i] > {max_step})"
        return (
            f"CASE WHEN size({values}) < 2 THEN array() ELSE transform(filter(sequence(0, size({values}) - 2), "
            f"i -> {values}[i + 1] - {values}[i] > {max_step}), i -> i + 1) END"
        )

    def runs(self, values: str, breaks: str) -> str:
        """Select-list items ``s, e``: one row per run of a sorted list cut at ``breaks`` (:meth:`breaks`).

        Runs start at the first element and after each break, and end at each break and at the last
        element; the i-th start and the i-th end bound the same run.
        """
        if self.name == "duckdb":
            starts = f"list_select({values}, list_concat([1], list_transform({breaks}, lambda j: j + 1)))"
            ends = f"list_select({values}, list_concat({breaks}, [len({values})]))"
            return f"UNNEST({starts}) AS s, UNNEST({ends}) AS e"
        starts = f"concat(array({values}[0]), transform({breaks}, j -> {values}[j]))"
        ends = f"concat(transform({breaks}, j -> {values}[j - 1]), array({values}[size({values}) - 1]))"
        return f"inline(arrays_zip({starts}, {ends})) AS (s, e)"


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")
