"""CLI fixtures: a private MODELPORT_HOME and a tiny XGBoost model trained in the test."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xgboost as xgb

from modelport.cli.main import main


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "mp-home"
    monkeypatch.setenv("MODELPORT_HOME", str(home))
    monkeypatch.delenv("MODELPORT_DATABASE_URL", raising=False)
    monkeypatch.delenv("MODELPORT_ARTIFACT_ROOT", raising=False)
    monkeypatch.setenv("MODELPORT_USER", "alice")
    return home


FEATURES = ["amount", "hour", "velocity"]


@pytest.fixture
def tiny_xgb(tmp_path: Path) -> tuple[Path, Path, xgb.Booster]:
    """A small binary classifier with named features, its training table and the booster."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(400, 3)).astype(np.float32), columns=FEATURES)
    label = (frame["amount"] + 0.5 * frame["velocity"] > 0).astype(int)
    booster = xgb.train(
        {"objective": "binary:logistic", "max_depth": 3, "nthread": 1},
        xgb.DMatrix(frame, label=label, feature_names=FEATURES),
        num_boost_round=8,
    )
    model = tmp_path / "model.json"
    booster.save_model(model)
    train = tmp_path / "train.parquet"
    frame.assign(label=label).to_parquet(train, index=False)
    return model, train, booster


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], home: Path) -> Run:
    """Run the CLI in-process; returns (exit code, stdout, stderr)."""

    def _run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return _run


def run_json(run: Run, *args: str) -> object:
    code, out, err = run(*args, "--json")
    assert code == 0, err
    return json.loads(out)
