from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pytest

from modelport.errors import InvalidInput, UnsupportedArtifact
from modelport.runtimes.lightgbm_runtime import LightGBMRuntime

from .data import (
    FEATURES,
    binary_target,
    columns,
    regression_target,
    table,
    three_classes,
    unnamed,
)

FRAME = table()
PARAMS = {"n_estimators": 4, "min_child_samples": 3, "verbose": -1}


def _load(path: Path) -> LightGBMRuntime:
    runtime = LightGBMRuntime()
    runtime.load(path)
    return runtime


def test_named_binary_classifier_matches_lightgbm(tmp_path: Path) -> None:
    model = lgb.LGBMClassifier(**PARAMS).fit(FRAME, binary_target(FRAME))
    path = tmp_path / "model.txt"
    model.booster_.save_model(path)
    assert LightGBMRuntime.detect(path)
    runtime = _load(path)
    sig = runtime.signature()
    assert sig.tabular and sig.input_names == FEATURES
    assert sig.output_names == ["predict", "predict_proba"]
    assert sig.outputs[1].shape == (-1, 2)
    out = runtime.predict(columns(FRAME))
    np.testing.assert_allclose(out["predict_proba"], model.predict_proba(FRAME), rtol=1e-9)
    assert out["predict"].tolist() == model.predict(FRAME).tolist()


def test_unnamed_multiclass_exposes_f_names_not_lightgbm_placeholders(tmp_path: Path) -> None:
    x = FRAME.to_numpy()
    booster = lgb.train(
        {"objective": "multiclass", "num_class": 3, "min_data_in_leaf": 3, "verbose": -1},
        lgb.Dataset(x, three_classes(FRAME)),
        num_boost_round=3,
    )
    assert booster.feature_name() == ["Column_0", "Column_1", "Column_2"]
    booster.save_model(tmp_path / "multi.txt")
    runtime = _load(tmp_path / "multi.txt")
    assert runtime.signature().input_names == ["f0", "f1", "f2"]
    assert runtime.signature().outputs[1].shape == (-1, 3)
    out = runtime.predict(unnamed(FRAME))
    np.testing.assert_allclose(out["predict_proba"], booster.predict(x))
    assert out["predict"].tolist() == booster.predict(x).argmax(axis=1).tolist()


def test_regressor_has_predict_only(tmp_path: Path) -> None:
    model = lgb.LGBMRegressor(**PARAMS).fit(FRAME, regression_target(FRAME))
    model.booster_.save_model(tmp_path / "reg.txt")
    runtime = _load(tmp_path / "reg.txt")
    assert runtime.signature().output_names == ["predict"]
    out = runtime.predict(columns(FRAME))
    np.testing.assert_allclose(out["predict"], model.predict(FRAME))
    empty = runtime.predict({n: np.zeros(0) for n in FEATURES})
    assert empty["predict"].shape == (0,)


def test_wrong_inputs_and_bad_files(tmp_path: Path) -> None:
    model = lgb.LGBMRegressor(**PARAMS).fit(FRAME, regression_target(FRAME))
    model.booster_.save_model(tmp_path / "reg.txt")
    runtime = _load(tmp_path / "reg.txt")
    with pytest.raises(InvalidInput, match=r"missing inputs \[b, c\]"):
        runtime.predict({"a": np.zeros(2)})
    broken = tmp_path / "broken.txt"
    broken.write_text("tree\nversion=v4\nnonsense")
    assert LightGBMRuntime.detect(broken)
    with pytest.raises(UnsupportedArtifact, match="LightGBM could not read"):
        _load(broken)
    assert not LightGBMRuntime.detect(tmp_path)
