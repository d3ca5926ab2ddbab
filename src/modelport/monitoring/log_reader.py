"""Reading the inference log back: one model's rows in a time window, as a DataFrame.

Only partitions whose day overlaps the window are opened; files being written (named ``_...``)
are skipped. Used by drift checks and by feedback (to find what a request was answered).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Any

import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from modelport.errors import InvalidInput
from modelport.monitoring.log_crypto import KEY_ENV, KEY_FILE_ENV, log_keys

__all__ = ["log_files", "log_versions", "read_log", "read_log_file"]

_FILE = re.compile(
    r"/model=([^/]+)/version=([^/]+)/date=(\d{4}-\d{2}-\d{2})/part-[^/]*\.parquet$")
_PART = re.compile(r"/version=([^/]+)/date=(\d{4}-\d{2}-\d{2})/part-[^/]*\.parquet$")


def _files(root: str, model: str) -> list[tuple[str, str, str]]:
    fs, base = fsspec.core.url_to_fs(root)
    pattern = f"{base.rstrip('/')}/model={model}/version=*/date=*/part-*.parquet"
    found = []
    for path in sorted(fs.glob(pattern)):
        match = _PART.search(path)
        if match:
            found.append((path, match.group(1), match.group(2)))
    return found


def log_files(root: str, model: str | None = None) -> list[tuple[str, str, str, str]]:
    """``(path, model, version, day)`` of every finished log file (of one model, or all)."""
    fs, base = fsspec.core.url_to_fs(root)
    pattern = f"{base.rstrip('/')}/model={model or '*'}/version=*/date=*/part-*.parquet"
    found = []
    for path in sorted(fs.glob(pattern)):
        match = _FILE.search(path)
        if match:
            found.append((path, match.group(1), match.group(2), match.group(3)))
    return found


def read_log_file(fs: Any, path: str) -> pa.Table:
    """One log file, decrypted with the configured keys when it is encrypted."""
    keys = log_keys()
    try:
        with fs.open(path, "rb") as f:
            return pq.read_table(
                f, decryption_properties=keys.decryption() if keys is not None else None)
    except OSError as exc:
        if "encrypted" in str(exc) and keys is None:
            raise InvalidInput(
                f"inference log file {path} is encrypted; set {KEY_FILE_ENV} (or {KEY_ENV}) "
                "to the log's master keys to read it") from None
        raise


def log_versions(root: str, model: str) -> list[str]:
    """Versions of ``model`` that have logged traffic."""
    return sorted({v for _, v, _ in _files(root, model)}, key=lambda v: (len(v), v))


def read_log(
    root: str,
    model: str,
    *,
    versions: Collection[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    columns: Sequence[str] | None = None,
    request_ids: Collection[str] | None = None,
) -> pd.DataFrame:
    """Logged rows of ``model`` (with a ``version`` column), oldest first.

    ``columns`` limits what is read (missing ones are skipped); ``request_ids`` keeps only
    those requests. An empty log gives an empty frame. An output a request did not ask for is
    None in its rows; the column keeps the type it was logged with.
    """
    fs, _ = fsspec.core.url_to_fs(root)
    first_day = (since - timedelta(days=1)).strftime("%Y-%m-%d") if since else None
    last_day = (until + timedelta(days=1)).strftime("%Y-%m-%d") if until else None
    wanted = None if request_ids is None else pa.array(list(request_ids), pa.string())
    tables: list[pa.Table] = []
    for path, version, day in _files(root, model):
        if versions is not None and version not in versions:
            continue
        if (first_day and day < first_day) or (last_day and day > last_day):
            continue
        table = read_log_file(fs, path)
        if columns is not None:
            keep = [c for c in ("request_id", "row", "timestamp", *columns)
                    if c in table.column_names]
            table = table.select(list(dict.fromkeys(keep)))
        mask = None
        if since is not None:
            mask = pc.greater_equal(table["timestamp"], pa.scalar(since, pa.timestamp("us", "UTC")))
        if until is not None:
            upper = pc.less(table["timestamp"], pa.scalar(until, pa.timestamp("us", "UTC")))
            mask = upper if mask is None else pc.and_(mask, upper)
        if wanted is not None:
            hit = pc.is_in(table["request_id"], value_set=wanted)
            mask = hit if mask is None else pc.and_(mask, hit)
        if mask is not None:
            table = table.filter(mask)
        if table.num_rows:
            tables.append(table.append_column("version", pa.array([version] * table.num_rows)))
    if not tables:
        return pd.DataFrame({"request_id": pd.Series(dtype=str), "version": pd.Series(dtype=str)})
    # Parts differ when requests asked for different outputs: a column a part lacks is null
    # there. Integers keep their type (Python ints with None where absent), not float64,
    # so a class label logged as 0 still reads as 0, never "0.0".
    merged = pa.concat_tables(tables, promote_options="permissive")
    frame: pd.DataFrame = merged.to_pandas(integer_object_nulls=True)
    return frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
