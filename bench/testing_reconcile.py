"""Round reconciliation benchmark: 10,000,000 residents, 1,000,000 ten-person tubes, from PostgreSQL.

    .venv/bin/python bench/testing_reconcile.py                  # generate once (minutes), then measure
    .venv/bin/python bench/testing_reconcile.py --regenerate     # drop and rebuild the benchmark database

Measures, each in its own subprocess one after another (so peak RSS is that run's alone):

1. **end to end** — `testing.coverage.services.reconcile_round_coverage`: extract the round's inputs from the
   operational PostgreSQL database, run the engine's coverage query (DuckDB), store the counts per community,
   the untested and door-to-door lists and the recall check back into PostgreSQL. What the job does.
2. **engine alone** — `fangkong.engine.reconcile_round` on the same inputs already in Parquet (written once
   before the timed runs, untimed).

and prints both, their ratio, and peak RSS (``ru_maxrss`` of the process, DuckDB included: it runs in-process).
The data (bench/testing_reconcile_data.py) lives in its own database, ``fangkong_bench`` by default; it is
generated once and reused. Before measuring, ``VACUUM (ANALYZE)`` of the person and sample tables (untimed):
what autovacuum does in operation, so that the extraction's index-only scans find the visibility map set.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/fangkong_bench"


def _setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    import django

    django.setup()


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def worker_end_to_end(url: str) -> dict[str, object]:
    _setup_django(url)
    from fangkong.testing.coverage.services import reconcile_round_coverage
    from fangkong.testing.models import TestRound

    test_round = TestRound.objects.get(name="bench round")
    started = time.perf_counter()
    done = reconcile_round_coverage(test_round, by=None)
    seconds = time.perf_counter() - started
    run = done.run
    return {
        "seconds": seconds,
        "timings": run.timings,
        "residents": run.residents,
        "tested": run.tested,
        "untested": run.untested,
        "door_to_door": run.door_to_door,
        "exempt": run.exempt_infant + run.exempt_away + run.exempt_other,
        "recall_people": run.recall_people,
        "peak_mb": _peak_mb(),
    }


def worker_prepare(url: str, directory: str) -> dict[str, object]:
    _setup_django(url)
    from fangkong.engine.coverage import write_round_data
    from fangkong.testing.coverage.extract import extract_round
    from fangkong.testing.models import TestRound

    test_round = TestRound.objects.get(name="bench round")
    write_round_data(extract_round(test_round), directory)
    return {"directory": directory}


def worker_engine(directory: str) -> dict[str, object]:
    from fangkong.engine.coverage import INPUT_SCHEMAS, RoundData, reconcile_round

    data = RoundData(**{name: str(Path(directory) / f"{name}.parquet") for name in INPUT_SCHEMAS})
    started = time.perf_counter()
    result = reconcile_round(data)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "untested": result.untested.num_rows,
        "recall_people": result.recall.num_rows,
        "peak_mb": _peak_mb(),
    }


def launch(*args: str) -> dict[str, object]:
    output = subprocess.run(
        [sys.executable, __file__, "--worker", *args], check=True, capture_output=True, text=True, cwd=ROOT
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def ensure_database(url: str, *, regenerate: bool) -> None:
    import psycopg
    from testing_reconcile_data import generate, is_generated

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if exists and regenerate:
            connection.execute(f'DROP DATABASE "{name}"'.encode())
            exists = None
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"'.encode())
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v0"], check=True, cwd=ROOT, env=env)
    if not is_generated(url):
        print("generating 10,000,000 residents, 1,000,000 tubes (several minutes) …", flush=True)
        started = time.perf_counter()
        generate(url)
        print(f"generated in {time.perf_counter() - started:.0f} s", flush=True)
    # What autovacuum does in operation (the generator's bulk inserts leave the visibility map empty): the
    # extraction's index-only scans read the heap for pages not marked all-visible. Untimed; quick once done.
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("VACUUM (ANALYZE) people_person, testing_sample")
    print(f"VACUUM (ANALYZE) of the person and sample tables: {time.perf_counter() - started:.1f} s", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_URL, help="the benchmark database (created if missing)")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--runs", type=int, default=1, help="repeat each measurement; the best run is reported")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "end_to_end":
            print(json.dumps(worker_end_to_end(rest[0])))
        elif kind == "prepare":
            print(json.dumps(worker_prepare(rest[0], rest[1])))
        else:
            print(json.dumps(worker_engine(rest[0])))
        return

    ensure_database(args.url, regenerate=args.regenerate)
    with tempfile.TemporaryDirectory(prefix="fangkong-round-") as directory:
        launch("prepare", args.url, directory)
        ends = [launch("end_to_end", args.url) for _ in range(args.runs)]
        engines = [launch("engine", directory) for _ in range(args.runs)]
    end = min(ends, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
    engine = min(engines, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]
    ratio = float(end["seconds"]) / float(engine["seconds"])  # type: ignore[arg-type]
    load = os.getloadavg()[0]
    print(
        f"residents {end['residents']:,}  tested {end['tested']:,}  untested {end['untested']:,}  "
        f"door-to-door {end['door_to_door']:,}  exempt {end['exempt']:,}  recall {end['recall_people']:,}"
    )
    print(f"end to end (PostgreSQL → engine → PostgreSQL): {end['seconds']:.1f} s  {end['timings']}")
    print(f"  peak RSS {end['peak_mb']:,.0f} MB")
    print(f"engine alone (Parquet → DuckDB): {engine['seconds']:.1f} s  peak RSS {engine['peak_mb']:,.0f} MB")
    print(f"ratio end to end / engine alone: {ratio:.2f}   (targets: ≤ 30 s, ≤ 4 GiB, ≤ 2×)")
    print(f"1-minute load average at the end: {load:.2f}  ({os.cpu_count()} CPUs)")
    if args.runs > 1:
        print("all end-to-end runs:", [round(float(r["seconds"]), 1) for r in ends])  # type: ignore[arg-type]
        print("all engine runs:", [round(float(r["seconds"]), 1) for r in engines])  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
