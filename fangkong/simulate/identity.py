"""Vectorised resident ID numbers (GB 11643-1999) and mobile numbers.

The scalar reference implementation lives in ``fangkong.core.identity``; this module builds millions of
numbers at once with numpy and is tested against it.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from fangkong.simulate import _arrow

WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2], dtype=np.int64)
CHECK_CHARACTERS = "10X98765432"

# Mainland mobile prefixes in common use in 2021 (second digit 3-9). Carrier is never inferred from them.
MOBILE_PREFIXES = np.array(
    [
        130,
        131,
        132,
        133,
        134,
        135,
        136,
        137,
        138,
        139,
        145,
        147,
        150,
        151,
        152,
        153,
        155,
        156,
        157,
        158,
        159,
        166,
        170,
        171,
        173,
        175,
        176,
        177,
        178,
        180,
        181,
        182,
        183,
        184,
        185,
        186,
        187,
        188,
        189,
        191,
        198,
        199,
    ],
    dtype=np.int64,
)


def _digit_matrix(values: npt.NDArray[np.int64], width: int) -> npt.NDArray[np.int64]:
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers[None, :]) % 10


def check_characters(first17: npt.NDArray[np.int64]) -> npt.NDArray[np.int64]:
    """Index into ``CHECK_CHARACTERS`` for each 17-digit prefix given as an integer."""
    total = _digit_matrix(first17, 17) @ WEIGHTS
    return np.asarray(total % 11, dtype=np.int64)


def sequence_numbers(
    region: npt.NDArray[np.int64],
    birth_days: npt.NDArray[np.int64],
    is_male: npt.NDArray[np.bool_],
    rng: np.random.Generator,
) -> npt.NDArray[np.int64]:
    """Unique 3-digit sequence numbers per (region, birth date) with the sex parity (odd = male).

    People sharing region, birth date and sex are ranked; the rank is spread over the 500 numbers of the
    right parity from a random start, so numbers are unique and look random.
    """
    n = region.shape[0]
    key = (region * 100_000 + (birth_days + 60_000)) * 2 + is_male.astype(np.int64)
    order = np.argsort(key, kind="stable")
    sorted_key = key[order]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]])
    group = np.cumsum(np.r_[True, sorted_key[1:] != sorted_key[:-1]]) - 1
    rank_sorted = np.arange(n, dtype=np.int64) - starts[group]
    if n and rank_sorted.max() >= 499:
        raise ValueError("more than 499 people share a region, birth date and sex")
    offset = rng.integers(0, 499, size=starts.shape[0])
    slot_sorted = (offset[group] + rank_sorted) % 499 + 1  # 1..499: never 000
    slots = np.empty(n, dtype=np.int64)
    slots[order] = slot_sorted
    return 2 * slots - 2 + is_male.astype(np.int64)  # 0..997, parity = sex


def resident_ids(
    region: npt.NDArray[np.int64],
    birth_yyyymmdd: npt.NDArray[np.int64],
    sequence: npt.NDArray[np.int64],
) -> _arrow.ArrowArray:
    """18-character ID numbers as an Arrow string array."""
    first17 = (region * 100_000_000 + birth_yyyymmdd) * 1000 + sequence
    check = check_characters(first17)
    return _arrow.join(_arrow.digits(first17, 17), _arrow.take_strings(list(CHECK_CHARACTERS), check))


def is_valid_resident_id(number: str) -> bool:
    """Scalar check (format, check character); used by tests and the arrivals generator."""
    if len(number) != 18 or not number[:17].isdigit():
        return False
    total = sum(int(c) * int(w) for c, w in zip(number[:17], WEIGHTS, strict=True))
    return CHECK_CHARACTERS[total % 11] == number[17].upper()


def unique_mobiles(n: int, rng: np.random.Generator) -> npt.NDArray[np.int64]:
    """``n`` distinct 11-digit mobile numbers as int64."""
    numbers = np.empty(0, dtype=np.int64)
    while numbers.shape[0] < n:
        need = n - numbers.shape[0] + 16
        fresh = MOBILE_PREFIXES[rng.integers(0, MOBILE_PREFIXES.shape[0], need)] * 100_000_000 + rng.integers(
            0, 100_000_000, need
        )
        merged = np.concatenate([numbers, fresh])
        _, first = np.unique(merged, return_index=True)
        numbers = merged[np.sort(first)]
    result = numbers[:n].copy()
    rng.shuffle(result)
    return result
