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
import pyarrow as pa  # noqa: E402

from fangkong.engine import CaseWindow, DuckDBBackend, SparkBackend, companion_evidence, find_companions  # noqa: E402
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


def hand_written(pings: str, phones: list[int], as_of_us: int) -> pa.Table:
    """The same question, as fast as I could write it for DuckDB alone (no portability constraints).

    Returns the companions' overlaps (the evidence rows, each with its pair's total), unordered: the least a
    hand-written query must deliver to answer the question. Every formulation below was measured on the 1e8
    set and the fastest kept (CPU seconds, docs/benchmarks.md): sessionising by sorted lists per (phone,
    cell) cut at the positions of the gaps (window LAG/LEAD, a global sort with LAG, and per-(phone, cell,
    30-minute bucket) min/max all cost more); case phones from a table, a semi-join the Parquet reader uses
    as a filter (a literal IN list cost 50 % more CPU in that scan); the (cell, 15-minute bucket)
    pre-filter as one hash join (an extra cell semi-join or a packed single-integer key cost more);
    intermediate tables materialised (one query with CTEs let DuckDB pick a worse join order); pair totals
    by GROUP BY joined back (a QUALIFY window was slower).
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
    phone_list = ",".join(map(str, phones))

    def stays(source: str) -> str:
        return f"""
            SELECT phone, cell,
                   UNNEST(list_select(l, list_concat([1], list_transform(k, lambda j: j + 1)))) AS s,
                   UNNEST(list_select(l, list_concat(k, [len(l)]))) AS e
            FROM (SELECT phone, cell, l, list_filter(range(1, len(l)), lambda i: l[i + 1] - l[i] > {GAP_US}) AS k
                  FROM (SELECT phone, cell, list_sort(list(t)) AS l FROM {source} GROUP BY phone, cell))
        """  # noqa: S608

    con.execute(f"CREATE TEMP TABLE cases AS SELECT UNNEST([{phone_list}]::BIGINT[]) AS phone")
    case_pings = f"""(SELECT phone, cell, epoch_us(ts) AS t FROM read_parquet('{files}')
        WHERE phone IN (SELECT phone FROM cases) AND {window})"""  # noqa: S608
    con.execute(
        f"CREATE TEMP TABLE case_stays AS SELECT phone AS case_phone, cell, s, e FROM ({stays(case_pings)}) WHERE s < e"  # noqa: S608
    )
    con.execute(f"""
        CREATE TEMP TABLE buckets AS
        SELECT DISTINCT cell, UNNEST(range((s - {GAP_US}) // {BUCKET_US}, (e + {GAP_US}) // {BUCKET_US} + 1)) AS b
        FROM case_stays
    """)  # noqa: S608
    kept = f"""(SELECT p.phone, p.cell, p.t
        FROM (SELECT phone, cell, epoch_us(ts) AS t FROM read_parquet('{files}') WHERE {window}) AS p
        JOIN buckets AS k ON p.cell = k.cell AND p.t // {BUCKET_US} = k.b)"""  # noqa: S608
    con.execute(f"CREATE TEMP TABLE stays AS {stays(kept)}")
    result: pa.Table = con.sql(f"""
        WITH pairs AS (
            SELECT m.phone AS companion_phone, c.case_phone, c.cell, c.s AS case_start, c.e AS case_end,
                   greatest(m.s, c.s) AS overlap_start, least(m.e, c.e) AS overlap_end
            FROM stays AS m JOIN case_stays AS c ON m.cell = c.cell AND m.s < c.e AND c.s < m.e AND m.s < m.e
            WHERE m.phone NOT IN ({phone_list})
        ),
        totals AS (
            SELECT companion_phone, case_phone, sum(overlap_end - overlap_start) AS total
            FROM pairs GROUP BY ALL HAVING total >= {MIN_OVERLAP_US}
        )
        SELECT * FROM pairs JOIN totals USING (companion_phone, case_phone)
    """).to_arrow_table()  # noqa: S608
    return result


def overlap_checks(pairs: list[tuple[int, int]], overlap_start: Any, overlap_end: Any) -> tuple[int, int, int]:
    """(overlap rows, sum of overlap µs, companion pairs): equal for engine and hand-written SQL or the run fails."""
    overlap = np.asarray(overlap_end, dtype=np.int64) - np.asarray(overlap_start, dtype=np.int64)
    return len(overlap), int(overlap.sum()), len(set(pairs))


def worker(kind: str, pings: str, phones: list[int], as_of_us: int) -> dict[str, Any]:
    """One measurement in this (fresh) process: seconds, result check values and peak RSS."""
    as_of = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=as_of_us)
    cases = [CaseWindow(p, as_of - dt.timedelta(days=14), as_of) for p in phones]
    out: dict[str, Any] = {"kind": kind, "load_before": os.getloadavg()}
    if kind == "hand":
        cpu, began = _cpu_seconds(), time.perf_counter()
        table = hand_written(pings, phones, as_of_us)
        out["seconds"] = time.perf_counter() - began
        out["cpu_seconds"] = _cpu_seconds() - cpu
        pairs_of = zip(table["companion_phone"].to_pylist(), table["case_phone"].to_pylist(), strict=True)
        rows, total, pairs = overlap_checks(
            list(pairs_of),
            table["overlap_start"].to_numpy(),
            table["overlap_end"].to_numpy(),
        )
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
        cpu, began = _cpu_seconds(), time.perf_counter()
        result = find_companions(pings, cases, as_of=as_of, backend=backend)
        out["seconds"] = time.perf_counter() - began
        out["cpu_seconds"] = _cpu_seconds() - cpu  # this process only: Spark's JVM is not counted
        evidence = companion_evidence(result)
        pairs_of = zip(evidence["companion_phone"].to_pylist(), evidence["case_phone"].to_pylist(), strict=True)
        rows, total, pairs = overlap_checks(
            list(pairs_of),
            evidence["overlap_start"].cast("int64").to_numpy(),
            evidence["overlap_end"].cast("int64").to_numpy(),
        )
        if isinstance(backend, SparkBackend):
            out["jvm_peak_rss_mb"] = _jvm_peak_rss_mb(backend)
            backend.stop()
    out.update(rows=rows, overlap_us=total, pairs=pairs, load_after=os.getloadavg())
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # Spark's JVM, after it stopped
    out["peak_rss_mb"] = max(own, children) / 1024
    return out


def _cpu_seconds() -> float:
    """User + system CPU time of this process so far: steadier than wall time on a shared machine."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


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
            print(
                f"  {kind:6s} {run['seconds']:7.2f} s (CPU {run['cpu_seconds']:6.2f} s)  "
                f"peak RSS {run['peak_rss_mb']:7.0f} MB  {run}",
                flush=True,
            )
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
    print("| pings | engine (DuckDB) | hand-written DuckDB SQL | ratio | CPU engine / hand | Spark | Spark ÷ hand |")
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
            f"| {item['rows']:,} | {engine['seconds']:.2f} s ({engine['peak_rss_mb']:,.0f} MB) | "
            f"{hand['seconds']:.2f} s ({hand['peak_rss_mb']:,.0f} MB) | {engine['seconds'] / hand['seconds']:.2f} | "
            f"{engine['cpu_seconds']:.1f} / {hand['cpu_seconds']:.1f} s | {spark_cells} |"
        )
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=str))


if __name__ == "__main__":
    main()
