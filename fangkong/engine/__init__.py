"""Analytic queries over Parquet: DuckDB by default, Spark for scale. No Django here.

from fangkong.engine import CaseWindow, find_companions
table = find_companions("/data/pings", [CaseWindow(phone, start, end)], as_of=now)
coverage = reconcile_round(RoundData(residents=..., samples=..., exemptions=..., positive_pools=..., areas=...))

The query is defined once (:mod:`fangkong.engine.query`) and rendered for each backend by a small dialect
layer (:mod:`fangkong.engine.dialect`); docs/engine.md explains the definitions and the evidence schema.
"""

from fangkong.engine.backends import Backend, DuckDBBackend, SparkBackend
from fangkong.engine.companions import (
    EVIDENCE_SCHEMA,
    RESULT_SCHEMA,
    CaseWindow,
    companion_evidence,
    find_companions,
)
from fangkong.engine.coverage import RoundCoverage, RoundData, reconcile_round

__all__ = [
    "EVIDENCE_SCHEMA",
    "RESULT_SCHEMA",
    "Backend",
    "CaseWindow",
    "DuckDBBackend",
    "RoundCoverage",
    "RoundData",
    "SparkBackend",
    "companion_evidence",
    "find_companions",
    "reconcile_round",
]
