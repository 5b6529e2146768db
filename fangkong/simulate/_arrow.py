"""Small vectorised helpers to build Arrow string columns without Python loops."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc


def take_strings(vocabulary: Sequence[str], index: npt.NDArray[np.integer]) -> pa.Array:
    """`vocabulary[index]` as an Arrow string array (done in C++)."""
    return pc.take(pa.array(list(vocabulary), type=pa.string()), pa.array(np.asarray(index, dtype=np.int64)))


def digits(values: npt.NDArray[np.integer], width: int) -> pa.Array:
    """Non-negative integers as zero-padded decimal strings of a fixed width."""
    as_text = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    return pc.utf8_lpad(as_text, width=width, padding="0")


def join(*parts: pa.Array | str) -> pa.Array:
    """Element-wise concatenation of string arrays (plain strings are broadcast)."""
    return pc.binary_join_element_wise(*parts, "")


def ints(values: npt.NDArray[np.integer]) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64())


def nullable_ints(values: npt.NDArray[np.integer], missing: int = -1) -> pa.Array:
    array = np.asarray(values, dtype=np.int64)
    return pa.array(array, type=pa.int64(), mask=array == missing)
