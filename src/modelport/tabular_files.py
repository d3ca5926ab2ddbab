"""Reading small tables (CSV, Parquet, JSON Lines) for the CLI and registration.

Large inputs stream through :mod:`modelport.batch` instead; this reads a whole file.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pyarrow as pa

from modelport.errors import InvalidInput, NotFound

FORMATS = {
    ".csv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}


def table_format(path: Path) -> str:
    """``csv``, ``parquet`` or ``jsonl`` from the file name, or InvalidInput listing them."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None and path.is_dir():
        return "parquet"
    if fmt is None:
        raise InvalidInput(
            f"cannot tell the format of {path}: use a file ending in "
            f"{', '.join(sorted(FORMATS))} (a folder is read as Parquet)"
        )
    return fmt


def read_table(path: Path) -> pd.DataFrame:
    """The whole table at ``path``; a missing or unreadable file is a clear error."""
    path = Path(path)
    if not path.exists():
        raise NotFound(f"input file {path} does not exist")
    fmt = table_format(path)
    try:
        if fmt == "csv":
            return pd.read_csv(path)
        if fmt == "parquet":
            return pd.read_parquet(path)
        return pd.read_json(path, lines=True)
    except (OSError, ValueError, pa.ArrowException, UnicodeDecodeError) as exc:
        raise InvalidInput(f"cannot read {path} as {fmt}: {exc}") from None
