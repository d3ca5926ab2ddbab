"""Helpers of the batch tests: the fraud table, a plain-Python model, reading outputs, the CLI."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples" / "fraud"))

from data import FEATURES, make_transactions  # noqa: E402

__all__ = ["FEATURES", "SCORER", "make_transactions"]

SCORER = '''
import numpy as np
from modelport.errors import ContractViolation


class Scorer:
    """amount * count, and the three parts; a negative amount breaks its contract."""

    signature = {
        "inputs": [
            {"name": "amount", "datatype": "FP64", "shape": [-1]},
            {"name": "count", "datatype": "INT64", "shape": [-1]},
        ],
        "outputs": [
            {"name": "score", "datatype": "FP64", "shape": [-1]},
            {"name": "parts", "datatype": "FP32", "shape": [-1, 3]},
            {"name": "wide", "datatype": "FP32", "shape": [-1, 100]},
        ],
        "tabular": True,
    }

    def load(self, path):
        pass

    def predict(self, inputs):
        amount, count = inputs["amount"], inputs["count"]
        if (amount < 0).any():
            raise ContractViolation("amount must be >= 0")
        parts = np.stack([amount, count, amount + count], axis=1).astype(np.float32)
        wide = np.repeat(amount[:, None], 100, axis=1).astype(np.float32)
        return {"score": amount * count, "parts": parts, "wide": wide}
'''


def expected_fraud_scores(model_file: Path, frame: pd.DataFrame) -> np.ndarray:
    """The positive-class probability straight from XGBoost, to compare outputs against."""
    import xgboost as xgb

    booster = xgb.Booster()
    booster.load_model(model_file)
    matrix = frame[FEATURES].to_numpy(dtype=np.float32)
    return np.asarray(booster.inplace_predict(matrix, validate_features=False))


def write_parquet(frame: pd.DataFrame, path: Path, *, row_group_size: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(
        pa.Table.from_pandas(frame, preserve_index=False), path, row_group_size=row_group_size
    )
    return path


def read_output(folder: Path) -> pd.DataFrame:
    """Every output part, in part order (input order)."""
    return pq.read_table(folder).to_pandas()


def folder_digest(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` by relative path, with its bytes."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


_HARNESS = """
import sys
from modelport.cli import batch_cmd, main
if not any(group.name == "batch" for group in main.app.registered_groups):
    main.app.add_typer(batch_cmd.app, name="batch")
sys.exit(main.main(sys.argv[1:]))
"""
MODELPORT = [sys.executable, "-c", _HARNESS]
"""The ``modelport`` command with ``batch`` mounted (as the CLI's main module will mount it)."""


def mount_batch() -> None:
    """Mount ``modelport batch`` on the in-process CLI app (idempotent)."""
    from modelport.cli import batch_cmd, main

    if not any(group.name == "batch" for group in main.app.registered_groups):
        main.app.add_typer(batch_cmd.app, name="batch")


def cli_env(home: Path, database_url: str, artifact_root: str) -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.update(
        MODELPORT_HOME=str(home),
        MODELPORT_DATABASE_URL=database_url,
        MODELPORT_ARTIFACT_ROOT=artifact_root,
    )
    return env
