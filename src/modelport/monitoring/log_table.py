"""Turn a batch of inference log records into one Arrow table: one row per instance row.

Each input becomes a column ``in_<name>`` and each output ``out_<name>``, so a tabular model's
log reads like its training table plus predictions. Rows of a multi-dimensional tensor become
fixed-size lists. Redacted fields are left out entirely; hashed fields hold a salted sha256.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import pyarrow as pa

from modelport.protocol.types import Tensor

__all__ = ["INPUT_PREFIX", "OUTPUT_PREFIX", "LogRecord", "Redaction", "records_to_table"]

INPUT_PREFIX = "in_"
OUTPUT_PREFIX = "out_"
MAX_WIDTH = 4096
"""Tensors with more values per row than this (images, audio) are not logged."""


class LogRecord(NamedTuple):
    """One answered request, as the request path hands it to the log (no copies made)."""

    ts: float
    """Wall-clock seconds since the epoch when the answer was ready."""
    request_id: str
    endpoint: str
    model: str
    version: str
    protocol: str
    latency_s: float
    inputs: Sequence[Tensor]
    outputs: Sequence[Tensor]
    violations: str | None
    """Contract violations of a flagged request, e.g. ``amount:max;country:category``."""


@dataclass(frozen=True, slots=True)
class Redaction:
    """Fields never written (``redact``) or written as salted hashes (``hashed``)."""

    redact: frozenset[str] = frozenset()
    hashed: frozenset[str] = frozenset()
    salt: bytes = b""


def records_to_table(records: Sequence[LogRecord], redaction: Redaction) -> pa.Table:
    """One table for records of one model version (columns missing in some are null)."""
    counts = [_rows(r) for r in records]
    total = sum(counts)
    columns: dict[str, pa.Array] = {
        "request_id": pa.array(np.repeat([r.request_id for r in records], counts), pa.string()),
        "row": pa.array(np.concatenate([np.arange(n, dtype=np.int32) for n in counts])),
        "timestamp": pa.array(
            np.repeat(np.array([r.ts for r in records]) * 1e6, counts).astype("int64"),
        ).cast(pa.timestamp("us", tz="UTC")),
        "latency_ms": pa.array(np.repeat([r.latency_s * 1e3 for r in records], counts)
                               .astype(np.float32)),
        "endpoint": pa.array(np.repeat([r.endpoint for r in records], counts), pa.string()),
        "protocol": pa.array(np.repeat([r.protocol for r in records], counts), pa.string()),
        "violations": pa.array(
            [v for r, n in zip(records, counts, strict=True) for v in [r.violations] * n],
            pa.string(),
        ),
    }
    for prefix, pick in ((INPUT_PREFIX, _inputs), (OUTPUT_PREFIX, _outputs)):
        names: dict[str, None] = {}
        for record in records:
            names.update((t.name, None) for t in pick(record))
        for name in names:
            if name in redaction.redact:
                continue
            try:
                column = _column(records, counts, pick, name, redaction)
            except (pa.ArrowException, ValueError):  # mixed types across requests: skip
                column = None
            if column is not None and len(column) == total:
                columns[prefix + name] = column
    return pa.table(columns)


def _inputs(record: LogRecord) -> Sequence[Tensor]:
    return record.inputs


def _outputs(record: LogRecord) -> Sequence[Tensor]:
    return record.outputs


def _rows(record: LogRecord) -> int:
    for tensor in record.inputs:
        return int(tensor.data.shape[0]) if tensor.data.ndim else 1
    for tensor in record.outputs:
        return int(tensor.data.shape[0]) if tensor.data.ndim else 1
    return 1


def _column(
    records: Sequence[LogRecord], counts: list[int], pick: Any, name: str, redaction: Redaction
) -> pa.Array | None:
    parts: list[np.ndarray[Any, Any] | None] = []
    for record, n in zip(records, counts, strict=True):
        found = next((t for t in pick(record) if t.name == name), None)
        if found is None or found.data.ndim == 0 or found.data.shape[0] != n:
            parts.append(None)
        else:
            parts.append(found.data.reshape(n, -1) if found.data.ndim > 1 else found.data)
    present = [p for p in parts if p is not None]
    if not present:
        return None
    width = present[0].shape[1] if present[0].ndim == 2 else 0
    if width > MAX_WIDTH:
        return None  # images and the like: too big to log row by row
    if any((p.shape[1] if p.ndim == 2 else 0) != width for p in present):
        return None  # shapes differ between requests: not one column
    if width == 1:
        present = [p.reshape(-1) for p in present]
        parts = [None if p is None else p.reshape(-1) for p in parts]
        width = 0
    hashed = name in redaction.hashed
    if len(present) == len(parts):
        flat = np.concatenate(present) if len(present) > 1 else present[0]
        values = _values(flat.reshape(-1), hashed, redaction.salt)
    else:  # some requests lack this tensor (they asked for other outputs): nulls there
        kind = _values(present[0][:0].reshape(-1), hashed, redaction.salt).type
        chunks = [
            pa.nulls(n * (width or 1), kind) if p is None
            else _values(p.reshape(-1), hashed, redaction.salt).cast(kind)
            for p, n in zip(parts, counts, strict=True)
        ]
        values = pa.concat_arrays(chunks)
    if width:
        missing = np.repeat([p is None for p in parts], counts)
        mask = pa.array(missing) if missing.any() else None
        return pa.FixedSizeListArray.from_arrays(values, width, mask=mask)
    return values


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
