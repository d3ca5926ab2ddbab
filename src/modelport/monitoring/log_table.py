"""Turn a batch of inference log records into one Arrow table: one row per instance row.

Each input becomes a column ``in_<name>`` and each output ``out_<name>``, so a tabular model's
log reads like its training table plus predictions. Rows of a multi-dimensional tensor become
fixed-size lists. Redacted fields are left out entirely; hashed fields hold a salted sha256.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from modelport.protocol.types import Tensor
from modelport.runtimes.base import Array

__all__ = [
    "INPUT_PREFIX",
    "OUTPUT_PREFIX",
    "LogRecord",
    "Redaction",
    "log_record",
    "records_to_table",
    "records_to_tables",
]

INPUT_PREFIX = "in_"
OUTPUT_PREFIX = "out_"
MAX_WIDTH = 4096
"""Tensors with more values per row than this (images, audio) are not logged."""


class LogRecord(NamedTuple):
    """One answered request as the log keeps it until written: names and numpy arrays only.

    Arrays are not copied. Holding no Tensor objects, a queued record costs the garbage
    collector nothing (numpy arrays and tuples of them are not tracked), where keeping the
    request's tensors alive for a second made every collection walk them.
    """

    ts: float
    """Wall-clock seconds since the epoch when the answer was ready."""
    request_id: str
    endpoint: str
    model: str
    version: str
    protocol: str
    latency_s: float
    input_names: tuple[str, ...]
    inputs: tuple[Array, ...]
    output_names: tuple[str, ...]
    outputs: tuple[Array, ...]
    violations: str | None
    """Contract violations of a flagged request, e.g. ``amount:max;country:category``."""
    subject: str | None = None
    """The data subject the request names (``subject_id`` parameter or ``x-subject-id``)."""


def log_record(
    ts: float, request_id: str, endpoint: str, model: str, version: str, protocol: str,
    latency_s: float, inputs: Sequence[Tensor], outputs: Sequence[Tensor],
    violations: str | None = None, subject: str | None = None,
) -> LogRecord:
    """The record of one request (what the request path calls, once per logged request).

    When every input is a consecutive piece of one flat array, in order (how the JSON codec
    decodes a request whose inputs share a datatype), the record keeps that one array
    instead of a view per input; :func:`records_to_tables` splits it again. A tabular
    model's ``[N, F]`` tensor is kept the same way (its transpose, one feature per row), under
    the feature names, so the log holds the same columns whichever form the client sent.
    """
    features = inputs[0].features if len(inputs) == 1 else None
    arrays: tuple[Array, ...]
    if features is not None:
        names = features
        data = inputs[0].data
        if len(names) == 1:
            arrays = (data[:, 0],)
        else:  # packed, as below: one row a view in the usual layout, more rows transposed
            arrays = (data.reshape(-1) if data.shape[0] == 1 else data.T,)
    else:
        names = tuple([t.name for t in inputs])
        packed = _packed(inputs)
        arrays = (packed,) if packed is not None else tuple([t.data for t in inputs])
    return _NEW_RECORD((
        ts, request_id, endpoint, model, version, protocol, latency_s, names, arrays,
        tuple([t.name for t in outputs]), tuple([t.data for t in outputs]), violations,
        subject,
    ))


def _packed(inputs: Sequence[Tensor]) -> Array | None:
    k = len(inputs)
    if k < 2:
        return None
    first, last = inputs[0].data, inputs[-1].data
    base = first.base
    if (type(base) is not np.ndarray or base.ndim != 1 or last.base is not base
            or first.ndim == 0 or first.size != first.shape[0] or base.size != k * first.size):
        return None  # not one flat array of one-value-per-row inputs
    start = base.__array_interface__["data"][0]
    if (first.__array_interface__["data"][0] != start
            or last.__array_interface__["data"][0] != start + (k - 1) * first.nbytes):
        return None  # the pieces were handed out (or reordered) some other way
    return base


@dataclass(frozen=True, slots=True)
class Redaction:
    """Fields never written (``redact``) or written as salted hashes (``hashed``)."""

    redact: frozenset[str] = frozenset()
    hashed: frozenset[str] = frozenset()
    salt: bytes = b""


_NEW_RECORD = partial(tuple.__new__, LogRecord)


def records_to_tables(records: Sequence[LogRecord], redaction: Redaction) -> list[pa.Table]:
    """One table per layout (input and output names in order); usually just one.

    Requests of one model version share their inputs; those that asked for fewer outputs
    form their own table (a reader sees nulls there).
    """
    groups: dict[tuple[tuple[str, ...], tuple[str, ...]], list[LogRecord]] = {}
    for record in records:
        key = (record.input_names, record.output_names)
        found = groups.get(key)
        if found is None:
            groups[key] = [record]
        else:
            found.append(record)
    return [_table(group, ins, outs, redaction) for (ins, outs), group in groups.items()]


def records_to_table(records: Sequence[LogRecord], redaction: Redaction) -> pa.Table:
    """All records as one table (columns a layout lacks are null)."""
    tables = records_to_tables(records, redaction)
    return tables[0] if len(tables) == 1 else pa.concat_tables(
        tables, promote_options="permissive")


def _table(records: list[LogRecord], inputs: tuple[str, ...], outputs: tuple[str, ...],
           redaction: Redaction) -> pa.Table:
    counts = np.array([_rows(r) for r in records], dtype=np.int64)
    total = int(counts.sum())
    columns: dict[str, pa.Array] = {
        "request_id": pa.array(np.repeat([r.request_id for r in records], counts), pa.string()),
        "row": pa.array(np.arange(total, dtype=np.int32)
                        - np.repeat((np.cumsum(counts) - counts).astype(np.int32), counts)),
        "timestamp": pa.array(
            np.repeat(np.array([r.ts for r in records]) * 1e6, counts).astype("int64"),
        ).cast(pa.timestamp("us", tz="UTC")),
        "latency_ms": pa.array(np.repeat([r.latency_s * 1e3 for r in records], counts)
                               .astype(np.float32)),
        "endpoint": pa.array(np.repeat([r.endpoint for r in records], counts), pa.string()),
        "protocol": pa.array(np.repeat([r.protocol for r in records], counts), pa.string()),
        "violations": pa.array(np.repeat(np.array([r.violations for r in records], dtype=object),
                                         counts), pa.string()),
    }
    if any(r.subject is not None for r in records):
        columns["subject_id"] = pa.array(
            np.repeat(np.array([r.subject for r in records], dtype=object), counts), pa.string())
    for prefix, names, side in ((INPUT_PREFIX, inputs, [r.inputs for r in records]),
                                (OUTPUT_PREFIX, outputs, [r.outputs for r in records])):
        block = _shared_block(side, counts, len(names)) if prefix == INPUT_PREFIX else None
        if block is None and prefix == INPUT_PREFIX and len(names) > 1:
            side = [_unpack(arrays, len(names)) for arrays in side]
        for j, name in enumerate(names):
            if name in redaction.redact:
                continue
            try:
                parts = [block[j]] if block is not None else [arrays[j] for arrays in side]
                column = _column(parts, total, name in redaction.hashed, redaction.salt)
            except (pa.ArrowException, ValueError):  # shapes or types differ: not one column
                column = None
            if column is not None:
                columns[prefix + name] = column
    return pa.table(columns)


def _shared_block(side: list[tuple[Array, ...]], counts: np.ndarray[Any, Any], k: int
                  ) -> np.ndarray[Any, Any] | None:
    """Every input of every record as one ``(inputs, rows)`` block when every record was
    packed (see :func:`log_record`): one array joined per record, not one per input."""
    if k < 2 or any(len(arrays) != 1 for arrays in side):
        return None
    bases = [arrays[0] for arrays in side]
    if (counts == 1).all():
        return np.concatenate(bases).reshape(len(bases), k).T
    return np.concatenate([b.reshape(k, -1) for b in bases], axis=1)


def _unpack(arrays: tuple[Array, ...], k: int) -> tuple[Array, ...]:
    """A packed record's inputs as one array each (the rows of its flat array)."""
    if len(arrays) != 1 or k < 2:
        return arrays
    return tuple(arrays[0].reshape(k, -1))


def _rows(record: LogRecord) -> int:
    if len(record.inputs) == 1 and len(record.input_names) > 1:
        return record.inputs[0].size // len(record.input_names)  # packed
    arrays = record.inputs or record.outputs
    if not arrays:
        return 1
    shape = arrays[0].shape
    return shape[0] if shape else 1


def _column(parts: list[np.ndarray[Any, Any]], total: int, hashed: bool, salt: bytes
            ) -> pa.Array | None:
    flat = np.concatenate(parts) if len(parts) > 1 else parts[0]
    if flat.ndim == 0 or flat.shape[0] != total:
        return None
    width = math.prod(flat.shape[1:])
    if width > MAX_WIDTH:
        return None  # images and the like: too big to log row by row
    values = _values(flat.reshape(-1), hashed, salt)
    if flat.ndim == 1 or width == 1:
        return values
    return pa.FixedSizeListArray.from_arrays(values, width)


def _values(flat: np.ndarray[Any, Any], hashed: bool, salt: bytes) -> pa.Array:
    if hashed:
        return pa.array([None if v is None else _hash(v, salt) for v in flat.tolist()],
                        pa.string())
    if flat.dtype == object:
        raw = pa.array([v if v is None or isinstance(v, bytes) else str(v).encode()
                        for v in flat.tolist()], pa.binary())
        try:
            return raw.cast(pa.string())
        except pa.ArrowInvalid:
            return raw
    if flat.dtype == np.float16:
        flat = flat.astype(np.float32)
    return pa.array(flat)


def _hash(value: Any, salt: bytes) -> str:
    raw = value if isinstance(value, bytes) else str(value).encode()
    return hashlib.sha256(salt + raw).hexdigest()
