"""Finding the input files of a job and cutting them into deterministic work units.

An input is a file, a folder (searched recursively), a glob, or any of those behind an fsspec
URL. Files are sorted by path, so file *i* is the same file on every run and every engine. A
Parquet file gives one work unit per row group (its rows are known from the footer); a CSV or
JSON Lines file is one unit, read as a stream from start to end.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

import fsspec
import pyarrow as pa
import pyarrow.parquet as pq
from fsspec.implementations.local import LocalFileSystem

from modelport.errors import InvalidInput, NotFound, Unavailable
from modelport.tabular_files import FORMATS

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True, slots=True, kw_only=True)
class SourceFile:
    """One input file."""

    url: str
    """Local absolute path, or a full fsspec URL; shown in rejects and the manifest."""
    format: str
    """``parquet``, ``csv`` or ``jsonl``."""
    size: int
    row_groups: tuple[int, ...] = ()
    """Rows of each Parquet row group (empty for CSV and JSON Lines)."""

    @property
    def rows(self) -> int | None:
        return sum(self.row_groups) if self.format == "parquet" else None


@dataclass(frozen=True, slots=True, kw_only=True, order=True)
class WorkUnit:
    """The smallest piece of work an engine hands to one process or worker."""

    file: int
    """Index of the file in the job's sorted file list."""
    chunk: int
    """Row group index for Parquet, 0 for CSV and JSON Lines."""
    first_row: int
    """Row number (0-based, within the file) of the unit's first row."""
    rows: int | None
    """Rows in the unit, when the footer says (Parquet)."""

    @property
    def key(self) -> str:
        return f"{self.file:05d}-{self.chunk:05d}"


def discover(location: str) -> list[SourceFile]:
    """The input files at ``location``, sorted by path; NotFound when there are none."""
    try:
        fs, root = fsspec.core.url_to_fs(location)
    except (ImportError, ValueError) as exc:
        raise InvalidInput(
            f"input {location!r} is not a usable path or URL: {exc}; give a file, a folder, "
            "a glob such as data/*.parquet, or an fsspec URL such as s3://bucket/tx/"
        ) from None
    with _io_errors(location):
        paths = _list(fs, root, location)
        files = [_describe(fs, path) for path in sorted(paths)]
    return files


def plan_units(files: list[SourceFile]) -> list[WorkUnit]:
    """Every work unit of the job, in file order then row-group order."""
    units: list[WorkUnit] = []
    for index, source in enumerate(files):
        if source.format != "parquet":
            units.append(WorkUnit(file=index, chunk=0, first_row=0, rows=None))
            continue
        first = 0
        for chunk, rows in enumerate(source.row_groups):
            units.append(WorkUnit(file=index, chunk=chunk, first_row=first, rows=rows))
            first += rows
    return units


@contextmanager
def open_binary(url: str) -> Iterator[IO[bytes]]:
    """A readable binary file for a local path or fsspec URL."""
    with _io_errors(url), fsspec.open(url, "rb") as handle:
        yield handle


def is_local(url: str) -> bool:
    fs, _ = fsspec.core.url_to_fs(url)
    return isinstance(fs, LocalFileSystem)


def _list(fs: Any, root: str, location: str) -> list[str]:
    if any(c in root for c in _GLOB_CHARS):
        found = [p for p in fs.glob(root) if fs.isfile(p)]
        paths = [p for p in found if _known(p)]
        where = f"glob {location!r} matched {len(found)} file(s), none of them"
    elif fs.isdir(root):
        found = fs.find(root)
        base = root.rstrip("/")
        paths = [p for p in found if _known(p) and not _hidden(posixpath.relpath(p, base))]
        where = f"folder {location!r} holds no"
    elif fs.exists(root):
        if _format_of(root) is None:
            raise InvalidInput(
                f"cannot tell the format of {location}: use a file ending in "
                f"{', '.join(sorted(FORMATS))}"
            )
        return [root]
    else:
        raise NotFound(f"input {location} does not exist")
    if not paths:
        raise NotFound(
            f"{where} Parquet, CSV or JSON Lines files (looked for names ending in "
            f"{', '.join(sorted(FORMATS))}; names starting with '_' or '.' are skipped)"
        )
    return list(paths)


def _describe(fs: Any, path: str) -> SourceFile:
    url = path if isinstance(fs, LocalFileSystem) else str(fs.unstrip_protocol(path))
    fmt = _format_of(path) or "parquet"
    size = int(fs.size(path) or 0)
    if fmt != "parquet":
        return SourceFile(url=url, format=fmt, size=size)
    with fs.open(path, "rb") as handle:
        try:
            meta = pq.ParquetFile(handle).metadata
        except (pa.ArrowException, OSError) as exc:
            raise InvalidInput(f"{url} is not a readable Parquet file: {exc}") from None
        groups = tuple(meta.row_group(i).num_rows for i in range(meta.num_row_groups))
    return SourceFile(url=url, format=fmt, size=size, row_groups=groups)


def _format_of(path: str) -> str | None:
    return FORMATS.get(posixpath.splitext(path)[1].lower())


def _known(path: str) -> bool:
    return _format_of(path) is not None and not _hidden(posixpath.basename(path))


def _hidden(relative: str) -> bool:
    return any(part.startswith(("_", ".")) for part in relative.split("/"))


@contextmanager
def _io_errors(where: str) -> Iterator[None]:
    """Storage failures (network, permissions) become Unavailable naming the input."""
    try:
        yield
    except FileNotFoundError as exc:
        raise NotFound(f"input {where} does not exist ({exc})") from None
    except PermissionError as exc:
        raise Unavailable(f"input {where} is not readable: {exc}") from None
    except OSError as exc:
        raise Unavailable(f"reading input {where} failed: {exc}") from None
