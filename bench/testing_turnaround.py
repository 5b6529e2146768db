"""Time the dashboard's turnaround figures (fangkong/testing/turnaround.py) on the reconciliation benchmark's
round: 1,000,000 pooled tubes, each received and resulted (bench/testing_reconcile_data.py builds it in the
`fangkong_bench` PostgreSQL database). Read-only: the user is an unsaved city-HQ account, nothing is written.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/fangkong_bench .venv/bin/python bench/testing_turnaround.py

Prints the wall time of each of `--repeat` runs (the first one warms PostgreSQL's cache) and the figures.
"""

from __future__ import annotations

import argparse
import os
import time

import django


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--city", default="4103")
    args = parser.parse_args()
    if "fangkong_bench" not in os.environ.get("DATABASE_URL", ""):
        raise SystemExit("set DATABASE_URL to the benchmark database (see the docstring)")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    django.setup()
    from django.db import connection
    from django.utils import timezone

    from fangkong.core.models import User
    from fangkong.core.roles import Role
    from fangkong.testing.models import Tube
    from fangkong.testing.turnaround import turnaround

    user = User(username="bench-city-hq", role=Role.CITY_HQ, division_id=args.city, is_active=True)
    print(f"tubes in the database: {Tube.objects.count():,}")
    now = timezone.now()
    for run in range(args.repeat):
        connection.queries_log.clear()
        started = time.perf_counter()
        figures = turnaround(user, now=now)
        elapsed = time.perf_counter() - started
        print(f"run {run + 1}: {elapsed:.2f} s")
    for row in figures.rounds:
        print(
            f"round {row.name}: {row.tubes:,} tubes; to receipt median {row.to_receipt.median_hours} h, "
            f"p90 {row.to_receipt.p90_hours} h, "
            f"{row.to_receipt.percent_within}% within {row.to_receipt.target_hours} h; "
            f"to result median {row.to_result.median_hours} h, p90 {row.to_result.p90_hours} h, "
            f"{row.to_result.percent_within}% within {row.to_result.target_hours} h"
        )
    for lab in figures.labs:
        print(f"lab {lab.name or '(not handed over)'}: to result median {lab.to_result.median_hours} h")


if __name__ == "__main__":
    main()
