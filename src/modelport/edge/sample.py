"""The rows a conversion is checked on: the version's reference sample, or ``--data``.

Tables (CSV, Parquet, JSON Lines) give one column per tabular input; ``.npz`` files give one
array per input name, for tensor models. A ``label`` (or ``--label NAME``) column or array,
when present, lets the parity report compare the metric before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modelport.errors import InvalidInput, NotFound
from modelport.protocol.datatypes import numpy_dtype
from modelport.protocol.signature import Signature
from modelport.runtimes.base import Array, Batch
from modelport.runtimes.tensors import as_strings
from modelport.tabular_files import read_table

__all__ = ["MAX_ROWS", "Sample", "read_sample"]

MAX_ROWS = 5_000
"""Rows used for parity (the first ones of the file or the reference sample)."""
_LABELS = ("label", "target")


@dataclass(frozen=True, slots=True)
class Sample:
    """Inputs by name (first dimension = rows) and, when known, the true labels."""

    inputs: Batch
    labels: Array | None
    source: str

    @property
    def rows(self) -> int:
        return int(next(iter(self.inputs.values())).shape[0])

    def head(self, rows: int) -> Batch:
        """The first ``rows`` rows (repeated when the sample is shorter)."""
        take = np.arange(rows) % self.rows
        return {k: v[take] for k, v in self.inputs.items()}


def read_sample(path: Path, signature: Signature, label: str | None, source: str) -> Sample:
    """Read ``path`` (a table or ``.npz``) into the signature's inputs, cast to their types."""
    if not path.exists():
        raise NotFound(f"--data {path} does not exist")
    if path.suffix.lower() == ".npz":
        return _from_npz(path, signature, label, source)
    table = read_table(path).head(MAX_ROWS)
    missing = [n for n in signature.input_names if n not in table.columns]
    if missing:
        raise InvalidInput(
            f"{source} lacks the model's input columns {missing[:10]}; it has "
            f"{list(table.columns)[:10]}"
        )
    inputs: dict[str, Array] = {}
    for spec in signature.inputs:
        column = table[spec.name].to_numpy()
        inputs[spec.name] = _cast(spec.name, spec.datatype, column, source)
    label_name = _label_name(label, list(table.columns), signature)
    labels = table[label_name].to_numpy() if label_name is not None else None
    if len(table) == 0:
        raise InvalidInput(f"{source} has no rows to check the conversion on")
    return Sample(inputs=inputs, labels=labels, source=source)


def _from_npz(path: Path, signature: Signature, label: str | None, source: str) -> Sample:
    with np.load(path, allow_pickle=False) as data:
        arrays = {k: data[k][:MAX_ROWS] for k in data.files}
    missing = [n for n in signature.input_names if n not in arrays]
    if missing:
        raise InvalidInput(
            f"{source} lacks arrays for the model's inputs {missing}; it has {sorted(arrays)}"
        )
    inputs = {s.name: _cast(s.name, s.datatype, arrays[s.name], source) for s in signature.inputs}
    label_name = _label_name(label, list(arrays), signature)
    labels = arrays[label_name] if label_name is not None else None
    return Sample(inputs=inputs, labels=labels, source=source)


def _label_name(label: str | None, names: list[str], signature: Signature) -> str | None:
    if label is not None:
        if label not in names:
            raise InvalidInput(f"--label {label!r} is not a column of the data; it has {names}")
        return label
    return next((n for n in _LABELS if n in names and n not in signature.input_names), None)


def _cast(name: str, datatype: str, values: Array, source: str) -> Array:
    if datatype == "BYTES":
        return as_strings(np.asarray(values))
    try:
        return np.asarray(values).astype(numpy_dtype(datatype))
    except (TypeError, ValueError):
        raise InvalidInput(f"{source}: column {name!r} does not hold {datatype} values") from None
