"""The local engine: work units scored by a pool of processes on this machine.

Each process loads the model once (when the pool starts it) and scores whole units, writing
its parts itself; the parent only shows progress and collects outcomes. Processes are
started with ``spawn`` (no inherited threads or locks) and, on Linux, die with their parent,
so a ``kill -9`` of the command leaves no orphan still writing. The native thread pools of
the numeric libraries get an equal share of the CPU cores per process. With one process (or
one unit) everything runs in this process, which is also the quickest for small inputs.

Starting a process costs a few seconds of CPU (the interpreter, pyarrow, the model's
framework), paid once per process per run. As with any ``spawn`` pool, a script that runs the
engine with several processes must guard its entry point with ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import ctypes
import dataclasses
import multiprocessing
import os
import queue
import signal
import sys
from collections.abc import Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from modelport.batch.driver import run_job
from modelport.batch.job import BatchJob, BatchResult
from modelport.batch.model import runtime_for
from modelport.batch.plan import UnitContext
from modelport.batch.progress import NullProgress, ProgressListener
from modelport.batch.sources import WorkUnit
from modelport.batch.worker import UnitOutcome, run_unit
from modelport.errors import InvalidInput, ModelportError, Unavailable
from modelport.registry import Registry

_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def available_cores() -> int:
    """CPU cores this process may run on (its affinity mask: taskset, cpusets)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


class LocalEngine:
    """Scores a job with ``processes`` processes (default: one per CPU core)."""

    name = "local"

    def __init__(
        self,
        registry: Registry,
        *,
        processes: int | None = None,
        progress: ProgressListener | None = None,
    ) -> None:
        if processes is not None and processes < 1:
            raise InvalidInput(
                f"--processes must be >= 1, got {processes}; leave it out to use every core "
                f"({available_cores()} here)"
            )
        self._registry = registry
        self.processes = processes or available_cores()
        self._progress = progress or NullProgress()

    def __repr__(self) -> str:
        return f"LocalEngine(processes={self.processes})"

    def run(self, job: BatchJob) -> BatchResult:
        return run_job(
            job, self._registry, self._execute, engine=self.name, progress=self._progress
        )

    def _execute(
        self, ctx: UnitContext, units: Sequence[WorkUnit], progress: ProgressListener
    ) -> Iterator[UnitOutcome]:
        workers = min(self.processes, len(units))
        if workers <= 1:
            for unit in units:
                yield run_unit(ctx, unit, progress.advanced)
            return
        yield from _in_pool(ctx, units, progress, workers)


def _in_pool(
    ctx: UnitContext, units: Sequence[WorkUnit], progress: ProgressListener, workers: int
) -> Iterator[UnitOutcome]:
    spawn = multiprocessing.get_context("spawn")
    events: Any = spawn.Queue()
    threads = max(1, available_cores() // workers)
    pool = ProcessPoolExecutor(
        max_workers=workers,
        mp_context=spawn,
        initializer=_init_process,
        initargs=(ctx, events, threads),
    )
    tally = _Tally(progress)
    finished = False
    try:
        pending: set[Future[UnitOutcome]] = {pool.submit(_run_in_process, u) for u in units}
        while pending:
            done, pending = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
            tally.drain(events)
            for future in done:
                outcome = _outcome(future)
                tally.close(outcome)
                yield outcome
        finished = True
    finally:
        # After a failure, wait for the units still running so nothing writes after we
        # return. After success the processes are idle: let them exit on their own, since
        # tearing down an interpreter that holds a model takes seconds.
        pool.shutdown(wait=not finished, cancel_futures=True)
        events.close()


class _Tally:
    """Per-batch progress events from the processes, squared with each unit's outcome.

    Events travel on a queue and may arrive after their unit's outcome; the outcome's counts
    are the truth, so late events of a closed unit are dropped.
    """

    def __init__(self, progress: ProgressListener) -> None:
        self._progress = progress
        self._seen: dict[str, list[int]] = {}
        self._closed: set[str] = set()

    def drain(self, events: Any) -> None:
        while True:
            try:
                key, rows, rejected = events.get_nowait()
            except queue.Empty:
                return
            if key in self._closed:
                continue
            seen = self._seen.setdefault(key, [0, 0])
            seen[0] += rows
            seen[1] += rejected
            self._progress.advanced(rows, rejected)

    def close(self, outcome: UnitOutcome) -> None:
        key = outcome.unit.key
        rows, rejected = self._seen.pop(key, [0, 0])
        self._closed.add(key)
        if outcome.error is None:
            self._progress.advanced(outcome.rows_read - rows, outcome.rows_rejected - rejected)


def _outcome(future: Future[UnitOutcome]) -> UnitOutcome:
    try:
        return future.result()
    except BrokenProcessPool:
        raise Unavailable(
            "a scoring process died (out of memory, or killed); finished parts are kept, "
            "so running the same command again resumes the job"
        ) from None


# -- inside a pool process ------------------------------------------------------------------

_ctx: UnitContext | None = None
_events: Any = None
_load_error: dict[str, Any] | None = None
_load_unreported = False


def _init_process(ctx: UnitContext, events: Any, threads: int) -> None:
    """Runs once per process: die with the parent, size thread pools, load the model."""
    global _ctx, _events, _load_error, _load_unreported
    _die_with_parent()
    for name in _THREAD_VARIABLES:
        os.environ[name] = str(threads)
    _ctx, _events = ctx, events
    try:
        _, _load_unreported = runtime_for(ctx.model)
    except ModelportError as exc:
        _load_error = exc.to_dict()


def _run_in_process(unit: WorkUnit) -> UnitOutcome:
    global _load_unreported
    if _ctx is None:
        raise RuntimeError("the batch worker process was not initialised")
    if _load_error is not None:
        return UnitOutcome(unit=unit, error=_load_error)
    events, key = _events, unit.key
    outcome = run_unit(_ctx, unit, lambda rows, rejected: events.put((key, rows, rejected)))
    if not _load_unreported:
        return outcome
    # The initializer loaded the model: report that load with this process's first unit.
    _load_unreported = False
    return dataclasses.replace(outcome, loaded_model=True)


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no orphans after kill -9)."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except OSError:
        return
    if os.getppid() == 1:  # the parent died before the request took effect
        os._exit(1)
