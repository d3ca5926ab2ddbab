"""Checks shared by the tensor runtimes (ONNX, TorchScript, Python): inputs by signature.

Tabular runtimes stack columns (:mod:`tabular`); tensor runtimes pass each named input through
after checking its name, rank and fixed dimensions, and casting it to the declared datatype.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from modelport.errors import InvalidInput
from modelport.protocol.datatypes import numpy_dtype
from modelport.protocol.signature import TensorSpec
from modelport.runtimes.base import Array, Batch


def ordered_inputs(specs: Sequence[TensorSpec], inputs: Batch) -> list[Array]:
    """The inputs in signature order, shape-checked and cast to each spec's datatype."""
    names = [s.name for s in specs]
    if len(inputs) != len(specs) or any(n not in inputs for n in names):
        missing = [n for n in names if n not in inputs]
        unknown = sorted(set(inputs) - set(names))
        raise InvalidInput(
            f"the model takes inputs {names}; missing {missing}, unknown {unknown}",
            details={"missing": missing, "unknown": unknown},
        )
    return [conform(spec, inputs[spec.name]) for spec in specs]


def conform(spec: TensorSpec, value: Any) -> Array:
    """One input checked against its spec: rank, fixed dimensions, castable datatype."""
    arr = np.asarray(value)
    shape = tuple(int(d) for d in arr.shape)
    if not spec.accepts_shape(shape):
        raise InvalidInput(
            f"input {spec.name!r} has shape {list(shape)} but the model expects "
            f"{list(spec.shape)} (-1 means any size)"
        )
    if spec.datatype == "BYTES":
        return as_strings(arr)
    want = numpy_dtype(spec.datatype)
    if arr.dtype == want:
        return arr
    if not np.can_cast(arr.dtype, want, casting="same_kind"):
        raise InvalidInput(
            f"input {spec.name!r} holds {arr.dtype} values but the model expects "
            f"{spec.datatype}; send it as {spec.datatype}"
        )
    return arr.astype(want)


def as_strings(arr: Array) -> Array:
    """An object array of str: BYTES tensors arrive as bytes, frameworks want text."""
    if arr.dtype.kind == "U":
        return arr.astype(object)
    if arr.dtype.kind == "S":
        return np.char.decode(arr, "utf-8").astype(object)
    flat = [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in arr.ravel()]
    return np.array(flat, dtype=object).reshape(arr.shape)


def as_bytes(arr: Array) -> Array:
    """An object array of bytes, the numpy form of an OIP BYTES tensor."""
    flat = [v if isinstance(v, bytes) else str(v).encode("utf-8") for v in arr.ravel()]
    return np.array(flat, dtype=object).reshape(arr.shape)
