"""Tables (pandas or Arrow) to named input arrays by a signature, and outputs back to rows.

CSV, Parquet and JSON-records inputs all arrive here as a table: columns map to inputs by
name, so a tabular model's ``f0..fN-1`` or real feature names both work. Extra columns (ids,
labels) are ignored; missing ones are an error naming them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from modelport.errors import InvalidInput
from modelport.protocol.datatypes import numpy_dtype
from modelport.protocol.signature import Signature

Array = np.ndarray[Any, Any]


def frame_to_inputs(frame: pd.DataFrame, signature: Signature) -> dict[str, Array]:
    """Named input arrays for every signature input, converted to its datatype."""
    missing = [name for name in signature.input_names if name not in frame.columns]
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise InvalidInput(
            f"the input table lacks {len(missing)} column(s) the model needs: {shown}; "
            f"the model's inputs are: {', '.join(signature.input_names)}"
        )
    out: dict[str, Array] = {}
    for spec in signature.inputs:
        column = frame[spec.name]
        dtype = numpy_dtype(spec.datatype)
        if spec.datatype == "BYTES":
            out[spec.name] = np.array(
                [v.encode() if isinstance(v, str) else v for v in column.tolist()], dtype=object
            )
            continue
        if len(spec.shape) > 1:
            out[spec.name] = _stack_cells(spec.name, column.tolist(), dtype)
            continue
        try:
            out[spec.name] = column.to_numpy(dtype=dtype)
        except (ValueError, TypeError) as exc:
            bad = _first_bad(column)
            raise InvalidInput(
                f"column {spec.name!r} must be {spec.datatype}; "
                f"row {bad[0]} holds {bad[1]!r} ({exc})"
            ) from None
    return out


def records_to_frame(records: list[Any], signature: Signature) -> pd.DataFrame:
    """Rows given as objects keyed by input name, or as lists in signature order."""
    if not records:
        raise InvalidInput("no rows given: 'instances' must hold at least one row")
    if all(isinstance(r, Mapping) for r in records):
        return pd.DataFrame.from_records(records)
    if all(isinstance(r, list | tuple) for r in records):
        width = len(signature.inputs)
        for i, row in enumerate(records):
            if len(row) != width:
                raise InvalidInput(
                    f"row {i} has {len(row)} values but the model has {width} inputs "
                    f"({', '.join(signature.input_names)})"
                )
        return pd.DataFrame.from_records(records, columns=signature.input_names)
    raise InvalidInput("every row must be an object keyed by input name, or a list of values")


def outputs_to_rows(outputs: Mapping[str, Array]) -> list[dict[str, Any]]:
    """One plain-JSON dict per row, holding every output's value for that row."""
    if not outputs:
        return []
    n = len(next(iter(outputs.values())))
    columns = {name: _plain(array) for name, array in outputs.items()}
    return [{name: col[i] for name, col in columns.items()} for i in range(n)]


def _plain(array: Array) -> list[Any]:
    if array.dtype == object:
        return [v.decode("utf-8", "replace") if isinstance(v, bytes) else v for v in array.tolist()]
    values: list[Any] = array.tolist()
    return values


def _stack_cells(name: str, cells: list[Any], dtype: np.dtype[Any]) -> Array:
    try:
        return np.asarray(cells, dtype=dtype)
    except (ValueError, TypeError) as exc:
        raise InvalidInput(f"column {name!r}: cells must be equal-length lists ({exc})") from None


def _first_bad(column: pd.Series[Any]) -> tuple[int, Any]:
    for i, value in enumerate(column.tolist()):
        try:
            float(value)
        except (TypeError, ValueError):
            return i, value
    return -1, None
