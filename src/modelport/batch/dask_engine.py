"""The Dask engine: the same work units, scored by the workers of a Dask distributed cluster.

The driver sends the job's context to every worker once (scattered), then one task per work
unit. A worker reads its unit straight from the input location, loads the model on its first
task and keeps it (:func:`modelport.batch.model.runtime_for` caches it per process, keyed by
the artifact's hash), and writes its parts and journal records to the output itself; only
small outcomes travel back. Inputs, output and artifact store must therefore be reachable
from the workers under the same paths or URLs (a shared folder, or s3:// and friends).

Dask is the optional extra ``modelport[dask]``; it is imported only when this engine runs.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from modelport.batch.driver import run_job
from modelport.batch.job import BatchJob, BatchResult
from modelport.batch.plan import UnitContext
from modelport.batch.progress import NullProgress, ProgressListener
from modelport.batch.sources import WorkUnit
from modelport.batch.worker import UnitOutcome, run_unit
from modelport.errors import MissingDependency, Unavailable
from modelport.registry import Registry


def import_distributed() -> Any:
    """The ``distributed`` module, or MissingDependency naming the extra to install."""
    try:
        import distributed
    except ImportError:
        raise MissingDependency.for_extra("distributed", "dask") from None
    return distributed


class DaskEngine:
    """Scores a job on the Dask cluster whose scheduler listens at ``scheduler``."""

    name = "dask"

    def __init__(
        self,
        registry: Registry,
        *,
        scheduler: str,
        progress: ProgressListener | None = None,
        connect_timeout_s: float = 20.0,
    ) -> None:
        self._registry = registry
        self.scheduler = scheduler
        self._progress = progress or NullProgress()
        self._timeout = connect_timeout_s

    def __repr__(self) -> str:
        return f"DaskEngine(scheduler={self.scheduler!r})"

    def run(self, job: BatchJob) -> BatchResult:
        import_distributed()  # fail before planning when the extra is missing
        return run_job(
            job, self._registry, self._execute, engine=self.name, progress=self._progress
        )

    def _execute(
        self, ctx: UnitContext, units: Sequence[WorkUnit], progress: ProgressListener
    ) -> Iterator[UnitOutcome]:
        if not units:
            return
        distributed = import_distributed()
        client = self._connect(distributed)
        try:
            shared = client.scatter(ctx, broadcast=True, hash=False)
            futures = [client.submit(run_unit, shared, unit, pure=False) for unit in units]
            try:
                for future in distributed.as_completed(futures, loop=client.loop):
                    outcome = _result(future)
                    progress.advanced(outcome.rows_read, outcome.rows_rejected)
                    yield outcome
            finally:
                client.cancel(futures)
        finally:
            client.close()

    def _connect(self, distributed: Any) -> Any:
        try:
            client = distributed.Client(self.scheduler, timeout=self._timeout, set_as_default=False)
        except (OSError, TimeoutError, ValueError) as exc:
            raise Unavailable(
                f"cannot reach the Dask scheduler at {self.scheduler}: {exc}; start one with "
                "`dask scheduler` (and workers with `dask worker ADDRESS`), or use "
                "--engine local"
            ) from None
        if not client.scheduler_info().get("workers"):
            try:
                client.wait_for_workers(1, timeout=self._timeout)
            except (OSError, TimeoutError) as exc:
                client.close()
                raise Unavailable(
                    f"the Dask scheduler at {self.scheduler} has no workers ({exc}); start "
                    f"some with `dask worker {self.scheduler}`"
                ) from None
        return client


def _result(future: Any) -> UnitOutcome:
    """A unit's outcome; a task that failed outside :func:`run_unit` says what workers need."""
    try:
        outcome: UnitOutcome = future.result()
    except Exception as exc:
        raise Unavailable(
            f"a Dask worker could not run a scoring task: {type(exc).__name__}: {exc}; every "
            "worker needs the same modelport version installed (pip install 'modelport[dask]') "
            "and access to the input, the output and the artifact store under the same paths"
        ) from exc
    return outcome
