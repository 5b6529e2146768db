"""Generate a city and its location pings, and report time and size.

    .venv/bin/python bench/simulate_pings.py --people 1000000 --days 14 --interval 15 --out /tmp/pings1m

Builds the city, runs a 14-day outbreak with tracing (so quarantined people stay home in the pings), then
streams the pings to Parquet. Prints rows, files, bytes on disk, seconds per stage and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from fangkong.simulate import CityConfig, Interventions, OutbreakConfig, build_city, run_outbreak  # noqa: E402
from fangkong.simulate.datasets import write_pings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--interval", type=int, default=15, help="minutes between pings")
    parser.add_argument("--cell", type=float, default=800.0, help="grid cell size in metres")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--keep", action="store_true", help="keep the files (default: delete after measuring)")
    args = parser.parse_args()
    if args.out.exists():
        shutil.rmtree(args.out)
    t0 = time.perf_counter()
    city = build_city(CityConfig(people=args.people, seed=args.seed))
    t1 = time.perf_counter()
    outbreak = run_outbreak(
        city,
        OutbreakConfig(
            days=args.days, seed=args.seed, record_checkins=True, interventions=Interventions.testing_and_tracing()
        ),
    )
    t2 = time.perf_counter()
    stats = write_pings(
        city,
        args.out,
        days=args.days,
        interval_minutes=args.interval,
        cell_metres=args.cell,
        outbreak=outbreak,
        progress=lambda done, total: print(f"  {done}/{total}", end="\r", flush=True),
    )
    t3 = time.perf_counter()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print()
    print(f"people {args.people:,}  days {args.days}  interval {args.interval} min  cell {args.cell:.0f} m")
    print(f"city built        {t1 - t0:8.1f} s")
    print(
        f"outbreak ({args.days} d)   {t2 - t1:8.1f} s  (check-ins kept: {outbreak.checkins.num_rows:,} rows)"
        if outbreak.checkins is not None
        else ""
    )
    print(
        f"pings written     {t3 - t2:8.1f} s  {stats.rows:,} rows  {stats.files} files  "
        f"{stats.bytes / 2**30:.2f} GiB  ({stats.bytes / max(stats.rows, 1):.2f} bytes/row, "
        f"{stats.rows / (t3 - t2) / 1e6:.1f} M rows/s)"
    )
    print(f"total             {t3 - t0:8.1f} s  peak RSS {peak:,.0f} MB")
    if not args.keep:
        shutil.rmtree(args.out)


if __name__ == "__main__":
    main()
