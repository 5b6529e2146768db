"""A text progress bar for the CLI, fed by the same progress callbacks jobs use."""

from __future__ import annotations

import time
from typing import Protocol


class Writable(Protocol):
    def write(self, text: str, /) -> object: ...
    def flush(self) -> None: ...


class ProgressBar:
    def __init__(self, out: Writable, *, label: str, width: int = 30) -> None:
        self.out, self.label, self.width = out, label, width
        self._last = 0.0

    def update(self, done: int, total: int | None = None, message: str = "") -> None:
        now = time.monotonic()
        if now - self._last < 0.2 and (total is None or done < total):
            return
        self._last = now
        if total:
            filled = int(self.width * done / total)
            bar = "#" * filled + "-" * (self.width - filled)
            self.out.write(f"\r{self.label} [{bar}] {done}/{total} {message}"[:120])
        else:
            self.out.write(f"\r{self.label} {done} {message}"[:120])
        self.out.flush()

    def finish(self) -> None:
        self.out.write("\n")
