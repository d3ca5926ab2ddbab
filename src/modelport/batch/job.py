"""What a batch run is asked to do (:class:`BatchJob`) and what it reports (:class:`BatchResult`).

A job says *what* to score; how many processes or which cluster score it belongs to the engine
(:mod:`modelport.batch.engine`), so one job runs unchanged on a laptop or on Dask.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from modelport.errors import InvalidInput

DEFAULT_BATCH_SIZE = 65_536


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchJob:
    """One offline scoring job: a registered model applied to every row of a table."""

    model: str
    """Registry reference: ``name`` (latest), ``name@alias`` or ``name:version``."""

    input: str
    """A file, a folder, a glob or an fsspec URL of Parquet, CSV or JSON Lines files."""

    output: str
    """Folder (local path or fsspec URL) that receives the Parquet parts and the manifest."""

    id_column: str | None = None
    """Input column copied first into every output row, to join scores back to the input."""

    keep: tuple[str, ...] = ()
    """More input columns copied into the output, in this order."""

    batch_size: int = DEFAULT_BATCH_SIZE
    """Rows per model call and per output part; part of the job, so a resumed run keeps it."""

    rejects: str | None = None
    """Where the rejected rows go (JSON Lines); ``<output>/_rejects.jsonl`` when unset."""

    overwrite: bool = False
    """Replace the output of a *different* job found in ``output`` instead of refusing."""

    def __post_init__(self) -> None:
        for field_name in ("model", "input", "output"):
            if not str(getattr(self, field_name)).strip():
                raise InvalidInput(f"batch job: {field_name} must not be empty")
        if isinstance(self.batch_size, bool) or self.batch_size < 1:
            raise InvalidInput(
                f"batch_size must be >= 1, got {self.batch_size}; "
                f"{DEFAULT_BATCH_SIZE} rows is a good default"
            )
        seen: set[str] = set()
        for name in self.keep:
            if not name:
                raise InvalidInput("--keep holds an empty column name")
            if name in seen:
                raise InvalidInput(f"--keep names column {name!r} twice")
            seen.add(name)
        if self.id_column is not None and self.id_column in seen:
            raise InvalidInput(
                f"column {self.id_column!r} is the id column already; drop it from --keep"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchResult:
    """What a finished run did; the summary table and ``--json`` print this."""

    run_id: str
    """Derived from the job and its inputs: the same job on the same data has the same id."""
    model: str
    """The exact version scored, e.g. ``fraud:3``."""
    engine: str
    output: str
    manifest: str
    """Where the manifest (row counts, part checksums) was written."""
    rejects: str
    rows_read: int
    rows_written: int
    rows_rejected: int
    parts: int
    units_run: int
    """Work units scored by this invocation."""
    units_skipped: int
    """Work units an earlier, interrupted invocation had finished already."""
    model_loads: int
    """How many times a process loaded the model (once per process or Dask worker)."""
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.rows_read / self.seconds if self.seconds > 0 else 0.0

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["rows_per_second"] = round(self.rows_per_second, 1)
        return out
