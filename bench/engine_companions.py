"""Companion screening (时空伴随): the engine's find_companions against hand-written DuckDB SQL, in one run.

    .venv/bin/python bench/engine_companions.py --pings /tmp/fangkong-bench/pings-1e8 /tmp/fangkong-bench/pings-1e9 \\
        --spark-pings /tmp/fangkong-bench/pings-small --repeat 2 --json /tmp/fangkong-bench/companions.json

Data (never committed): ``--generate PEOPLE DIR`` writes a set with the simulator's ``write_pings`` (14 days,
15-minute pings, 800 m cells; phones = people aged 10+, so 84,000 people ≈ 1.0e8 pings and 838,000 ≈ 1.0e9).

For each data set: 100 case phones drawn with a fixed seed from the phones seen in the first hour, each with
the whole 14-day look-back as its window (the issue's definition, and the most work); ``as_of`` = the last
ping. Every measurement runs in its own subprocess, one after another (engine and hand-written SQL
alternating), so peak RSS (``ru_maxrss``) is that run's alone; the best of ``--repeat`` times is reported.
The hand-written SQL must return the same overlaps as the engine (checked: same row count and sums).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import duckdb  # noqa: E402
import numpy as np  # noqa: E402

from fangkong.engine import CaseWindow, DuckDBBackend, SparkBackend, find_companions  # noqa: E402
from fangkong.engine.backends import parquet_files  # noqa: E402
from fangkong.engine.dialect import DUCKDB  # noqa: E402

GAP_US = 30 * 60 * 1_000_000
MIN_OVERLAP_US = 10 * 60 * 1_000_000
LOOKBACK_US = 14 * 86_400 * 1_000_000
BUCKET_US = 15 * 60 * 1_000_000


def pick_cases(pings: str, n: int = 100, seed: int = 1) -> tuple[list[int], int]:
    """``n`` phones seen in the data's first hour (seeded) and the last ping's time (µs) as ``as_of``."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    files = parquet_files(pings)
    first, last = con.sql(
        f"SELECT epoch_us(min(ts)), epoch_us(max(ts)) FROM read_parquet('{files}')"  # noqa: S608
    ).fetchall()[0]
    phones = con.sql(
        f"SELECT DISTINCT phone FROM read_parquet('{files}') WHERE epoch_us(ts) < {first + 3_600_000_000}"  # noqa: S608
    ).fetchnumpy()["phone"]
    chosen = np.sort(np.random.default_rng(seed).choice(np.sort(phones), n, replace=False))
    return [int(p) for p in chosen], int(last)


def hand_written(pings: str, phones: list[int], as_of_us: int) -> tuple[int, int, int]:
    """The same question as tight as I can write it for DuckDB: literal lists, no portability constraints.

    Returns (overlap rows, sum of overlap µs, companion pairs) for the equality check.
    """
    con = duckdb.connect(
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "threads": 2,
            "memory_limit": "6GiB",
            "preserve_insertion_order": False,
        }
    )
    files = parquet_files(pings)
    lo, hi = as_of_us - LOOKBACK_US, as_of_us
    window = f"ts BETWEEN {DUCKDB.timestamp(lo)} AND {DUCKDB.timestamp(hi)}"
    base = lo // BUCKET_US - 10  # bucket numbers relative to the window: a (cell, bucket) key fits one BIGINT
    phone_list = ",".join(map(str, phones))
    con.execute(f"""
        CREATE TEMP TABLE case_stays AS
        SELECT phone AS case_phone, cell,
               UNNEST(list_filter(l, lambda x, i: i = 1 OR x - l[i - 1] > {GAP_US})) AS s,
               UNNEST(list_filter(l, lambda x, i: i = len(l) OR l[i + 1] - x > {GAP_US})) AS e
        FROM (SELECT phone, cell, list_sort(list(epoch_us(ts))) AS l
              FROM read_parquet('{files}') WHERE phone IN ({phone_list}) AND {window} GROUP BY ALL)
    """)  # noqa: S608
    con.execute("DELETE FROM case_stays WHERE s = e")  # zero-length stays cannot overlap anything
    cells = [row[0] for row in con.sql("SELECT DISTINCT cell FROM case_stays").fetchall()]
    con.execute(f"""
        CREATE TEMP TABLE buckets AS
        SELECT DISTINCT cell * 10000 + b - {base} AS k FROM (
            SELECT cell, UNNEST(range((s - {GAP_US}) // {BUCKET_US}, (e + {GAP_US}) // {BUCKET_US} + 1)) AS b
            FROM case_stays)
    """)  # noqa: S608
    rows = con.sql(f"""
        WITH cp AS (
            SELECT phone, cell, epoch_us(ts) AS t FROM read_parquet('{files}')
            WHERE {window} AND cell IN ({",".join(map(str, cells))}) AND phone NOT IN ({phone_list})
        ),
        kept AS (
            SELECT phone, cell, t FROM cp
            WHERE cell * 10000 + t // {BUCKET_US} - {base} IN (SELECT k FROM buckets)
        ),
        stays AS (
            SELECT phone, cell,
                   UNNEST(list_filter(l, lambda x, i: i = 1 OR x - l[i - 1] > {GAP_US})) AS s,
                   UNNEST(list_filter(l, lambda x, i: i = len(l) OR l[i + 1] - x > {GAP_US})) AS e
            FROM (SELECT phone, cell, list_sort(list(t)) AS l FROM kept GROUP BY ALL)
        ),
        pairs AS (
            SELECT m.phone, c.case_phone, least(m.e, c.e) - greatest(m.s, c.s) AS ov
            FROM stays m JOIN case_stays c USING (cell)
            WHERE greatest(m.s, c.s) < least(m.e, c.e)
        )
        SELECT count(*), sum(ov), count(DISTINCT (phone, case_phone)) FROM (
            SELECT ov, phone, case_phone, sum(ov) OVER (PARTITION BY phone, case_phone) AS total FROM pairs
        ) WHERE total >= {MIN_OVERLAP_US}
    """).fetchall()[0]  # noqa: S608
    return int(rows[0]), int(rows[1] or 0), int(rows[2])


def worker(kind: str, pings: str, phones: list[int], as_of_us: int) -> dict[str, Any]:
    """One measurement in this (fresh) process: seconds, result check values and peak RSS."""
    as_of = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=as_of_us)
    cases = [CaseWindow(p, as_of - dt.timedelta(days=14), as_of) for p in phones]
    out: dict[str, Any] = {"kind": kind}
    if kind == "hand":
        began = time.perf_counter()
        rows, total, pairs = hand_written(pings, phones, as_of_us)
        out["seconds"] = time.perf_counter() - began
    else:
        backend: DuckDBBackend | SparkBackend
        if kind == "spark":
            backend = SparkBackend(driver_memory="4g")
            began = time.perf_counter()
            backend.session()
            out["session_seconds"] = time.perf_counter() - began
            find_companions(pings, cases, as_of=as_of, backend=backend)  # warm-up: JIT, file listing
        else:
            backend = DuckDBBackend(threads=2, memory_limit="6GiB")
        began = time.perf_counter()
        result = find_companions(pings, cases, as_of=as_of, backend=backend)
        out["seconds"] = time.perf_counter() - began
        evidence = result["evidence"].combine_chunks().flatten()
        overlap = np.asarray(evidence.field("overlap_end").cast("int64")) - np.asarray(
            evidence.field("overlap_start").cast("int64")
        )
        rows, total, pairs = len(evidence), int(overlap.sum()), result.num_rows
        if isinstance(backend, SparkBackend):
            out["jvm_peak_rss_mb"] = _jvm_peak_rss_mb(backend)
            backend.stop()
    out.update(rows=rows, overlap_us=total, pairs=pairs)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Spark's JVM, after it stopped
    out["peak_rss_mb"] = max(own, children) / 1024
    return out


def _jvm_peak_rss_mb(backend: SparkBackend) -> float:
    """Peak RSS of Spark's JVM (a separate process that py4j starts and never reaps): VmHWM from /proc."""
    proc = backend.session().sparkContext._gateway.proc  # type: ignore[union-attr]
    for line in Path(f"/proc/{proc.pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def launch(kind: str, pings: str, phones: list[int], as_of_us: int) -> dict[str, Any]:
    payload = json.dumps({"kind": kind, "pings": pings, "phones": phones, "as_of_us": as_of_us})
    done = subprocess.run([sys.executable, __file__, "--worker", payload], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def count_rows(pings: str) -> int:
    con = duckdb.connect()
    return int(con.sql(f"SELECT count(*) FROM read_parquet('{parquet_files(pings)}')").fetchall()[0][0])  # noqa: S608


def measure(pings: str, kinds: list[str], repeat: int) -> dict[str, Any]:
    phones, as_of_us = pick_cases(pings)
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in kinds}
    for _ in range(repeat):
        for kind in kinds:
            run = launch(kind, pings, phones, as_of_us)
            print(f"  {kind:6s} {run['seconds']:7.2f} s  peak RSS {run['peak_rss_mb']:7.0f} MB  {run}", flush=True)
            runs[kind].append(run)
    best = {kind: min(items, key=lambda r: r["seconds"]) for kind, items in runs.items()}
    checks = {(r["rows"], r["overlap_us"], r["pairs"]) for r in best.values()}
    if len(checks) != 1:
        raise SystemExit(f"results differ between runs: {best}")
    return {"pings": pings, "rows": count_rows(pings), "best": best, "all": runs}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--generate", nargs=2, metavar=("PEOPLE", "DIR"), help="write a ping set and exit")
    parser.add_argument("--pings", nargs="*", default=[], help="ping sets to screen: engine vs hand-written SQL")
    parser.add_argument("--spark-pings", help="small ping set: engine on DuckDB, hand-written SQL and Spark")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if args.worker:
        job = json.loads(args.worker)
        print(json.dumps(worker(job["kind"], job["pings"], job["phones"], job["as_of_us"])))
        return
    if args.generate:
        from fangkong.simulate import CityConfig, build_city
        from fangkong.simulate.datasets import write_pings

        people, directory = int(args.generate[0]), args.generate[1]
        stats = write_pings(build_city(CityConfig(people=people, seed=1)), directory, days=14)
        print(f"{stats.rows:,} pings in {stats.files} files, {stats.bytes / 2**20:.0f} MiB, {stats.seconds:.1f} s")
        return
    machine = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "duckdb": duckdb.__version__,
        "load_before": os.getloadavg(),
    }
    print(machine)
    results: dict[str, Any] = {"machine": machine, "sets": []}
    for pings in args.pings:
        print(pings, flush=True)
        results["sets"].append(measure(pings, ["engine", "hand"], args.repeat))
    if args.spark_pings:
        print(args.spark_pings, "(with Spark)", flush=True)
        results["sets"].append(measure(args.spark_pings, ["engine", "hand", "spark"], args.repeat))
    machine["load_after"] = os.getloadavg()
    print()
    print("| pings | engine (DuckDB) | hand-written DuckDB SQL | ratio | Spark | Spark ÷ hand | peak RSS engine |")
    print("|---|---|---|---|---|---|---|")
    for item in results["sets"]:
        best = item["best"]
        engine, hand = best["engine"], best["hand"]
        spark = best.get("spark")
        spark_cells = (
            f"{spark['seconds']:.2f} s (+{spark['session_seconds']:.0f} s session; JVM "
            f"{spark['jvm_peak_rss_mb']:,.0f} MB) | {spark['seconds'] / hand['seconds']:.0f}×"
            if spark
            else "— | —"
        )
        print(
            f"| {item['rows']:,} | {engine['seconds']:.2f} s | {hand['seconds']:.2f} s | "
            f"{engine['seconds'] / hand['seconds']:.2f} | {spark_cells} | {engine['peak_rss_mb']:,.0f} MB |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
