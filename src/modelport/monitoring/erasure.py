"""Erasing a data subject: their inference log rows and their feedback, from disk.

A selector is ``VALUE`` (rows whose ``subject_id`` is VALUE) or ``COLUMN=VALUE`` (rows whose
logged input ``COLUMN`` equals VALUE). Every log file holding a matching row is rewritten
without those rows into a temporary ``_``-named file (invisible to readers) and renamed over
the original, so a reader sees the old file or the new one, never half; a file left empty is
deleted. Feedback rows of the erased requests are deleted in one transaction. The caller
audits the erasure (counts and file names, never the erased values).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import fsspec
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from modelport.errors import InvalidInput, NotFound
from modelport.monitoring.log_crypto import log_keys
from modelport.monitoring.log_reader import log_files, read_log_file
from modelport.monitoring.log_table import INPUT_PREFIX
from modelport.registry import db
from modelport.registry import tables_monitoring as tm

__all__ = ["ErasureReport", "Selector", "erase_subject", "parse_selector"]

SUBJECT_COLUMN = "subject_id"


@dataclass(frozen=True, slots=True)
class Selector:
    column: str
    """The log column to match: ``subject_id`` or ``in_<input>``."""
    value: str

    def describe(self) -> str:
        """What was matched, without the value (for the audit log)."""
        return self.column


@dataclass(slots=True)
class ErasureReport:
    log_rows: int = 0
    files_rewritten: list[str] = field(default_factory=list)
    files_deleted: list[str] = field(default_factory=list)
    feedback_rows: int = 0
    requests: set[tuple[str, str]] = field(default_factory=set)
    """(model, request id) of every erased row."""

    def to_dict(self) -> dict[str, Any]:
        return {"log_rows": self.log_rows, "files_rewritten": self.files_rewritten,
                "files_deleted": self.files_deleted, "feedback_rows": self.feedback_rows,
                "requests": len(self.requests)}


def parse_selector(text: str) -> Selector:
    """``VALUE`` or ``COLUMN=VALUE``; an empty part is a clear error."""
    column, sep, value = text.partition("=")
    if not sep:
        column, value = "", text
    if not value.strip() or (sep and not column.strip()):
        raise InvalidInput(f"--subject {text!r}: give VALUE (the subject_id requests carried) "
                           "or COLUMN=VALUE (an input column), e.g. --subject customer_id=8812")
    name = SUBJECT_COLUMN if not sep else INPUT_PREFIX + column.strip()
    return Selector(name, value.strip())


def erase_subject(root: str, selector: Selector, *, engine: Engine | None,
                  models: Iterable[str] | None = None, dry_run: bool = False) -> ErasureReport:
    """Remove the subject's rows from the log under ``root`` and their feedback."""
    fs, _ = fsspec.core.url_to_fs(root)
    report = ErasureReport()
    wanted = set(models) if models is not None else None
    keys = log_keys()
    for path, model, _version, _day in log_files(root):
        if wanted is not None and model not in wanted:
            continue
        table = read_log_file(fs, path)
        if selector.column not in table.column_names:
            continue
        hit = _matches(table[selector.column], selector.value)
        count = pc.sum(hit).as_py() or 0
        if not count:
            continue
        report.log_rows += count
        for rid in pc.filter(table["request_id"], hit).to_pylist():
            report.requests.add((model, str(rid)))
        if dry_run:
            report.files_rewritten.append(path)
            continue
        kept = table.filter(pc.invert(hit))
        if kept.num_rows == 0:
            fs.rm(path)
            report.files_deleted.append(path)
            continue
        folder, name = path.rsplit("/", 1)
        temp = f"{folder}/_erase-{os.urandom(4).hex()}-{name}"
        with fs.open(temp, "wb") as f:
            pq.write_table(kept, f, compression="zstd",
                           encryption_properties=keys.encryption() if keys else None)
        fs.mv(temp, path)  # a rename: readers see the old file or the new one
        report.files_rewritten.append(path)
    if engine is not None and report.requests:
        report.feedback_rows = _erase_feedback(engine, report.requests, dry_run=dry_run)
    if not report.log_rows:
        raise NotFound(
            f"no inference log rows under {root} match {selector.column} = the given value; "
            "nothing was erased (check the column name: a COLUMN=VALUE selector matches "
            "logged input columns)"
        )
    return report


def _matches(column: pa.ChunkedArray, value: str) -> pa.ChunkedArray:
    """Rows equal to ``value``: as a number of the column's type for a numeric column (a
    float32 feature matches ``0.1`` as the client sent it), else as text."""
    if pa.types.is_integer(column.type) or pa.types.is_floating(column.type):
        try:
            scalar = pa.scalar(float(value), pa.float64()).cast(column.type, safe=False)
        except (ValueError, pa.ArrowInvalid):
            return pa.chunked_array([pa.array(np.zeros(len(column), dtype=bool))])
        return pc.fill_null(pc.equal(column, scalar), False)
    if not pa.types.is_string(column.type):
        column = pc.cast(column, pa.string())
    return pc.fill_null(pc.equal(column, pa.scalar(value)), False)


def _erase_feedback(engine: Engine, requests: set[tuple[str, str]], *, dry_run: bool) -> int:
    by_model: dict[str, list[str]] = {}
    for model, rid in requests:
        by_model.setdefault(model, []).append(rid)

    def work(conn: sa.Connection) -> int:
        total = 0
        for model, ids in by_model.items():
            for start in range(0, len(ids), 500):
                chunk = ids[start:start + 500]
                where = (tm.feedback.c.model == model, tm.feedback.c.request_id.in_(chunk))
                if dry_run:
                    total += int(conn.execute(
                        sa.select(sa.func.count()).select_from(tm.feedback).where(*where)
                    ).scalar_one())
                else:
                    total += int(conn.execute(sa.delete(tm.feedback).where(*where)).rowcount)
        return total

    return db.run_write(engine, work)
