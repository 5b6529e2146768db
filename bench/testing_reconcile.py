"""Round reconciliation benchmark: 10,000,000 residents, 1,000,000 ten-person tubes, from PostgreSQL.

    .venv/bin/python bench/testing_reconcile.py                  # generate once (minutes), then measure
    .venv/bin/python bench/testing_reconcile.py --regenerate     # drop and rebuild the benchmark database

Measures, each in its own subprocess one after another (so peak RSS is that run's alone):

1. **cold end to end** — `testing.coverage.services.reconcile_round_coverage(..., cold=True)`: extract all the
   round's inputs from the operational PostgreSQL database, run the engine's coverage query (DuckDB), store the
   counts per community, the untested and door-to-door lists and the recall check back into PostgreSQL, and
   leave the round's snapshot (testing/coverage/incremental.py) for the next run. ``--runs`` of them.
2. **warm end to end** — after a change set applied by SQL (untimed; the database's triggers log it as they
   would any writer): ``--changed-samples`` new samples of the round (default 100,000 = 1 % of its samples,
   people who had none) and ``--moved-people`` residents moved to another community (default 10,000 = 0.1 %),
   the same call without ``cold``: the snapshot plus the changes since. ``--runs`` change sets, one warm run
   after each. The change sets are reverted at the end (untimed).
3. **engine alone** — `fangkong.engine.reconcile_round` on the same inputs already in Parquet (written before
   the timed runs, untimed): the inputs as the cold runs read them, and as the last warm run read them.

and prints each, the ratios warm ÷ engine alone and cold ÷ engine alone, and peak RSS (``ru_maxrss`` of the
process, DuckDB included: it runs in-process). The snapshot files live in a temporary directory
(``FANGKONG_COVERAGE_SNAPSHOT_DIR``), removed at the end: each invocation starts cold.
The data (bench/testing_reconcile_data.py) lives in its own database, ``fangkong_bench`` by default; it is
generated once and reused. Before measuring, ``VACUUM (ANALYZE)`` of the person, sample, change-log and stored
list tables (untimed): what autovacuum does in operation, so that the extraction's index-only scans find the
visibility map set, the planner knows the change log's size (never analysed, it was read by a sequential scan),
and the round's stored lists are not read through the dead rows of earlier invocations (each warm run deletes
~10^5 listed people; autovacuum is off on the development server, and after a few dozen runs the round's
33,000 live list rows sat among 900,000 dead ones: 0.36 s to read them).
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
import typing
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


def worker_end_to_end(url: str, path: str) -> dict[str, object]:
    _setup_django(url)
    from fangkong.testing.coverage.services import reconcile_round_coverage
    from fangkong.testing.models import TestRound

    test_round = TestRound.objects.get(name="bench round")
    started = time.perf_counter()
    done = reconcile_round_coverage(test_round, by=None, cold=path == "cold")
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


def apply_changes(url: str, step: int, *, samples: int, moved: int) -> dict[str, object]:
    """Change set ``step`` (0, 1, …), by SQL in one transaction: ``samples`` new round samples of residents who
    had none and are not exempt, ``moved`` residents moved to the community of the resident 5,000 ids on (the
    next community). Returns what :func:`revert_changes` needs."""
    import psycopg

    with psycopg.connect(url) as connection:
        found = connection.execute(
            "SELECT r.id, min(t.id) FROM testing_testround r JOIN testing_tube t ON t.round_id = r.id"
            " WHERE r.name = 'bench round' GROUP BY r.id"
        ).fetchone()
        assert found is not None, "the benchmark round is missing"
        round_id, tube_id = found
        added = connection.execute(
            """
            INSERT INTO testing_sample (purpose, is_duplicate, sampled_at, device_id, idempotency_key, recorded_at,
                division_path, person_id, site_id, round_id, tube_id)
            SELECT 'round', false, r.starts_at + interval '20 hours', '', '', now(), t.division_path, p.id,
                   t.site_id, r.id, t.id
            FROM people_person p, testing_testround r, testing_tube t
            WHERE r.id = %(round)s AND t.id = %(tube)s AND p.merged_into_id IS NULL
              AND (p.id - 1) %% 100 = 1 + %(step)s AND p.home_division_path LIKE r.division_path || '%%'
              AND NOT EXISTS (SELECT 1 FROM testing_sample s WHERE s.round_id = r.id AND s.person_id = p.id
                              AND s.purpose = 'round' AND NOT s.is_duplicate)
              AND NOT EXISTS (SELECT 1 FROM testing_exemption e WHERE e.round_id = r.id AND e.person_id = p.id)
            ORDER BY p.id LIMIT %(samples)s
            RETURNING id
            """,
            {"round": round_id, "tube": tube_id, "step": step, "samples": samples},
        ).fetchall()
        every = max(1, 10_000_000 // max(moved, 1))
        moves = connection.execute(
            """
            UPDATE people_person p SET home_division_path = q.home_division_path
            FROM people_person q, people_person old
            WHERE q.id = p.id + 5000 AND old.id = p.id AND p.id %% %(every)s = %(offset)s
              AND p.merged_into_id IS NULL AND q.home_division_path <> p.home_division_path
              AND p.id <= 10000000 - 5000
            RETURNING p.id, old.home_division_path
            """,
            {"every": every, "offset": (7 + step) % every},
        ).fetchall()
    return {"samples": [row[0] for row in added], "moves": [list(row) for row in moves]}


def revert_changes(url: str, changes: list[dict[str, object]]) -> None:
    import psycopg

    with psycopg.connect(url) as connection:
        for change in reversed(changes):
            connection.execute("DELETE FROM testing_sample WHERE id = ANY(%s)", [change["samples"]])
            moves = typing.cast("list[list[object]]", change["moves"])
            connection.execute(
                "UPDATE people_person p SET home_division_path = m.path"
                " FROM unnest(%s::bigint[], %s::text[]) AS m(id, path) WHERE p.id = m.id",
                [[row[0] for row in moves], [row[1] for row in moves]],
            )


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
        connection.execute(
            "VACUUM (ANALYZE) people_person, testing_sample, testing_coveragechange, testing_uncoveredperson"
        )
    print(f"VACUUM (ANALYZE) of the person, sample, change-log and list tables: {time.perf_counter() - started:.1f} s")


def _best(runs: list[dict[str, object]]) -> dict[str, object]:
    return min(runs, key=lambda r: float(r["seconds"]))  # type: ignore[arg-type]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_URL, help="the benchmark database (created if missing)")
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--runs", type=int, default=1, help="repeat each measurement; the best run is reported")
    parser.add_argument("--changed-samples", type=int, default=100_000, help="new round samples per change set")
    parser.add_argument("--moved-people", type=int, default=10_000, help="residents moved per change set")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, *rest = args.worker
        if kind == "end_to_end":
            print(json.dumps(worker_end_to_end(rest[0], rest[1])))
        elif kind == "prepare":
            print(json.dumps(worker_prepare(rest[0], rest[1])))
        else:
            print(json.dumps(worker_engine(rest[0])))
        return

    ensure_database(args.url, regenerate=args.regenerate)
    changes: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory(prefix="fangkong-round-") as directory:
        os.environ["FANGKONG_COVERAGE_SNAPSHOT_DIR"] = str(Path(directory) / "snapshots")
        before, after = str(Path(directory) / "before"), str(Path(directory) / "after")
        try:
            launch("prepare", args.url, before)
            colds = [launch("end_to_end", args.url, "cold") for _ in range(args.runs)]
            warms = []
            for step in range(args.runs):
                changes.append(apply_changes(args.url, step, samples=args.changed_samples, moved=args.moved_people))
                added = len(typing.cast("list[int]", changes[-1]["samples"]))
                if added < args.changed_samples:  # the generated round has 200,000 untested residents
                    raise SystemExit(
                        f"change set {step + 1} found only {added:,} of {args.changed_samples:,} untested residents:"
                        " use fewer --runs or a smaller --changed-samples (the change sets are reverted)"
                    )
                warms.append(launch("end_to_end", args.url, "warm"))
            launch("prepare", args.url, after)
            engines = [launch("engine", before) for _ in range(args.runs)]
            engines_after = [launch("engine", after) for _ in range(args.runs)]
        finally:
            revert_changes(args.url, changes)
    cold, warm, engine, engine_after = _best(colds), _best(warms), _best(engines), _best(engines_after)
    load = os.getloadavg()[0]
    for label, end in (("cold", cold), ("warm", warm)):
        print(
            f"{label}: residents {end['residents']:,}  tested {end['tested']:,}  untested {end['untested']:,}  "
            f"door-to-door {end['door_to_door']:,}  exempt {end['exempt']:,}  recall {end['recall_people']:,}"
        )
    print(
        f"change set: {len(typing.cast(list[int], changes[-1]['samples'])):,} samples added, "
        f"{len(typing.cast(list[int], changes[-1]['moves'])):,} residents moved"
    )
    print(f"cold end to end (PostgreSQL → engine → PostgreSQL): {cold['seconds']:.1f} s  {cold['timings']}")
    print(f"  peak RSS {cold['peak_mb']:,.0f} MB")
    print(f"warm end to end (snapshot + changes → engine → PostgreSQL): {warm['seconds']:.1f} s  {warm['timings']}")
    print(f"  peak RSS {warm['peak_mb']:,.0f} MB")
    print(
        f"engine alone (Parquet → DuckDB), cold runs' inputs: {engine['seconds']:.1f} s"
        f"  peak RSS {engine['peak_mb']:,.0f} MB"
    )
    print(f"engine alone (Parquet → DuckDB), warm run's inputs: {engine_after['seconds']:.1f} s")
    cold_ratio = float(cold["seconds"]) / float(engine["seconds"])  # type: ignore[arg-type]
    warm_ratio = float(warm["seconds"]) / float(engine_after["seconds"])  # type: ignore[arg-type]
    print(f"ratio cold end to end / engine alone: {cold_ratio:.2f}   (targets: ≤ 30 s, ≤ 4 GiB, ≤ 2×)")
    print(f"ratio warm end to end / engine alone: {warm_ratio:.2f}")
    print(f"1-minute load average at the end: {load:.2f}  ({os.cpu_count()} CPUs)")
    print("all cold runs:", [round(float(r["seconds"]), 2) for r in colds])  # type: ignore[arg-type]
    print("all warm runs:", [round(float(r["seconds"]), 2) for r in warms])  # type: ignore[arg-type]
    for label, runs in (("cold", colds), ("warm", warms)):
        for run in runs:
            parts = typing.cast("dict[str, object]", run["timings"])
            seconds = typing.cast(float, run["seconds"])
            print(f"  {label} {seconds:.2f} s:", {key: parts[key] for key in ("extract", "engine", "store")})
    print("all engine runs:", [round(float(r["seconds"]), 2) for r in engines + engines_after])  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
