"""The engine interface: ``Engine.run(job) -> BatchResult``, and the engines by name.

An engine only decides *where* work units run. Planning, the output journal and the manifest
are shared (:mod:`modelport.batch.driver`), as is the scoring of one unit
(:mod:`modelport.batch.worker`); an engine supplies a :data:`UnitExecutor` that runs units and
yields their outcomes. Ray Data or Spark would be one more module beside ``local_engine`` and
``dask_engine``, and one more entry in :func:`create_engine`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Protocol

from modelport.batch.job import BatchJob, BatchResult
from modelport.batch.plan import UnitContext
from modelport.batch.progress import ProgressListener
from modelport.batch.sources import WorkUnit
from modelport.batch.worker import UnitOutcome
from modelport.errors import InvalidInput
from modelport.registry import Registry

ENGINES = ("local", "dask")

UnitExecutor = Callable[[UnitContext, Sequence[WorkUnit], ProgressListener], Iterator[UnitOutcome]]
"""Runs the given units somewhere, yielding each outcome as it finishes (any order)."""


class Engine(Protocol):
    """Runs a batch job to completion (or resumes it) and reports what it did."""

    name: str

    def run(self, job: BatchJob) -> BatchResult: ...


def check_engine_options(
    name: str, *, processes: int | None, scheduler: str | None, need_scheduler: bool = True
) -> None:
    """InvalidInput when an option does not apply to engine ``name`` (or one is missing)."""
    if name not in ENGINES:
        raise InvalidInput(f"unknown engine {name!r}; choose one of: {', '.join(ENGINES)}")
    if name == "local" and scheduler is not None:
        raise InvalidInput("--scheduler is for --engine dask; the local engine needs none")
    if name == "dask" and processes is not None:
        raise InvalidInput(
            "--processes is for the local engine; a Dask cluster scores with its workers "
            "(start more `dask worker` processes to go faster)"
        )
    if name == "dask" and not scheduler and need_scheduler:
        raise InvalidInput(
            "--engine dask needs --scheduler ADDRESS, e.g. tcp://scheduler:8786 "
            "(start one with `dask scheduler` and workers with `dask worker ADDRESS`)"
        )


def create_engine(
    name: str,
    registry: Registry,
    *,
    processes: int | None = None,
    scheduler: str | None = None,
    progress: ProgressListener | None = None,
) -> Engine:
    """The engine called ``name``, checking that the options given make sense for it."""
    check_engine_options(name, processes=processes, scheduler=scheduler)
    if name == "dask":
        from modelport.batch.dask_engine import DaskEngine

        return DaskEngine(registry, scheduler=str(scheduler), progress=progress)
    from modelport.batch.local_engine import LocalEngine

    return LocalEngine(registry, processes=processes, progress=progress)
