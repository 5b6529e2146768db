"""Companion screening on DuckDB against the brute-force reference: generated ping sets and named edge cases."""

from __future__ import annotations

import datetime as dt
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fangkong.engine import RESULT_SCHEMA, CaseWindow, DuckDBBackend, companion_evidence, find_companions
from fangkong.engine.tests.helpers import MINUTE_US, T0_US, as_evidence, at, write_pings
from fangkong.engine.tests.reference import reference_companions

AS_OF = at(24 * 60)


@pytest.fixture(scope="module")
def duckdb_backend() -> Iterator[DuckDBBackend]:
    backend = DuckDBBackend(threads=2, memory_limit="1GiB")
    yield backend
    backend.close()


def m(minutes: float) -> int:
    """A time ``minutes`` after T0, in microseconds."""
    return T0_US + round(minutes * MINUTE_US)


def every(minutes: int, start: float, end: float) -> list[float]:
    out = []
    t = start
    while t <= end:
        out.append(t)
        t += minutes
    return out


# --- generated ping sets -------------------------------------------------------------------------------------

GRID = 5  # minutes: a coarse grid makes equal times, gaps exactly at the limit and touching stays common

ping_strategy = st.tuples(st.integers(1, 6), st.integers(1, 3), st.integers(0, 48))
case_strategy = st.dictionaries(
    st.integers(1, 3), st.tuples(st.integers(0, 48), st.integers(0, 48)).map(sorted), min_size=1, max_size=3
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pings=st.lists(ping_strategy, max_size=60),
    cases=case_strategy,
    gap=st.sampled_from([0, 5, 10, 15, 30]),
    min_overlap=st.sampled_from([0, 5, 10, 15, 30]),
    lookback=st.integers(1, 50),
    as_of=st.integers(0, 50),
    dwell_hours=st.one_of(st.none(), st.sampled_from([0.0, 1 / 6, 1 / 3, 1.0])),
)
def test_generated_pings_match_the_reference(
    duckdb_backend: DuckDBBackend,
    pings: list[tuple[int, int, int]],
    cases: dict[int, list[int]],
    gap: int,
    min_overlap: int,
    lookback: int,
    as_of: int,
    dwell_hours: float | None,
) -> None:
    ping_us = [(phone, cell, m(step * GRID)) for phone, cell, step in pings]
    windows = {phone: (m(lo * GRID), m(hi * GRID)) for phone, (lo, hi) in cases.items()}
    expected = reference_companions(
        ping_us,
        windows,
        as_of_us=m(as_of * GRID),
        lookback_us=lookback * GRID * MINUTE_US,
        max_gap_us=gap * MINUTE_US,
        min_overlap_us=min_overlap * MINUTE_US,
        min_dwell_us=None if dwell_hours is None else round(dwell_hours * 60 * MINUTE_US),
    )
    with tempfile.TemporaryDirectory() as directory:
        path = write_pings(Path(directory), ping_us or [(99, 9, m(-10_000))])
        result = find_companions(
            path,
            [CaseWindow(phone, at(lo * GRID), at(hi * GRID)) for phone, (lo, hi) in cases.items()],
            as_of=at(as_of * GRID),
            lookback_days=lookback * GRID / 1440,
            max_gap_minutes=gap,
            min_overlap_minutes=min_overlap,
            min_dwell_hours=dwell_hours,
            backend=duckdb_backend,
        )
    assert result.schema == RESULT_SCHEMA
    assert as_evidence(result) == expected


# --- named edge cases ----------------------------------------------------------------------------------------


def screen(
    backend: DuckDBBackend, tmp_path: Path, pings: list[tuple[int, int, int]], cases: list[CaseWindow], **kwargs: object
) -> pa.Table:
    path = write_pings(tmp_path / "pings", pings)
    return find_companions(path, cases, as_of=kwargs.pop("as_of", AS_OF), backend=backend, **kwargs)  # type: ignore[arg-type]


def whole_day(phone: int) -> CaseWindow:
    return CaseWindow(phone, at(0), at(24 * 60))


def test_a_gap_exactly_at_the_limit_continues_the_stay(duckdb_backend: DuckDBBackend, tmp_path: Path) -> None:
    # The case pings at 0, 30, 60 (gaps of exactly 30); the companion at 0..60 every 15 minutes.
    pings = [(1, 7, m(t)) for t in (0, 30, 60)] + [(2, 7, m(t)) for t in every(15, 0, 60)]
    result = screen(duckdb_backend, tmp_path, pings, [whole_day(1)], max_gap_minutes=30)
    assert result.to_pylist()[0]["overlap_minutes"] == 60.0
    # One minute less of allowed gap splits the case's presence into three single pings: no overlap at all.
    assert screen(duckdb_backend, tmp_path, pings, [whole_day(1)], max_gap_minutes=29).num_rows == 0


def test_an_overlap_of_exactly_the_minimum_counts(duckdb_backend: DuckDBBackend, tmp_path: Path) -> None:
    pings = [(1, 7, m(t)) for t in (100, 110)] + [(2, 7, m(t)) for t in (100, 110)]
    result = screen(duckdb_backend, tmp_path, pings, [whole_day(1)], min_overlap_minutes=10)
    assert result.column("companion_phone").to_pylist() == [2]
    assert screen(duckdb_backend, tmp_path, pings, [whole_day(1)], min_overlap_minutes=10.01).num_rows == 0


def test_stays_are_cut_at_the_look_back_boundary(duckdb_backend: DuckDBBackend, tmp_path: Path) -> None:
    # Look-back of 1 day before AS_OF starts at minute 0: pings before it are ignored, the one at 0 counts.
    pings = [(1, 7, m(t)) for t in every(10, -60, 30)] + [(2, 7, m(t)) for t in every(10, -60, 30)]
    result = screen(duckdb_backend, tmp_path, pings, [CaseWindow(1, at(-600), at(600))], lookback_days=1)
    evidence = companion_evidence(result).to_pylist()
    assert [(row["overlap_start"], row["overlap_end"]) for row in evidence] == [(at(0), at(30))]
    # A ping exactly at as_of counts too (the window includes both ends).
    result = screen(duckdb_backend, tmp_path, pings, [CaseWindow(1, at(-600), at(600))], as_of=at(30), lookback_days=1)
    assert result.column("overlap_minutes").to_pylist() == [90.0]


def test_the_same_cell_at_different_times_is_not_a_companion(duckdb_backend: DuckDBBackend, tmp_path: Path) -> None:
    pings = [(1, 7, m(t)) for t in every(15, 0, 60)] + [(2, 7, m(t)) for t in every(15, 120, 180)]
    assert screen(duckdb_backend, tmp_path, pings, [whole_day(1)]).num_rows == 0


def test_a_companion_of_two_cases_is_listed_for_each(duckdb_backend: DuckDBBackend, tmp_path: Path) -> None:
    pings = (
        [(1, 7, m(t)) for t in every(15, 0, 60)]
        + [(3, 8, m(t)) for t in every(15, 200, 260)]
        + [(2, 7, m(t)) for t in every(15, 0, 60)]
        + [(2, 8, m(t)) for t in every(15, 200, 230)]
    )
    result = screen(duckdb_backend, tmp_path, pings, [whole_day(1), whole_day(3)])
    rows = [(r["case_phone"], r["companion_phone"], r["overlap_minutes"], r["cells"]) for r in result.to_pylist()]
    assert rows == [(1, 2, 60.0, [7]), (3, 2, 30.0, [8])]


def test_cases_are_never_companions_and_the_case_window_clips(duckdb_backend: DuckDBBackend, tmp_path: Path) -> None:
    pings = [(phone, 7, m(t)) for phone in (1, 2, 3) for t in every(15, 0, 120)]
    result = screen(duckdb_backend, tmp_path, pings, [CaseWindow(1, at(30), at(60)), whole_day(2)])
    rows = [(r["case_phone"], r["companion_phone"], r["overlap_minutes"]) for r in result.to_pylist()]
    assert rows == [(1, 3, 30.0), (2, 3, 120.0)]


def test_overlaps_sum_over_cells_and_stays(duckdb_backend: DuckDBBackend, tmp_path: Path) -> None:
    # Two 6-minute overlaps in two cells: neither reaches 10 minutes, together they do.
    pings = [(1, 7, m(0)), (1, 7, m(6)), (1, 8, m(100)), (1, 8, m(106))]
    pings += [(2, 7, m(0)), (2, 7, m(6)), (2, 8, m(100)), (2, 8, m(106))]
    result = screen(duckdb_backend, tmp_path, pings, [whole_day(1)])
    assert result.to_pylist()[0]["overlap_minutes"] == 12.0
    assert result.to_pylist()[0]["cells"] == [7, 8]
    assert len(result.to_pylist()[0]["evidence"]) == 2


def test_the_dwell_rule_is_off_by_default_and_keeps_only_dwelling_cells(
    duckdb_backend: DuckDBBackend, tmp_path: Path
) -> None:
    # Companion 2 lives in cell 7 (3 h there); companion 3 passes 15 minutes through cell 8 with the case,
    # whose own stay in cell 8 lasts 30 minutes.
    pings = [(1, 7, m(t)) for t in every(15, 0, 30)] + [(1, 8, m(t)) for t in every(15, 300, 330)]
    pings += [(2, 7, m(t)) for t in every(15, 0, 180)]
    pings += [(3, 8, m(t)) for t in every(15, 300, 315)]
    cases = [whole_day(1)]
    assert screen(duckdb_backend, tmp_path, pings, cases, min_overlap_minutes=15).column(
        "companion_phone"
    ).to_pylist() == [2, 3]
    # Neither companion 3 (15 min) nor the case (30 min) stayed more than 2 h in cell 8.
    with_rule = screen(duckdb_backend, tmp_path, pings, cases, min_overlap_minutes=15, min_dwell_hours=2)
    assert with_rule.column("companion_phone").to_pylist() == [2]
    # The case's own dwell counts as well: 30 minutes is more than 0.3 h ...
    assert screen(duckdb_backend, tmp_path, pings, cases, min_overlap_minutes=15, min_dwell_hours=0.3).num_rows == 2
    # ... but not more than 0.5 h: the rule is "more than", as in the protocol.
    assert screen(duckdb_backend, tmp_path, pings, cases, min_overlap_minutes=15, min_dwell_hours=0.5).num_rows == 1


def test_results_are_sorted_longest_first_within_a_case(duckdb_backend: DuckDBBackend, tmp_path: Path) -> None:
    pings = [(1, 7, m(t)) for t in every(15, 0, 120)]
    pings += [(2, 7, m(t)) for t in every(15, 0, 30)] + [(3, 7, m(t)) for t in every(15, 0, 90)]
    result = screen(duckdb_backend, tmp_path, pings, [whole_day(1)])
    assert result.column("companion_phone").to_pylist() == [3, 2]


def test_cases_may_be_an_arrow_table(duckdb_backend: DuckDBBackend, tmp_path: Path) -> None:
    pings = [(1, 7, m(t)) for t in every(15, 0, 60)] + [(2, 7, m(t)) for t in every(15, 0, 60)]
    cases = pa.table({"phone": [1], "start": [at(0)], "end": [at(60)]})
    assert screen(duckdb_backend, tmp_path, pings, cases).num_rows == 1  # type: ignore[arg-type]


def test_bad_arguments_are_refused(duckdb_backend: DuckDBBackend, tmp_path: Path) -> None:
    pings = [(1, 7, m(0))]
    with pytest.raises(ValueError, match="one window per case phone"):
        screen(duckdb_backend, tmp_path, pings, [whole_day(1), whole_day(1)])
    with pytest.raises(ValueError, match="ends before it starts"):
        screen(duckdb_backend, tmp_path, pings, [CaseWindow(1, at(10), at(0))])
    with pytest.raises(ValueError, match="aware"):
        screen(duckdb_backend, tmp_path, pings, [CaseWindow(1, dt.datetime(2021, 10, 17), at(0))])
    with pytest.raises(ValueError, match="aware"):
        screen(duckdb_backend, tmp_path, pings, [whole_day(1)], as_of=dt.datetime(2021, 10, 17))


def test_no_cases_gives_an_empty_list(duckdb_backend: DuckDBBackend, tmp_path: Path) -> None:
    assert screen(duckdb_backend, tmp_path, [(1, 7, m(0))], []).schema == RESULT_SCHEMA
