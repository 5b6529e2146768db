"""Named random streams: every module draws from its own generator, seeded from (seed, name).

Two runs that differ only in a policy therefore share every draw that the policy does not touch
(Starsim's "common random numbers"): the city, the seeding and each transmission layer have their own stream.
"""

from __future__ import annotations

import zlib

import numpy as np


def stream(seed: int, name: str) -> np.random.Generator:
    """A generator for one named purpose, independent of every other name under the same seed."""
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence([int(seed) & 0xFFFFFFFF, key])))


class Streams:
    """Lazily created named generators for one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = int(seed)
        self._generators: dict[str, np.random.Generator] = {}

    def __call__(self, name: str) -> np.random.Generator:
        generator = self._generators.get(name)
        if generator is None:
            generator = stream(self.seed, name)
            self._generators[name] = generator
        return generator
