"""Sampling registrations per second through the batch API (POST /api/testing/samples/batch) on PostgreSQL.

What it does, in order:
1. creates a fresh PostgreSQL database (`--db`, dropped first), migrates it, and builds a city → county → street
   → community tree, one sampling site, one open round (10 people a tube), a community worker and an API token;
2. loads `--registry` people into the person registry (the residents whose ID cards will be scanned);
3. starts gunicorn (`--workers`, sync workers, CONN_MAX_AGE on) on 127.0.0.1:`--port`;
4. `--devices` client threads each post batches of `--batch` scans with an Idempotency-Key until `--total`
   scans are sent: `--known` of the scans are residents already in the registry, the rest unknown ID numbers
   with a name (registered on the spot); every scan goes into 10-person tubes. The timer covers step 4 only;
5. replays 10 batches (same key, same body) and checks the answers are the stored ones;
6. checks the database: exactly `--total` samples, one per scan key, no tube over capacity, the replayed
   batches added nothing; prints registrations/s, batch latency percentiles, the load average, and the
   generator's own CPU time (it shares the two cores with the server).

    .venv/bin/python bench/testing_batch_api.py --total 200000 --batch 500 --devices 4 --workers 2
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _psql(sql: str) -> None:
    subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", sql, "postgres"], check=True)  # noqa: S607


def _id_number(i: int) -> str:
    from fangkong.core.identity import make_resident_id

    return make_resident_id("410302", date(1940, 1, 1) + timedelta(days=i // 1000), i % 1000)


def setup(args: argparse.Namespace) -> dict[str, object]:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import transaction
    from django.utils import timezone

    from fangkong.core.models import Division, DivisionLevel, User
    from fangkong.core.roles import Role
    from fangkong.core.tokens import issue_token
    from fangkong.people.models import DocumentKind
    from fangkong.people.services import BulkPerson, bulk_resolve_people
    from fangkong.testing.models import RoundStatus, SamplingSite, TestRound

    call_command("migrate", verbosity=0)
    city = Division.objects.create(code="410300", path="4103", name="示范市", level=DivisionLevel.CITY)
    county = Division.objects.create(
        code="410302", path="410302", name="老城区", level=DivisionLevel.COUNTY, parent=city
    )
    street = Division.objects.create(
        code="410302001", path="410302001", name="西关街道", level=DivisionLevel.STREET, parent=county
    )
    community = Division.objects.create(
        code="410302001001", path="410302001001", name="东社区", level=DivisionLevel.COMMUNITY, parent=street
    )
    worker = User.objects.create_user(username="bench-sampler", role=Role.COMMUNITY_WORKER, division=community)
    _token, secret = issue_token(worker, name="bench", by=None)
    site = SamplingSite.objects.create(division=community, name="东社区广场", hourly_capacity=100000)
    now = timezone.now()
    test_round = TestRound.objects.create(
        division=county,
        name="bench round",
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=2),
        pool_size=10,
        status=RoundStatus.OPEN,
    )
    started = time.perf_counter()
    chunk = 20000
    for start in range(0, args.registry, chunk):
        people = [
            BulkPerson(
                key=("document", DocumentKind.RESIDENT_ID, _id_number(i)),
                name=f"居民{i}",
                document_kind=DocumentKind.RESIDENT_ID,
                document_number=_id_number(i),
                phone="",
                address="",
                home_division=community.path,
            )
            for i in range(start, min(start + chunk, args.registry))
        ]
        with transaction.atomic():
            bulk_resolve_people(people)
    print(f"registry: {args.registry} people loaded in {time.perf_counter() - started:.1f} s", flush=True)
    return {"token": secret, "site": site.pk, "round": test_round.pk}


def run_clients(args: argparse.Namespace, env: dict[str, object]) -> tuple[float, list[float], list[dict]]:
    per_device = args.total // args.devices
    latencies: list[float] = []
    bodies: list[dict] = []  # (key, body, response) of each device's first batches, for the replay check
    lock = threading.Lock()
    errors: list[str] = []

    def device(number: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=120)
        headers = {"Authorization": f"Bearer {env['token']}", "Content-Type": "application/json"}
        sent = 0
        scan = 0
        while sent < per_device:
            size = min(args.batch, per_device - sent)
            items = []
            for _ in range(size):
                global_index = number * per_device + scan
                known = (global_index % 100) < args.known * 100
                if known:
                    code = _id_number(global_index % args.registry)
                    name = ""
                else:
                    code = _id_number(args.registry + global_index)
                    name = f"新居民{global_index}"
                items.append(
                    {
                        "person_code": code,
                        "tube_barcode": f"D{number:02d}{scan // 10:09d}",
                        "key": f"d{number}-{scan}",
                        "name": name,
                    }
                )
                scan += 1
            key = str(uuid.uuid4())
            body = json.dumps(
                {"site_id": env["site"], "round_id": env["round"], "device_id": f"dev-{number}", "items": items}
            )
            for attempt in range(5):
                try:
                    started = time.perf_counter()
                    connection.request("POST", "/api/testing/samples/batch", body, {**headers, "Idempotency-Key": key})
                    response = connection.getresponse()
                    payload = response.read()
                    elapsed = time.perf_counter() - started
                    break
                except (OSError, http.client.HTTPException):
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=120)
                    time.sleep(0.5 * (attempt + 1))
            else:
                errors.append(f"device {number}: gave up")
                return
            if response.status != 200:
                errors.append(f"device {number}: HTTP {response.status} {payload[:300]!r}")
                return
            answer = json.loads(payload)
            with lock:
                latencies.append(elapsed)
                if answer["failed_count"]:
                    errors.append(f"device {number}: {answer['failed'][:3]}")
                if len(bodies) < 10:
                    bodies.append({"key": key, "body": body, "answer": answer})
            sent += size

    threads = [threading.Thread(target=device, args=(n,)) for n in range(args.devices)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    if errors:
        print("ERRORS:", *errors[:10], sep="\n  ")
    return wall, latencies, bodies


def replay(args: argparse.Namespace, env: dict[str, object], bodies: list[dict]) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", args.port, timeout=120)
    same = 0
    for sent in bodies:
        connection.request(
            "POST",
            "/api/testing/samples/batch",
            sent["body"],
            {
                "Authorization": f"Bearer {env['token']}",
                "Content-Type": "application/json",
                "Idempotency-Key": sent["key"],
            },
        )
        response = connection.getresponse()
        answer = json.loads(response.read())
        if response.getheader("Idempotent-Replayed") == "true" and answer["accepted"] == sent["answer"]["accepted"]:
            same += 1
    return same


def check(args: argparse.Namespace) -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*), count(DISTINCT (device_id, idempotency_key)) FROM testing_sample")
        samples, keys = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM testing_tube WHERE sample_count > capacity")
        (over,) = cursor.fetchone()
        cursor.execute("SELECT coalesce(sum(sample_count), 0) FROM testing_tube")
        (slots,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM testing_samplingflag WHERE kind = 'duplicate_in_round'")
        (duplicates,) = cursor.fetchone()
    return {
        "samples": samples,
        "distinct_keys": keys,
        "tubes_over_capacity": over,
        "slots": slots,
        "duplicate_flags": duplicates,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--total", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--devices", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--registry", type=int, default=200_000)
    parser.add_argument("--known", type=float, default=0.9, help="share of scans of people already registered")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--db", default="fangkong_bench_batch")
    args = parser.parse_args()

    url = f"postgres://postgres@127.0.0.1:5432/{args.db}"
    os.environ.update(
        DATABASE_URL=url,
        DJANGO_SETTINGS_MODULE="fangkong.settings",
        FANGKONG_CONN_MAX_AGE="600",
        FANGKONG_DEBUG="0",
    )
    _psql(f"DROP DATABASE IF EXISTS {args.db}")
    _psql(f"CREATE DATABASE {args.db}")
    env = setup(args)
    server = subprocess.Popen(  # noqa: S603
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "fangkong.wsgi",
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{args.port}",
            "--timeout",
            "300",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    try:
        for _ in range(100):
            try:
                http.client.HTTPConnection("127.0.0.1", args.port, timeout=2).request("GET", "/api/openapi.json")
                break
            except OSError:
                time.sleep(0.2)
        cpu_before = resource.getrusage(resource.RUSAGE_SELF)
        wall, latencies, bodies = run_clients(args, env)
        cpu_after = resource.getrusage(resource.RUSAGE_SELF)
        load = os.getloadavg()[0]
        replayed = replay(args, env, bodies)
    finally:
        server.terminate()
        server.wait(timeout=30)
    figures = check(args)
    from django.db import connection

    connection.close()
    generator_cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
    latencies.sort()
    print(
        json.dumps(
            {
                "total_scans": args.total,
                "batch": args.batch,
                "devices": args.devices,
                "workers": args.workers,
                "registry": args.registry,
                "known_share": args.known,
                "seconds": round(wall, 2),
                "registrations_per_second": round(args.total / wall),
                "batch_latency_p50_s": round(statistics.median(latencies), 3) if latencies else None,
                "batch_latency_p99_s": round(latencies[int(len(latencies) * 0.99) - 1], 3) if latencies else None,
                "generator_cpu_s": round(generator_cpu, 1),
                "load_average_1min_after": round(load, 2),
                "replayed_batches_identical": f"{replayed}/{len(bodies)}",
                **figures,
            },
            indent=2,
        )
    )
    _psql(f"DROP DATABASE IF EXISTS {args.db}")


if __name__ == "__main__":
    main()
