"""The few places where DuckDB's and Spark's SQL differ, and nothing else.

The engine's queries are written once, in the subset of SQL that both engines read the same way (verified in
TECH-NOTES: window functions, ``GREATEST``/``LEAST``, ``CASE``, joins, ``GROUP BY``). Everything that is not
in that subset goes through a method here, so the list of differences is this file, short and tested.

Why not sqlglot: it is not a dependency, and TECH-NOTES measured it translating ``epoch_ms(ts)`` and
``list(x ORDER BY y)`` *wrongly and silently*. Two small methods are easier to trust than a transpiler.

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

    def int_div(self, left: str, right: str) -> str:
        """Integer division, truncating: DuckDB writes ``//``, Spark ``DIV``."""
        if self.name == "duckdb":
            return f"({left}) // ({right})"
        return f"({left}) DIV ({right})"


DUCKDB = Dialect("duckdb")
SPARK = Dialect("spark")
