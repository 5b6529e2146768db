"""Venue co-visitors over check-ins: DuckDB against a brute-force Python reference, on random stays (Arrow and
Parquet inputs) and on the simulator's check-ins; named edge cases."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fangkong.engine.venues import CaseVisitWindow, find_venue_overlaps
from fangkong.simulate import CityConfig, build_city
from fangkong.simulate.datasets import checkins as simulated_checkins

T0 = dt.datetime(2021, 8, 3, 0, tzinfo=dt.UTC)


def table(rows: list[tuple[int, int, dt.datetime, int]]) -> pa.Table:
    person, venue, time, minutes = zip(*rows, strict=True) if rows else ((), (), (), ())
    return pa.table(
        {
            "person_id": pa.array(person, pa.int64()),
            "venue_id": pa.array(venue, pa.int64()),
            "checkin_time": pa.array(time, pa.timestamp("us", tz="UTC")),
            "minutes": pa.array(minutes, pa.int32()),
        }
    )


def union(intervals: list[tuple[dt.datetime, dt.datetime]]) -> float:
    total, current = 0.0, None
    for start, end in sorted(intervals):
        if current and start <= current[1]:
            current = (current[0], max(current[1], end))
            continue
        if current:
            total += (current[1] - current[0]).total_seconds()
        current = (start, end)
    if current:
        total += (current[1] - current[0]).total_seconds()
    return total / 60


def reference(rows: list[tuple[int, int, dt.datetime, int]], cases: list[CaseVisitWindow], minimum: float):
    """Every (case stay, other stay) pair by brute force; minutes together as the union of the overlaps."""
    found: dict[tuple[int, int], list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for case in cases:
        own = [
            (v, max(t, case.start), min(t + dt.timedelta(minutes=m), case.end))
            for p, v, t, m in rows
            if p == case.person_id
        ]
        own = [(v, s, e) for v, s, e in own if s < e]
        for p, v, t, m in rows:
            if p == case.person_id:
                continue
            end = t + dt.timedelta(minutes=m)
            for venue, s, e in own:
                lo, hi = max(s, t), min(e, end)
                if venue == v and lo < hi:
                    found[(case.person_id, p)].append((lo, hi))
    return {key: round(union(spans), 6) for key, spans in found.items() if union(spans) >= minimum}


def result_minutes(result) -> dict[tuple[int, int], float]:
    rows = result.co_visitors.to_pylist()
    return {(r["case_person_id"], r["person_id"]): round(r["overlap_minutes"], 6) for r in rows}


def random_rows(seed: int, people: int = 40, venues: int = 4, visits: int = 400):
    rng = random.Random(seed)
    return [
        (
            rng.randrange(people),
            rng.randrange(venues),
            T0 + dt.timedelta(minutes=rng.randrange(0, 3 * 24 * 60)),
            rng.randrange(1, 240),
        )
        for _ in range(visits)
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_stays_agree_with_the_reference(seed: int, tmp_path: Path) -> None:
    rows = random_rows(seed)
    cases = [
        CaseVisitWindow(p, T0 + dt.timedelta(hours=6 * i), T0 + dt.timedelta(days=2))
        for i, p in enumerate([0, 1, 2, 3])
    ]
    expected = reference(rows, cases, minimum=10)
    assert expected, "the random data should have co-visitors"
    on_arrow = find_venue_overlaps(table(rows), cases, min_overlap_minutes=10)
    assert result_minutes(on_arrow) == expected
    path = tmp_path / "checkins.parquet"
    pq.write_table(table(rows), path)
    assert result_minutes(find_venue_overlaps(path, cases, min_overlap_minutes=10)) == expected


def test_the_evidence_lists_each_overlapping_pair_of_stays() -> None:
    hour = dt.timedelta(hours=1)
    rows = [
        (1, 7, T0 + 10 * hour, 60),  # the case: 10:00–11:00 at venue 7
        (1, 7, T0 + 10 * hour + dt.timedelta(minutes=20), 40),  # scanned again: the same visit
        (2, 7, T0 + 10 * hour + dt.timedelta(minutes=30), 60),  # 30 minutes together
        (3, 7, T0 + 11 * hour, 30),  # arrives as the case leaves: nothing shared
        (4, 8, T0 + 10 * hour, 60),  # another venue
    ]
    result = find_venue_overlaps(table(rows), [CaseVisitWindow(1, T0, T0 + 24 * hour)])
    assert result.co_visitors.to_pylist() == [
        {
            "case_person_id": 1,
            "person_id": 2,
            "overlap_minutes": 30.0,
            "venues": 1,
            "first_overlap_start": T0 + 10 * hour + dt.timedelta(minutes=30),
            "last_overlap_end": T0 + 11 * hour,
        }
    ]
    (evidence,) = result.overlaps.to_pylist()
    assert (evidence["case_stay_start"], evidence["case_stay_end"]) == (T0 + 10 * hour, T0 + 11 * hour)
    assert evidence["venue_id"] == 7 and evidence["stay_end"] == T0 + 11 * hour + dt.timedelta(minutes=30)


def test_the_window_clips_the_case_s_stays_and_the_minimum_filters() -> None:
    hour = dt.timedelta(hours=1)
    rows = [(1, 7, T0 + 10 * hour, 60), (2, 7, T0 + 10 * hour, 60)]
    clipped = find_venue_overlaps(
        table(rows), [CaseVisitWindow(1, T0 + 10 * hour + dt.timedelta(minutes=50), T0 + 24 * hour)]
    )
    assert [r["overlap_minutes"] for r in clipped.co_visitors.to_pylist()] == [10.0]
    assert (
        find_venue_overlaps(
            table(rows), [CaseVisitWindow(1, T0, T0 + 24 * hour)], min_overlap_minutes=61
        ).co_visitors.num_rows
        == 0
    )
    assert find_venue_overlaps(table(rows), [CaseVisitWindow(9, T0, T0 + 24 * hour)]).co_visitors.num_rows == 0


def test_the_simulator_s_check_ins_agree_with_the_reference() -> None:
    city = build_city(CityConfig(people=2_000, seed=11))
    data = simulated_checkins(city, days=2, start_date=dt.date(2021, 10, 17), seed=11)
    rows = list(
        zip(
            data["person_id"].to_pylist(),
            data["venue_id"].to_pylist(),
            data["checkin_time"].to_pylist(),
            data["minutes"].to_pylist(),
            strict=True,
        )
    )
    people = sorted({p for p, *_ in rows})[:: max(1, len({p for p, *_ in rows}) // 12)][:12]
    start = dt.datetime(2021, 10, 16, 16, tzinfo=dt.UTC)
    cases = [CaseVisitWindow(p, start, start + dt.timedelta(days=2)) for p in people]
    expected = reference(rows, cases, minimum=1)
    assert result_minutes(find_venue_overlaps(data, cases)) == expected and expected
