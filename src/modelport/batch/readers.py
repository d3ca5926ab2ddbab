"""Streaming the rows of one work unit as record batches of exactly ``batch_size`` rows.

Nothing here loads a whole file: Parquet is read one row group at a time, CSV block by block,
JSON Lines line by line. Batches are re-cut to exactly ``batch_size`` rows (the last one may
be shorter), so batch *k* of a unit holds the same rows on every run, whatever the reader's own
block sizes: that is what lets a resumed run skip finished batches by number.

CSV columns are read as text and JSON Lines values as they come; :mod:`.convert` turns them
into the model's types row by row, so one bad cell rejects one row instead of the whole file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from modelport.batch.sources import SourceFile, WorkUnit, open_binary
from modelport.errors import InvalidInput

JSONL_SAMPLE_ROWS = 1000
"""Rows of a JSON Lines file looked at to learn its columns and their types."""

_CSV_BLOCK = 1 << 20


@dataclass(frozen=True, slots=True)
class SourceBatch:
    """One batch of input rows and where they came from."""

    index: int
    """Batch number within its work unit."""
    first_row: int
    """Row number (0-based, within the file) of the batch's first row."""
    data: pa.RecordBatch
    """The columns the job needs, as read (before any conversion)."""
    broken: Mapping[int, tuple[str, Any]] = field(default_factory=dict)
    """Rows the reader could not parse at all: row in batch -> (reason, raw text)."""

    @property
    def num_rows(self) -> int:
        return int(self.data.num_rows)


def probe_schema(source: SourceFile) -> pa.Schema:
    """The file's columns and their types (CSV: inferred from the first block)."""
    try:
        with open_binary(source.url) as handle:
            if source.format == "parquet":
                return pq.ParquetFile(handle).schema_arrow
            if source.format == "csv":
                return pacsv.open_csv(handle, read_options=_csv_read_options()).schema
            objects = [obj for obj, _ in _json_objects(handle, limit=JSONL_SAMPLE_ROWS) if obj]
            return _objects_to_batch(objects, _columns_of(objects)).schema
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"cannot read {source.url} as {source.format}: {str(exc).splitlines()[0]}"
        ) from None


def read_unit(
    source: SourceFile, unit: WorkUnit, columns: Sequence[str], batch_size: int
) -> Iterator[SourceBatch]:
    """The unit's rows, ``batch_size`` at a time, restricted to ``columns``."""
    names = list(columns)
    with open_binary(source.url) as handle:
        if source.format == "jsonl":
            yield from _jsonl_batches(handle, names, batch_size)
            return
        raw: Iterable[pa.RecordBatch]
        if source.format == "parquet":
            raw = pq.ParquetFile(handle).iter_batches(
                batch_size=batch_size, row_groups=[unit.chunk], columns=names, use_threads=False
            )
        else:
            raw = _csv_batches(handle, names)
        for index, batch in enumerate(_rechunk(raw, batch_size)):
            yield SourceBatch(index, unit.first_row + index * batch_size, batch)


def _rechunk(batches: Iterable[pa.RecordBatch], size: int) -> Iterator[pa.RecordBatch]:
    pending: list[pa.RecordBatch] = []
    held = 0
    for batch in batches:
        while batch.num_rows:
            take = min(size - held, batch.num_rows)
            pending.append(batch.slice(0, take))
            held += take
            batch = batch.slice(take)
            if held == size:
                yield _combine(pending)
                pending, held = [], 0
    if held:
        yield _combine(pending)


def _combine(batches: list[pa.RecordBatch]) -> pa.RecordBatch:
    if len(batches) == 1:
        return batches[0]
    return pa.Table.from_batches(batches).combine_chunks().to_batches()[0]


def _csv_read_options() -> pacsv.ReadOptions:
    return pacsv.ReadOptions(block_size=_CSV_BLOCK)


def _csv_batches(handle: Any, names: list[str]) -> Iterator[pa.RecordBatch]:
    convert = pacsv.ConvertOptions(
        include_columns=names,
        column_types={name: pa.string() for name in names},
        strings_can_be_null=True,
    )
    reader = pacsv.open_csv(handle, read_options=_csv_read_options(), convert_options=convert)
    yield from reader


def _jsonl_batches(handle: Any, names: list[str], batch_size: int) -> Iterator[SourceBatch]:
    objects: list[dict[str, Any] | None] = []
    broken: dict[int, tuple[str, Any]] = {}
    index = 0
    for obj, problem in _json_objects(handle):
        if problem is not None:
            broken[len(objects)] = problem
        objects.append(obj)
        if len(objects) == batch_size:
            yield SourceBatch(index, index * batch_size, _objects_to_batch(objects, names), broken)
            objects, broken, index = [], {}, index + 1
    if objects:
        yield SourceBatch(index, index * batch_size, _objects_to_batch(objects, names), broken)


def _json_objects(
    handle: Any, limit: int | None = None
) -> Iterator[tuple[dict[str, Any] | None, tuple[str, Any] | None]]:
    """(object, None) per good line, (None, (reason, text)) per bad one; blank lines skipped."""
    seen = 0
    for line in handle:
        text = line.strip()
        if not text:
            continue
        if limit is not None and seen >= limit:
            return
        seen += 1
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            yield None, (f"not valid JSON: {exc}", text[:1000].decode("utf-8", "replace"))
            continue
        if not isinstance(value, dict):
            yield None, ("not a JSON object", text[:1000].decode("utf-8", "replace"))
            continue
        yield value, None


def _columns_of(objects: list[dict[str, Any]]) -> list[str]:
    names: dict[str, None] = {}
    for obj in objects:
        names.update(dict.fromkeys(obj))
    return list(names)


def _objects_to_batch(objects: Sequence[dict[str, Any] | None], names: list[str]) -> pa.RecordBatch:
    arrays = [_json_column([o.get(n) if o else None for o in objects]) for n in names]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _json_column(values: list[Any]) -> pa.Array:
    """Values as Arrow infers them; a column of mixed types falls back to JSON text."""
    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return pa.array(
            [v if v is None or isinstance(v, str) else orjson.dumps(v).decode() for v in values],
            type=pa.string(),
        )
