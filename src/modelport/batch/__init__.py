"""Offline scoring of large tables with a registered model, locally or on a Dask cluster.

    job = BatchJob(model="fraud@production", input="data/tx/", output="scores/",
                   id_column="transaction_id", keep=("amount",))
    result = LocalEngine(registry, processes=4).run(job)

Inputs are streamed (never loaded whole), bad rows go to a rejects file, and a run killed at
any moment finishes exactly when the same job is run again (see :mod:`.state`).
"""

from modelport.batch.dask_engine import DaskEngine
from modelport.batch.engine import ENGINES, Engine, create_engine
from modelport.batch.job import DEFAULT_BATCH_SIZE, BatchJob, BatchResult
from modelport.batch.local_engine import LocalEngine
from modelport.batch.progress import NullProgress, ProgressListener, RichProgress
from modelport.batch.schedule import crontab_line, run_arguments

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "ENGINES",
    "BatchJob",
    "BatchResult",
    "DaskEngine",
    "Engine",
    "LocalEngine",
    "NullProgress",
    "ProgressListener",
    "RichProgress",
    "create_engine",
    "crontab_line",
    "run_arguments",
]
