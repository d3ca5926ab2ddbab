"""Scoring one work unit: read, convert, predict, write; the same code on every engine.

:func:`run_unit` is what a local process or a Dask worker executes. It never raises for a
ModelportError: it returns the error as plain data in the :class:`UnitOutcome` (errors that
cross processes are data), and the driver raises it again on its side.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from modelport.batch.convert import prepare
from modelport.batch.model import runtime_for
from modelport.batch.outputs import build_table, dictionary_columns
from modelport.batch.plan import UnitContext
from modelport.batch.readers import SourceBatch, read_unit
from modelport.batch.sources import SourceFile, WorkUnit
from modelport.batch.state import PartRecord, RunFolder, part_name
from modelport.errors import InvalidInput, ModelportError, PredictionFailed
from modelport.runtimes.base import Runtime

Array = np.ndarray[Any, Any]
OnBatch = Callable[[int, int], None]
"""Called after every batch with (rows read, rows rejected)."""

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnitOutcome:
    """What one unit did, as plain data for the driver."""

    unit: WorkUnit
    records: tuple[PartRecord, ...] = ()
    loaded_model: bool = False
    """Whether this unit had to load the model (the first unit of its process)."""
    error: dict[str, Any] | None = field(default=None)

    @property
    def rows_read(self) -> int:
        return sum(r.rows_read for r in self.records)

    @property
    def rows_rejected(self) -> int:
        return sum(r.rows_rejected for r in self.records)


def run_unit(ctx: UnitContext, unit: WorkUnit, on_batch: OnBatch | None = None) -> UnitOutcome:
    """Score every batch of ``unit`` not finished already; record the unit as done."""
    loaded = False
    try:
        runtime, loaded = runtime_for(ctx.model)
        folder = RunFolder(ctx.output)
        source = ctx.files[unit.file]
        records: list[PartRecord] = []
        for batch in read_unit(source, unit, ctx.read_columns, ctx.batch_size):
            name = part_name(unit, batch.index)
            record = folder.part_record(name)
            if record is None:
                record = _score(ctx, runtime, source, batch, name, folder)
            records.append(record)
            if on_batch is not None:
                on_batch(record.rows_read, record.rows_rejected)
        folder.write_unit(unit, records)
        return UnitOutcome(unit=unit, records=tuple(records), loaded_model=loaded)
    except ModelportError as exc:
        return UnitOutcome(unit=unit, loaded_model=loaded, error=exc.to_dict())
    except Exception as exc:  # a bug: keep the traceback in the worker's log, report the rest
        log.exception("batch unit %s of %s failed", unit.key, ctx.files[unit.file].url)
        where = f"{ctx.files[unit.file].url} (unit {unit.key})"
        return UnitOutcome(
            unit=unit,
            loaded_model=loaded,
            error={"kind": "internal", "error": f"{where}: {type(exc).__name__}: {exc}"},
        )


def _score(
    ctx: UnitContext,
    runtime: Runtime,
    source: SourceFile,
    batch: SourceBatch,
    name: str,
    folder: RunFolder,
) -> PartRecord:
    prepared = prepare(batch, ctx.columns)
    reasons = dict(prepared.reasons)
    good = prepared.good
    carried = prepared.carried
    outputs, refused = _predict(runtime, prepared.inputs, len(good), source, batch)
    if refused:
        ok = np.ones(len(good), dtype=bool)
        ok[list(refused)] = False
        for position, why in refused.items():
            reasons[int(good[position])] = why
        good = good[ok]
        mask = pa.array(ok)
        carried = [array.filter(mask) for array in carried]
    table = build_table(ctx.schema, carried, ctx.fields, outputs, len(good), ctx.provenance)
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink, use_dictionary=dictionary_columns(ctx.schema))
    data = sink.getvalue().to_pybytes()
    record = PartRecord(
        part=name,
        rows_read=batch.num_rows,
        rows_written=len(good),
        rows_rejected=len(reasons),
        sha256=hashlib.sha256(data).hexdigest(),
        bytes=len(data),
    )
    folder.write_part(record, data, _rejects(source, batch, reasons))
    return record


def _predict(
    runtime: Runtime, inputs: Mapping[str, Array], rows: int, source: SourceFile, batch: SourceBatch
) -> tuple[dict[str, Array] | None, dict[int, str]]:
    """Outputs of the rows the model accepts, and why it refused the others.

    A batch the model refuses as invalid is halved until the refused rows are found alone;
    any other failure stops the run.
    """
    if rows == 0:
        return None, {}
    try:
        return _call(runtime, inputs, source, batch), {}
    except InvalidInput as exc:
        if rows == 1:
            return None, {0: f"the model refused the row: {exc.message}"}
    half = rows // 2
    left, left_bad = _predict(runtime, _rows(inputs, 0, half), half, source, batch)
    right, right_bad = _predict(runtime, _rows(inputs, half, rows), rows - half, source, batch)
    refused = {**left_bad, **{k + half: v for k, v in right_bad.items()}}
    parts = [p for p in (left, right) if p is not None]
    if not parts:
        return None, refused
    merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}
    return merged, refused


def _call(
    runtime: Runtime, inputs: Mapping[str, Array], source: SourceFile, batch: SourceBatch
) -> dict[str, Array]:
    where = f"rows {batch.first_row}..{batch.first_row + batch.num_rows - 1} of {source.url}"
    try:
        return runtime.predict(inputs)
    except InvalidInput:
        raise
    except ModelportError as exc:  # say where, keep the kind
        raise type(exc)(f"{exc.message} (scoring {where})", details=exc.details) from exc
    except Exception as exc:
        raise PredictionFailed(f"the model failed on {where}: {type(exc).__name__}: {exc}") from exc


def _rows(inputs: Mapping[str, Array], start: int, stop: int) -> dict[str, Array]:
    return {name: value[start:stop] for name, value in inputs.items()}


def _rejects(source: SourceFile, batch: SourceBatch, reasons: Mapping[int, str]) -> bytes:
    """One JSON line per rejected row: its source position, the reason and its values."""
    if not reasons:
        return b""
    rows = sorted(reasons)
    readable = [r for r in rows if r not in batch.broken]
    values: dict[int, Any] = {}
    if readable:
        taken = batch.data.take(pa.array(readable, type=pa.int64())).to_pylist()
        values = dict(zip(readable, taken, strict=True))
    lines = []
    for row in rows:
        value = {"line": batch.broken[row][1]} if row in batch.broken else values[row]
        entry = {
            "source": source.url,
            "row": batch.first_row + row,
            "reason": reasons[row],
            "values": value,
        }
        lines.append(orjson.dumps(entry, default=str, option=orjson.OPT_SERIALIZE_NUMPY))
    return b"\n".join(lines) + b"\n"
