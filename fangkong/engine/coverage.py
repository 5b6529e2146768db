"""Mass-testing round (全员核酸) coverage: who in the population registry has not been sampled, per community.

``reconcile_round(RoundData(...))`` runs one query, defined once for DuckDB and Spark (:func:`coverage_steps`),
over five inputs — each a Parquet data set or an Arrow table — and returns the round's reconciliation:

``residents``       person_id int64, division int64   the registry's people who live in the round's area; the
                                                      division is the home community's code as an integer
``samples``         person_id int64,                  the round's own samples (not retests, not flagged second
                    sampled_at timestamp[us, UTC]     swabs; a person listed twice counts once, at the first)
``exemptions``      person_id int64, reason string    ``infant`` / ``bedridden`` / ``away`` / ``other``
``positive_pools``  tube_id int64, person_id int64    the people sampled into the round's positive tubes (small:
                                                      the tube is not needed on the 10-million-row input)
``areas``           division int64, county int64      the county of every division in the area (small)

Definitions (docs/engine.md, "Round coverage"):

* A resident is **tested** when a sample of the round names them; everyone else is not tested.
* A not-tested resident with an exemption is **exempt** under its reason. Bedridden people are not excused
  from testing: they make the **door-to-door** list. Infants, people away from the city and other exemptions
  (with a reason written down) are excused.
* Everyone else not tested is **untested**: the anti-join of the residents against the sampled people and the
  exempt — the list a community works through.
* **Hourly progress** per county: residents tested, by the hour of their first sample (UTC hours; the caller
  shows them in local time and accumulates).
* **Recall**: every sampled person in a positive tube (residents or not: a visitor sampled here is recalled
  too), with the tube, and the home division when they are a resident of the area.

Integer codes instead of division paths keep the 10-million-row joins on integers; the platform maps them back.
"""

# ruff: noqa: S608 - the SQL is assembled from constants and integers only, never from input text
from __future__ import annotations

import os
import typing
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.parquet as pq

from fangkong.engine.backends import Backend, Source
from fangkong.engine.companions import default_backend
from fangkong.engine.dialect import Dialect
from fangkong.engine.query import Step

HOUR_US = 3_600 * 1_000_000
TIMESTAMP = pa.timestamp("us", tz="UTC")
EXEMPTION_REASONS = ("infant", "bedridden", "away", "other")

INPUT_SCHEMAS: dict[str, pa.Schema] = {
    "residents": pa.schema([("person_id", pa.int64()), ("division", pa.int64())]),
    "samples": pa.schema([pa.field("person_id", pa.int64()), pa.field("sampled_at", TIMESTAMP)]),
    "exemptions": pa.schema(
        typing.cast("list[pa.Field[typing.Any]]", [("person_id", pa.int64()), ("reason", pa.string())])
    ),
    "positive_pools": pa.schema([("tube_id", pa.int64()), ("person_id", pa.int64())]),
    "areas": pa.schema([("division", pa.int64()), ("county", pa.int64())]),
}

COVERAGE_FIELDS: list[pa.Field[typing.Any]] = [
    pa.field("division", pa.int64()),
    pa.field("residents", pa.int64()),
    pa.field("tested", pa.int64()),
    pa.field("untested", pa.int64()),
    pa.field("door_to_door", pa.int64()),
    pa.field("exempt_infant", pa.int64()),
    pa.field("exempt_away", pa.int64()),
    pa.field("exempt_other", pa.int64()),
]
COVERAGE_SCHEMA = pa.schema(COVERAGE_FIELDS)
PEOPLE_SCHEMA = pa.schema([("person_id", pa.int64()), ("division", pa.int64())])
HOURLY_SCHEMA = pa.schema([("county", pa.int64()), ("hour", TIMESTAMP), ("tested", pa.int64())])
RECALL_SCHEMA = pa.schema([("tube_id", pa.int64()), ("person_id", pa.int64()), ("division", pa.int64())])


@dataclass(frozen=True)
class RoundData:
    """The five inputs of a round's reconciliation (see the module docstring for their columns)."""

    residents: Source
    samples: Source
    exemptions: Source
    positive_pools: Source
    areas: Source

    def sources(self) -> dict[str, Source]:
        return {name: getattr(self, name) for name in INPUT_SCHEMAS}


@dataclass(frozen=True)
class RoundCoverage:
    """The reconciliation: counts per division (``COVERAGE_SCHEMA``), the untested and door-to-door lists
    (``PEOPLE_SCHEMA``, by division then person), hourly progress per county (``HOURLY_SCHEMA``) and the recall
    list (``RECALL_SCHEMA``, by tube then person)."""

    coverage: pa.Table
    untested: pa.Table
    door_to_door: pa.Table
    hourly: pa.Table
    recall: pa.Table


def coverage_steps(dialect: Dialect) -> tuple[list[Step], list[Step]]:
    """The query as (materialised steps, output queries), rendered for ``dialect``."""
    d = dialect
    steps = [
        # One row per sampled person: the first sample's time (a person listed twice counts once).
        Step(
            "tested",
            f"SELECT person_id, MIN({d.epoch_us('sampled_at')}) AS first_us FROM samples GROUP BY person_id",
        ),
        # Every resident once, with when they were first sampled (NULL: not tested) and any exemption.
        Step(
            "resident_status",
            """
            SELECT r.person_id, r.division, t.first_us, e.reason
            FROM residents AS r
            LEFT JOIN tested AS t ON t.person_id = r.person_id
            LEFT JOIN (SELECT person_id, MIN(reason) AS reason FROM exemptions GROUP BY person_id) AS e
              ON e.person_id = r.person_id
            """,
        ),
    ]
    not_tested = "first_us IS NULL"
    outputs = [
        Step(
            "coverage",
            f"""
            SELECT division,
                   COUNT(*) AS residents,
                   COUNT(first_us) AS tested,
                   SUM(CASE WHEN {not_tested} AND reason IS NULL THEN 1 ELSE 0 END) AS untested,
                   SUM(CASE WHEN {not_tested} AND reason = 'bedridden' THEN 1 ELSE 0 END) AS door_to_door,
                   SUM(CASE WHEN {not_tested} AND reason = 'infant' THEN 1 ELSE 0 END) AS exempt_infant,
                   SUM(CASE WHEN {not_tested} AND reason = 'away' THEN 1 ELSE 0 END) AS exempt_away,
                   SUM(CASE WHEN {not_tested} AND reason = 'other' THEN 1 ELSE 0 END) AS exempt_other
            FROM resident_status
            GROUP BY division
            ORDER BY division
            """,
        ),
        Step(
            "untested",
            f"""
            SELECT person_id, division FROM resident_status
            WHERE {not_tested} AND reason IS NULL
            ORDER BY division, person_id
            """,
        ),
        Step(
            "door_to_door",
            f"""
            SELECT person_id, division FROM resident_status
            WHERE {not_tested} AND reason = 'bedridden'
            ORDER BY division, person_id
            """,
        ),
        Step(
            "hourly",
            f"""
            SELECT county, hour_us, COUNT(*) AS tested
            FROM (
                SELECT a.county, {d.int_div("s.first_us", HOUR_US)} * {HOUR_US} AS hour_us
                FROM resident_status AS s JOIN areas AS a ON a.division = s.division
                WHERE s.first_us IS NOT NULL
            ) AS firsts
            GROUP BY county, hour_us
            ORDER BY county, hour_us
            """,
        ),
        Step(
            "recall",
            """
            SELECT tube_id, person_id, division
            FROM (
                SELECT DISTINCT p.tube_id, p.person_id, r.division
                FROM positive_pools AS p
                LEFT JOIN residents AS r ON r.person_id = p.person_id
            ) AS pooled
            ORDER BY tube_id, person_id
            """,
        ),
    ]
    return steps, outputs


def reconcile_round(data: RoundData, *, backend: Literal["duckdb", "spark"] | Backend = "duckdb") -> RoundCoverage:
    """Run the coverage query over ``data``; see the module docstring for the definitions."""
    runner = default_backend(backend) if isinstance(backend, str) else backend
    sources = {name: _checked(name, source) for name, source in data.sources().items()}
    steps, outputs = coverage_steps(runner.dialect)
    tables = runner.run_steps(sources, steps, outputs)
    hourly = tables["hourly"]
    return RoundCoverage(
        coverage=tables["coverage"].cast(COVERAGE_SCHEMA),
        untested=tables["untested"].cast(PEOPLE_SCHEMA),
        door_to_door=tables["door_to_door"].cast(PEOPLE_SCHEMA),
        hourly=pa.table(
            {
                "county": hourly["county"].cast(pa.int64()),
                "hour": hourly["hour_us"].cast(pa.int64()).cast(TIMESTAMP),
                "tested": hourly["tested"].cast(pa.int64()),
            },
            schema=HOURLY_SCHEMA,
        ),
        recall=tables["recall"].cast(RECALL_SCHEMA),
    )


def _checked(name: str, source: Source) -> Source:
    """Arrow inputs are cast to their schema (and must have its columns); Parquet paths are read as they are."""
    if isinstance(source, pa.Table):
        schema = INPUT_SCHEMAS[name]
        missing = [field.name for field in schema if field.name not in source.column_names]
        if missing:
            raise ValueError(f"{name}: missing column(s) {', '.join(missing)}")
        return source.select(schema.names).cast(schema)
    return source


def write_round_data(data: RoundData, directory: str | os.PathLike[str]) -> RoundData:
    """Write the Arrow inputs of ``data`` as one Parquet file each under ``directory``; return the paths."""
    os.makedirs(directory, exist_ok=True)
    paths: dict[str, Source] = {}
    for name, source in data.sources().items():
        if isinstance(source, pa.Table):
            path = os.path.join(directory, f"{name}.parquet")
            table = _checked(name, source)
            assert isinstance(table, pa.Table)
            pq.write_table(table, path, compression="zstd")
            paths[name] = path
        else:
            paths[name] = source
    return RoundData(**paths)
