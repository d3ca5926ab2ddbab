from __future__ import annotations

import json
import pickle
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest
import skops.io as sio
import torch
import xgboost as xgb
from skl2onnx import to_onnx
from sklearn.linear_model import LinearRegression

from modelport.errors import NotFound, UnsupportedArtifact
from modelport.runtimes.catalog import RUNTIMES, create_runtime, detect_flavor, runtime_class

from .data import regression_target, table

FRAME = table()
X, Y = FRAME.to_numpy(), regression_target(FRAME)


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """One or more small artifacts per flavor, named by the flavor that must claim them."""
    root = tmp_path_factory.mktemp("artifacts")
    linear = LinearRegression().fit(X, Y)
    xgb_model = xgb.XGBRegressor(n_estimators=2).fit(X, Y)
    xgb_model.save_model(root / "m.json")
    xgb_model.save_model(root / "m.ubj")
    lgb.train({"verbose": -1, "min_data_in_leaf": 3}, lgb.Dataset(X, Y), 2).save_model(
        root / "m.txt"
    )
    sio.dump(linear, root / "m.skops")
    (root / "m.pkl").write_bytes(pickle.dumps(linear))
    (root / "m.onnx").write_bytes(to_onnx(linear, X[:1].astype(np.float32)).SerializeToString())
    torch.jit.save(torch.jit.script(torch.nn.Linear(3, 1)), str(root / "m.pt"))
    torch.save(torch.nn.Linear(3, 1), root / "pickled.pth")
    hf = root / "hf"
    hf.mkdir()
    (hf / "config.json").write_text(
        json.dumps({"architectures": ["BertForSequenceClassification"]})
    )
    (hf / "tokenizer.json").write_text("{}")
    py_dir = root / "pydir"
    py_dir.mkdir()
    (py_dir / "model.py").write_text("class M: ...\n")
    (root / "m.py").write_text("class M: ...\n")
    torch_dir = root / "torchdir"
    torch_dir.mkdir()
    (torch_dir / "modelport.json").write_text(json.dumps({"flavor": "torch"}))
    ov_dir = root / "openvino"  # an IR folder (detection looks at its two files only)
    ov_dir.mkdir()
    (ov_dir / "model.xml").write_text("<?xml version='1.0'?><net name='m' version='11'/>")
    (ov_dir / "model.bin").write_bytes(b"")
    return {
        "xgboost": [root / "m.json", root / "m.ubj"],
        "lightgbm": [root / "m.txt"],
        "sklearn": [root / "m.skops", root / "m.pkl"],
        "onnx": [root / "m.onnx"],
        "torch": [root / "m.pt", root / "pickled.pth", torch_dir],
        "transformers": [hf],
        "python": [py_dir, root / "m.py"],
        "openvino": [ov_dir],
    }


def test_every_artifact_is_claimed_by_exactly_its_flavor(artifacts: dict[str, list[Path]]) -> None:
    assert set(artifacts) == set(RUNTIMES)
    for flavor, paths in artifacts.items():
        for path in paths:
            assert detect_flavor(path) == flavor, path


def test_garbage_is_unsupported_and_says_what_was_seen(tmp_path: Path) -> None:
    junk = tmp_path / "weights.dat"
    junk.write_bytes(b"\x00\x01garbage bytes")
    with pytest.raises(UnsupportedArtifact) as info:
        detect_flavor(junk)
    message = info.value.message
    assert "weights.dat" in message and "garbage" in message  # what it looked at
    assert "--flavor" in message and "xgboost" in message  # what to do, which flavors exist
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UnsupportedArtifact, match=r"directory .* containing \[\]"):
        detect_flavor(empty)


def test_missing_path_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"nowhere\.json"):
        detect_flavor(tmp_path / "nowhere.json")


def test_two_claims_are_ambiguous(tmp_path: Path) -> None:
    both = tmp_path / "model.py"  # a .py file (python) whose bytes look like XGBoost JSON
    both.write_text('{"learner": {}}')
    with pytest.raises(UnsupportedArtifact, match=r"several flavors \(xgboost, python\)"):
        detect_flavor(both)


def test_mlflow_directories_get_a_hint(tmp_path: Path) -> None:
    (tmp_path / "MLmodel").write_text("flavors: {}\n")
    with pytest.raises(UnsupportedArtifact, match="MLflow model directory"):
        detect_flavor(tmp_path)


def test_runtime_classes_by_flavor() -> None:
    assert all(runtime_class(f).flavor == f for f in RUNTIMES)
    assert create_runtime("onnx").flavor == "onnx"
    with pytest.raises(NotFound, match="known flavors"):
        runtime_class("keras")
