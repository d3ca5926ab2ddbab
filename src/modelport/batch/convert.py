"""Turning a batch of input rows into model inputs, setting aside the rows that cannot be scored.

Every needed column is cast to its target type in one vectorised Arrow call. Only when that
fails (a word in a number column, a JSON value of the wrong kind) does the column fall back to
one cast per cell, which names each bad cell; the rows holding one are *rejected* with a reason
and the rest of the batch goes on. A missing value in a model input rejects its row too
(a NaN is a value, a null is not). Id and kept columns may hold nulls.

The fast path is zero-copy: a float32 Parquet column without nulls reaches the model as a numpy
view of the Arrow buffer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelport.batch.readers import SourceBatch
from modelport.errors import InvalidInput
from modelport.protocol.datatypes import numpy_dtype
from modelport.protocol.signature import TensorSpec

Array = np.ndarray[Any, Any]
Role = Literal["input", "id", "keep"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ColumnPlan:
    """One column the job reads, the type it must have, and why it is read."""

    name: str
    target: pa.DataType
    role: Role
    spec: TensorSpec | None = None
    """The model input this column feeds (``role == "input"`` only)."""


@dataclass(frozen=True, slots=True)
class Prepared:
    """A batch ready for the model: inputs and carried columns of the good rows only."""

    inputs: dict[str, Array]
    carried: list[pa.Array]
    """Id and kept columns of the good rows, in plan order."""
    good: Array
    """Positions (within the batch) of the good rows."""
    reasons: dict[int, str]
    """Position -> why that row was rejected."""


def input_target(spec: TensorSpec) -> pa.DataType:
    """The Arrow type a column must have to feed ``spec``; InvalidInput for unusable shapes."""
    if spec.datatype == "BYTES":
        base: pa.DataType = pa.string()
    else:
        base = pa.from_numpy_dtype(numpy_dtype(spec.datatype))
    if len(spec.shape) == 1:
        return base
    if len(spec.shape) == 2 and spec.shape[1] > 0 and spec.datatype != "BYTES":
        return pa.list_(base)
    raise InvalidInput(
        f"model input {spec.name!r} has shape {list(spec.shape)}; batch scoring reads one "
        "column per input, each cell a value (shape [-1]) or a list of fixed length "
        "(shape [-1, n])"
    )


def castable(source: pa.DataType, target: pa.DataType) -> bool:
    """Whether Arrow can cast ``source`` to ``target`` at all (values may still fail)."""
    if source == target or pa.types.is_null(source):
        return True
    if pa.types.is_dictionary(source):
        source = source.value_type
    try:
        pc.cast(pa.array([], type=source), target, safe=False)
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    return True


def describe_target(column: ColumnPlan) -> str:
    if column.spec is None:
        return f"of type {column.target} (the type column {column.name!r} has in the first file)"
    if column.spec.datatype == "BYTES":
        return "text (BYTES)"
    if column.spec.datatype == "BOOL":
        return "true or false (BOOL)"
    if len(column.spec.shape) == 2:
        return f"a list of {column.spec.shape[1]} numbers ({column.spec.datatype})"
    return f"a number ({column.spec.datatype})"


def prepare(batch: SourceBatch, columns: Sequence[ColumnPlan]) -> Prepared:
    """Cast every planned column; rows with any bad cell are rejected, the rest kept."""
    n = batch.num_rows
    reasons = {row: why for row, (why, _) in batch.broken.items()}
    converted: list[pa.Array] = []
    for column in columns:
        array, bad = _coerce(batch.data.column(column.name), column)
        for row, why in bad.items():
            reasons.setdefault(row, why)
        converted.append(array)
    if reasons:
        keep = np.ones(n, dtype=bool)
        keep[np.fromiter(reasons, dtype=np.int64, count=len(reasons))] = False
        good = np.flatnonzero(keep)
        mask = pa.array(keep)
        converted = [array.filter(mask) for array in converted]
    else:
        good = np.arange(n)
    inputs: dict[str, Array] = {}
    carried: list[pa.Array] = []
    for column, array in zip(columns, converted, strict=True):
        if column.spec is not None:
            inputs[column.spec.name] = _to_numpy(array, column.spec)
        else:
            carried.append(array)
    return Prepared(inputs, carried, good, reasons)


def _coerce(array: pa.Array, column: ColumnPlan) -> tuple[pa.Array, dict[int, str]]:
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    target = column.target
    if array.type == target:
        out = array
    else:
        source = array
        if (pa.types.is_string(array.type) or pa.types.is_large_string(array.type)) and (
            _is_scalar(target)
        ):
            source = pc.utf8_trim_whitespace(array)
        # Numbers may lose precision on the way to a float (as numpy's astype does), but a
        # cast that would truncate (2.5 to an integer) or overflow rejects the row instead.
        safe = not (_is_number(array.type) and pa.types.is_floating(target))
        try:
            out = pc.cast(source, target, safe=safe)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return _coerce_cells(array, source, column, safe)
    bad: dict[int, str] = {}
    if column.spec is not None:
        if out.null_count:
            missing = _missing_reason(column)
            bad = {int(i): missing for i in np.flatnonzero(out.is_null().to_numpy(False))}
        if len(column.spec.shape) == 2:
            bad.update(_wrong_lengths(out, column, bad))
    return out, bad


def _coerce_cells(
    original: pa.Array, source: pa.Array, column: ColumnPlan, safe: bool
) -> tuple[pa.Array, dict[int, str]]:
    """One cast per cell, naming every cell that does not convert."""
    pieces: list[pa.Array] = []
    bad: dict[int, str] = {}
    for i in range(len(source)):
        cell = source.slice(i, 1)
        if cell.null_count:
            pieces.append(pa.nulls(1, column.target))
            if column.spec is not None:
                bad[i] = _missing_reason(column)
            continue
        try:
            pieces.append(pc.cast(cell, column.target, safe=safe))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            pieces.append(pa.nulls(1, column.target))
            value = _short(original[i].as_py())
            bad[i] = f"column {column.name!r}: {value} is not {describe_target(column)}"
    out = pa.concat_arrays(pieces) if pieces else pa.array([], type=column.target)
    if column.spec is not None and len(column.spec.shape) == 2:
        bad.update(_wrong_lengths(out, column, bad))
    return out, bad


def _wrong_lengths(array: pa.Array, column: ColumnPlan, known: dict[int, str]) -> dict[int, str]:
    want = column.spec.shape[1] if column.spec is not None else 0
    lengths = pc.fill_null(pc.list_value_length(array), want).to_numpy(False)
    return {
        int(i): f"column {column.name!r}: a list of {int(lengths[i])} values, expected {want}"
        for i in np.flatnonzero(lengths != want)
        if int(i) not in known
    }


def _to_numpy(array: pa.Array, spec: TensorSpec) -> Array:
    if spec.datatype == "BYTES":
        out: Array = array.cast(pa.binary()).to_numpy(zero_copy_only=False)
        return out
    if len(spec.shape) == 2:
        flat: Array = array.flatten().to_numpy(zero_copy_only=False)
        return flat.reshape(len(array), spec.shape[1])
    values: Array = array.to_numpy(zero_copy_only=False)
    return values


def _missing_reason(column: ColumnPlan) -> str:
    return f"column {column.name!r}: missing value; the model needs {describe_target(column)}"


def _is_number(t: pa.DataType) -> bool:
    return bool(pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t))


def _is_scalar(t: pa.DataType) -> bool:
    return _is_number(t) or bool(pa.types.is_decimal(t) or pa.types.is_temporal(t))


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
