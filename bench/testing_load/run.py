"""Sampling API load test on PostgreSQL + gunicorn, with retries and a server restart in the middle.

    .venv/bin/python bench/testing_load/run.py                      # both scenarios, 60 s each
    .venv/bin/python bench/testing_load/run.py --scenario single --duration 90 --workers 4

One command: creates (once) the database ``fangkong_load`` with a city tree, ten sampling sites, an API user and
200,000 registered residents; opens a new mass-testing round per run; serves the app with gunicorn; runs the
simulated devices against it (``--client asyncio``, the default: devices.py; or ``--client locust``:
locustfile.py, headless); kills gunicorn (SIGKILL, the whole process group) ``--restart-at`` seconds in and starts it
again; then reconciles what the clients believe was accepted against the database and prints the figures.

Scenarios (the same in devices.py and locustfile.py):

- ``single``: 200 devices, one scan a second each (offered 200 requests/s), POST /api/testing/samples.
  Latency percentiles are of the attempts that succeeded, outside and including the restart window.
- ``batch``: ``--batch-devices`` devices sending batches of ``--batch-size`` scans back to back; the rate is
  accepted person-registrations per second over the run (restart included).

Reconciliation: every (device, key) a client saw accepted must be exactly one sample in the database with the
same id (else *lost*); no key may be stored twice and no person may have a second (duplicate) sample in the
round (else *duplicated*); samples stored that no client saw accepted are counted separately.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
VENV = ROOT / ".venv" / "bin"
PEOPLE = 200_000
COMMUNITIES = 10


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "fangkong.settings")
    import django

    django.setup()


def ensure_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            connection.execute(f'CREATE DATABASE "{name}"'.encode())
    env = {**os.environ, "DATABASE_URL": url}
    subprocess.run([VENV / "python", "manage.py", "migrate", "--no-input", "-v0"], check=True, cwd=ROOT, env=env)


def seed(url: str) -> dict[str, Any]:
    """The tree, sites, API user and residents (once); a new open round for this run."""
    setup_django(url)
    from django.db import transaction
    from django.utils import timezone

    from fangkong.core.identity import make_resident_id
    from fangkong.core.models import Division, DivisionLevel, User
    from fangkong.core.roles import Role
    from fangkong.core.tokens import issue_token
    from fangkong.people.services import BulkPerson, bulk_resolve_people
    from fangkong.testing import services
    from fangkong.testing.models import SamplingSite, SiteKind

    def node(path: str, name: str, level: str, parent: Division | None) -> Division:
        division, _ = Division.objects.get_or_create(
            path=path, defaults={"code": path.ljust(6, "0"), "name": name, "level": level, "parent": parent}
        )
        return division

    province = node("41", "河南省", DivisionLevel.PROVINCE, None)
    city = node("4103", "示范市", DivisionLevel.CITY, province)
    county = node("410302", "老城区", DivisionLevel.COUNTY, city)
    street = node("410302001", "西关街道", DivisionLevel.STREET, county)
    communities = [
        node(f"410302001{i:03d}", f"第{i}社区", DivisionLevel.COMMUNITY, street) for i in range(1, COMMUNITIES + 1)
    ]
    user, created = User.objects.get_or_create(
        username="load-test-devices", defaults={"role": Role.CITY_HQ, "division": city}
    )
    sites = []
    for community in communities:
        site = SamplingSite.objects.filter(division=community).first()
        if site is None:
            site = services.create_site(
                community, name=f"{community.name}采样点", kind=SiteKind.FIXED, hourly_capacity=600, by=user
            )
        sites.append(site.pk)
    numbers = [
        make_resident_id("410302", dt.date(1950, 1, 1) + dt.timedelta(days=n // 1000), n % 1000) for n in range(PEOPLE)
    ]
    from fangkong.people.models import PersonDocument

    if PersonDocument.objects.count() < PEOPLE:
        print(f"registering {PEOPLE:,} residents …", flush=True)
        for start in range(0, PEOPLE, 20_000):
            with transaction.atomic():
                bulk_resolve_people(
                    [
                        BulkPerson(
                            key=("document", "resident_id", number),
                            name="居民",
                            document_kind="resident_id",
                            document_number=number,
                            phone="",
                            address="",
                            home_division=communities[(start + i) % COMMUNITIES].path,
                        )
                        for i, number in enumerate(numbers[start : start + 20_000])
                    ]
                )
    _, token = issue_token(user, name=f"load {timezone.now():%H%M%S}", by=None)
    return {"token": token, "sites": sites, "people": numbers, "city": city.path, "user": user.pk}


def open_round(config: dict[str, Any], scenario: str) -> int:
    """A new open round for one scenario, so that its people are sampled once in it."""
    from django.utils import timezone

    from fangkong.core.models import Division, User
    from fangkong.testing import services
    from fangkong.testing.models import RoundStatus

    user = User.objects.get(pk=config["user"])
    now = timezone.now()
    test_round = services.create_round(
        Division.objects.get(path=config["city"]),
        name=f"load {scenario} {now:%Y-%m-%d %H:%M:%S}",
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now + dt.timedelta(days=2),
        by=user,
        pool_size=10,
    )
    return services.set_round_status(test_round, status=RoundStatus.OPEN, by=user).pk


class Server:
    def __init__(self, url: str, port: int, workers: int, threads: int, root: Path = ROOT) -> None:
        self.root = root  # the checkout served (scan_cpu.py serves another commit's worktree beside this one)
        self.access_log = Path(tempfile.mkdtemp(prefix="fangkong-load-server-")) / "access.log"
        self.env = {
            **os.environ,
            "DATABASE_URL": url,
            "FANGKONG_DEBUG": "0",
            "FANGKONG_CONN_MAX_AGE": "600",
            "FANGKONG_LANGUAGE": "en",
        }
        self.args = [
            str(VENV / "gunicorn"),
            "fangkong.wsgi",
            "-w",
            str(workers),
            "--threads",
            str(threads),
            "-b",
            f"127.0.0.1:{port}",
            "--timeout",
            "60",
            "--log-level",
            "warning",
            "--preload",  # import the app once in the master: a restart costs one import, not one per worker
            "--access-logfile",  # the server's own time per request (%(L)s, seconds), beside the clients' figures
            str(self.access_log),
            "--access-logformat",
            "%(s)s %(L)s %(U)s",
        ]
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        started = time.perf_counter()
        self.process = subprocess.Popen(self.args, cwd=self.root, env=self.env, start_new_session=True)
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/testing/rounds", timeout=2)  # noqa: S310
                return time.perf_counter() - started
            except urllib.error.HTTPError:  # 401 without a token: the app answers
                return time.perf_counter() - started
            except Exception:  # noqa: BLE001 - not up yet
                if self.process.poll() is not None:
                    raise RuntimeError("gunicorn exited") from None
                time.sleep(0.1)

    def kill(self) -> None:
        if self.process is not None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def cpu_seconds(self) -> float:
        return 0.0


def percentile(values: list[float], share: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def reconcile(url: str, run: str, round_id: int, accepted: list[dict[str, Any]]) -> dict[str, int]:
    setup_django(url)
    from django.db.models import Count

    from fangkong.testing.models import Sample

    stored = {
        (device, key): sample_id
        for device, key, sample_id in Sample.objects.filter(round_id=round_id, device_id__startswith=run).values_list(
            "device_id", "idempotency_key", "pk"
        )
    }
    believed = {(row["device"], row["key"]): row["sample_id"] for row in accepted}
    lost = sum(1 for key, sample_id in believed.items() if stored.get(key) != sample_id)
    per_key = Sample.objects.filter(round_id=round_id, device_id__startswith=run).values("device_id", "idempotency_key")
    keys_twice = per_key.annotate(n=Count("id")).filter(n__gt=1).count()
    duplicate_people = Sample.objects.filter(round_id=round_id, device_id__startswith=run, is_duplicate=True).count()
    return {
        "believed": len(believed),
        "stored": len(stored),
        "lost": lost,
        "duplicated": keys_twice + duplicate_people,
        "stored_not_acknowledged": len(set(stored) - set(believed)),
    }


def run_scenario(args: argparse.Namespace, scenario: str, server: Server, config: dict[str, Any]) -> dict[str, Any]:
    run = f"{scenario[0]}{int(time.time()) % 100000}"
    users = args.users if scenario == "single" else args.batch_devices
    per_device = len(config["people"]) // max(users, 1)
    if scenario == "single":
        per_device = min(per_device, args.duration + 30)
    log_dir = tempfile.mkdtemp(prefix="fangkong-load-")
    access_from = server.access_log.stat().st_size if server.access_log.exists() else 0
    round_id = open_round(config, scenario)
    load_config = {
        **config,
        "round": round_id,
        "run": run,
        "per_device": per_device,
        "pool_size": 10,
        "log_dir": log_dir,
    }
    load_config["batch_size"] = args.batch_size
    config_file = Path(log_dir) / "config.json"
    env = {**os.environ, "LOAD_CONFIG_FILE": str(config_file)}
    load_config["base_url"] = f"http://127.0.0.1:{server.port}"
    config_file.write_text(json.dumps(load_config))
    if args.client == "asyncio":
        command = [str(VENV / "python"), str(Path(__file__).with_name("devices.py")), scenario, str(users)]
        command.append(str(args.duration))
    else:
        csv = Path(log_dir) / "locust"
        command = [
            str(VENV / "locust"),
            "-f",
            str(Path(__file__).with_name("locustfile.py")),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(min(users, 100)),
            "-t",
            f"{args.duration}s",
            "--host",
            f"http://127.0.0.1:{server.port}",
            "--csv",
            str(csv),
            "--only-summary",
            "--stop-timeout",
            "30",
            "SingleDevice" if scenario == "single" else "BatchDevice",
        ]
    cpu_before = _children_cpu()
    started = time.time()
    client = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    time.sleep(args.restart_at)
    killed_at = time.time()
    server.kill()
    time.sleep(args.down_seconds)
    boot = server.start()
    back_at = time.time()
    output, _ = client.communicate()
    client_cpu = _children_cpu() - cpu_before
    finished = time.time()
    accepted = []
    for path in Path(log_dir).glob("*.jsonl"):
        accepted += [json.loads(line) for line in path.read_text().splitlines() if line]
    figures = reconcile(args.url, run, round_id, accepted)
    with server.access_log.open(encoding="utf-8") as access:
        access.seek(access_from)
        served = [line.split() for line in access.read().splitlines()]
    path = "/api/testing/samples" if scenario == "single" else "/api/testing/samples/batch"
    server_times = [float(fields[1]) for fields in served if len(fields) == 3 and fields[2] == path]
    outside = [row["latency"] for row in accepted if not (killed_at - 2 <= row["at"] <= back_at + 5)]
    latency = [row["latency"] for row in accepted]
    total = [row["total"] for row in accepted]
    return {
        "scenario": scenario,
        "run": run,
        "round": round_id,
        "devices": users,
        "duration_s": round(finished - started, 1),
        "restart": {"killed_after_s": round(killed_at - started, 1), "down_s": round(back_at - killed_at, 1)},
        "gunicorn_boot_s": round(boot, 1),
        "accepted": len(accepted),
        "rate_per_s": round(len(accepted) / args.duration, 1),
        "rate_per_s_while_up": round(len(accepted) / max(args.duration - (back_at - killed_at), 1), 1),
        "latency_ms_outside_restart": {
            "p50": round(1000 * percentile(outside, 0.50), 1),
            "p95": round(1000 * percentile(outside, 0.95), 1),
            "p99": round(1000 * percentile(outside, 0.99), 1),
        },
        "latency_ms_all": {
            "p50": round(1000 * percentile(latency, 0.50), 1),
            "p99": round(1000 * percentile(latency, 0.99), 1),
        },
        "until_accepted_ms_p99": round(1000 * percentile(total, 0.99), 1),
        "server_ms": {  # gunicorn's access log: from the worker taking the request to its answer, every attempt
            "requests": len(server_times),
            "p50": round(1000 * percentile(server_times, 0.50), 1),
            "p99": round(1000 * percentile(server_times, 0.99), 1),
        },
        "retried_scans": sum(1 for row in accepted if row["attempts"] > 1),
        "mean_attempts": round(statistics.fmean(row["attempts"] for row in accepted), 3) if accepted else 0,
        "client": args.client,
        "client_cpu_s": round(client_cpu, 1),
        **figures,
        "client_tail": output.decode(errors="replace").strip().splitlines()[-14:],
    }


def _children_cpu() -> float:
    usage = os.times()
    return usage.children_user + usage.children_system


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="postgres://postgres@127.0.0.1:5432/fangkong_load")
    parser.add_argument("--scenario", choices=["single", "batch", "both"], default="both")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--batch-devices", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--duration", type=int, default=60)
    parser.add_argument("--restart-at", type=float, default=30)
    parser.add_argument("--down-seconds", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=6)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument(
        "--client",
        choices=["asyncio", "locust"],
        default="asyncio",
        help="the simulated devices: devices.py (asyncio + aiohttp) or locustfile.py (locust)",
    )
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()

    ensure_database(args.url)
    config = seed(args.url)
    server = Server(args.url, args.port, args.workers, args.threads)
    server.start()
    results = []
    try:
        for scenario in ["single", "batch"] if args.scenario == "both" else [args.scenario]:
            results.append(run_scenario(args, scenario, server, config))
    finally:
        server.kill()
    load = os.getloadavg()
    for result in results:
        tail = result.pop("client_tail")
        print(json.dumps(result, indent=2))
        print("\n".join(tail))
    print(f"load average (1/5/15 min): {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} CPUs")
    print(f"gunicorn: {args.workers} workers × {args.threads} threads; {args.client} devices on the same machine")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
