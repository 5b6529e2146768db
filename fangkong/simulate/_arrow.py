"""Small vectorised helpers to build Arrow string columns without Python loops."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

ArrowArray = Any  # pyarrow-stubs' generic Array types are too narrow for element-wise string kernels


def take_strings(vocabulary: Sequence[str], index: npt.NDArray[np.integer[Any]]) -> ArrowArray:
    """`vocabulary[index]` as an Arrow string array (done in C++)."""
    indices = pa.array(np.asarray(index, dtype=np.int64), type=pa.int64())
    return pc.take(pa.array(list(vocabulary), type=pa.string()), indices)


def digits(values: npt.NDArray[np.integer[Any]], width: int) -> ArrowArray:
    """Non-negative integers as zero-padded decimal strings of a fixed width."""
    as_text = pc.cast(pa.array(np.asarray(values, dtype=np.int64)), pa.string())
    return pc.utf8_lpad(as_text, width=width, padding="0")


def join(*parts: ArrowArray | str) -> ArrowArray:
    """Element-wise concatenation of string arrays (plain strings are broadcast)."""
    return cast(Any, pc).binary_join_element_wise(*parts, "")


def ints(values: npt.NDArray[np.integer[Any]]) -> ArrowArray:
    return pa.array(np.asarray(values, dtype=np.int64), type=pa.int64())


def nullable_ints(values: npt.NDArray[np.integer[Any]], missing: int = -1) -> ArrowArray:
    array = np.asarray(values, dtype=np.int64)
    return pa.array(array, type=pa.int64(), mask=array == missing)
