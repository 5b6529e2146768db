"""CPU per single scan, server side: one gunicorn worker (one thread), scans sent one after another over one
connection, the worker's and its PostgreSQL backend's CPU read from /proc before and after.

    .venv/bin/python bench/testing_load/scan_cpu.py                          # this checkout
    git worktree add --detach /tmp/fk-ref c32f92a
    .venv/bin/python bench/testing_load/scan_cpu.py --ref /tmp/fk-ref        # that checkout too, same run

Uses the load test's database (``fangkong_load``, created and seeded by run.py's functions) and opens a new
round per checkout, so every scan is a first swab into an open tube: the common case the sampling stations
send. With ``--ref`` both checkouts are measured alternately (``--repeat`` times each, same data, same
database — its schema is this checkout's) and the ratios printed. Figures: docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import run  # bench/testing_load/run.py: database, seed, rounds, gunicorn

TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def measure(config: dict[str, Any], root: Path, *, scans: int, offset: int, port: int) -> dict[str, float]:
    round_id = run.open_round(config, "cpu")
    server = run.Server(config["url"], port, 1, 1, root=root)
    server.start()
    try:
        assert server.process is not None
        worker = int(subprocess.check_output(["pgrep", "-P", str(server.process.pid)]).split()[0])
        connection = http.client.HTTPConnection("127.0.0.1", port)
        headers = {"Authorization": f"Bearer {config['token']}", "Content-Type": "application/json"}

        def scan(index: int) -> None:
            body = {
                "site_id": config["sites"][0],
                "round_id": round_id,
                "device_id": f"cpu{round_id}",
                "person_code": config["people"][offset + index],
                "tube_barcode": f"CPU{round_id:04d}T{index // 10:06d}",
            }
            key = {"Idempotency-Key": f"cpu-{index}"}
            connection.request("POST", "/api/testing/samples", body=json.dumps(body), headers={**headers, **key})
            response = connection.getresponse()
            answer = response.read()
            if response.status != 201:
                raise SystemExit(f"scan {index}: {response.status} {answer[:300]!r}")

        warm_up = 200
        for index in range(warm_up):
            scan(index)
        import psycopg

        with psycopg.connect(config["url"]) as db:
            backends = [
                pid
                for (pid,) in db.execute(
                    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            ]
        worker_before, backend_before = _cpu(worker), sum(_cpu(pid) for pid in backends)
        started = time.perf_counter()
        for index in range(warm_up, warm_up + scans):
            scan(index)
        elapsed = time.perf_counter() - started
        return {
            "worker_ms": 1000 * (_cpu(worker) - worker_before) / scans,
            "postgres_ms": 1000 * (sum(_cpu(pid) for pid in backends) - backend_before) / scans,
            "wall_ms": 1000 * elapsed / scans,
        }
    finally:
        server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgres://postgres@127.0.0.1:5432/fangkong_load")
    parser.add_argument("--scans", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--ref", type=Path, help="another checkout (a git worktree) measured alternately")
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()
    run.ensure_database(args.url)
    config = {**run.seed(args.url), "url": args.url}
    checkouts = [("this", run.ROOT)] + ([("ref", args.ref.resolve())] if args.ref else [])
    best: dict[str, dict[str, float]] = {}
    offset = 0
    for attempt in range(args.repeat):
        for name, root in checkouts:
            figures = measure(config, root, scans=args.scans, offset=offset, port=args.port)
            offset = (offset + args.scans + 200) % (len(config["people"]) - args.scans - 200)
            per_scan = ", ".join(f"{field} {value:.2f}" for field, value in figures.items())
            print(f"{name} #{attempt + 1}: {per_scan} (ms per scan)", flush=True)
            if name not in best or figures["worker_ms"] < best[name]["worker_ms"]:
                best[name] = figures
    if "ref" in best:
        for field in ("worker_ms", "postgres_ms"):
            ref, this = best["ref"][field], best["this"][field]
            print(f"{field}: ref {ref:.2f} → this {this:.2f} ({this / ref:.2f}×)")
    print(f"load average (1 min): {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
