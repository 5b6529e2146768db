"""Venue co-visitors: the engine over Parquet for 100 cases at once, and the platform's per-case database query.

    .venv/bin/python bench/venue_overlaps.py --engine --people 200000 1000000 5000000
    .venv/bin/python bench/venue_overlaps.py --database --people 200000            # SQLite file DB
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fk_bench .venv/bin/python bench/venue_overlaps.py --database ...

Data: the simulator's city of ``--people`` residents and 14 days of its venue check-ins (`datasets.checkins`:
every venue visit of the per-day stream, no outbreak). Cases: 100 people drawn (seeded) among those with
check-ins, each with the whole 14 days as its window; co-visitors from 1 minute together (the platform's
default). The engine timer covers `find_venue_overlaps` only (Parquet written before); the database timer covers
`venues.selectors.co_visitors` per case (data loaded before, through `venues.loading`), and reports the median
and the 95th percentile per case and the total for the 100. Both print the co-visitor pairs they found; on the
same data the two agree (tested in venues/tests/test_venues.py).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

CASES = 100
DAYS = 14
START = dt.date(2021, 10, 17)


def simulated(people: int, seed: int):  # type: ignore[no-untyped-def]
    from fangkong.simulate import CityConfig, build_city
    from fangkong.simulate.datasets import checkins

    city = build_city(CityConfig(people=people, seed=seed))
    return city, checkins(city, days=DAYS, start_date=START, seed=seed)


def chosen_people(table, seed: int) -> list[int]:  # type: ignore[no-untyped-def]
    import numpy as np

    people = np.unique(table["person_id"].to_numpy())
    return [int(p) for p in np.random.default_rng(seed).choice(people, CASES, replace=False)]


def window() -> tuple[dt.datetime, dt.datetime]:
    start = dt.datetime.combine(START, dt.time.min, tzinfo=dt.UTC) - dt.timedelta(hours=8)
    return start, start + dt.timedelta(days=DAYS)


def run_engine(people: int, seed: int, work: Path) -> None:
    import pyarrow.parquet as pq

    from fangkong.engine.venues import CaseVisitWindow, find_venue_overlaps

    t0 = time.perf_counter()
    _city, table = simulated(people, seed)
    path = work / f"checkins-{people}.parquet"
    pq.write_table(table, path, compression="zstd")
    generated = time.perf_counter() - t0
    start, end = window()
    cases = [CaseVisitWindow(p, start, end) for p in chosen_people(table, seed)]
    timings = []
    for _ in range(2):
        t0 = time.perf_counter()
        result = find_venue_overlaps(path, cases)
        timings.append(time.perf_counter() - t0)
    print(
        f"engine people={people:,} check-ins={table.num_rows:,} parquet={path.stat().st_size / 2**20:.1f} MiB "
        f"co-visitor pairs={result.co_visitors.num_rows:,} overlaps={result.overlaps.num_rows:,} "
        f"time={min(timings):.2f} s (runs {', '.join(f'{t:.2f}' for t in timings)}; data {generated:.1f} s)"
    )


def run_database(people: int, seed: int, work: Path) -> None:
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{work / 'bench.sqlite3'}")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from fangkong.command.loader import load_city
    from fangkong.people.models import PersonDocument
    from fangkong.venues.loading import CheckInRow, VenueRow, load_check_ins, load_venues
    from fangkong.venues.selectors import co_visitors

    t0 = time.perf_counter()
    city, table = simulated(people, seed)
    load_city(city, reference=f"bench-{seed}")
    venues = load_venues(
        [VenueRow(str(v["venue_id"]), v["name"], v["category"], v["community_code"]) for v in city.venues.to_pylist()],
        reference="bench",
    )
    ids = city.people.column("id_number").to_pylist()
    person_of = dict(PersonDocument.objects.values_list("number", "person_id"))
    rows = (
        CheckInRow(person_of[ids[r["person_id"]]], str(r["venue_id"]), r["checkin_time"], int(r["minutes"]))
        for r in table.to_pylist()
    )
    loaded = load_check_ins(rows, venues=venues, reference="bench")
    setup = time.perf_counter() - t0
    start, end = window()
    cases = [person_of[ids[p]] for p in chosen_people(table, seed)]
    timings, pairs = [], 0
    for person_id in cases:
        t0 = time.perf_counter()
        pairs += len(co_visitors(person_id, start=start, end=end))
        timings.append(time.perf_counter() - t0)
    timings.sort()
    median, p95 = statistics.median(timings) * 1000, timings[int(0.95 * len(timings))] * 1000
    print(
        f"database={django.db.connection.vendor} people={people:,} check-ins={loaded:,} co-visitor pairs={pairs:,} "
        f"per case median={median:.1f} ms p95={p95:.1f} ms "
        f"total for {CASES}={sum(timings):.2f} s (load {setup:.0f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, nargs="+", default=[200_000])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--engine", action="store_true")
    parser.add_argument("--database", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fangkong-venues-") as directory:
        for people in args.people:
            if args.engine:
                run_engine(people, args.seed, Path(directory))
            if args.database:
                run_database(people, args.seed, Path(directory))


if __name__ == "__main__":
    main()
