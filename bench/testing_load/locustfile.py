"""Sampling devices for the load test (run by bench/testing_load/run.py, which sets the environment).

``SingleDevice``: one scan a second (``constant_throughput(1)``), POST /api/testing/samples, one person per
scan, ten scans per tube. ``BatchDevice``: batches of ``LOAD_BATCH_SIZE`` scans back to back, POST
/api/testing/samples/batch with an ``Idempotency-Key`` per batch.

Retries: a scan (or batch) that fails — connection refused or reset while the server restarts, a timeout, a
5xx — is sent again with the same idempotency key until it is accepted, as a device would. Every accepted
scan is written to ``LOAD_LOG_DIR/<pid>.jsonl`` (device, key, sample id, person code) at the end, with the
latency of the attempt that succeeded and the time from the first attempt, for run.py to reconcile.
"""

from __future__ import annotations

import json
import os
import time
from itertools import count
from typing import Any

import gevent
from locust import FastHttpUser, constant, constant_throughput, events, task

_CONFIG_FILE = os.environ.get("LOAD_CONFIG_FILE")
CONFIG: dict[str, Any] = json.loads(open(_CONFIG_FILE, encoding="utf-8").read()) if _CONFIG_FILE else {}
ACCEPTED: list[dict[str, Any]] = []
_device_numbers = count(0)
RETRY_PAUSE = 0.2


def _people_for(device: int, per_device: int) -> list[str]:
    people: list[str] = CONFIG["people"]
    start = device * per_device
    return people[start : start + per_device]


class _Device(FastHttpUser):
    abstract = True
    network_timeout = 10.0
    connection_timeout = 5.0

    def on_start(self) -> None:
        self.number = next(_device_numbers) + CONFIG.get("device_offset", 0)
        self.device_id = f"{CONFIG['run']}-d{self.number:03d}"
        self.site_id = CONFIG["sites"][self.number % len(CONFIG["sites"])]
        self.headers = {"Authorization": f"Bearer {CONFIG['token']}"}
        self.scans = 0
        self.tube = 0

    def next_scan(self) -> dict[str, Any] | None:
        people = _people_for(self.number, CONFIG["per_device"])
        if self.scans >= len(people):
            return None
        if self.scans % CONFIG["pool_size"] == 0:
            self.tube += 1
        scan = {
            "person_code": people[self.scans],
            "tube_barcode": f"{CONFIG['run'].upper()}D{self.number:03d}T{self.tube:05d}",
            "key": f"{self.device_id}-{self.scans}",
        }
        self.scans += 1
        return scan

    def send(self, path: str, body: dict[str, Any], key: str, name: str) -> dict[str, Any] | None:
        """POST until accepted; returns the JSON body, with the attempt's and the total latency."""
        first = time.perf_counter()
        attempts = 0
        while True:
            attempts += 1
            started = time.perf_counter()
            with self.client.post(
                path, json=body, headers={**self.headers, "Idempotency-Key": key}, name=name, catch_response=True
            ) as response:
                if response.status_code in (200, 201):
                    response.success()
                    data: dict[str, Any] = response.json()
                    data["_latency"] = time.perf_counter() - started
                    data["_total"] = time.perf_counter() - first
                    data["_attempts"] = attempts
                    data["_at"] = time.time()
                    return data
                if response.status_code in (400, 403, 404, 409, 422):
                    response.failure(f"refused {response.status_code}: {response.text[:200]}")
                    return None
                response.failure(f"retry after {response.status_code or 'connection error'}")
            gevent.sleep(RETRY_PAUSE)


class SingleDevice(_Device):
    wait_time = constant_throughput(1)

    @task
    def scan(self) -> None:
        scan = self.next_scan()
        if scan is None:
            gevent.sleep(1)
            return
        body = {**scan, "site_id": self.site_id, "round_id": CONFIG["round"], "device_id": self.device_id}
        data = self.send("/api/testing/samples", body, scan["key"], "single scan")
        if data is not None:
            ACCEPTED.append(
                {
                    "device": self.device_id,
                    "key": scan["key"],
                    "sample_id": data["sample_id"],
                    "person_code": scan["person_code"],
                    "latency": data["_latency"],
                    "total": data["_total"],
                    "attempts": data["_attempts"],
                    "at": data["_at"],
                }
            )


class BatchDevice(_Device):
    wait_time = constant(0)

    @task
    def batch(self) -> None:
        items = [scan for scan in (self.next_scan() for _ in range(CONFIG["batch_size"])) if scan is not None]
        if not items:
            gevent.sleep(1)
            return
        key = f"{self.device_id}-b{self.scans}"
        body = {"site_id": self.site_id, "round_id": CONFIG["round"], "device_id": self.device_id, "items": items}
        data = self.send("/api/testing/samples/batch", body, key, "batch")
        if data is None:
            return
        by_index = {item["index"]: item for item in data["accepted"]}
        for index, scan in enumerate(items):
            if index in by_index:
                ACCEPTED.append(
                    {
                        "device": self.device_id,
                        "key": scan["key"],
                        "sample_id": by_index[index]["sample_id"],
                        "person_code": scan["person_code"],
                        "latency": data["_latency"],
                        "total": data["_total"],
                        "attempts": data["_attempts"],
                        "at": data["_at"],
                    }
                )


@events.quitting.add_listener
def _write_log(environment: Any, **_: Any) -> None:
    directory = CONFIG.get("log_dir")
    if not directory:
        return
    with open(os.path.join(directory, f"{os.getpid()}.jsonl"), "w", encoding="utf-8") as log:
        for row in ACCEPTED:
            log.write(json.dumps(row) + "\n")
