"""Periodic work, declared in one place: each entry runs every `seconds` in the worker (`fangkong worker`).

Entries are plain functions that are safe to run again at any time (they claim their rows with conditional
updates), so several workers may run the schedule without doing anything twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.db import close_old_connections

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Periodic:
    name: str
    seconds: int
    run: Callable[[], object]


SCHEDULE: dict[str, Periodic] = {}


def every(seconds: int, name: str) -> Callable[[Callable[[], object]], Callable[[], object]]:
    def register(function: Callable[[], object]) -> Callable[[], object]:
        SCHEDULE[name] = Periodic(name=name, seconds=seconds, run=function)
        return function

    return register


def run_due(last_run: dict[str, float], *, now: float | None = None) -> list[str]:
    """Run every entry whose interval has passed; returns the names run."""
    now = time.monotonic() if now is None else now
    ran = []
    for entry in SCHEDULE.values():
        if now - last_run.get(entry.name, float("-inf")) >= entry.seconds:
            last_run[entry.name] = now
            try:
                close_old_connections()
                entry.run()
            except Exception:
                logger.exception("periodic %s failed", entry.name)
            ran.append(entry.name)
    return ran


def start_scheduler(stop: threading.Event, *, tick: float = 5.0) -> threading.Thread:
    def loop() -> None:
        last_run: dict[str, float] = {}
        while not stop.is_set():
            run_due(last_run)
            stop.wait(tick)

    thread = threading.Thread(target=loop, name="fangkong-schedule", daemon=True)
    thread.start()
    return thread
