"""The columns of an output part: id and kept columns, the model's outputs, and provenance.

Column layout, fixed by the model's signature before any row is scored (so every part, every
engine and every resumed run writes the same schema):

- ``[-1]`` outputs (a label, a score) are one column named after the output;
- ``[-1, k]`` outputs with k <= 64 (``predict_proba``) are k columns ``<name>_0 .. <name>_{k-1}``,
  one per class, because flat columns are what SQL engines and dataframes filter and join on;
- anything wider or of higher rank is one list column holding the row's values flattened;
- then ``model_name``, ``model_version`` and ``run_id``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from modelport.batch.convert import ColumnPlan
from modelport.errors import InvalidInput, PredictionFailed
from modelport.protocol.datatypes import numpy_dtype
from modelport.protocol.signature import Signature, TensorSpec

Array = np.ndarray[Any, Any]
SPLIT_LIMIT = 64
"""Widest ``[-1, k]`` output still written as one column per class."""
META_COLUMNS = ("model_name", "model_version", "run_id")


@dataclass(frozen=True, slots=True, kw_only=True)
class OutputField:
    """How one model output becomes output columns."""

    spec: TensorSpec
    names: tuple[str, ...]
    type: pa.DataType
    """Type of each of its columns."""
    layout: Literal["scalar", "split", "list"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Provenance:
    """What every output row records about how it was scored."""

    model_name: str
    model_version: int
    run_id: str


def output_fields(signature: Signature) -> tuple[OutputField, ...]:
    """The column layout of every output of ``signature``."""
    fields: list[OutputField] = []
    for spec in signature.outputs:
        base = (
            pa.string()
            if spec.datatype == "BYTES"
            else pa.from_numpy_dtype(numpy_dtype(spec.datatype))
        )
        dims = spec.shape[1:]
        if not dims:
            fields.append(OutputField(spec=spec, names=(spec.name,), type=base, layout="scalar"))
        elif len(dims) == 1 and 1 <= dims[0] <= SPLIT_LIMIT:
            names = tuple(f"{spec.name}_{j}" for j in range(dims[0]))
            fields.append(OutputField(spec=spec, names=names, type=base, layout="split"))
        else:
            known = all(d > 0 for d in dims)
            kind = pa.list_(base, math.prod(dims)) if known else pa.list_(base)
            fields.append(OutputField(spec=spec, names=(spec.name,), type=kind, layout="list"))
    return tuple(fields)


def output_schema(carried: Sequence[ColumnPlan], fields: Sequence[OutputField]) -> pa.Schema:
    """The schema of every part; InvalidInput when two columns would share a name."""
    columns = [(c.name, c.target, f"input column {c.name!r} (--id-column/--keep)") for c in carried]
    for f in fields:
        columns += [(name, f.type, f"model output {f.spec.name!r}") for name in f.names]
    columns += [
        ("model_name", pa.string(), "provenance column"),
        ("model_version", pa.int64(), "provenance column"),
        ("run_id", pa.string(), "provenance column"),
    ]
    owners: dict[str, str] = {}
    for name, _, owner in columns:
        if name in owners:
            raise InvalidInput(
                f"output column {name!r} would hold both the {owners[name]} and the {owner}; "
                "drop that column from --keep (or --id-column) or rename it in the input"
            )
        owners[name] = owner
    return pa.schema([pa.field(name, kind) for name, kind, _ in columns])


def build_table(
    schema: pa.Schema,
    carried: Sequence[pa.Array],
    fields: Sequence[OutputField],
    outputs: Mapping[str, Array] | None,
    rows: int,
    provenance: Provenance,
) -> pa.Table:
    """One part's table; PredictionFailed when the model's answer does not fit its signature."""
    arrays: list[pa.Array] = list(carried)
    for f in fields:
        value = _output(outputs, f.spec, rows)
        arrays += _columns(value, f, rows)
    arrays += [
        _repeat(provenance.model_name, rows),
        pa.array(np.full(rows, provenance.model_version, dtype=np.int64)),
        _repeat(provenance.run_id, rows),
    ]
    return pa.Table.from_arrays(arrays, schema=schema)


def dictionary_columns(schema: pa.Schema) -> list[str]:
    """Columns worth dictionary-encoding in Parquet: the text ones (few distinct values).

    Numeric columns are written plain: trying a dictionary on every float costs more time
    than the whole rest of writing a part.
    """
    return [
        f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)
    ]


def _repeat(text: str, rows: int) -> pa.Array:
    """``text`` ``rows`` times, built from two buffers instead of ``rows`` Python strings."""
    data = text.encode()
    if rows * len(data) >= 2**31:  # beyond 32-bit offsets: the slow way
        return pa.array([text] * rows, type=pa.string())
    offsets = np.arange(rows + 1, dtype=np.int32) * len(data)
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data * rows))


def _output(outputs: Mapping[str, Array] | None, spec: TensorSpec, rows: int) -> Array:
    if outputs is None:  # no good rows in this batch: an empty part of the same schema
        return np.empty((0, *(max(d, 0) for d in spec.shape[1:])), dtype=object)
    if spec.name not in outputs:
        raise PredictionFailed(
            f"the model returned outputs {sorted(outputs)} but its signature promises "
            f"{spec.name!r}; register the model again so its signature matches"
        )
    value = np.asarray(outputs[spec.name])
    if value.ndim == 0 or value.shape[0] != rows:
        raise PredictionFailed(
            f"the model returned {spec.name!r} with shape {list(value.shape)} for {rows} "
            "row(s); every output needs one entry per input row"
        )
    return value


def _columns(value: Array, f: OutputField, rows: int) -> list[pa.Array]:
    if f.layout == "scalar":
        if value.ndim > 1 and value.size == rows:
            value = value.reshape(rows)
        if value.ndim != 1:
            raise _shape_error(f.spec, value)
        return [_array(value, f.type)]
    flat = value.reshape(rows, -1) if rows else value.reshape(0, _width(f))
    if f.layout == "split":
        if flat.shape[1] != len(f.names):
            raise _shape_error(f.spec, value)
        return [_array(np.ascontiguousarray(flat[:, j]), f.type) for j in range(flat.shape[1])]
    size = f.type.list_size if pa.types.is_fixed_size_list(f.type) else flat.shape[1]
    if flat.shape[1] != size:
        raise _shape_error(f.spec, value)
    values = _array(flat.reshape(-1), f.type.value_type)
    if pa.types.is_fixed_size_list(f.type):
        return [pa.FixedSizeListArray.from_arrays(values, size)]
    offsets = pa.array(np.arange(rows + 1, dtype=np.int32) * size)
    return [pa.ListArray.from_arrays(offsets, values)]


def _width(f: OutputField) -> int:
    if f.layout == "split":
        return len(f.names)
    return int(f.type.list_size) if pa.types.is_fixed_size_list(f.type) else 0


def _array(values: Array, kind: pa.DataType) -> pa.Array:
    if pa.types.is_string(kind):
        text = [
            v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
            for v in values.tolist()
        ]
        return pa.array(text, type=pa.string())
    if values.dtype == object and values.size == 0:
        return pa.array([], type=kind)
    array = pa.array(values)
    return array if array.type == kind else pc.cast(array, kind, safe=False)


def _shape_error(spec: TensorSpec, value: Array) -> PredictionFailed:
    return PredictionFailed(
        f"the model returned {spec.name!r} with shape {list(value.shape)} but its signature "
        f"says {list(spec.shape)}; register the model again so its signature matches"
    )
