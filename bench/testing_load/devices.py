"""Sampling devices for the load test on asyncio + aiohttp (run by bench/testing_load/run.py, the default client).

The same devices as ``locustfile.py`` — ``single``: each device scans one person a second (its own schedule,
open loop: a slow answer does not delay the next scan's due time), ten scans per tube, POST /api/testing/samples;
``batch``: each device sends batches of ``batch_size`` scans back to back to /api/testing/samples/batch — with
the same retries (a scan or batch that fails by connection error, timeout or 5xx is sent again with the same
idempotency key every 0.2 s until accepted) and the same log of accepted scans for run.py to reconcile.

Why a second client: 200 locust users in one gevent process reported a median of ~250–280 ms for scans that the
server's own access log timed at a median of ~13 ms and a p99 of ~37 ms (docs/benchmarks.md), with the machine
half idle — the simulated devices' latency was measured inside the load generator's scheduling, not the
server's. One asyncio loop costs ~0.5 ms of CPU per request and adds no such delay; ``--client locust`` in
run.py still runs the locust devices for comparison.

    LOAD_CONFIG_FILE=… python bench/testing_load/devices.py single 200 60
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import time
from typing import Any

import aiohttp

RETRY_PAUSE = 0.2
REFUSED = (400, 403, 404, 409, 422)


class Device:
    def __init__(self, number: int, config: dict[str, Any], session: aiohttp.ClientSession, log: list[dict[str, Any]]):
        self.config = config
        self.session = session
        self.log = log
        self.number = number + config.get("device_offset", 0)
        self.device_id = f"{config['run']}-d{self.number:03d}"
        self.site_id = config["sites"][self.number % len(config["sites"])]
        start = self.number * config["per_device"]
        self.people: list[str] = config["people"][start : start + config["per_device"]]
        self.headers = {"Authorization": f"Bearer {config['token']}"}
        self.scans = 0
        self.tube = 0
        self.refused = 0

    def next_scan(self) -> dict[str, Any] | None:
        if self.scans >= len(self.people):
            return None
        if self.scans % self.config["pool_size"] == 0:
            self.tube += 1
        scan = {
            "person_code": self.people[self.scans],
            "tube_barcode": f"{self.config['run'].upper()}D{self.number:03d}T{self.tube:05d}",
            "key": f"{self.device_id}-{self.scans}",
        }
        self.scans += 1
        return scan

    async def send(self, path: str, body: dict[str, Any], key: str) -> dict[str, Any] | None:
        """POST until accepted; the JSON answer with the accepted attempt's latency and the total time."""
        first = time.perf_counter()
        attempts = 0
        url = f"{self.config['base_url']}{path}"
        while True:
            attempts += 1
            started = time.perf_counter()
            try:
                async with self.session.post(
                    url, json=body, headers={**self.headers, "Idempotency-Key": key}
                ) as response:
                    text = await response.text()
                    status = response.status
            except (TimeoutError, aiohttp.ClientError):
                status, text = 0, ""
            if status in (200, 201):
                data: dict[str, Any] = json.loads(text)
                data["_latency"] = time.perf_counter() - started
                data["_total"] = time.perf_counter() - first
                data["_attempts"] = attempts
                data["_at"] = time.time()
                return data
            if status in REFUSED:
                self.refused += 1
                print(f"refused {status}: {text[:200]}", file=sys.stderr)
                return None
            await asyncio.sleep(RETRY_PAUSE)

    def accept(self, scan: dict[str, Any], sample_id: int, data: dict[str, Any]) -> None:
        self.log.append(
            {
                "device": self.device_id,
                "key": scan["key"],
                "sample_id": sample_id,
                "person_code": scan["person_code"],
                "latency": data["_latency"],
                "total": data["_total"],
                "attempts": data["_attempts"],
                "at": data["_at"],
            }
        )

    async def single(self, until: float) -> None:
        # Each device keeps its own phase within the second (seeded, uniform): 200 stations do not scan in step.
        due = time.perf_counter() + random.Random(self.number).random()
        while due < until:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            scan = self.next_scan()
            if scan is None:
                return
            body = {**scan, "site_id": self.site_id, "round_id": self.config["round"], "device_id": self.device_id}
            data = await self.send("/api/testing/samples", body, scan["key"])
            if data is not None:
                self.accept(scan, data["sample_id"], data)
            due += 1.0

    async def batch(self, until: float) -> None:
        while time.perf_counter() < until:
            items = [scan for scan in (self.next_scan() for _ in range(self.config["batch_size"])) if scan is not None]
            if not items:
                return
            key = f"{self.device_id}-b{self.scans}"
            body = {"site_id": self.site_id, "round_id": self.config["round"], "device_id": self.device_id}
            data = await self.send("/api/testing/samples/batch", {**body, "items": items}, key)
            if data is None:
                continue
            by_index = {item["index"]: item for item in data["accepted"]}
            for index, scan in enumerate(items):
                if index in by_index:
                    self.accept(scan, by_index[index]["sample_id"], data)


async def main(scenario: str, devices: int, duration: float) -> None:
    config = json.loads(open(os.environ["LOAD_CONFIG_FILE"], encoding="utf-8").read())
    log: list[dict[str, Any]] = []
    timeout = aiohttp.ClientTimeout(total=10.0, connect=5.0)
    connector = aiohttp.TCPConnector(limit=0, force_close=True)  # gunicorn's sync workers close every connection
    started = time.perf_counter()
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        fleet = [Device(number, config, session, log) for number in range(devices)]
        until = started + duration
        await asyncio.gather(*(getattr(device, scenario)(until) for device in fleet))
    elapsed = time.perf_counter() - started
    with open(os.path.join(config["log_dir"], f"{os.getpid()}.jsonl"), "w", encoding="utf-8") as out:
        for row in log:
            out.write(json.dumps(row) + "\n")
    cpu = time.process_time()
    print(
        f"asyncio devices: {devices} × {scenario}, {len(log):,} scans accepted in {elapsed:.1f} s, "
        f"{sum(device.refused for device in fleet)} refused; client CPU {cpu:.1f} s "
        f"({1000 * cpu / max(len(log), 1):.2f} ms per accepted scan)"
    )


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2]), float(sys.argv[3])))
