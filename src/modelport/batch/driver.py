"""What every engine does around the scoring: plan, claim the output, resume, finish.

``run_job`` plans the job (stopping at once when the input cannot fit the model), claims the
output folder (a finished run of the same job returns straight away; an unfinished one
resumes), hands the units not done yet to the engine's executor, then merges the rejects and
writes the manifest.
"""

from __future__ import annotations

import time
from typing import Any

from modelport.batch.engine import UnitExecutor
from modelport.batch.job import BatchJob, BatchResult
from modelport.batch.plan import JobPlan, build_plan
from modelport.batch.progress import NullProgress, ProgressListener
from modelport.batch.state import MANIFEST, RunFolder
from modelport.errors import ModelportError
from modelport.registry import Registry


def run_job(
    job: BatchJob,
    registry: Registry,
    execute: UnitExecutor,
    *,
    engine: str,
    progress: ProgressListener | None = None,
) -> BatchResult:
    """Run (or resume, or recognise as finished) ``job`` with the units run by ``execute``."""
    started = time.monotonic()
    progress = progress or NullProgress()
    plan = build_plan(job, registry)
    folder = RunFolder(job.output)
    finished = folder.claim(plan.fingerprint, overwrite=job.overwrite)
    if finished is not None:
        return _result(plan, folder, finished, engine, 0, 0, time.monotonic() - started)
    done = folder.finished_units()
    pending = [u for u in plan.units if u.key not in done]
    done_rows = sum(u.rows or 0 for u in plan.units if u.key in done)
    progress.started(total_rows=plan.total_rows, done_rows=done_rows)
    loads = 0
    try:
        for outcome in execute(plan.context, pending, progress):
            if outcome.error is not None:
                raise ModelportError.from_dict(outcome.error)
            loads += int(outcome.loaded_model)
    finally:
        progress.finished()
    manifest = folder.finalize(plan.units, _header(plan), job.rejects)
    return _result(plan, folder, manifest, engine, len(pending), loads, time.monotonic() - started)


def _header(plan: JobPlan) -> dict[str, Any]:
    """The manifest's head: the run id, then the fingerprint's keys (model, inputs, ...)."""
    return {"run_id": plan.run_id, **plan.fingerprint}


def _result(
    plan: JobPlan,
    folder: RunFolder,
    manifest: dict[str, Any],
    engine: str,
    units_run: int,
    loads: int,
    seconds: float,
) -> BatchResult:
    rows = manifest["rows"]
    info = plan.context.model.info
    return BatchResult(
        run_id=plan.run_id,
        model=info.ref,
        engine=engine,
        output=plan.job.output,
        manifest=folder.folder.url_of(MANIFEST),
        rejects=folder.rejects_url(plan.job.rejects),
        rows_read=int(rows["read"]),
        rows_written=int(rows["written"]),
        rows_rejected=int(rows["rejected"]),
        parts=len(manifest["parts"]),
        units_run=units_run,
        units_skipped=len(plan.units) - units_run,
        model_loads=loads,
        seconds=seconds,
    )
